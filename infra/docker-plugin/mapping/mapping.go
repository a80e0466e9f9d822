// Package mapping presents the kreuzwerker Docker Terraform provider as the Pulumi package
// "docker" with the tokens and property names of @pulumi/docker 4.11.2, the SDK this project
// pins. The SDK decides what the engine sends; this file decides what the plugin accepts, so the
// two must agree field for field (infra/engine/dockerPlugin.e2e.test.ts compares them).
package mapping

import (
	"context"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"

	pftfbridge "github.com/pulumi/pulumi-terraform-bridge/v3/pkg/pf/tfbridge"
	"github.com/pulumi/pulumi-terraform-bridge/v3/pkg/tfbridge"
	"github.com/pulumi/pulumi-terraform-bridge/v3/pkg/tfbridge/tokens"
	shimv2 "github.com/pulumi/pulumi-terraform-bridge/v3/pkg/tfshim/sdk-v2"

	// Importable only because this module's path is nested under the upstream module's path
	// (Go's internal rule is about import paths); go.mod points that path at kreuzwerker's module.
	upstream "github.com/terraform-providers/terraform-provider-docker/internal/provider"
)

// Version is the plugin version the engine is told: the @pulumi/docker SDK version in
// package-lock.json, so `pulumi plugin install resource docker 4.11.2` serves that SDK.
const Version = "4.11.2"

// Provider returns the bridge's mapping. metadata is bridge-metadata.json as tfgen wrote it
// (the mux dispatch table: which Terraform token the SDKv2 or the plugin-framework half serves);
// pass []byte("{}") when running tfgen itself.
func Provider(metadata []byte) tfbridge.ProviderInfo {
	ctx := context.Background()
	// The upstream main.go serves both halves behind one mux; the bridge does the same here. The
	// SDKv2 half owns every resource this project uses; the framework half adds newer data sources.
	sdkProvider := shimv2.NewProvider(upstream.New(Version)())
	prov := tfbridge.ProviderInfo{
		P:            pftfbridge.MuxShimWithPF(ctx, sdkProvider, upstream.NewFrameworkProvider(Version)()),
		Name:         "docker",
		Version:      Version,
		MetadataInfo: tfbridge.NewProviderMetadata(metadata),
		Description:  "Docker resources for Pulumi, bridged offline from kreuzwerker/terraform-provider-docker",
		License:      "Apache-2.0",
		Config: map[string]*tfbridge.SchemaInfo{
			// Upstream computes this default in a DefaultFunc, which a schema cannot show; the SDK
			// reads DOCKER_HOST itself and the schema states the socket default.
			"host": {Default: &tfbridge.DefaultInfo{
				Value:   "unix:///var/run/docker.sock",
				EnvVars: []string{"DOCKER_HOST"},
			}},
			// A set of blocks would be pluralised to registryAuths; the SDK says registryAuth.
			"registry_auth": {Name: "registryAuth"},
		},
		Resources: map[string]*tfbridge.ResourceInfo{
			"docker_container": {
				Tok: tfbridge.MakeResource("docker", "index", "Container"),
				// A container name is unique per engine: the old one must go before a replacement.
				DeleteBeforeReplace: true,
				Fields: map[string]*tfbridge.SchemaInfo{
					// One command (argv), not several: the SDK keeps the singular.
					"command": {Name: "command"},
					// Already plural in meaning; the SDK keeps the upstream spelling.
					"networks_advanced": {Name: "networksAdvanced"},
				},
			},
			// The SDK's Image is pulumi-docker's own build resource; docker_image (pull an image
			// onto the engine) is RemoteImage there.
			"docker_image": {
				Tok: tfbridge.MakeResource("docker", "index", "RemoteImage"),
				// The image reference ("postgres:15"): required, never autonamed. An explicit
				// entry keeps SetAutonaming below away from it.
				Fields: map[string]*tfbridge.SchemaInfo{"name": {Name: "name"}},
			},
			"docker_network": {
				Tok:              tfbridge.MakeResource("docker", "index", "Network"),
				PreCheckCallback: dropNetworkCheckDuplicate,
			},
			"docker_volume":         {Tok: tfbridge.MakeResource("docker", "index", "Volume")},
			"docker_config":         {Tok: tfbridge.MakeResource("docker", "index", "ServiceConfig")},
			"docker_secret":         {Tok: tfbridge.MakeResource("docker", "index", "Secret")},
			"docker_service":        {Tok: tfbridge.MakeResource("docker", "index", "Service")},
			"docker_registry_image": {Tok: tfbridge.MakeResource("docker", "index", "RegistryImage")},
			"docker_plugin":         {Tok: tfbridge.MakeResource("docker", "index", "Plugin")},
			"docker_tag":            {Tok: tfbridge.MakeResource("docker", "index", "Tag")},
			"docker_buildx_builder": {Tok: tfbridge.MakeResource("docker", "index", "BuildxBuilder")},
		},
		DataSources: map[string]*tfbridge.DataSourceInfo{
			"docker_image": {Tok: tfbridge.MakeDataSource("docker", "index", "getRemoteImage")},
		},
	}
	// Every other token (data sources, and what upstream adds later) gets the SDK's standard
	// docker:index/... shape rather than failing the build.
	prov.MustComputeTokens(tokens.SingleModule("docker_", "index", tokens.MakeStandard("docker")))
	// `name` becomes optional and defaults to <resource name>-<random>, as in the SDK.
	prov.SetAutonaming(255, "-")
	return prov
}

// dropNetworkCheckDuplicate accepts the SDK's Network.checkDuplicate, which upstream removed (the
// Docker API ignores CheckDuplicate since API 1.44 and always refuses a duplicate name). Passed
// through, the Terraform side would fail the check with "Invalid or unknown key".
func dropNetworkCheckDuplicate(
	_ context.Context, config resource.PropertyMap, _ resource.PropertyMap,
) (resource.PropertyMap, error) {
	out := config.Copy()
	delete(out, "checkDuplicate")
	return out, nil
}

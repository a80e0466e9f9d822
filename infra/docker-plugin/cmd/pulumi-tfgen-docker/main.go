// Command pulumi-tfgen-docker writes the plugin's schema.json and bridge-metadata.json
// (`pulumi-tfgen-docker schema --out <dir> --skip-docs --skip-examples`); scripts/toolchain.sh
// runs it before building pulumi-resource-docker, which embeds both files.
package main

import (
	pftfgen "github.com/pulumi/pulumi-terraform-bridge/v3/pkg/pf/tfgen"

	"github.com/terraform-providers/terraform-provider-docker/orchestra-pulumi-docker/mapping"
)

func main() {
	pftfgen.MainWithMuxer("docker", mapping.Provider([]byte("{}")))
}

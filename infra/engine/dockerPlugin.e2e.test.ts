/**
 * The Docker provider plugin built offline by scripts/toolchain.sh (infra/docker-plugin) against
 * the pinned @pulumi/docker 4.11.2: the schema the installed plugin reports must accept exactly
 * what the SDK sends for the resources this project creates.
 */
import { execFileSync } from "child_process";
import { join } from "path";
import { buildToolchain, PROJECT_ROOT } from "./toolchain";
import { PackageSchema, compareShapes, pluginShape, sdkShape } from "./dockerSchema";

// A cold plugin build takes 8-10 minutes on 2 busy cores; cached, well under a second.
jest.setTimeout(30 * 60 * 1000);

let schema: PackageSchema;
let pluginPath: string;

beforeAll(() => {
  const { root, env } = buildToolchain();
  pluginPath = join(env.PULUMI_HOME, "plugins", "resource-docker-v4.11.2", "pulumi-resource-docker");
  // The toolchain's CLI itself: the Automation API has no `package get-schema` (no stack, no workspace).
  const text = execFileSync(join(root, "bin", "pulumi"), ["package", "get-schema", pluginPath], {
    cwd: PROJECT_ROOT,
    env: { ...process.env, ...env },
    encoding: "utf8",
    maxBuffer: 64 * 1024 * 1024,
  });
  schema = JSON.parse(text) as PackageSchema;
});

test("the installed plugin is package docker 4.11.2", () => {
  expect(execFileSync(pluginPath, ["--version"], { encoding: "utf8" }).trim()).toBe("4.11.2");
  expect(schema.name).toBe("docker");
});

/**
 * Where the upstream provider moved on after the commit @pulumi/docker 4.11.2 was generated from:
 * fields it added (the SDK cannot send them, so they stay unset), one it made optional, and one it
 * removed (the plugin drops it in Check; see mapping.go). Every name the mapping chooses, every
 * required flag and every shape is otherwise identical: any other line here is a mapping fault.
 */
const UPSTREAM_DRIFT = [
  "Network.checkDuplicate: the SDK sends it, the plugin does not accept it",
  "Container.deviceCgroupRules: the plugin accepts it, the SDK has no such input",
  "Container.deviceReadBps: the plugin accepts it, the SDK has no such input",
  "Container.deviceReadIops: the plugin accepts it, the SDK has no such input",
  "Container.deviceRequests: the plugin accepts it, the SDK has no such input",
  "Container.deviceWriteBps: the plugin accepts it, the SDK has no such input",
  "Container.deviceWriteIops: the plugin accepts it, the SDK has no such input",
  "Container.platform: the plugin accepts it, the SDK has no such input",
  "RemoteImageBuild.provenance: the plugin accepts it, the SDK has no such input",
  "RemoteImageBuild.sbom: the plugin accepts it, the SDK has no such input",
  "RemoteImageBuild.useLegacyBuilder: the plugin accepts it, the SDK has no such input",
  "ContainerHealthcheck.tests: required in the SDK only",
  "ContainerNetworksAdvanced.driverOpts: the plugin accepts it, the SDK has no such input",
  "ContainerNetworksAdvanced.gwPriority: the plugin accepts it, the SDK has no such input",
  "ContainerNetworksAdvanced.linkLocalIps: the plugin accepts it, the SDK has no such input",
  "ContainerUpload.group: the plugin accepts it, the SDK has no such input",
  "ContainerUpload.owner: the plugin accepts it, the SDK has no such input",
  "ContainerVolume.selinuxRelabel: the plugin accepts it, the SDK has no such input",
];

test("Provider, Network, Volume, RemoteImage and Container: names, required inputs and shapes match the SDK field for field", () => {
  const sdk = sdkShape();
  expect(compareShapes(sdk, pluginShape(schema, sdk))).toEqual(UPSTREAM_DRIFT);
});

test("the provider's host defaults to the local socket, or DOCKER_HOST", () => {
  const expected = { default: "unix:///var/run/docker.sock", environment: ["DOCKER_HOST"] };
  const host = schema.provider.inputProperties?.host;
  expect({ default: host?.default, environment: host?.defaultInfo?.environment }).toEqual(expected);
  const config = schema.config?.variables?.host;
  expect({ default: config?.default, environment: config?.defaultInfo?.environment }).toEqual(expected);
});

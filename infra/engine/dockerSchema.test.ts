/**
 * The SDK-versus-plugin schema comparison (dockerSchema.ts) on the pinned @pulumi/docker 4.11.2,
 * without the plugin build: what it reads from the SDK, and that it reports every kind of mismatch
 * a wrong bridge mapping produces. The comparison against the built plugin is in
 * dockerPlugin.e2e.test.ts.
 */
import { readFileSync } from "fs";
import { dirname, join } from "path";
import {
  ObjectShape,
  PackageSchema,
  PackageShape,
  SchemaProperty,
  compareShapes,
  pluginShape,
  sdkShape,
} from "./dockerSchema";

const sdk = sdkShape();

/** Writes a shape back as schema JSON, as tfgen would for a mapping that matches the SDK. */
function toProperty(shape: string): SchemaProperty {
  if (shape.endsWith("[]")) return { type: "array", items: toProperty(shape.slice(0, -2)) };
  const map = /^map<(.*)>$/.exec(shape);
  if (map !== null) return { type: "object", additionalProperties: toProperty(map[1]) };
  if (["string", "number", "boolean"].includes(shape)) return { type: shape };
  return { $ref: `#/types/docker:index/${shape}:${shape}` };
}

function toObject(shape: ObjectShape, input: boolean): Record<string, unknown> {
  const properties = Object.fromEntries(
    Object.entries(shape).map(([key, field]) => [key, toProperty(field.shape)]),
  );
  const required = Object.keys(shape).filter((key) => shape[key].required);
  return input ? { inputProperties: properties, requiredInputs: required } : { properties, required };
}

function matchingSchema(from: PackageShape): PackageSchema {
  const resources: Record<string, unknown> = {};
  for (const [name, { token, inputs }] of Object.entries(from.resources))
    if (name !== "Provider") resources[token] = toObject(inputs, true);
  const types = Object.fromEntries(
    Object.entries(from.types).map(([name, shape]) => [
      `docker:index/${name}:${name}`,
      toObject(shape, false),
    ]),
  );
  return {
    name: "docker",
    provider: toObject(from.resources.Provider.inputs, true),
    resources,
    types,
  } as PackageSchema;
}

test("the SDK side: tokens, required inputs and shapes as @pulumi/docker 4.11.2 declares them", () => {
  expect(Object.fromEntries(Object.entries(sdk.resources).map(([name, r]) => [name, r.token]))).toEqual({
    Provider: "pulumi:providers:docker",
    Network: "docker:index/network:Network",
    Volume: "docker:index/volume:Volume",
    RemoteImage: "docker:index/remoteImage:RemoteImage",
    Container: "docker:index/container:Container",
  });
  const container = sdk.resources.Container.inputs;
  expect(Object.keys(container)).toHaveLength(67);
  expect(Object.keys(container).filter((key) => container[key].required)).toEqual(["image"]);
  expect(container.command).toEqual({ required: false, shape: "string[]" });
  expect(container.networksAdvanced).toEqual({ required: false, shape: "ContainerNetworksAdvanced[]" });
  expect(container.healthcheck).toEqual({ required: false, shape: "ContainerHealthcheck" });
  expect(container.logOpts).toEqual({ required: false, shape: "map<string>" });
  expect(sdk.resources.Provider.inputs.registryAuth).toEqual({
    required: false,
    shape: "ProviderRegistryAuth[]",
  });
  expect(sdk.resources.RemoteImage.inputs.name).toEqual({ required: true, shape: "string" });
  expect(sdk.types.ContainerPort).toEqual({
    external: { required: false, shape: "number" },
    internal: { required: true, shape: "number" },
    ip: { required: false, shape: "string" },
    protocol: { required: false, shape: "string" },
  });
  // Nested types reached from nested types are followed too.
  expect(sdk.types.ContainerMountVolumeOptionsLabel).toEqual({
    label: { required: true, shape: "string" },
    value: { required: true, shape: "string" },
  });
});

test("the Args interfaces read are exactly the keys each resource's constructor sends", () => {
  const root = dirname(require.resolve("@pulumi/docker/package.json"));
  for (const name of Object.keys(sdk.resources)) {
    const js = readFileSync(join(root, `${name.charAt(0).toLowerCase()}${name.slice(1)}.js`), "utf8");
    const sent = [...js.matchAll(/resourceInputs\["(\w+)"\] = [^;]*\bargs\?\.(\w+)/g)].map((m) => m[1]);
    expect({ name, keys: [...new Set(sent)].sort() }).toEqual({
      name,
      keys: Object.keys(sdk.resources[name].inputs).sort(),
    });
  }
});

test("a schema written from the SDK's own shapes matches it with no difference", () => {
  expect(compareShapes(sdk, pluginShape(matchingSchema(sdk), sdk))).toEqual([]);
});

test("every kind of wrong mapping is reported, one line each", () => {
  const schema = JSON.parse(JSON.stringify(matchingSchema(sdk))) as {
    provider: { inputProperties: Record<string, unknown> };
    resources: Record<string, { inputProperties: Record<string, unknown>; requiredInputs: string[] }>;
    types: Record<string, { properties: Record<string, unknown> }>;
  };
  const container = schema.resources["docker:index/container:Container"];
  // The bridge's default plural (no `command` override) ...
  container.inputProperties.commands = container.inputProperties.command;
  delete container.inputProperties.command;
  // ... a MaxItems=1 block left as a list ...
  container.inputProperties.healthcheck = { type: "array", items: container.inputProperties.healthcheck };
  // ... autonaming missing (name required) ...
  container.requiredInputs.push("name");
  // ... a nested field renamed, a whole resource under another token, and the provider's registryAuths.
  const port = schema.types["docker:index/ContainerPort:ContainerPort"].properties;
  port.externalPort = port.external;
  delete port.external;
  delete schema.resources["docker:index/volume:Volume"];
  schema.provider.inputProperties.registryAuths = schema.provider.inputProperties.registryAuth;
  delete schema.provider.inputProperties.registryAuth;

  expect(compareShapes(sdk, pluginShape(schema as unknown as PackageSchema, sdk))).toEqual([
    "Provider.registryAuth: the SDK sends it, the plugin does not accept it",
    "Provider.registryAuths: the plugin accepts it, the SDK has no such input",
    "Volume: the plugin has no resource docker:index/volume:Volume",
    "Container.command: the SDK sends it, the plugin does not accept it",
    "Container.commands: the plugin accepts it, the SDK has no such input",
    "Container.healthcheck: SDK shape ContainerHealthcheck, plugin shape ContainerHealthcheck[]",
    "Container.name: required in the plugin only",
    "ContainerPort.external: the SDK sends it, the plugin does not accept it",
    "ContainerPort.externalPort: the plugin accepts it, the SDK has no such input",
  ]);
});

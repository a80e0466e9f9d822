/**
 * Mock tier: DataServices and AppServices refuse unsafe wiring up front, and a missing secret
 * names the `pulumi config set --secret` command without any secret value.
 */
import * as pulumi from "@pulumi/pulumi";

beforeAll(async () => {
  await pulumi.runtime.setMocks(
    {
      newResource: (args) => ({ id: `${args.name}-id`, state: { ...args.inputs, imageId: "sha256:x" } }),
      call: () => ({}),
    },
    "orchestra",
    "test",
    false,
  );
});

const images = {
  postgres: "postgres:15.8",
  redis: "redis:7.2.5-alpine",
  weaviate: "semitechnologies/weaviate:1.22.4",
};

async function modules() {
  const docker = await import("@pulumi/docker");
  const { DataServices } = await import("./dataServices");
  const { AppServices } = await import("./appServices");
  const { DEFAULT_IMAGES } = await import("./serviceCatalog");
  const { planDataServices } = await import("./dataServicesPlan");
  const { planAppServices } = await import("./appServicesPlan");
  return {
    provider: new docker.Provider("test-docker", {}),
    DataServices,
    AppServices,
    DEFAULT_IMAGES,
    planDataServices,
    planAppServices,
  };
}

test("data stores are never published on 0.0.0.0", async () => {
  const { provider, DataServices, planDataServices } = await modules();
  expect(
    () =>
      new DataServices("s1", {
        plan: planDataServices("s1", { stores: ["postgres"], images, ports: {}, bindAddress: "0.0.0.0" }),
        provider,
        privateIp: "10.0.0.1",
        secrets: { databasePassword: pulumi.secret("pw-1") },
      }),
  ).toThrow(
    "DataServices s1: bindAddress 0.0.0.0 would publish the stores on every interface (Docker's iptables rules bypass the host firewall); bind the private address",
  );
});

test("a missing store secret names the key and the command, never a value", async () => {
  const { provider, DataServices, planDataServices } = await modules();
  expect(
    () =>
      new DataServices("s2", {
        plan: planDataServices("s2", {
          stores: ["postgres", "redis"],
          images,
          ports: {},
          bindAddress: "{privateIp}",
        }),
        provider,
        privateIp: "10.0.0.1",
        secrets: { databasePassword: pulumi.secret("pw-2") },
      }),
  ).toThrow(
    "container redis needs the secret orchestra:redisPassword; set it with `pulumi config set --secret redisPassword <value>`",
  );
});

test("apps on another node than the stores need the data node's address", async () => {
  const { provider, AppServices, DEFAULT_IMAGES, planAppServices } = await modules();
  expect(
    () =>
      new AppServices("a1", {
        plan: planAppServices("a1", {
          environment: "staging",
          stores: ["postgres"],
          mcpServers: [],
          images: DEFAULT_IMAGES,
          ports: { api: 8000, frontend: 3000, postgres: 5432 },
          dataHost: "{dataHost}",
          publicBindAddress: "0.0.0.0",
          privateBindAddress: "{privateIp}",
        }),
        provider,
        privateIp: "10.0.0.2",
        secrets: { databasePassword: pulumi.secret("pw-3") },
      }),
  ).toThrow("AppServices a1: the stores run on another node but no dataHost address was given to reach them");
});

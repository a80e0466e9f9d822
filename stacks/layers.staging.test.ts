/**
 * Mock tier, the staging layer: the fleet with a filesystem, stores on the data node and apps on
 * the app node reaching them there, and the fleet-only variant (deployContainers false).
 * Built with stacks/layerMocks.ts from the committed Pulumi.staging.yaml plus test secrets; pinned:
 * the (type, name, parent) graph, key inputs, and every secret only inside a secret envelope.
 */
import {
  ALL_MCP,
  backupsGraph,
  build,
  declared,
  expectSecretsEnveloped,
  fleetGraph,
  fleetProtection,
  graph,
  inputsOf,
  isSecret,
  secretValue,
  servicesGraph,
  setLayerMocks,
  usedSecrets,
  value,
} from "./layerMocks";

beforeAll(setLayerMocks);

describe("staging", () => {
  test("the graph: fleet, a Docker provider per node, stores on the data node, apps on the app node", async () => {
    await build("staging");
    expect(graph()).toEqual(
      [
        ...fleetGraph(
          "orchestra-staging",
          ["app", "data", "gpu-a"],
          ["us-east-1", "us-south-1", "us-west-1"],
        ),
        ...servicesGraph("orchestra-staging", ALL_MCP),
        // Staging keeps daily backups by default, without WAL archiving.
        ...backupsGraph("orchestra-staging", false),
      ].sort(),
    );
    expect(fleetProtection()).toEqual([
      ["orchestra-staging-fs", false, false],
      ["orchestra-staging-app", false, undefined],
      ["orchestra-staging-data", false, undefined],
      ["orchestra-staging-gpu-a", false, undefined],
    ]);
  });

  test("each child the Layer adopted keeps its old URN: an alias to the stack root, inherited below", async () => {
    await build("staging");
    // Only these declare an alias: grandchildren inherit their parent's.
    const adopted = declared.filter((resource) => resource.aliases !== undefined);
    expect(adopted.map((resource) => [resource.type, resource.name, resource.aliases])).toEqual(
      [
        ["orchestra:fleet:GpuFleet", "orchestra-staging"],
        ["pulumi:providers:docker", "orchestra-staging-app-docker"],
        ["pulumi:providers:docker", "orchestra-staging-data-docker"],
        ["pulumi:providers:docker", "orchestra-staging-gpu-a-docker"],
        ["command:remote:Command", "orchestra-staging-stores-dirs"],
        ["orchestra:services:DataServices", "orchestra-staging-stores"],
        ["orchestra:services:AppServices", "orchestra-staging-apps"],
        ["orchestra:services:HealthGate", "orchestra-staging-health"],
      ].map(([type, name]) => [type, name, ["<stack root>"]]),
    );
  });

  test("key inputs: stores on the data node's private address and the filesystem, apps reach them there", async () => {
    const built = await build("staging");
    expect(inputsOf("pulumi:providers:docker", "orchestra-staging-data-docker").host).toBe(
      "ssh://ubuntu@203.0.113.11",
    );
    expect(inputsOf("command:remote:Command", "orchestra-staging-stores-dirs").create).toBe(
      "mkdir -p '/lambda/nfs/orchestra-staging-data/postgres' '/lambda/nfs/orchestra-staging-data/redis' '/lambda/nfs/orchestra-staging-data/weaviate'",
    );
    expect(inputsOf("docker:index/volume:Volume", "orchestra-staging-stores-redis-data")).toEqual({
      name: "orchestra-staging-stores-redis-data",
      driver: "local",
      driverOpts: { type: "none", o: "bind", device: "/lambda/nfs/orchestra-staging-data/redis" },
    });
    for (const [store, port] of [
      ["postgres", 5432],
      ["redis", 6379],
      ["weaviate", 8080],
    ] as const) {
      expect([
        store,
        inputsOf("docker:index/container:Container", `orchestra-staging-stores-${store}`).ports,
      ]).toEqual([store, [{ internal: port, external: port, ip: "10.0.0.11", protocol: "tcp" }]]);
    }
    const redis = inputsOf("docker:index/container:Container", "orchestra-staging-stores-redis");
    expect(redis.envs).toEqual(secretValue(["REDIS_PASSWORD=test-redisPassword"]));
    expect(JSON.stringify(redis.command)).not.toContain("test-redisPassword");
    const weaviate = inputsOf("docker:index/container:Container", "orchestra-staging-stores-weaviate");
    expect(weaviate.envs).toEqual(
      secretValue([
        "AUTHENTICATION_APIKEY_ENABLED=true",
        "AUTHENTICATION_APIKEY_USERS=orchestra",
        "AUTHENTICATION_ANONYMOUS_ACCESS_ENABLED=false",
        "PERSISTENCE_DATA_PATH=/var/lib/weaviate",
        "ENABLE_MODULES=backup-filesystem",
        "BACKUP_FILESYSTEM_PATH=/var/lib/weaviate/backups",
        "DEFAULT_VECTORIZER_MODULE=none",
        "CLUSTER_HOSTNAME=node1",
        "PORT=8080",
        "AUTHENTICATION_APIKEY_ALLOWED_KEYS=test-weaviateApiKey",
      ]),
    );
    const api = inputsOf("docker:index/container:Container", "orchestra-staging-apps-api");
    expect(api.envs).toEqual(
      secretValue([
        "ENVIRONMENT=staging",
        "ORCHESTRA_AI_ENV=staging",
        "POSTGRES_HOST=10.0.0.11",
        "REDIS_HOST=10.0.0.11",
        "WEAVIATE_URL=http://10.0.0.11:8080",
        "PORT=8000",
        "WEAVIATE_API_KEY=test-weaviateApiKey",
        "DATABASE_URL=postgresql://orchestra:test-databasePassword@10.0.0.11:5432/orchestra",
        "REDIS_URL=redis://:test-redisPassword@10.0.0.11:6379/0",
      ]),
    );
    // MCP servers other than memory carry no store credentials at all.
    expect(inputsOf("docker:index/container:Container", "orchestra-staging-apps-mcp-git").envs).toEqual([
      "ENVIRONMENT=staging",
      "ORCHESTRA_AI_ENV=staging",
      "MCP_SERVER_NAME=git intelligence",
      "MCP_SERVER_PORT=8008",
      "ORCHESTRA_API_URL=http://api:8000",
    ]);
    expect(api.networksAdvanced).toEqual([{ name: "orchestra-staging-apps-net", aliases: ["api"] }]);
    expect(inputsOf("docker:index/container:Container", "orchestra-staging-apps-mcp-unified").ports).toEqual([
      { internal: 8001, external: 8001, ip: "10.0.0.10", protocol: "tcp" },
    ]);
    expect(await value(built.mcpEndpoints)).toEqual({
      memory: "http://10.0.0.10:8003",
      tools: "http://10.0.0.10:8006",
      code: "http://10.0.0.10:8007",
      git: "http://10.0.0.10:8008",
      infrastructure: "http://10.0.0.10:8009",
      unified: "http://10.0.0.10:8001",
    });
    for (const output of [built.databaseUrl, built.redisUrl, built.weaviateUrl])
      expect(await isSecret(output)).toBe(true);
    expect(await value(built.redisUrl)).toBe("redis://:test-redisPassword@10.0.0.11:6379/0");
    expect(await value(built.weaviateUrl)).toBe("http://10.0.0.11:8080");
    // Staging runs no monitoring unless enabled: no alert webhook is used.
    expectSecretsEnveloped(usedSecrets(["alertWebhookUrl"]));
  });

  test("deployContainers false declares the fleet only", async () => {
    // No store runs, so the bucket settings go too (they would do nothing).
    const built = await build("staging", (values) => ({ ...values, deployContainers: false, backup: {} }), [
      "databasePassword",
    ]);
    expect(graph()).toEqual(
      fleetGraph("orchestra-staging", ["app", "data", "gpu-a"], ["us-east-1", "us-south-1", "us-west-1"])
        .filter((line) => !line.startsWith("pulumi:providers:docker"))
        .sort(),
    );
    expect(await value(built.databaseUrl)).toBe(
      "postgresql://orchestra:test-databasePassword@10.0.0.11:5432/orchestra",
    );
    expect(await isSecret(built.databaseUrl)).toBe(true);
  });
});

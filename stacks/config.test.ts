/** Pure tier: stack config validation reports every problem at once, in the user's words. */
import { configPath, StackConfigError, validateStackConfig } from "./config";
import { validStagingConfig } from "./configFixtures";

const valid = validStagingConfig;

test("a valid config becomes a frozen, typed object with defaults", () => {
  const config = validateStackConfig(valid);
  expect(Object.isFrozen(config)).toBe(true);
  expect(config.ssh).toEqual({ publicKey: valid.sshPublicKey, user: "ubuntu", port: 22 });
  expect(config.fleet).toEqual({
    nodes: [
      { key: "app", role: "app", instanceType: "gpu_1x_a10", regions: ["us-west-1"], mountFilesystem: false },
    ],
    allowedCidrs: ["203.0.113.0/24"],
    publicPorts: [3000, 8000],
    filesystem: undefined,
    bootTimeoutMinutes: 30,
    pollIntervalSeconds: 10,
    imageFamily: "lambda-stack-24-04",
  });
});

test("every problem is listed at once, with key, value and fix", () => {
  let thrown: unknown;
  try {
    validateStackConfig({
      ...valid,
      allowedCidrs: ["10.0.0.300/8"],
      nodes: {
        app: { role: "app", instanceType: "gpu_1x_a10", regions: ["us-west-1"] },
        GPU_A: { role: "gpu", instanceType: "gpu_1x_a10", regions: ["us-west-1"], mountFilesystem: true },
      },
    });
  } catch (error) {
    thrown = error;
  }
  // Asserted after the call, so a config that wrongly validates fails here instead of passing silently.
  expect(thrown).toBeInstanceOf(StackConfigError);
  expect((thrown as StackConfigError).problems).toEqual([
    'orchestra:allowedCidrs contains "10.0.0.300/8": not an IPv4 CIDR; write e.g. 203.0.113.0/24 (a single address is /32)',
    'orchestra:nodes.GPU_A: the node key "GPU_A" must be a valid hostname part (lowercase letter first, then lowercase letters, digits, "-"; at most 21); rename it, e.g. "gpu-a"',
    "orchestra:nodes.GPU_A.mountFilesystem is true but orchestra:filesystem is not set; set orchestra:filesystem or drop mountFilesystem",
  ]);
});

test("schema problems name the key and the value written", () => {
  expect(() =>
    validateStackConfig({
      ...valid,
      layer: "prod",
      nodes: { app: { role: "app", instanceType: "gpu_1x_a10", regions: ["us-west-9"] } },
    }),
  ).toThrow(
    "Stack config has 2 problems:\n" +
      '  - orchestra:layer = "prod": Invalid option: expected one of "local"|"integration"|"staging"|"production"; fix with `pulumi config set --path \'layer\' <value>`\n' +
      '  - orchestra:nodes.app.regions[0] = "us-west-9": Invalid option: expected one of "europe-central-1"|"asia-south-1"|"australia-east-1"|"me-west-1"|"asia-northeast-1"|"asia-northeast-2"|"us-east-1"|"us-west-2"|"us-west-1"|"us-south-1"|"us-west-3"|"us-midwest-1"|"us-east-2"|"us-south-2"|"us-south-3"|"us-east-3"|"us-midwest-2"; fix with `pulumi config set --path \'nodes.app.regions[0]\' <value>`',
  );
});

test("fix hints use `pulumi config set --path` syntax: list items in brackets, odd keys quoted", () => {
  expect(configPath(["nodes", "gpu-a", "regions", 2])).toBe("nodes.gpu-a.regions[2]");
  expect(configPath(["prices", "gpu.x"])).toBe('prices["gpu.x"]');
  expect(() => validateStackConfig({ ...valid, allowedCidrs: ["203.0.113.0/24", 7] })).toThrow(
    "Stack config has 1 problem:\n" +
      "  - orchestra:allowedCidrs[1] = 7: Invalid input: expected string, received number; fix with `pulumi config set --path 'allowedCidrs[1]' <value>`",
  );
});

test("each listed bad config is one problem in the user's words, all reported at once", () => {
  const attempt = () =>
    validateStackConfig(
      {
        layer: "production",
        sshPublicKey: valid.sshPublicKey,
        allowedCidrs: ["0.0.0.0/0"],
        publicPorts: [8000, 5432, 8000],
        sshPort: 3000,
        nodes: {
          app: { role: "app", instanceType: "gpu_1x_a10", regions: ["us-west-1"] },
          api2: { role: "app", instanceType: "gpu_9x_z900", regions: ["us-west-1"] },
          Data_1: { role: "data", instanceType: "cpu_4x_general", regions: ["us-west-1"] },
        },
        ports: { "mcp-unified": 8000 },
        ttlHours: 48,
        monthlyBudgetUsd: 6000,
        dockerHost: "/var/run/docker.sock",
      },
      ["sshPrivateKey", "databasePassword"],
    );
  expect(attempt).toThrow("Stack config has 17 problems:\n  - orchestra:publicPorts contains 5432");
  let problems: string[] = [];
  try {
    attempt();
  } catch (error) {
    problems = (error as StackConfigError).problems;
  }
  expect(problems).toEqual([
    // a data store opened to 0.0.0.0/0
    "orchestra:publicPorts contains 5432, the postgres port: data stores listen on the node's private side only and orchestra:allowedCidrs includes 0.0.0.0/0, which would open it to the whole internet; remove 5432 from orchestra:publicPorts (reach postgres over SSH or the private network)",
    // an unknown instance type
    "orchestra:nodes.api2.instanceType = \"gpu_9x_z900\": not a Lambda instance type; allowed: cpu_4x_general, gpu_1x_rtx6000, gpu_1x_a10, gpu_1x_a6000, gpu_2x_a6000, gpu_4x_a6000, gpu_1x_a100, gpu_1x_a100_sxm4, gpu_2x_a100, gpu_4x_a100, gpu_8x_a100, gpu_8x_a100_80gb_sxm4, gpu_8x_v100, gpu_1x_h100_pcie, gpu_1x_h100_sxm5, gpu_2x_h100_sxm5, gpu_4x_h100_sxm5, gpu_8x_h100_sxm5, gpu_1x_gh200, gpu_1x_b200_sxm6, gpu_2x_b200_sxm6, gpu_8x_b200_sxm6; pick one of these, or for a type Lambda added since, set its price with `pulumi config set --path 'prices.gpu_9x_z900' <usd-per-hour>`",
    // a node key that is not a valid hostname
    'orchestra:nodes.Data_1: the node key "Data_1" must be a valid hostname part (lowercase letter first, then lowercase letters, digits, "-"; at most 21); rename it, e.g. "data-1"',
    // two nodes claiming the app's ports
    'orchestra:nodes: "app" and "api2" both have role app; one node runs the API, frontend and MCP servers and their ports can be claimed once: give the others role gpu (or remove them)',
    // two services claiming one port
    "orchestra:ports: api and mcp-unified both claim port 8000; every service needs its own port: set another with `pulumi config set --path 'ports.mcp-unified' <port>` (8010-8014 are free for MCP servers)",
    "orchestra:sshPort = 3000: frontend already claims port 3000 on the nodes; SSH needs its own port: pick another sshPort or move frontend with `pulumi config set --path 'ports.frontend' <port>`",
    "orchestra:publicPorts lists 8000 more than once; each port is opened once: remove the repeat",
    'orchestra:dockerHost = "/var/run/docker.sock": not a Docker daemon address; allowed: unix://, tcp://, ssh:// or npipe:// followed by the address, e.g. unix:///var/run/docker.sock',
    // a TTL on production
    "orchestra:ttlHours = 48: a production fleet is never reaped, so a TTL is refused there; remove it with `pulumi config rm ttlHours`",
    // Production backs up by default: no bucket to put them in.
    "orchestra:backup.bucket is not set; the production layer keeps backups by default and they need a bucket: set it with `pulumi config set --path 'backup.bucket' orchestra-backups-production`, or turn backups off with `pulumi config set --path 'backup.enabled' false`",
    "orchestra:backup.region is not set; the production layer keeps backups by default and they need a region: set it with `pulumi config set --path 'backup.region' us-east-1`, or turn backups off with `pulumi config set --path 'backup.enabled' false`",
    // missing secrets
    "orchestra:redisPassword is not set; the production layer needs it: set it with `pulumi config set --secret redisPassword <value>` (a secret: never commit it in plain text)",
    "orchestra:weaviateApiKey is not set; the production layer needs it: set it with `pulumi config set --secret weaviateApiKey <value>` (a secret: never commit it in plain text)",
    // Production runs monitoring by default, and its alerts need somewhere to go.
    "orchestra:alertWebhookUrl is not set; the production layer needs it: set it with `pulumi config set --secret alertWebhookUrl <value>` (a secret: never commit it in plain text)",
    // ...and backups need the bucket's credentials and the encryption key.
    "orchestra:backupAccessKeyId is not set; the production layer needs it: set it with `pulumi config set --secret backupAccessKeyId <value>` (a secret: never commit it in plain text)",
    "orchestra:backupSecretAccessKey is not set; the production layer needs it: set it with `pulumi config set --secret backupSecretAccessKey <value>` (a secret: never commit it in plain text)",
    "orchestra:backupEncryptionKey is not set; the production layer needs it: set it with `pulumi config set --secret backupEncryptionKey <value>` (a secret: never commit it in plain text)",
  ]);
});

test("a fleet-only stack (deployContainers false) needs no store secret and no app node", () => {
  const config = validateStackConfig(
    {
      ...valid,
      deployContainers: false,
      // No store runs, so there is nothing to back up and no bucket to name.
      backup: {},
      nodes: { "gpu-a": { role: "gpu", instanceType: "gpu_1x_a10", regions: ["us-west-1"] } },
    },
    ["sshPrivateKey"],
  );
  expect(config.requiredSecrets).toEqual(["sshPrivateKey"]);
  expect(config.services.deployContainers).toBe(false);
  expect(() => validateStackConfig({ ...valid, nodes: valid.nodes }, ["sshPrivateKey"])).toThrow(
    "Stack config has 6 problems:\n  - orchestra:databasePassword is not set; the staging layer needs it: set it with `pulumi config set --secret databasePassword <value>` (a secret: never commit it in plain text)",
  );
});

test("MCP servers default to the layer's set; the key overrides it", () => {
  expect(validateStackConfig(valid).services.mcpServers).toEqual([
    "memory",
    "tools",
    "code",
    "git",
    "infrastructure",
    "unified",
  ]);
  expect(
    validateStackConfig({ ...valid, layer: "integration", backup: {}, monthlyBudgetUsd: 300 }).services
      .mcpServers,
  ).toEqual(["memory", "tools"]);
  expect(validateStackConfig({ ...valid, mcpServers: ["git"] }).services.running).toEqual([
    "postgres",
    "redis",
    "weaviate",
    "api",
    "frontend",
    "mcp-git",
  ]);
});

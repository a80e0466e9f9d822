/**
 * Mock tier: each layer's resource graph, built from the committed Pulumi.<layer>.yaml values plus
 * test secrets. A test-only stack transformation records every resource's type, name, parent and
 * options; the mock monitor records inputs. Pinned: the (type, name, parent) list, the key inputs
 * (ports with their host address, env, images, restart, health checks, firewall rules, Docker
 * hosts), that every secret reaches the engine only inside a secret envelope, and that removing a
 * node from the middle of the config renames nothing else.
 */
import * as pulumi from "@pulumi/pulumi";
import type { BuiltLayer } from "./layer";

interface Registered {
  readonly type: string;
  readonly name: string;
  readonly inputs: Record<string, unknown>;
}

interface Declared {
  readonly type: string;
  readonly name: string;
  readonly parent: string;
  readonly protect?: boolean;
  readonly retainOnDelete?: boolean;
}

const registered: Registered[] = [];
const declared: Declared[] = [];

/** Mock addresses by node key: public 203.0.113.x, private 10.0.0.x. */
const HOST_NUMBER: Record<string, number> = { app: 10, data: 11, "gpu-a": 12, "gpu-b": 13 };
const nodeKeyOf = (name: string) => name.replace(/^orchestra-[a-z]+-/, "");

beforeAll(async () => {
  await pulumi.runtime.setMocks(
    {
      newResource: (args) => {
        registered.push({ type: args.type, name: args.name, inputs: args.inputs });
        const outputs: Record<string, unknown> = { ...args.inputs };
        if (args.type === "pulumi-nodejs:dynamic/lambda:Instance") {
          const host = HOST_NUMBER[nodeKeyOf(args.name)];
          Object.assign(outputs, {
            ip: `203.0.113.${host}`,
            privateIp: `10.0.0.${host}`,
            instanceId: `id-${args.name}`,
            region: "us-west-1",
            hourlyPriceUsd: 1.29,
          });
        }
        if (args.type === "pulumi-nodejs:dynamic/lambda:FirewallRuleset")
          outputs.rulesetId = `rs-${args.name}`;
        if (args.type.endsWith("remote:Command") || args.type === "command:local:Command")
          outputs.stdout = `ran ${args.name}`;
        if (args.type === "docker:index/remoteImage:RemoteImage") outputs.imageId = `sha256:${args.name}`;
        return { id: `${args.name}-id`, state: outputs };
      },
      call: () => ({}),
    },
    "orchestra",
    "test",
    false,
  );
});

const record: pulumi.ResourceTransformation = (args) => {
  const parent = (args.opts.parent as unknown as { __name?: string } | undefined)?.__name ?? "<stack>";
  declared.push({
    type: args.type,
    name: args.name,
    parent,
    ...(args.opts.protect !== undefined ? { protect: args.opts.protect } : {}),
    ...((args.opts as pulumi.CustomResourceOptions).retainOnDelete !== undefined
      ? { retainOnDelete: (args.opts as pulumi.CustomResourceOptions).retainOnDelete }
      : {}),
  });
  return undefined;
};

const TEST_SECRETS = {
  sshPrivateKey: "test-sshPrivateKey",
  databasePassword: "test-databasePassword",
  redisPassword: "test-redisPassword",
  weaviateApiKey: "test-weaviateApiKey",
} as const;

async function build(
  layer: string,
  edit: (values: Record<string, unknown>) => Record<string, unknown> = (values) => values,
  extraSecrets: (keyof typeof TEST_SECRETS)[] = [],
): Promise<BuiltLayer> {
  registered.length = 0;
  declared.length = 0;
  const { validateStackConfig } = await import("./config");
  const { stackValues } = await import("./configFiles");
  const { buildLayer } = await import("./layer");
  const config = validateStackConfig(edit(stackValues(layer)));
  const secrets = Object.fromEntries(
    [...config.requiredSecrets, ...extraSecrets].map((key) => [
      key,
      pulumi.secret(TEST_SECRETS[key as keyof typeof TEST_SECRETS]),
    ]),
  );
  let built: BuiltLayer | undefined;
  await pulumi.runtime.runInPulumiStack(async () => {
    pulumi.runtime.registerStackTransformation(record);
    built = buildLayer(`orchestra-${layer}`, config, secrets, { stackTag: `orchestra/${layer}` });
    return {};
  });
  // Registration is asynchronous: let every pending apply and registration finish.
  await new Promise((resolve) => setTimeout(resolve, 300));
  return built as BuiltLayer;
}

function value<T>(output: pulumi.Output<T> | undefined): Promise<T | undefined> {
  return output === undefined ? Promise.resolve(undefined) : new Promise((resolve) => output.apply(resolve));
}

/** An Output's secret flag, awaited (the mocks support secrets). */
async function isSecret(output: pulumi.Output<unknown> | undefined): Promise<boolean> {
  return output !== undefined && (await pulumi.isSecret(output));
}

function graph(): string[] {
  return declared.map((resource) => `${resource.type} ${resource.name} <- ${resource.parent}`).sort();
}

function inputsOf(type: string, name: string): Record<string, unknown> {
  const found = registered.filter((resource) => resource.type === type && resource.name === name);
  expect([type, name, found.length]).toEqual([type, name, 1]);
  return found[0].inputs;
}

const SECRET_SIG = { [pulumi.runtime.specialSigKey]: pulumi.runtime.specialSecretSig };
const secretValue = (inner: unknown) => ({ ...SECRET_SIG, value: inner });

/** Paths where a test secret appears outside a secret envelope (must be none). */
function plainSecretPaths(node: unknown, path: string): string[] {
  if (typeof node === "string")
    return Object.values(TEST_SECRETS).some((secret) => node.includes(secret)) ? [path] : [];
  if (Array.isArray(node)) return node.flatMap((item, index) => plainSecretPaths(item, `${path}[${index}]`));
  if (node !== null && typeof node === "object") {
    const record = node as Record<string, unknown>;
    if (record[pulumi.runtime.specialSigKey] === pulumi.runtime.specialSecretSig) return [];
    return Object.entries(record).flatMap(([key, child]) => plainSecretPaths(child, `${path}.${key}`));
  }
  return [];
}

/** Every test secret the layer uses reaches the engine, and only ever inside a secret envelope. */
function expectSecretsEnveloped(expectedSecrets: string[]) {
  const leaks = registered.flatMap((resource) =>
    plainSecretPaths(resource.inputs, `${resource.type} ${resource.name}`),
  );
  expect(leaks).toEqual([]);
  const text = JSON.stringify(registered.map((resource) => resource.inputs));
  const used = Object.values(TEST_SECRETS).filter((secret) => text.includes(secret));
  expect(used.sort()).toEqual(expectedSecrets.sort());
}

const HEALTH = (test: string[], startPeriod: string) => ({
  tests: test,
  interval: "30s",
  timeout: "5s",
  retries: 3,
  startPeriod,
});
const pythonCheck = (url: string) => [
  "CMD",
  "python3",
  "-c",
  `import urllib.request; urllib.request.urlopen('${url}', timeout=4)`,
];

describe("local", () => {
  test("the graph: the local engine, a SQLite volume, the API and frontend, the gate", async () => {
    await build("local");
    expect(graph()).toEqual(
      [
        "pulumi:providers:docker orchestra-local-docker <- <stack>",
        "orchestra:services:DataServices orchestra-local-stores <- <stack>",
        "docker:index/network:Network orchestra-local-stores-net <- orchestra-local-stores",
        "docker:index/volume:Volume orchestra-local-stores-sqlite-data <- orchestra-local-stores",
        "orchestra:services:AppServices orchestra-local-apps <- <stack>",
        "docker:index/remoteImage:RemoteImage orchestra-local-apps-api-image <- orchestra-local-apps",
        "docker:index/container:Container orchestra-local-apps-api <- orchestra-local-apps",
        "docker:index/remoteImage:RemoteImage orchestra-local-apps-frontend-image <- orchestra-local-apps",
        "docker:index/container:Container orchestra-local-apps-frontend <- orchestra-local-apps",
        "orchestra:services:HealthGate orchestra-local-health <- <stack>",
        "command:local:Command orchestra-local-health-check <- orchestra-local-health",
      ].sort(),
    );
  });

  test("key inputs: loopback ports, SQLite wiring, pinned images, restart and health checks", async () => {
    const built = await build("local");
    expect(inputsOf("pulumi:providers:docker", "orchestra-local-docker").host).toBe(
      "unix:///var/run/docker.sock",
    );
    expect(inputsOf("docker:index/remoteImage:RemoteImage", "orchestra-local-apps-api-image")).toEqual({
      name: "ghcr.io/ai-cherry/orchestra-api:2025.06.1",
      keepLocally: true,
    });
    const api = inputsOf("docker:index/container:Container", "orchestra-local-apps-api");
    expect(api).toMatchObject({
      name: "orchestra-local-apps-api",
      image: "sha256:orchestra-local-apps-api-image",
      ports: [{ internal: 8000, external: 8000, ip: "127.0.0.1", protocol: "tcp" }],
      envs: [
        "ENVIRONMENT=local",
        "ORCHESTRA_AI_ENV=local",
        "DATABASE_URL=sqlite:////data/orchestra.db",
        "PORT=8000",
      ],
      restart: "unless-stopped",
      memory: 2048,
      cpus: "2",
      volumes: [{ volumeName: "orchestra-local-stores-sqlite-data", containerPath: "/data" }],
      networksAdvanced: [{ name: "orchestra-local-stores-net", aliases: ["api"] }],
      healthcheck: HEALTH(pythonCheck("http://127.0.0.1:8000/api/health"), "20s"),
    });
    const frontend = inputsOf("docker:index/container:Container", "orchestra-local-apps-frontend");
    expect(frontend.ports).toEqual([{ internal: 3000, external: 3000, ip: "127.0.0.1", protocol: "tcp" }]);
    expect(frontend.envs).toEqual([
      "ENVIRONMENT=local",
      "ORCHESTRA_AI_ENV=local",
      "VITE_API_URL=http://api:8000",
      "PORT=3000",
    ]);
    const gate = inputsOf("command:local:Command", "orchestra-local-health-check");
    expect(gate.create).toContain("pending='api=http://127.0.0.1:8000/api/health'");
    expect(gate.triggers).toEqual(["orchestra-local-apps-api-id", "orchestra-local-apps-frontend-id"]);
    expect(await value(built.apiUrl)).toBe("http://127.0.0.1:8000");
    expect(await value(built.frontendUrl)).toBe("http://127.0.0.1:3000");
    expect(await value(built.mcpEndpoints)).toEqual({});
    expect(await value(built.databaseUrl)).toBe("sqlite:////data/orchestra.db");
    expect(await isSecret(built.databaseUrl)).toBe(true);
    expect(declared.find((resource) => resource.type === "docker:index/volume:Volume")).toMatchObject({
      protect: false,
      retainOnDelete: false,
    });
    expectSecretsEnveloped([]);
  });
});

describe("integration", () => {
  test("the graph: one node hosting Postgres, the API, frontend and the basic MCP servers", async () => {
    await build("integration");
    const containers = (prefix: string, services: string[]) =>
      services.flatMap((service) => [
        `docker:index/remoteImage:RemoteImage ${prefix}-${service}-image <- ${prefix}`,
        `docker:index/container:Container ${prefix}-${service} <- ${prefix}`,
      ]);
    expect(graph()).toEqual(
      [
        "orchestra:fleet:GpuFleet orchestra-integration <- <stack>",
        "pulumi-nodejs:dynamic/lambda:SshKey orchestra-integration-ssh <- orchestra-integration",
        "pulumi-nodejs:dynamic/lambda:FirewallRuleset orchestra-integration-fw-us-east-1 <- orchestra-integration",
        "pulumi-nodejs:dynamic/lambda:FirewallRuleset orchestra-integration-fw-us-south-1 <- orchestra-integration",
        "pulumi-nodejs:dynamic/lambda:FirewallRuleset orchestra-integration-fw-us-west-1 <- orchestra-integration",
        "pulumi-nodejs:dynamic/lambda:Instance orchestra-integration-app <- orchestra-integration",
        "command:remote:Command orchestra-integration-app-ready <- orchestra-integration",
        "pulumi:providers:docker orchestra-integration-app-docker <- <stack>",
        "orchestra:services:DataServices orchestra-integration-stores <- <stack>",
        "docker:index/network:Network orchestra-integration-stores-net <- orchestra-integration-stores",
        "docker:index/volume:Volume orchestra-integration-stores-postgres-data <- orchestra-integration-stores",
        ...containers("orchestra-integration-stores", ["postgres"]),
        "orchestra:services:AppServices orchestra-integration-apps <- <stack>",
        ...containers("orchestra-integration-apps", ["api", "frontend", "mcp-memory", "mcp-tools"]),
        "orchestra:services:HealthGate orchestra-integration-health <- <stack>",
        "command:remote:Command orchestra-integration-health-check <- orchestra-integration-health",
      ].sort(),
    );
  });

  test("key inputs: Postgres on the private address, the API wired to it by name, the gate over SSH", async () => {
    const built = await build("integration");
    expect(inputsOf("pulumi:providers:docker", "orchestra-integration-app-docker")).toMatchObject({
      host: "ssh://ubuntu@203.0.113.10",
      sshOpts: JSON.stringify(["-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null"]),
    });
    const postgres = inputsOf("docker:index/container:Container", "orchestra-integration-stores-postgres");
    expect(postgres).toMatchObject({
      ports: [{ internal: 5432, external: 5432, ip: "10.0.0.10", protocol: "tcp" }],
      // One secret entry makes the whole list a secret on its way to the engine.
      envs: secretValue([
        "POSTGRES_USER=orchestra",
        "POSTGRES_DB=orchestra",
        "PGPORT=5432",
        "POSTGRES_PASSWORD=test-databasePassword",
      ]),
      restart: "unless-stopped",
      volumes: [
        {
          volumeName: "orchestra-integration-stores-postgres-data",
          containerPath: "/var/lib/postgresql/data",
        },
      ],
      healthcheck: HEALTH(
        ["CMD-SHELL", 'pg_isready -U "$POSTGRES_USER" -d "$POSTGRES_DB" -h 127.0.0.1'],
        "30s",
      ),
    });
    const api = inputsOf("docker:index/container:Container", "orchestra-integration-apps-api");
    expect(api.ports).toEqual([{ internal: 8000, external: 8000, ip: "0.0.0.0", protocol: "tcp" }]);
    expect(api.envs).toEqual(
      secretValue([
        "ENVIRONMENT=integration",
        "ORCHESTRA_AI_ENV=integration",
        "POSTGRES_HOST=postgres",
        "PORT=8000",
        "DATABASE_URL=postgresql://orchestra:test-databasePassword@postgres:5432/orchestra",
      ]),
    );
    expect(api.networksAdvanced).toEqual([{ name: "orchestra-integration-stores-net", aliases: ["api"] }]);
    const memory = inputsOf("docker:index/container:Container", "orchestra-integration-apps-mcp-memory");
    expect(memory).toMatchObject({
      ports: [{ internal: 8003, external: 8003, ip: "10.0.0.10", protocol: "tcp" }],
      restart: "unless-stopped",
      user: "1000:1000",
      memory: 512,
      cpus: "0.5",
      healthcheck: HEALTH(pythonCheck("http://127.0.0.1:8003/health"), "20s"),
    });
    const gate = inputsOf("command:remote:Command", "orchestra-integration-health-check");
    expect(gate.create).toContain(
      "pending='api=http://127.0.0.1:8000/api/health mcp-memory=http://10.0.0.10:8003/health mcp-tools=http://10.0.0.10:8006/health'",
    );
    expect(gate.connection).toEqual(
      secretValue({
        host: "203.0.113.10",
        port: 22,
        user: "ubuntu",
        privateKey: "test-sshPrivateKey",
        dialErrorLimit: 120,
        perDialTimeout: 5,
      }),
    );
    expect(await value(built.apiUrl)).toBe("http://203.0.113.10:8000");
    expect(await value(built.mcpEndpoints)).toEqual({
      memory: "http://10.0.0.10:8003",
      tools: "http://10.0.0.10:8006",
    });
    expect(await value(built.databaseUrl)).toBe(
      "postgresql://orchestra:test-databasePassword@postgres:5432/orchestra",
    );
    expect(await isSecret(built.databaseUrl)).toBe(true);
    expect(built.redisUrl).toBeUndefined();
    expectSecretsEnveloped(["test-sshPrivateKey", "test-databasePassword"]);
  });

  test("the node carries the layer's TTL and the stack tag the reaper selects by", async () => {
    await build("integration");
    const app = inputsOf("pulumi-nodejs:dynamic/lambda:Instance", "orchestra-integration-app");
    expect(app.ttlHours).toBe(24);
    expect(app.tags).toMatchObject({
      "orchestra-stack": "orchestra/integration",
      "orchestra-layer": "integration",
    });
  });

  test("firewall rules open SSH and the public ports to the allowed CIDRs only", async () => {
    await build("integration");
    expect(
      inputsOf("pulumi-nodejs:dynamic/lambda:FirewallRuleset", "orchestra-integration-fw-us-west-1").rules,
    ).toEqual([
      {
        protocol: "tcp",
        port_range: [22, 22],
        source_network: "203.0.113.0/24",
        description: "ssh from 203.0.113.0/24",
      },
      {
        protocol: "tcp",
        port_range: [3000, 3000],
        source_network: "203.0.113.0/24",
        description: "port 3000 from 203.0.113.0/24",
      },
      {
        protocol: "tcp",
        port_range: [8000, 8000],
        source_network: "203.0.113.0/24",
        description: "port 8000 from 203.0.113.0/24",
      },
      { protocol: "icmp", source_network: "0.0.0.0/0", description: "ping" },
    ]);
  });

  test("a non-default sshPort is the port the firewall opens and the readiness step dials", async () => {
    await build("integration", (values) => ({ ...values, sshPort: 2222 }));
    const rules = inputsOf(
      "pulumi-nodejs:dynamic/lambda:FirewallRuleset",
      "orchestra-integration-fw-us-west-1",
    ).rules as { port_range?: number[]; description: string }[];
    expect(rules.map((rule) => [rule.description, rule.port_range])).toEqual([
      ["ssh from 203.0.113.0/24", [2222, 2222]],
      ["port 3000 from 203.0.113.0/24", [3000, 3000]],
      ["port 8000 from 203.0.113.0/24", [8000, 8000]],
      ["ping", undefined],
    ]);
    const ready = inputsOf("command:remote:Command", "orchestra-integration-app-ready");
    expect((ready.connection as { value: { port: number } }).value.port).toBe(2222);
  });

  test("a fleet layer without the SSH private key fails with how to set it", async () => {
    const { validateStackConfig } = await import("./config");
    const { stackValues } = await import("./configFiles");
    const { buildLayer } = await import("./layer");
    const config = validateStackConfig(stackValues("integration"));
    expect(() => buildLayer("orchestra-integration", config, {})).toThrow(
      "layer integration: the SSH private key is missing though the layer has nodes; set it with `pulumi config set --secret sshPrivateKey < key-file`",
    );
  });
});

const STAGING_STORES = ["postgres", "redis", "weaviate"];
const ALL_MCP = ["mcp-memory", "mcp-tools", "mcp-code", "mcp-git", "mcp-infrastructure", "mcp-unified"];

function fleetGraph(prefix: string, nodeKeys: string[], regions: string[]): string[] {
  return [
    `orchestra:fleet:GpuFleet ${prefix} <- <stack>`,
    `pulumi-nodejs:dynamic/lambda:SshKey ${prefix}-ssh <- ${prefix}`,
    `pulumi-nodejs:dynamic/lambda:Filesystem ${prefix}-fs <- ${prefix}`,
    ...regions.map(
      (region) => `pulumi-nodejs:dynamic/lambda:FirewallRuleset ${prefix}-fw-${region} <- ${prefix}`,
    ),
    ...nodeKeys.flatMap((key) => [
      `pulumi-nodejs:dynamic/lambda:Instance ${prefix}-${key} <- ${prefix}`,
      `command:remote:Command ${prefix}-${key}-ready <- ${prefix}`,
      `pulumi:providers:docker ${prefix}-${key}-docker <- <stack>`,
    ]),
  ];
}

function servicesGraph(prefix: string, mcp: string[]): string[] {
  const containers = (component: string, services: string[]) =>
    services.flatMap((service) => [
      `docker:index/remoteImage:RemoteImage ${component}-${service}-image <- ${component}`,
      `docker:index/container:Container ${component}-${service} <- ${component}`,
    ]);
  return [
    `command:remote:Command ${prefix}-stores-dirs <- <stack>`,
    `orchestra:services:DataServices ${prefix}-stores <- <stack>`,
    `docker:index/network:Network ${prefix}-stores-net <- ${prefix}-stores`,
    ...STAGING_STORES.map(
      (store) => `docker:index/volume:Volume ${prefix}-stores-${store}-data <- ${prefix}-stores`,
    ),
    ...containers(`${prefix}-stores`, STAGING_STORES),
    `orchestra:services:AppServices ${prefix}-apps <- <stack>`,
    `docker:index/network:Network ${prefix}-apps-net <- ${prefix}-apps`,
    ...containers(`${prefix}-apps`, ["api", "frontend", ...mcp]),
    `orchestra:services:HealthGate ${prefix}-health <- <stack>`,
    `command:remote:Command ${prefix}-health-check <- ${prefix}-health`,
  ];
}

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
      ].sort(),
    );
    const stateful = declared.filter((resource) =>
      ["pulumi-nodejs:dynamic/lambda:Instance", "pulumi-nodejs:dynamic/lambda:Filesystem"].includes(
        resource.type,
      ),
    );
    expect(stateful.map((resource) => [resource.name, resource.protect, resource.retainOnDelete])).toEqual([
      ["orchestra-staging-fs", false, false],
      ["orchestra-staging-app", false, undefined],
      ["orchestra-staging-data", false, undefined],
      ["orchestra-staging-gpu-a", false, undefined],
    ]);
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
    expectSecretsEnveloped(Object.values(TEST_SECRETS));
  });

  test("deployContainers false declares the fleet only", async () => {
    const built = await build("staging", (values) => ({ ...values, deployContainers: false }), [
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

describe("production", () => {
  const regions = ["us-east-1", "us-south-1", "us-west-1"];

  test("the graph, with protected, retained store volumes, filesystem and protected instances", async () => {
    await build("production");
    expect(graph()).toEqual(
      [
        ...fleetGraph("orchestra-production", ["app", "data", "gpu-a", "gpu-b"], regions),
        ...servicesGraph("orchestra-production", ALL_MCP),
      ].sort(),
    );
    const volumes = declared.filter((resource) => resource.type === "docker:index/volume:Volume");
    expect(volumes.map((volume) => [volume.name, volume.protect, volume.retainOnDelete])).toEqual(
      STAGING_STORES.map((store) => [`orchestra-production-stores-${store}-data`, true, true]),
    );
    // The fleet is protected too; the filesystem is retained, instances never (they would bill on).
    const stateful = declared.filter((resource) =>
      ["pulumi-nodejs:dynamic/lambda:Instance", "pulumi-nodejs:dynamic/lambda:Filesystem"].includes(
        resource.type,
      ),
    );
    expect(stateful.map((resource) => [resource.name, resource.protect, resource.retainOnDelete])).toEqual([
      ["orchestra-production-fs", true, true],
      ["orchestra-production-app", true, undefined],
      ["orchestra-production-data", true, undefined],
      ["orchestra-production-gpu-a", true, undefined],
      ["orchestra-production-gpu-b", true, undefined],
    ]);
    expectSecretsEnveloped(Object.values(TEST_SECRETS));
  });

  test("production nodes never expire", async () => {
    await build("production");
    const app = inputsOf("pulumi-nodejs:dynamic/lambda:Instance", "orchestra-production-app");
    expect(app.ttlHours).toBeUndefined();
    expect(app.tags).toMatchObject({ "orchestra-stack": "orchestra/production" });
  });

  test("removing a node from the middle of the config renames nothing else", async () => {
    await build("production");
    const before = graph().filter((line) => !line.includes("-gpu-a"));
    await build("production", (values) => {
      const { "gpu-a": _removed, ...nodes } = values.nodes as Record<string, unknown>;
      return { ...values, nodes };
    });
    expect(graph()).toEqual(before);
    expect(inputsOf("pulumi:providers:docker", "orchestra-production-gpu-b-docker").host).toBe(
      "ssh://ubuntu@203.0.113.13",
    );
  });
});

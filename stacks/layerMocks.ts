/**
 * Test support for the mock tier's per-layer files (stacks/layers.<layer>.test.ts): the mock
 * monitor, a test-only stack transformation that records every resource's type, name, parent and
 * options, `build(layer)` from the committed Pulumi.<layer>.yaml values plus test secrets, and the
 * helpers the files share (graph, inputs, secret envelopes, health checks, the staging/production
 * graph shapes). Not a test file itself; it imports nothing from the program at load time, so the
 * mocks are in place before `build` loads the layer.
 */
import * as pulumi from "@pulumi/pulumi";
import type { Layer } from "./layer";

export interface Registered {
  readonly type: string;
  readonly name: string;
  readonly inputs: Record<string, unknown>;
}

export interface Declared {
  readonly type: string;
  readonly name: string;
  readonly parent: string;
  readonly protect?: boolean;
  readonly retainOnDelete?: boolean;
  /** Its aliases: "<stack root>" for `{ parent: rootStackResource }`, else the alias as JSON. */
  readonly aliases?: string[];
}

/** Every resource the mock monitor saw in the last `build`, with its inputs. */
export const registered: Registered[] = [];
/** Every resource declared in the last `build`, with its parent and options. */
export const declared: Declared[] = [];

/** Mock addresses by node key: public 203.0.113.x, private 10.0.0.x. */
const HOST_NUMBER: Record<string, number> = { app: 10, data: 11, "gpu-a": 12, "gpu-b": 13 };
const nodeKeyOf = (name: string) => name.replace(/^orchestra-[a-z]+-/, "");

/** The expiry every mock instance with a TTL reports (Unix 1796126400). */
export const MOCK_EXPIRES_AT = "2026-12-01T12:00:00.000Z";

/** The mock monitor: call once per test file, `beforeAll(setLayerMocks)`. */
export async function setLayerMocks(): Promise<void> {
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
            // The provider stamps expiry at launch; a fixed one here (with a TTL only).
            ...(args.inputs.ttlHours !== undefined ? { expiresAt: MOCK_EXPIRES_AT } : {}),
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
}

const record: pulumi.ResourceTransformation = (args) => {
  const parent = (args.opts.parent as unknown as { __name?: string } | undefined)?.__name ?? "<stack>";
  declared.push({
    type: args.type,
    name: args.name,
    parent,
    ...(args.opts.protect !== undefined ? { protect: args.opts.protect } : {}),
    ...(args.opts.aliases !== undefined ? { aliases: args.opts.aliases.map(describeAlias) } : {}),
    ...((args.opts as pulumi.CustomResourceOptions).retainOnDelete !== undefined
      ? { retainOnDelete: (args.opts as pulumi.CustomResourceOptions).retainOnDelete }
      : {}),
  });
  return undefined;
};

/** `{ parent: rootStackResource }` (which is `{ parent: undefined }`, the key present) reads "<stack root>". */
function describeAlias(alias: pulumi.Input<string | pulumi.Alias>): string {
  if (
    typeof alias === "object" &&
    Object.keys(alias).join() === "parent" &&
    (alias as pulumi.Alias).parent === undefined
  )
    return "<stack root>";
  return JSON.stringify(alias);
}

export const TEST_SECRETS = {
  sshPrivateKey: "test-sshPrivateKey",
  databasePassword: "test-databasePassword",
  redisPassword: "test-redisPassword",
  weaviateApiKey: "test-weaviateApiKey",
  alertWebhookUrl: "https://alerts.example.test/hooks/test-alertWebhookUrl",
  backupAccessKeyId: "test-backupAccessKeyId",
  backupSecretAccessKey: "test-backupSecretAccessKey",
  // An age identity in form (age-keygen's), as the backup job needs; not a real key.
  backupEncryptionKey: "AGE-SECRET-KEY-1Q8W4UR23CLXD5MZFSH79VN6PG0KAYTJEQ8W4UR23CLXD5MZFSH79VN6PG0",
} as const;

/** The test secrets the declared resources use: all but `except`. */
export function usedSecrets(except: readonly (keyof typeof TEST_SECRETS)[] = []): string[] {
  return Object.entries(TEST_SECRETS)
    .filter(([key]) => !except.includes(key as keyof typeof TEST_SECRETS))
    .map(([, secret]) => secret);
}

export async function build(
  layer: string,
  edit: (values: Record<string, unknown>) => Record<string, unknown> = (values) => values,
  extraSecrets: (keyof typeof TEST_SECRETS)[] = [],
): Promise<Layer> {
  registered.length = 0;
  declared.length = 0;
  const { validateStackConfig } = await import("./config");
  const { stackValues } = await import("./configFiles");
  const { Layer } = await import("./layer");
  const { planLayer } = await import("./layerPlan");
  const config = validateStackConfig(edit(stackValues(layer)));
  const secrets = Object.fromEntries(
    [...config.requiredSecrets, ...extraSecrets].map((key) => [
      key,
      pulumi.secret(TEST_SECRETS[key as keyof typeof TEST_SECRETS]),
    ]),
  );
  let built: Layer | undefined;
  await pulumi.runtime.runInPulumiStack(async () => {
    pulumi.runtime.registerStackTransformation(record);
    const plan = planLayer(config, { project: "orchestra", stack: layer });
    built = new Layer(plan.names.layer, { plan, secrets });
    return {};
  });
  // Registration is asynchronous: let every pending apply and registration finish.
  await new Promise((resolve) => setTimeout(resolve, 300));
  return built as Layer;
}

export function value<T>(output: pulumi.Output<T> | undefined): Promise<T | undefined> {
  return output === undefined ? Promise.resolve(undefined) : new Promise((resolve) => output.apply(resolve));
}

/** An Output's secret flag, awaited (the mocks support secrets). */
export async function isSecret(output: pulumi.Output<unknown> | undefined): Promise<boolean> {
  return output !== undefined && (await pulumi.isSecret(output));
}

export function graph(): string[] {
  return declared.map((resource) => `${resource.type} ${resource.name} <- ${resource.parent}`).sort();
}

export function inputsOf(type: string, name: string): Record<string, unknown> {
  const found = registered.filter((resource) => resource.type === type && resource.name === name);
  expect([type, name, found.length]).toEqual([type, name, 1]);
  return found[0].inputs;
}

const SECRET_SIG = { [pulumi.runtime.specialSigKey]: pulumi.runtime.specialSecretSig };
export const secretValue = (inner: unknown) => ({ ...SECRET_SIG, value: inner });

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
export function expectSecretsEnveloped(expectedSecrets: string[]) {
  const leaks = registered.flatMap((resource) =>
    plainSecretPaths(resource.inputs, `${resource.type} ${resource.name}`),
  );
  expect(leaks).toEqual([]);
  const text = JSON.stringify(registered.map((resource) => resource.inputs));
  const used = Object.values(TEST_SECRETS).filter((secret) => text.includes(secret));
  expect(used.sort()).toEqual(expectedSecrets.sort());
}

export const HEALTH = (test: string[], startPeriod: string) => ({
  tests: test,
  interval: "30s",
  timeout: "5s",
  retries: 3,
  startPeriod,
});
export const pythonCheck = (url: string) => [
  "CMD",
  "python3",
  "-c",
  `import urllib.request; urllib.request.urlopen('${url}', timeout=4)`,
];

export const STAGING_STORES = ["postgres", "redis", "weaviate"];
export const ALL_MCP = [
  "mcp-memory",
  "mcp-tools",
  "mcp-code",
  "mcp-git",
  "mcp-infrastructure",
  "mcp-unified",
];

/**
 * The Layer component (named like its fleet) and a fleet with a filesystem under it: their
 * declared resources, as `graph()` lists them.
 */
export function fleetGraph(prefix: string, nodeKeys: string[], regions: string[]): string[] {
  return [
    `orchestra:stack:Layer ${prefix} <- <stack>`,
    `orchestra:fleet:GpuFleet ${prefix} <- ${prefix}`,
    `pulumi-nodejs:dynamic/lambda:SshKey ${prefix}-ssh <- ${prefix}`,
    `pulumi-nodejs:dynamic/lambda:Filesystem ${prefix}-fs <- ${prefix}`,
    ...regions.map(
      (region) => `pulumi-nodejs:dynamic/lambda:FirewallRuleset ${prefix}-fw-${region} <- ${prefix}`,
    ),
    ...nodeKeys.flatMap((key) => [
      `pulumi-nodejs:dynamic/lambda:Instance ${prefix}-${key} <- ${prefix}`,
      `command:remote:Command ${prefix}-${key}-ready <- ${prefix}`,
      `pulumi:providers:docker ${prefix}-${key}-docker <- ${prefix}`,
    ]),
  ];
}

/** Stores on the data node and apps on the app node, with the health gate. */
/** Graph lines of a services component's containers: each service's image and container. */
export function containerGraph(component: string, services: string[]): string[] {
  return services.flatMap((service) => [
    `docker:index/remoteImage:RemoteImage ${component}-${service}-image <- ${component}`,
    `docker:index/container:Container ${component}-${service} <- ${component}`,
  ]);
}

/**
 * The Monitoring component's graph: Prometheus, Alertmanager and the blackbox exporter (and their
 * volumes) on the app node; node_exporter, cAdvisor and the DCGM exporter on every node, each node
 * but the app node with a network of its own.
 */
export function monitoringGraph(prefix: string, nodeKeys: string[], appNode = "app"): string[] {
  const component = `${prefix}-monitoring`;
  return [
    `orchestra:services:Monitoring ${component} <- ${prefix}`,
    `docker:index/volume:Volume ${component}-prometheus-data <- ${component}`,
    `docker:index/volume:Volume ${component}-alertmanager-data <- ${component}`,
    ...containerGraph(component, ["prometheus", "alertmanager", "blackbox-exporter"]),
    ...nodeKeys.flatMap((key) => [
      ...(key === appNode ? [] : [`docker:index/network:Network ${component}-${key}-net <- ${component}`]),
      ...containerGraph(component, [`${key}-node-exporter`, `${key}-cadvisor`, `${key}-dcgm-exporter`]),
    ]),
  ];
}

/**
 * The Backups component's resources: its container on the data node and, with WAL archiving, the
 * spool and socket volumes Postgres shares with it (declared with the stores').
 */
export function backupsGraph(prefix: string, walArchiving: boolean): string[] {
  const component = `${prefix}-backups`;
  return [
    `orchestra:services:Backups ${component} <- ${prefix}`,
    ...containerGraph(component, ["data"]),
    ...(walArchiving
      ? [
          `docker:index/volume:Volume ${component}-postgres-socket <- ${prefix}-stores`,
          `docker:index/volume:Volume ${component}-wal-spool-data <- ${prefix}-stores`,
        ]
      : []),
  ];
}

/** [name, protect, retainOnDelete] of every Lambda instance and filesystem declared. */
export function fleetProtection(): [string, boolean | undefined, boolean | undefined][] {
  return declared
    .filter((resource) =>
      ["pulumi-nodejs:dynamic/lambda:Instance", "pulumi-nodejs:dynamic/lambda:Filesystem"].includes(
        resource.type,
      ),
    )
    .map((resource) => [resource.name, resource.protect, resource.retainOnDelete]);
}

export function servicesGraph(prefix: string, mcp: string[]): string[] {
  return [
    `command:remote:Command ${prefix}-stores-dirs <- ${prefix}`,
    `orchestra:services:DataServices ${prefix}-stores <- ${prefix}`,
    `docker:index/network:Network ${prefix}-stores-net <- ${prefix}-stores`,
    ...STAGING_STORES.map(
      (store) => `docker:index/volume:Volume ${prefix}-stores-${store}-data <- ${prefix}-stores`,
    ),
    ...containerGraph(`${prefix}-stores`, STAGING_STORES),
    `orchestra:services:AppServices ${prefix}-apps <- ${prefix}`,
    `docker:index/network:Network ${prefix}-apps-net <- ${prefix}-apps`,
    ...containerGraph(`${prefix}-apps`, ["api", "frontend", ...mcp]),
    `orchestra:services:HealthGate ${prefix}-health <- ${prefix}`,
    `command:remote:Command ${prefix}-health-check <- ${prefix}-health`,
  ];
}

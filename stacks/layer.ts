/**
 * What a layer builds, from the frozen StackConfig and its secrets: the GPU fleet when the layer
 * has nodes; a Docker provider per node (over SSH, after the node's readiness step) or the local
 * engine; the data stores on the data node (else the app node); the API, frontend and MCP servers
 * on the app node; and the post-deploy health gate. With `deployContainers: false` it declares
 * the fleet only.
 */
import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import { AppServices } from "../components/appServices";
import type { ContainerSecrets } from "../components/containerResources";
import { DataServices } from "../components/dataServices";
import { DATABASE_NAME, DATABASE_USER } from "../components/dataServicesPlan";
import { GpuFleet } from "../components/gpuFleet";
import { HealthGate, runOnHost, type HostTarget } from "../components/healthGate";
import { shellQuote } from "../components/healthGatePlan";
import type { StackConfig, StackSecrets } from "./config";
import { dockerSshHost, planLayer, type LayerPlan } from "./layerPlan";

export interface BuiltLayer {
  readonly plan: LayerPlan;
  readonly fleet?: GpuFleet;
  readonly dockerProviders: Readonly<Record<string, docker.Provider>>;
  readonly data?: DataServices;
  readonly app?: AppServices;
  readonly gate?: HealthGate;
  /** Node key (`local` on the local layer) -> the names of the containers it runs, in plan order. */
  readonly containers?: Readonly<Record<string, readonly string[]>>;
  readonly apiUrl?: pulumi.Output<string>;
  readonly frontendUrl?: pulumi.Output<string>;
  /** MCP server -> URL (private address on Lambda: reach it over SSH or the private network). */
  readonly mcpEndpoints?: pulumi.Output<Record<string, string>>;
  /** Connection strings, each a Pulumi secret. */
  readonly databaseUrl?: pulumi.Output<string>;
  readonly redisUrl?: pulumi.Output<string>;
  readonly weaviateUrl?: pulumi.Output<string>;
}

/** A node's public address, known only once its readiness step has passed (when there is one). */
function readyAddress(fleet: GpuFleet, key: string): pulumi.Output<string> {
  return pulumi.all([fleet.nodes[key].ip, fleet.readiness[key] ?? ""]).apply(([ip]) => ip);
}

export interface LayerOptions {
  /** `<project>/<stack>`, tagged on every instance so `npm run reap` finds this stack's nodes only. */
  readonly stackTag?: string;
}

/**
 * The SSH private key a fleet layer needs (requiredSecrets lists it for every layer with nodes, so
 * a missing key here is a bug in that list, not a user error, but it must not become "").
 */
function sshPrivateKeyOf(secrets: StackSecrets, layer: string): pulumi.Input<string> {
  if (secrets.sshPrivateKey === undefined)
    throw new Error(
      `layer ${layer}: the SSH private key is missing though the layer has nodes; set it with \`pulumi config set --secret sshPrivateKey < key-file\``,
    );
  return secrets.sshPrivateKey;
}

export function buildLayer(
  name: string,
  config: StackConfig,
  secrets: StackSecrets,
  options: LayerOptions = {},
): BuiltLayer {
  const plan = planLayer(name, config);
  const sshPrivateKey = plan.hasFleet ? sshPrivateKeyOf(secrets, config.layer) : "";
  const fleet = plan.hasFleet
    ? new GpuFleet(plan.names.fleet, {
        settings: config.fleet,
        sshPublicKey: config.ssh.publicKey,
        sshPrivateKey,
        sshUser: config.ssh.user,
        sshPort: config.ssh.port,
        readinessChecks: config.readinessChecks,
        remoteCommandRunner: config.remoteCommandRunner,
        tags: { "orchestra-layer": config.layer },
        ...(options.stackTag !== undefined ? { stackTag: options.stackTag } : {}),
        // Cost: integration and staging nodes expire (the policy's TTL); production never does.
        ...(config.cost.ttlHours !== undefined ? { ttlHours: config.cost.ttlHours } : {}),
        // Production instances and filesystem are protected; its filesystem survives a destroy.
        protect: config.policy.protect,
        retainOnDelete: config.policy.retainOnDelete,
      })
    : undefined;
  if (!plan.deployContainers)
    return { plan, fleet, dockerProviders: {}, ...plannedStoreUrls(plan, config, secrets, fleet) };

  const dockerProviders: Record<string, docker.Provider> = {};
  if (fleet === undefined) {
    dockerProviders.local = new docker.Provider(plan.names.localDocker, { host: config.services.dockerHost });
  } else {
    for (const node of config.fleet.nodes) {
      dockerProviders[node.key] = new docker.Provider(plan.names.dockerProvider(node.key), {
        host: readyAddress(fleet, node.key).apply((ip) =>
          dockerSshHost(config.ssh.user, ip, config.ssh.port),
        ),
        // Lambda recycles addresses with new host keys; the readiness step has just reached this
        // very instance. The key comes from the ssh-agent (index.ts checks it holds it first).
        sshOpts: ["-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null"],
      });
    }
  }
  const hostOf = (key: string | undefined) => dockerProviders[key ?? "local"];
  const privateIpOf = (key: string | undefined): pulumi.Input<string> =>
    fleet === undefined || key === undefined ? "127.0.0.1" : fleet.nodes[key].privateIp;
  const targetOf = (key: string | undefined): HostTarget =>
    fleet === undefined || key === undefined
      ? { kind: "local" }
      : {
          kind: "ssh",
          runner: config.remoteCommandRunner,
          host: readyAddress(fleet, key),
          port: config.ssh.port,
          user: config.ssh.user,
          privateKey: sshPrivateKey,
        };
  const containerSecrets: ContainerSecrets = {
    ...(secrets.databasePassword !== undefined ? { databasePassword: secrets.databasePassword } : {}),
    ...(secrets.redisPassword !== undefined ? { redisPassword: secrets.redisPassword } : {}),
    ...(secrets.weaviateApiKey !== undefined ? { weaviateApiKey: secrets.weaviateApiKey } : {}),
  };

  // The Lambda filesystem is mounted, but the directories the volumes bind are not there yet.
  const dataDirs =
    fleet !== undefined && plan.dataNode !== undefined && plan.dataDirectories.length > 0
      ? runOnHost(
          plan.names.dataDirs,
          `mkdir -p ${plan.dataDirectories.map(shellQuote).join(" ")}`,
          targetOf(plan.dataNode),
          [fleet.nodes[plan.dataNode].instanceId],
          {},
        ).resource
      : undefined;
  const dataHost = privateIpOf(plan.dataNode);
  const data = new DataServices(plan.names.data, {
    settings: plan.dataSettings,
    provider: hostOf(plan.dataNode),
    privateIp: dataHost,
    secrets: containerSecrets,
    ...(plan.sameHost ? {} : { clientHost: dataHost }),
    ...(dataDirs !== undefined ? { volumesAfter: [dataDirs] } : {}),
    protect: config.policy.protect,
    retainOnDelete: config.policy.retainOnDelete,
  });
  const app = new AppServices(
    plan.names.app,
    {
      settings: plan.appSettings,
      provider: hostOf(plan.appNode),
      privateIp: privateIpOf(plan.appNode),
      ...(plan.sameHost ? { networkName: data.networkName } : { dataHost }),
      secrets: containerSecrets,
    },
    // The API must not start before the stores it connects to at boot.
    { dependsOn: [data] },
  );
  const gate = new HealthGate(plan.names.gate, {
    endpoints: app.healthEndpoints,
    target: targetOf(plan.appNode),
    containers: [...Object.values(data.containers).map((c) => c.container), ...app.allContainers()],
  });

  const publicHost: pulumi.Input<string> =
    fleet === undefined || plan.appNode === undefined ? "127.0.0.1" : fleet.nodes[plan.appNode].ip;
  const url = (port: number) => pulumi.interpolate`http://${publicHost}:${port}`;
  const appPrivate = privateIpOf(plan.appNode);
  const mcpEndpoints = pulumi
    .output(appPrivate)
    .apply((ip) =>
      Object.fromEntries(
        config.services.mcpServers.map((server) => [
          server,
          `http://${ip}:${config.services.ports[`mcp-${server}`]}`,
        ]),
      ),
    );
  const containers: Record<string, string[]> = {};
  for (const [node, specs] of [
    [plan.dataNode ?? "local", data.plan.containers],
    [plan.appNode ?? "local", app.plan.containers],
  ] as const)
    containers[node] = [...(containers[node] ?? []), ...specs.map((spec) => spec.containerName)];
  return {
    plan,
    fleet,
    dockerProviders,
    data,
    app,
    gate,
    containers,
    apiUrl: url(config.services.ports.api),
    frontendUrl: url(config.services.ports.frontend),
    mcpEndpoints,
    databaseUrl: data.databaseUrl,
    redisUrl: data.redisUrl,
    weaviateUrl: data.weaviateUrl,
  };
}

/**
 * Without containers (the fleet-only sandbox) the stores do not run, but the database URL the
 * data node will serve is still reported, as before, when its password is set. A secret.
 */
function plannedStoreUrls(
  plan: LayerPlan,
  config: StackConfig,
  secrets: StackSecrets,
  fleet: GpuFleet | undefined,
): Pick<BuiltLayer, "databaseUrl"> {
  const password = secrets.databasePassword;
  if (password === undefined || !config.policy.dataStores.includes("postgres")) return {};
  const host: pulumi.Input<string> =
    fleet !== undefined && plan.dataNode !== undefined ? fleet.nodes[plan.dataNode].privateIp : "127.0.0.1";
  const port = config.services.ports.postgres;
  return {
    databaseUrl: pulumi.secret(
      pulumi
        .all([password, host])
        .apply(
          ([value, at]) =>
            `postgresql://${DATABASE_USER}:${encodeURIComponent(value)}@${at}:${port}/${DATABASE_NAME}`,
        ),
    ),
  };
}

/**
 * Layer (`orchestra:stack:Layer`): one environment layer as a component over its LayerPlan
 * (layerPlan.ts). It maps each slice of the plan to its child and derives nothing again: the GPU
 * fleet when the layer has nodes; a Docker provider per host (over SSH after the node's readiness
 * step, or the local engine); the data stores and the apps; the post-deploy health gate. Every
 * child, providers and commands included, is parented here. The only inputs besides the plan are
 * the secrets, and the node addresses the fleet reports once launched.
 */
import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import { AppServices } from "../components/appServices";
import type { ContainerSecrets } from "../components/containerResources";
import {
  PRIVATE_IP_PLACEHOLDER,
  PUBLIC_IP_PLACEHOLDER,
  renderSecretTemplate,
  SECRET_NAMES,
  substituteAddresses,
} from "../components/containerSpec";
import { Backups } from "../components/backups";
import { DataServices } from "../components/dataServices";
import { GpuFleet } from "../components/gpuFleet";
import { HealthGate } from "../components/healthGate";
import { Monitoring } from "../components/monitoring";
import { runOnHost } from "../components/hostCommand";
import type { HostTarget } from "../components/hostTarget";
import type { StackSecrets } from "./config";
import {
  dockerSshHost,
  type ContainersSlice,
  type DockerEngine,
  type LayerPlan,
  type PlannedHostTarget,
  type PlannedStoreUrl,
} from "./layerPlan";

export const LAYER_TYPE = "orchestra:stack:Layer";

export interface LayerArgs {
  readonly plan: LayerPlan;
  /** The stack's secrets (loadStack), each a Pulumi secret. */
  readonly secrets: StackSecrets;
}

/**
 * Before the Layer existed its children were declared at the stack's root. The alias keeps their
 * URNs (and their children's, which inherit it), so a deployed stack plans no replacement.
 */
const FORMERLY_AT_THE_ROOT: pulumi.ComponentResourceOptions = {
  aliases: [{ parent: pulumi.rootStackResource }],
};

export class Layer extends pulumi.ComponentResource {
  public readonly plan: LayerPlan;
  public readonly fleet?: GpuFleet;
  public readonly dockerProviders: Readonly<Record<string, docker.Provider>>;
  public readonly data?: DataServices;
  public readonly app?: AppServices;
  public readonly gate?: HealthGate;
  /** Prometheus, Alertmanager and the exporters, on layers that run monitoring. */
  public readonly monitoring?: Monitoring;
  /** The backup container beside the stores, on layers that keep backups. */
  public readonly backups?: Backups;
  /** Host key (`local` on the local layer) -> the names of the containers it runs, in plan order. */
  public readonly containers?: Readonly<Record<string, readonly string[]>>;
  public readonly apiUrl?: pulumi.Output<string>;
  public readonly frontendUrl?: pulumi.Output<string>;
  /** MCP server -> URL (private address on Lambda: reach it over SSH or the private network). */
  public readonly mcpEndpoints?: pulumi.Output<Record<string, string>>;
  /** Connection strings, each a Pulumi secret. */
  public readonly databaseUrl?: pulumi.Output<string>;
  public readonly redisUrl?: pulumi.Output<string>;
  public readonly weaviateUrl?: pulumi.Output<string>;

  constructor(name: string, args: LayerArgs, opts: pulumi.ComponentResourceOptions = {}) {
    super(LAYER_TYPE, name, {}, opts);
    const { plan, secrets } = args;
    this.plan = plan;
    const child = { parent: this, ...FORMERLY_AT_THE_ROOT };
    const sshPrivateKey = plan.fleet === undefined ? "" : sshPrivateKeyOf(secrets, plan.layer);
    const fleet =
      plan.fleet === undefined
        ? undefined
        : new GpuFleet(
            plan.names.fleet,
            {
              settings: plan.fleet.settings,
              sshPublicKey: plan.fleet.sshPublicKey,
              ssh: { ...plan.fleet.ssh, privateKey: sshPrivateKey },
              readinessChecks: plan.fleet.readinessChecks,
              launchScope: plan.fleet.launchScope,
              tags: plan.fleet.tags,
              stackTag: plan.fleet.stackTag,
              ...(plan.fleet.ttlHours !== undefined ? { ttlHours: plan.fleet.ttlHours } : {}),
              protect: plan.fleet.protect,
              retainOnDelete: plan.fleet.retainOnDelete,
            },
            child,
          );
    this.fleet = fleet;
    const hosts = new NodeAddresses(fleet);

    if (plan.containers === undefined) {
      this.dockerProviders = {};
      if (plan.plannedDatabaseUrl !== undefined)
        this.databaseUrl = plannedStoreUrl(plan.plannedDatabaseUrl, secrets, hosts);
      this.registerOutputs({});
      return;
    }
    const slice = plan.containers;
    this.dockerProviders = Object.fromEntries(
      Object.entries(slice.dockerHosts).map(([host, planned]) => [
        host,
        new docker.Provider(planned.providerName, dockerProviderArgs(planned.engine, hosts), child),
      ]),
    );
    const targetOf = (target: PlannedHostTarget): HostTarget =>
      target.kind === "local"
        ? target
        : {
            kind: "ssh",
            runner: target.runner,
            host: hosts.ready(target.node),
            port: target.port,
            user: target.user,
            privateKey: sshPrivateKey,
          };
    const containerSecrets = containerSecretsOf(secrets);
    const dataDirs =
      slice.dataDirectories === undefined
        ? undefined
        : runOnHost(
            slice.dataDirectories.name,
            slice.dataDirectories.script,
            targetOf(slice.dataTarget),
            [hosts.instanceId(slice.dataHost)],
            child,
          ).resource;
    const dataIp = hosts.privateIp(slice.dataHost);
    const data = new DataServices(
      plan.names.data,
      {
        plan: slice.data,
        provider: this.dockerProviders[slice.dataHost],
        privateIp: dataIp,
        secrets: containerSecrets,
        ...(slice.sameHost ? {} : { clientHost: dataIp }),
        ...(dataDirs !== undefined ? { volumesAfter: [dataDirs] } : {}),
        protect: slice.protect,
        retainOnDelete: slice.retainOnDelete,
      },
      child,
    );
    if (slice.backups !== undefined)
      this.backups = new Backups(
        plan.names.backups,
        {
          plan: slice.backups,
          providers: this.dockerProviders,
          networkName: data.networkName,
          secrets: containerSecrets,
        },
        // Its first WAL push and backup need the stores (and their volumes) up.
        { parent: this, dependsOn: [data] },
      );
    const appIp = hosts.privateIp(slice.appHost);
    const app = new AppServices(
      plan.names.app,
      {
        plan: slice.app,
        provider: this.dockerProviders[slice.appHost],
        privateIp: appIp,
        ...(slice.sameHost ? { networkName: data.networkName } : { dataHost: dataIp }),
        secrets: containerSecrets,
      },
      // The API must not start before the stores it connects to at boot.
      { ...child, dependsOn: [data] },
    );
    this.gate = new HealthGate(
      slice.gateName,
      {
        endpoints: app.healthEndpoints,
        target: targetOf(slice.appTarget),
        containers: [...Object.values(data.containers).map((c) => c.container), ...app.allContainers()],
      },
      child,
    );
    const addresses = addressesOf(slice, hosts);
    if (slice.monitoring !== undefined) {
      const planned = slice.monitoring;
      this.monitoring = new Monitoring(
        plan.names.monitoring,
        {
          plan: planned,
          providers: this.dockerProviders,
          nodes: Object.fromEntries(
            planned.settings.nodes.map((node) => [
              node.key,
              {
                privateIp: hosts.privateIp(node.key),
                expiresAt: hosts.expiresAt(node.key),
              },
            ]),
          ),
          appAddresses: addresses,
          appNetworkName: app.networkName,
          secrets: containerSecrets,
          protect: slice.protect,
          retainOnDelete: slice.retainOnDelete,
        },
        // Probes of services that are not there yet would page at the first deploy.
        { parent: this, dependsOn: [app] },
      );
    }
    this.data = data;
    this.app = app;
    this.containers = slice.containerNames;
    this.apiUrl = addresses.apply((values) => substituteAddresses(slice.app.publicUrls.api, values));
    this.frontendUrl = addresses.apply((values) =>
      substituteAddresses(slice.app.publicUrls.frontend, values),
    );
    this.mcpEndpoints = addresses.apply((values) =>
      Object.fromEntries(
        Object.entries(slice.app.mcpEndpoints).map(([server, url]) => [
          server,
          substituteAddresses(url, values),
        ]),
      ),
    );
    this.databaseUrl = data.databaseUrl;
    this.redisUrl = data.redisUrl;
    this.weaviateUrl = data.weaviateUrl;
    this.registerOutputs({});
  }
}

/**
 * The addresses the fleet reports for each host key, or 127.0.0.1 for the operator's machine (the
 * local layer, or a host key that is not a node).
 */
class NodeAddresses {
  constructor(private readonly fleet: GpuFleet | undefined) {}

  private node(key: string | undefined) {
    return this.fleet === undefined || key === undefined ? undefined : this.fleet.nodes[key];
  }

  privateIp(key: string | undefined): pulumi.Input<string> {
    return this.node(key)?.privateIp ?? "127.0.0.1";
  }

  publicIp(key: string | undefined): pulumi.Input<string> {
    return this.node(key)?.ip ?? "127.0.0.1";
  }

  /** A node's expiry (ISO time), undefined when it has no TTL or is not a node. */
  expiresAt(key: string): pulumi.Input<string | undefined> {
    return this.node(key)?.expiresAt;
  }

  instanceId(key: string): pulumi.Input<string> {
    return this.node(key)?.instanceId ?? key;
  }

  /** A node's public address, known only once its readiness step has passed (when there is one). */
  ready(key: string): pulumi.Output<string> {
    const fleet = this.fleet;
    if (fleet === undefined)
      throw new Error(`host ${key} is not a node of this layer (the layer has no fleet)`);
    return pulumi.all([fleet.nodes[key].ip, fleet.readiness[key] ?? ""]).apply(([ip]) => ip);
  }
}

function dockerProviderArgs(engine: DockerEngine, hosts: NodeAddresses): docker.ProviderArgs {
  if (engine.kind === "local") return { host: engine.host };
  return {
    host: hosts.ready(engine.node).apply((ip) => dockerSshHost(engine.user, ip, engine.port)),
    // Lambda recycles addresses with new host keys; the readiness step has just reached this very
    // instance. The key comes from the ssh-agent (index.ts checks it holds it first).
    sshOpts: ["-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null"],
  };
}

/** `{publicIp}` and `{privateIp}` of the app host, for the URL templates. */
function addressesOf(slice: ContainersSlice, hosts: NodeAddresses): pulumi.Output<Record<string, string>> {
  return pulumi.all([hosts.publicIp(slice.appHost), hosts.privateIp(slice.appHost)]).apply(
    ([publicIp, privateIp]): Record<string, string> => ({
      [PUBLIC_IP_PLACEHOLDER]: publicIp,
      [PRIVATE_IP_PLACEHOLDER]: privateIp,
    }),
  );
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

/** The store secrets the containers may use: those the stack has. */
function containerSecretsOf(secrets: StackSecrets): ContainerSecrets {
  return Object.fromEntries(
    SECRET_NAMES.filter((name) => secrets[name] !== undefined).map((name) => [name, secrets[name]]),
  );
}

/** A planned store URL, filled: the node's private address and the secret. A secret itself. */
function plannedStoreUrl(
  planned: PlannedStoreUrl,
  secrets: StackSecrets,
  hosts: NodeAddresses,
): pulumi.Output<string> | undefined {
  const value = secrets[planned.secret];
  if (value === undefined) return undefined;
  return pulumi.secret(
    pulumi.all([value, hosts.privateIp(planned.node)]).apply(([secret, at]) =>
      renderSecretTemplate(substituteAddresses(planned.template, { [PRIVATE_IP_PLACEHOLDER]: at }), {
        [planned.secret]: secret,
      }),
    ),
  );
}

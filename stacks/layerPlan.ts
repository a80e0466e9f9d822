/**
 * Pure planning for a layer: from the frozen StackConfig and the stack's identity to the complete
 * LayerPlan, every decision the Layer component (layer.ts) then maps to resources without deriving
 * anything again. Which node hosts the stores and which the app, the slice each component gets
 * (fleet, stores, apps, health gate), the data directories, how each node's Docker engine and
 * host commands are reached, the URL templates, the tags and the name of every child.
 *
 * It imports only planners and plain data: nothing here declares a resource.
 */
import type { AppServicesPlan } from "../components/appServicesPlan";
import { planAppServices } from "../components/appServicesPlan";
import { DATA_HOST_PLACEHOLDER, PRIVATE_IP_PLACEHOLDER, type SecretName } from "../components/containerSpec";
import {
  planDataServices,
  storePort,
  storeUrlTemplate,
  type DataServicesPlan,
} from "../components/dataServicesPlan";
import type { FleetSettings } from "../components/gpuFleetPlan";
import { shellQuote } from "../components/healthGatePlan";
import type { RemoteCommandRunner } from "../components/hostTarget";
import { DATA_SERVICES, type DataService } from "../components/serviceCatalog";
import { planMonitoring, type MonitoringPlan } from "../components/monitoringPlan";
import { planBackups, withWalArchiving, type BackupsPlan } from "../components/backupsPlan";
import { mountedFilesystem } from "../infra/launchRules";
import type { LaunchScope } from "../infra/providers/lambdaInstance";
import type { StackConfig } from "./config";

/** Where Lambda mounts a filesystem on an instance (Lambda's default mount point). */
export function filesystemMountPath(filesystemName: string): string {
  return `/lambda/nfs/${filesystemName}`;
}

/** The Pulumi project and stack the program runs as (from the engine, read once by loadStack). */
export type StackIdentity = LaunchScope;

export interface LayerNames {
  /** The Layer component itself. */
  readonly layer: string;
  readonly fleet: string;
  readonly data: string;
  readonly app: string;
  readonly gate: string;
  /** The step that makes the volume directories on the filesystem. */
  readonly dataDirs: string;
  /** The local engine's provider (local layer). */
  readonly localDocker: string;
  /** A node's Docker provider, named from its key. */
  dockerProvider(nodeKey: string): string;
  /** The Monitoring component (Prometheus, Alertmanager, the exporters). */
  readonly monitoring: string;
  /** The Backups component (the backup container beside the stores). */
  readonly backups: string;
}

/** The key of the operator's own machine in per-host maps (the local layer has no nodes). */
export const LOCAL_HOST = "local";

/** What GpuFleet gets: everything but the SSH private key, which is a secret. */
export interface FleetSlice {
  readonly settings: FleetSettings;
  readonly sshPublicKey: string;
  readonly ssh: { readonly runner: RemoteCommandRunner; readonly user: string; readonly port: number };
  readonly readinessChecks: boolean;
  /** Tags on every instance: the layer, and the stack tag `npm run reap` selects by. */
  readonly tags: Readonly<Record<string, string>>;
  readonly stackTag: string;
  readonly launchScope: LaunchScope;
  /** The policy's TTL (integration, staging); production nodes never expire. */
  readonly ttlHours?: number;
  readonly protect: boolean;
  readonly retainOnDelete: boolean;
}

/** How the layer reaches one host's Docker engine. */
export type DockerEngine =
  | { readonly kind: "local"; readonly host: string }
  /** Over SSH to a node, once its readiness step passed; the key comes from the ssh-agent. */
  | { readonly kind: "ssh"; readonly node: string; readonly user: string; readonly port: number };

export interface DockerHostPlan {
  readonly providerName: string;
  readonly engine: DockerEngine;
}

/** Where a host command runs: this machine, or node `node` over SSH with the stack's runner. */
export type PlannedHostTarget =
  | { readonly kind: "local" }
  | {
      readonly kind: "ssh";
      readonly node: string;
      readonly runner: RemoteCommandRunner;
      readonly user: string;
      readonly port: number;
    };

/** What the containers slice declares: stores, apps, the gate, and the hosts they run on. */
export interface ContainersSlice {
  /** Per host key (a node key, or LOCAL_HOST): its Docker provider. */
  readonly dockerHosts: Readonly<Record<string, DockerHostPlan>>;
  /** Host keys (LOCAL_HOST on the local layer). */
  readonly appHost: string;
  readonly dataHost: string;
  /** Stores and app on one Docker host: one network, stores reached by service name. */
  readonly sameHost: boolean;
  readonly data: DataServicesPlan;
  readonly app: AppServicesPlan;
  /** Prometheus, Alertmanager and the exporters, when the layer runs monitoring (on nodes only). */
  readonly monitoring?: MonitoringPlan;
  /**
   * The backup container on the stores' node, when the layer keeps backups (on nodes only). With
   * WAL archiving, `data` already carries Postgres's archive settings and the shared volumes.
   */
  readonly backups?: BackupsPlan;
  /** The step that makes the volume directories on the filesystem (Lambda layers with one). */
  readonly dataDirectories?: { readonly name: string; readonly script: string };
  /** Where host commands run for the stores (data directories) and the app (the gate). */
  readonly dataTarget: PlannedHostTarget;
  readonly appTarget: PlannedHostTarget;
  readonly gateName: string;
  /** Host key -> the names of the containers it runs, in plan order (the `containers` output). */
  readonly containerNames: Readonly<Record<string, readonly string[]>>;
  readonly protect: boolean;
  readonly retainOnDelete: boolean;
}

/**
 * A store URL the layer reports although no container runs it (the fleet-only sandbox): the
 * template (with `{privateIp}` for the data node's private address, and the secret placeholder),
 * and the node whose address fills it (undefined: 127.0.0.1).
 */
export interface PlannedStoreUrl {
  readonly template: string;
  readonly secret: SecretName;
  readonly node?: string;
}

export interface LayerPlan {
  readonly names: LayerNames;
  readonly layer: StackConfig["layer"];
  /** Undefined on the local layer (no Lambda nodes). */
  readonly fleet?: FleetSlice;
  /** Undefined with `deployContainers: false`. */
  readonly containers?: ContainersSlice;
  /** Without containers: the database URL the data node will serve, when its password is set. */
  readonly plannedDatabaseUrl?: PlannedStoreUrl;
}

export function layerNames(name: string): LayerNames {
  return {
    layer: name,
    fleet: name,
    data: `${name}-stores`,
    app: `${name}-apps`,
    gate: `${name}-health`,
    dataDirs: `${name}-stores-dirs`,
    localDocker: `${name}-docker`,
    dockerProvider: (nodeKey) => `${name}-${nodeKey}-docker`,
    monitoring: `${name}-monitoring`,
    backups: `${name}-backups`,
  };
}

/** `ssh://user@ip` (with `:port` when not 22): the Docker provider runs the engine API over SSH. */
export function dockerSshHost(user: string, ip: string, port: number): string {
  return `ssh://${user}@${ip}${port === 22 ? "" : `:${port}`}`;
}

/**
 * Whether each node's containers are created through a Docker provider over SSH (a fleet layer
 * that deploys containers): then Docker's ssh needs the key in an ssh-agent (dockerSshAgent.ts).
 */
export function dockerOverSsh(plan: LayerPlan): boolean {
  return plan.fleet !== undefined && plan.containers !== undefined;
}

/** The stack tag on every instance: `<project>/<stack>`. */
export function stackTagOf(identity: StackIdentity): string {
  return `${identity.project}/${identity.stack}`;
}

/**
 * The complete plan of stack `identity.stack`'s layer. Children are named `orchestra-<stack>...`.
 * Pure: no Pulumi runtime call, no resource. Throws only for a plan a valid config cannot reach
 * (a store bound to an empty address, see requireAddress).
 */
export function planLayer(config: StackConfig, identity: StackIdentity): LayerPlan {
  const names = layerNames(`orchestra-${identity.stack}`);
  const fleet = config.fleet.nodes.length > 0 ? planFleetSlice(config, identity) : undefined;
  const containers = config.services.deployContainers ? planContainers(config, names, identity) : undefined;
  const plannedDatabaseUrl =
    containers === undefined ? planDatabaseUrl(config, dataNodeOf(config)) : undefined;
  return {
    names,
    layer: config.layer,
    ...(fleet !== undefined ? { fleet } : {}),
    ...(containers !== undefined ? { containers } : {}),
    ...(plannedDatabaseUrl !== undefined ? { plannedDatabaseUrl } : {}),
  };
}

function planFleetSlice(config: StackConfig, identity: StackIdentity): FleetSlice {
  const stackTag = stackTagOf(identity);
  return {
    settings: config.fleet,
    sshPublicKey: config.ssh.publicKey,
    ssh: { runner: config.remoteCommandRunner, user: config.ssh.user, port: config.ssh.port },
    readinessChecks: config.readinessChecks,
    tags: { "orchestra-layer": config.layer },
    stackTag,
    launchScope: identity,
    ...(config.cost.ttlHours !== undefined ? { ttlHours: config.cost.ttlHours } : {}),
    protect: config.policy.protect,
    retainOnDelete: config.policy.retainOnDelete,
  };
}

function appNodeOf(config: StackConfig): string | undefined {
  return config.fleet.nodes.find((node) => node.role === "app")?.key;
}

/** Stores run on the data node; without one they share the app node. */
function dataNodeOf(config: StackConfig): string | undefined {
  return config.fleet.nodes.find((node) => node.role === "data")?.key ?? appNodeOf(config);
}

function targetOf(config: StackConfig, node: string | undefined): PlannedHostTarget {
  return node === undefined
    ? { kind: "local" }
    : {
        kind: "ssh",
        node,
        runner: config.remoteCommandRunner,
        user: config.ssh.user,
        port: config.ssh.port,
      };
}

function planDockerHosts(config: StackConfig, names: LayerNames): Record<string, DockerHostPlan> {
  if (config.fleet.nodes.length === 0)
    return {
      [LOCAL_HOST]: {
        providerName: names.localDocker,
        engine: { kind: "local", host: config.services.dockerHost },
      },
    };
  return Object.fromEntries(
    config.fleet.nodes.map((node) => [
      node.key,
      {
        providerName: names.dockerProvider(node.key),
        engine: { kind: "ssh", node: node.key, user: config.ssh.user, port: config.ssh.port },
      },
    ]),
  );
}

function planContainers(config: StackConfig, names: LayerNames, identity: StackIdentity): ContainersSlice {
  const appNode = appNodeOf(config);
  const dataNode = dataNodeOf(config);
  const local = config.layer === "local";
  const sameHost = local || dataNode === appNode;
  const stores = config.policy.dataStores;
  const ports = config.services.ports;
  const storePorts: Partial<Record<DataService, number>> = Object.fromEntries(
    DATA_SERVICES.filter((store) => ports[store] !== undefined).map((store) => [store, ports[store]]),
  );
  const dataNodeSettings = config.fleet.nodes.find((node) => node.key === dataNode);
  const mounted = mountedFilesystem(dataNodeSettings?.mountFilesystem, config.fleet.filesystem);
  const mountPath = mounted !== undefined ? filesystemMountPath(mounted.name) : undefined;
  const storesOnly = planDataServices(names.data, {
    stores,
    images: {
      postgres: config.services.images.postgres,
      redis: config.services.images.redis,
      weaviate: config.services.images.weaviate,
    },
    ports: storePorts,
    // Never 0.0.0.0: Docker's iptables rules bypass the host firewall.
    bindAddress: local ? "127.0.0.1" : PRIVATE_IP_PLACEHOLDER,
    ...(mountPath !== undefined ? { filesystemMountPath: mountPath } : {}),
  });
  const backups =
    config.backups !== undefined && dataNode !== undefined
      ? planBackups(names.backups, {
          settings: config.backups,
          stack: identity.stack,
          node: dataNode,
          image: config.services.images["orchestra-backup"],
          data: storesOnly,
        })
      : undefined;
  // With WAL archiving, Postgres copies each segment into the spool the backup container pushes.
  const data = backups !== undefined ? withWalArchiving(storesOnly, backups) : storesOnly;
  const app = planAppServices(names.app, {
    environment: config.layer,
    stores,
    mcpServers: config.services.mcpServers,
    images: config.services.images,
    ports: { ...ports, api: ports.api, frontend: ports.frontend },
    ...(sameHost ? {} : { dataHost: DATA_HOST_PLACEHOLDER }),
    // On Lambda the firewall ruleset guards the public ports; locally nothing leaves the machine.
    publicBindAddress: local ? "127.0.0.1" : "0.0.0.0",
    privateBindAddress: local ? "127.0.0.1" : PRIVATE_IP_PLACEHOLDER,
    ...(data.sqliteVolume !== undefined ? { sqliteVolumeName: data.sqliteVolume.volumeName } : {}),
  });
  // The Lambda filesystem is mounted, but the directories the volumes bind are not there yet.
  const directories = data.volumes.flatMap((volume) =>
    volume.hostPath !== undefined ? [volume.hostPath] : [],
  );
  const dataHost = dataNode ?? LOCAL_HOST;
  const appHost = appNode ?? LOCAL_HOST;
  const monitoring =
    config.monitoring !== undefined && appNode !== undefined
      ? planMonitoring(names.monitoring, {
          settings: config.monitoring,
          stackTag: stackTagOf(identity),
          stack: identity.stack,
          layer: config.layer,
          nodes: config.fleet.nodes.map((node) => ({
            key: node.key,
            // Lambda's GPU instance types are gpu_<count>x_<model>; cpu_ types have no GPU to export.
            gpu: node.instanceType.startsWith("gpu_"),
            expires: config.cost.ttlHours !== undefined,
          })),
          appNode,
          dataNode: dataHost,
          images: config.services.images,
          ports,
          privateBindAddress: PRIVATE_IP_PLACEHOLDER,
          ssh: { user: config.ssh.user, port: config.ssh.port },
          app,
          data,
        })
      : undefined;
  const containerNames: Record<string, string[]> = {};
  const hostSpecs: (readonly [string, readonly { containerName: string }[]])[] = [
    [dataHost, data.containers],
    [appHost, app.containers],
    ...Object.entries(monitoring?.containers ?? {}),
    ...Object.entries(backups?.containers ?? {}),
  ];
  for (const [host, specs] of hostSpecs)
    containerNames[host] = [...(containerNames[host] ?? []), ...specs.map((spec) => spec.containerName)];
  return {
    dockerHosts: planDockerHosts(config, names),
    appHost,
    dataHost,
    sameHost,
    data,
    app,
    ...(monitoring !== undefined ? { monitoring } : {}),
    ...(backups !== undefined ? { backups } : {}),
    ...(dataNode !== undefined && directories.length > 0
      ? {
          dataDirectories: {
            name: names.dataDirs,
            script: `mkdir -p ${directories.map(shellQuote).join(" ")}`,
          },
        }
      : {}),
    dataTarget: targetOf(config, dataNode),
    appTarget: targetOf(config, appNode),
    gateName: names.gate,
    containerNames,
    protect: config.policy.protect,
    retainOnDelete: config.policy.retainOnDelete,
  };
}

/** The fleet-only layer still reports the database URL its data node will serve (postgres only). */
function planDatabaseUrl(config: StackConfig, dataNode: string | undefined): PlannedStoreUrl | undefined {
  if (!config.policy.dataStores.includes("postgres")) return undefined;
  const port = storePort(config.services.ports, "postgres");
  return {
    template: storeUrlTemplate("postgres", PRIVATE_IP_PLACEHOLDER, port),
    secret: "databasePassword",
    ...(dataNode !== undefined ? { node: dataNode } : {}),
  };
}

/**
 * Pure planning for a layer: from the frozen StackConfig to where everything runs. Which node
 * hosts the data stores and which the app, the settings each services planner gets, the child
 * names, and the Docker host address of each node. No Pulumi resources here.
 */
import type { AppServicesSettings } from "../components/appServicesPlan";
import { DATA_HOST_PLACEHOLDER } from "../components/appServicesPlan";
import { PRIVATE_IP_PLACEHOLDER } from "../components/containerResources";
import { planDataServices, type DataServicesSettings } from "../components/dataServicesPlan";
import { DATA_SERVICES, type DataService } from "../components/serviceCatalog";
import { mountedFilesystem } from "../infra/launchRules";
import type { StackConfig } from "./config";

/** Where Lambda mounts a filesystem on an instance (Lambda's default mount point). */
export function filesystemMountPath(filesystemName: string): string {
  return `/lambda/nfs/${filesystemName}`;
}

export interface LayerNames {
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
}

export interface LayerPlan {
  readonly names: LayerNames;
  /** Whether a Lambda fleet is declared (every layer but local). */
  readonly hasFleet: boolean;
  readonly deployContainers: boolean;
  /** Node keys, or undefined on the local layer (the operator's engine). */
  readonly appNode?: string;
  readonly dataNode?: string;
  /** Stores and app on one Docker host: one network, stores reached by service name. */
  readonly sameHost: boolean;
  readonly dataSettings: DataServicesSettings;
  readonly appSettings: AppServicesSettings;
  /** Directories the volumes bind on the filesystem (made before the volumes). */
  readonly dataDirectories: readonly string[];
}

export function layerNames(name: string): LayerNames {
  return {
    fleet: name,
    data: `${name}-stores`,
    app: `${name}-apps`,
    gate: `${name}-health`,
    dataDirs: `${name}-stores-dirs`,
    localDocker: `${name}-docker`,
    dockerProvider: (nodeKey) => `${name}-${nodeKey}-docker`,
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
export function dockerOverSsh(config: StackConfig): boolean {
  return config.services.deployContainers && config.fleet.nodes.length > 0;
}

export function planLayer(name: string, config: StackConfig): LayerPlan {
  const names = layerNames(name);
  const nodes = config.fleet.nodes;
  const appNode = nodes.find((node) => node.role === "app")?.key;
  // Stores run on the data node; without one they share the app node.
  const dataNode = nodes.find((node) => node.role === "data")?.key ?? appNode;
  const local = config.layer === "local";
  const sameHost = local || dataNode === appNode;
  const stores = config.policy.dataStores;
  const ports = config.services.ports;
  const storePorts: Partial<Record<DataService, number>> = Object.fromEntries(
    DATA_SERVICES.filter((store) => ports[store] !== undefined).map((store) => [store, ports[store]]),
  );
  const dataNodeSettings = nodes.find((node) => node.key === dataNode);
  const mounted = mountedFilesystem(dataNodeSettings?.mountFilesystem, config.fleet.filesystem);
  const mountPath = mounted !== undefined ? filesystemMountPath(mounted.name) : undefined;
  const dataSettings: DataServicesSettings = {
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
  };
  const dataPlan = planDataServices(names.data, dataSettings);
  const appSettings: AppServicesSettings = {
    environment: config.layer,
    stores,
    mcpServers: config.services.mcpServers,
    images: config.services.images,
    ports: { ...ports, api: ports.api, frontend: ports.frontend },
    ...(sameHost ? {} : { dataHost: DATA_HOST_PLACEHOLDER }),
    // On Lambda the firewall ruleset guards the public ports; locally nothing leaves the machine.
    publicBindAddress: local ? "127.0.0.1" : "0.0.0.0",
    privateBindAddress: local ? "127.0.0.1" : PRIVATE_IP_PLACEHOLDER,
    ...(dataPlan.sqliteVolume !== undefined ? { sqliteVolumeName: dataPlan.sqliteVolume.volumeName } : {}),
  };
  return {
    names,
    hasFleet: nodes.length > 0,
    deployContainers: config.services.deployContainers,
    ...(appNode !== undefined ? { appNode } : {}),
    ...(dataNode !== undefined ? { dataNode } : {}),
    sameHost,
    dataSettings,
    appSettings,
    dataDirectories: dataPlan.volumes.flatMap((volume) =>
      volume.hostPath !== undefined ? [volume.hostPath] : [],
    ),
  };
}

/**
 * Pure planning for Monitoring: Prometheus, Alertmanager and the blackbox exporter on the app
 * node; node_exporter, cAdvisor (container metrics) and NVIDIA's DCGM exporter (GPU nodes) on every
 * node. Every port comes from the one port map and is published on the node's private side only;
 * the configuration files, scrape targets and alert rules are generated here (monitoringTargets,
 * monitoringRules, monitoringFiles).
 */
import type { MonitoringSettings } from "../stacks/configMonitoring";
import { SERVICE_HEALTH_TIMING, type AppServicesPlan } from "./appServicesPlan";
import {
  PRIVATE_IP_PLACEHOLDER,
  PUBLIC_IP_PLACEHOLDER,
  requireAddress,
  type ContainerFile,
  type ContainerSpec,
  type HealthCheckSpec,
  type HostMount,
} from "./containerSpec";
import { volumePlan, type DataServicesPlan, type VolumePlan } from "./dataServicesPlan";
import {
  alertmanagerConfig,
  blackboxConfig,
  byServiceName,
  MONITORING_FILE_PATHS,
  PROBE_TIMEOUT_SECONDS,
  prometheusConfig,
  rulesFile,
} from "./monitoringFiles";
import { planAlertRules, type AlertRule } from "./monitoringRules";
import { planScrapeTargets, type MonitoredNode, type ScrapeTarget } from "./monitoringTargets";
import { portOf, type MonitoringService, type ServiceName } from "./serviceCatalog";

export interface MonitoringPlanSettings {
  readonly settings: MonitoringSettings;
  /** `<project>/<stack>` and the layer, Prometheus's external labels (they travel with every alert). */
  readonly stackTag: string;
  readonly stack: string;
  readonly layer: string;
  readonly nodes: readonly MonitoredNode[];
  readonly appNode: string;
  readonly dataNode: string;
  readonly images: Readonly<Record<ServiceName, string>>;
  readonly ports: Readonly<Partial<Record<ServiceName, number>>>;
  /** Where every monitoring port publishes: `{privateIp}`, the node's private address. */
  readonly privateBindAddress: string;
  /** For the tunnel command: the SSH user and port of the nodes. */
  readonly ssh: { readonly user: string; readonly port: number };
  readonly app: AppServicesPlan;
  readonly data: DataServicesPlan;
}

export interface MonitoringPlan {
  readonly settings: MonitoringPlanSettings;
  /** Node key -> the monitoring containers it runs, in plan order. */
  readonly containers: Readonly<Record<string, readonly ContainerSpec[]>>;
  /** Prometheus's and Alertmanager's data (named volumes on the app node). */
  readonly volumes: readonly VolumePlan[];
  /** The Docker network of each node other than the app node (which joins the app's network). */
  readonly networks: Readonly<Record<string, string>>;
  readonly targets: readonly ScrapeTarget[];
  readonly rules: readonly AlertRule[];
  /** Private URLs (`{privateIp}` of the app node), and the SSH tunnel that reaches them (`{publicIp}`). */
  readonly endpoints: { readonly prometheus: string; readonly alertmanager: string };
  readonly tunnelCommand: string;
  /**
   * The longest a notification can take, in seconds: a stopped service's alert after the stop
   * (the next probe, the evaluation after it, the rule's hold, group_wait, a probe timeout), and
   * the resolved notification after it answers again (a probe, an evaluation, group_interval).
   */
  readonly notifyWithinSeconds: { readonly serviceDown: number; readonly resolved: number };
}

const LIMITS: Readonly<Record<MonitoringService, { memoryMiB: number; cpus: number }>> = {
  prometheus: { memoryMiB: 2048, cpus: 1 },
  alertmanager: { memoryMiB: 256, cpus: 0.25 },
  "blackbox-exporter": { memoryMiB: 128, cpus: 0.25 },
  "node-exporter": { memoryMiB: 128, cpus: 0.25 },
  cadvisor: { memoryMiB: 256, cpus: 0.5 },
  "dcgm-exporter": { memoryMiB: 512, cpus: 0.5 },
};

/** The Prometheus images are busybox-based (wget, no curl); the Debian stand-ins have wget too. */
function httpCheck(port: number, path: string): HealthCheckSpec {
  return {
    test: ["CMD", "wget", "-q", "-O", "/dev/null", `http://127.0.0.1:${port}${path}`],
    ...SERVICE_HEALTH_TIMING,
  };
}

/** The DCGM exporter's Ubuntu image has bash but neither wget nor curl. */
function tcpCheck(port: number): HealthCheckSpec {
  return { test: ["CMD", "bash", "-c", `exec 3<>/dev/tcp/127.0.0.1/${port}`], ...SERVICE_HEALTH_TIMING };
}

const READ_ONLY = (hostPath: string, containerPath: string): HostMount => ({
  hostPath,
  containerPath,
  readOnly: true,
});

export function planMonitoring(prefix: string, input: MonitoringPlanSettings): MonitoringPlan {
  requireAddress(input.privateBindAddress, `Monitoring ${prefix}: privateBindAddress`);
  if (!input.nodes.some((node) => node.key === input.appNode))
    throw new Error(`Monitoring ${prefix}: the app node ${input.appNode} is not among the nodes`);
  const port = (service: MonitoringService) => portOf(input.ports, service);
  const spec = (
    node: string | undefined,
    service: MonitoringService,
    rest: Pick<ContainerSpec, "command" | "healthCheck"> & Partial<ContainerSpec>,
  ): ContainerSpec => ({
    service,
    containerName: node === undefined ? `${prefix}-${service}` : `${prefix}-${node}-${service}`,
    image: input.images[service],
    env: {},
    secretEnv: {},
    secretEnvTemplates: {},
    ports: [{ internal: port(service), external: port(service), hostIp: input.privateBindAddress }],
    restart: "unless-stopped",
    ...LIMITS[service],
    volumes: [],
    ...rest,
  });
  const listen = (service: MonitoringService) => `--web.listen-address=0.0.0.0:${port(service)}`;

  const targets = planScrapeTargets(input);
  const rules = planAlertRules(input.settings, input.nodes, targets, input.stack);
  const prometheusData = volumePlan(prefix, "prometheus");
  const alertmanagerData = volumePlan(prefix, "alertmanager");
  const files = {
    prometheus: [
      {
        path: MONITORING_FILE_PATHS.prometheusConfig,
        content: prometheusConfig(
          input.settings,
          targets,
          { layer: input.layer, stack: input.stackTag },
          byServiceName("alertmanager", port("alertmanager")),
          byServiceName("blackbox-exporter", port("blackbox-exporter")),
        ),
      },
      { path: MONITORING_FILE_PATHS.rules, content: rulesFile(`orchestra-${input.layer}`, rules) },
    ] satisfies ContainerFile[],
    alertmanager: [
      { path: MONITORING_FILE_PATHS.alertmanagerConfig, content: alertmanagerConfig(input.settings) },
    ] satisfies ContainerFile[],
    blackbox: [
      { path: MONITORING_FILE_PATHS.blackboxConfig, content: blackboxConfig() },
    ] satisfies ContainerFile[],
  };

  const central: ContainerSpec[] = [
    spec(undefined, "prometheus", {
      command: [
        `--config.file=${MONITORING_FILE_PATHS.prometheusConfig}`,
        "--storage.tsdb.path=/prometheus",
        `--storage.tsdb.retention.time=${input.settings.retentionDays}d`,
        listen("prometheus"),
      ],
      healthCheck: httpCheck(port("prometheus"), "/-/ready"),
      volumes: [{ volumeName: prometheusData.volumeName, containerPath: "/prometheus" }],
      files: files.prometheus,
    }),
    spec(undefined, "alertmanager", {
      command: [
        `--config.file=${MONITORING_FILE_PATHS.alertmanagerConfig}`,
        "--storage.path=/alertmanager",
        listen("alertmanager"),
        // One Alertmanager: no gossip port (9094) to open or to leave listening.
        "--cluster.listen-address=",
      ],
      healthCheck: httpCheck(port("alertmanager"), "/-/ready"),
      volumes: [{ volumeName: alertmanagerData.volumeName, containerPath: "/alertmanager" }],
      files: files.alertmanager,
    }),
    spec(undefined, "blackbox-exporter", {
      command: [`--config.file=${MONITORING_FILE_PATHS.blackboxConfig}`, listen("blackbox-exporter")],
      healthCheck: httpCheck(port("blackbox-exporter"), "/metrics"),
      files: files.blackbox,
    }),
  ];
  const containers: Record<string, ContainerSpec[]> = {};
  const networks: Record<string, string> = {};
  for (const node of input.nodes) {
    const exporters = [
      // The host's /proc, /sys and / (read-only); network counters are the container's own.
      spec(node.key, "node-exporter", {
        command: [
          "--path.procfs=/host/proc",
          "--path.sysfs=/host/sys",
          "--path.rootfs=/host/root",
          "--collector.filesystem.mount-points-exclude=^/(dev|proc|sys|run|var/lib/docker/.+)($|/)",
          // Needs the host's D-Bus, which a container does not have (Debian's build turns it on).
          "--no-collector.systemd",
          listen("node-exporter"),
        ],
        healthCheck: httpCheck(port("node-exporter"), "/metrics"),
        mounts: [
          READ_ONLY("/proc", "/host/proc"),
          READ_ONLY("/sys", "/host/sys"),
          READ_ONLY("/", "/host/root"),
        ],
      }),
      // Container metrics from the Docker daemon's socket and the cgroup tree (read-only).
      spec(node.key, "cadvisor", {
        command: [`--port=${port("cadvisor")}`, "--docker_only=true", "--store_container_labels=false"],
        healthCheck: httpCheck(port("cadvisor"), "/healthz"),
        mounts: [
          READ_ONLY("/", "/rootfs"),
          READ_ONLY("/var/run", "/var/run"),
          READ_ONLY("/sys", "/sys"),
          READ_ONLY("/var/lib/docker", "/var/lib/docker"),
        ],
      }),
      ...(node.gpu
        ? [
            spec(node.key, "dcgm-exporter", {
              command: [`--address=:${port("dcgm-exporter")}`],
              healthCheck: tcpCheck(port("dcgm-exporter")),
              gpus: "all",
            }),
          ]
        : []),
    ];
    containers[node.key] = node.key === input.appNode ? [...central, ...exporters] : exporters;
    if (node.key !== input.appNode) networks[node.key] = `${prefix}-${node.key}-net`;
  }

  const interval = input.settings.probeIntervalSeconds;
  const sshPort = input.ssh.port === 22 ? "" : ` -p ${input.ssh.port}`;
  return {
    settings: input,
    containers,
    volumes: [prometheusData, alertmanagerData],
    networks,
    targets,
    rules,
    endpoints: {
      prometheus: `http://${PRIVATE_IP_PLACEHOLDER}:${port("prometheus")}`,
      alertmanager: `http://${PRIVATE_IP_PLACEHOLDER}:${port("alertmanager")}`,
    },
    tunnelCommand:
      `ssh -N${sshPort} -L ${port("prometheus")}:${PRIVATE_IP_PLACEHOLDER}:${port("prometheus")}` +
      ` -L ${port("alertmanager")}:${PRIVATE_IP_PLACEHOLDER}:${port("alertmanager")} ${input.ssh.user}@${PUBLIC_IP_PLACEHOLDER}`,
    notifyWithinSeconds: {
      serviceDown: 3 * interval + input.settings.groupWaitSeconds + PROBE_TIMEOUT_SECONDS,
      resolved: 2 * interval + input.settings.groupIntervalSeconds + PROBE_TIMEOUT_SECONDS,
    },
  };
}

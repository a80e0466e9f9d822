/**
 * `orchestra:monitoring`: whether the layer runs Prometheus, Alertmanager and the exporters (the
 * environment policy's default, or the stack's `enabled`), the rules on that choice, and the
 * settings the monitoring planner gets.
 */
import { deploysContainers, MONITORING_DEFAULTS, type AlertReceiver, type RawConfig } from "./configSchema";
import type { Intact } from "./configRules";
import { environmentPolicy } from "./policy";

/** What the Monitoring planner is given (every key resolved). */
export interface MonitoringSettings {
  /** Alert when CPU, memory, disk or GPU memory use is at or above this percent for 5 minutes. */
  readonly thresholdPercent: number;
  /** Alert when the API's health probe takes longer than this, in milliseconds, for 5 minutes. */
  readonly apiLatencyMs: number;
  /** Scrape, probe and rule evaluation interval, in seconds. */
  readonly probeIntervalSeconds: number;
  /** Days Prometheus keeps samples. */
  readonly retentionDays: number;
  readonly receiver: AlertReceiver;
  /** Alertmanager's group_wait, group_interval (seconds) and repeat_interval (minutes). */
  readonly groupWaitSeconds: number;
  readonly groupIntervalSeconds: number;
  readonly repeatIntervalMinutes: number;
}

/** Whether the layer runs monitoring: `monitoring.enabled` when set, else the policy's default. */
export function monitoringOn(config: RawConfig): boolean {
  const policy = environmentPolicy(config.layer).monitoring;
  if (policy === "unavailable") return false;
  if (!deploysContainers(config)) return false;
  return config.monitoring?.enabled ?? policy === "default";
}

/** Problems with `orchestra:monitoring` against the layer and the containers choice. */
export function monitoringConfigRules(config: RawConfig, intact: Intact = () => true): string[] {
  if (!intact("layer", "monitoring", "deployContainers")) return [];
  const tuned = Object.keys(config.monitoring ?? {}).filter((key) => key !== "enabled");
  if (config.monitoring?.enabled !== true) {
    // Settings for a monitoring that does not run would be silently ignored.
    if (tuned.length === 0 || monitoringOn(config)) return [];
    const why =
      environmentPolicy(config.layer).monitoring === "unavailable"
        ? `the ${config.layer} layer runs no monitoring`
        : config.monitoring?.enabled === false || !deploysContainers(config)
          ? "monitoring is off here"
          : `the ${config.layer} layer runs monitoring only with monitoring.enabled true`;
    return [
      `orchestra:monitoring sets ${tuned.join(", ")} but ${why}, so ${tuned.length === 1 ? "it does" : "they do"} nothing: set monitoring.enabled true where the layer allows it, or remove ${tuned.length === 1 ? "it" : "them"} with \`pulumi config rm --path 'monitoring.${tuned[0]}'\``,
    ];
  }
  if (environmentPolicy(config.layer).monitoring === "unavailable")
    return [
      `orchestra:monitoring.enabled = true: the ${config.layer} layer runs no monitoring (production runs it by default, staging when enabled); remove it with \`pulumi config rm --path 'monitoring.enabled'\``,
    ];
  if (!deploysContainers(config))
    return [
      "orchestra:monitoring.enabled = true but orchestra:deployContainers = false: monitoring runs in containers on the nodes; set deployContainers to true or remove monitoring.enabled with `pulumi config rm --path 'monitoring.enabled'`",
    ];
  return [];
}

/** The resolved settings, or undefined when the layer runs no monitoring. */
export function monitoringSettings(config: RawConfig): MonitoringSettings | undefined {
  if (!monitoringOn(config)) return undefined;
  const own = config.monitoring ?? {};
  return Object.freeze({
    thresholdPercent: own.thresholdPercent ?? MONITORING_DEFAULTS.thresholdPercent,
    apiLatencyMs: own.apiLatencyMs ?? MONITORING_DEFAULTS.apiLatencyMs,
    probeIntervalSeconds: own.probeIntervalSeconds ?? MONITORING_DEFAULTS.probeIntervalSeconds,
    retentionDays: own.retentionDays ?? environmentPolicy(config.layer).metricsRetentionDays,
    receiver: own.receiver ?? MONITORING_DEFAULTS.receiver,
    groupWaitSeconds: own.groupWaitSeconds ?? MONITORING_DEFAULTS.groupWaitSeconds,
    groupIntervalSeconds: own.groupIntervalSeconds ?? MONITORING_DEFAULTS.groupIntervalSeconds,
    repeatIntervalMinutes: own.repeatIntervalMinutes ?? MONITORING_DEFAULTS.repeatIntervalMinutes,
  });
}

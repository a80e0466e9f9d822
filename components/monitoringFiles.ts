/**
 * The configuration files of the monitoring containers, rendered as YAML (js-yaml) from the plan:
 * `prometheus.yml` (scrape jobs, rule file, Alertmanager), the rule file, `alertmanager.yml`
 * (route and receiver, the webhook URL left as `{secret:alertWebhookUrl}`) and the blackbox
 * exporter's modules. Pure. Formats: Prometheus 2.42's configuration and rule files, Alertmanager
 * 0.25's, blackbox exporter 0.23's (their docs; `promtool check config|rules` and `amtool
 * check-config` pass on them in the services tier).
 */
import * as yaml from "js-yaml";
import type { MonitoringSettings } from "../stacks/configMonitoring";
import type { AlertRule } from "./monitoringRules";
import type { ScrapeJob, ScrapeTarget } from "./monitoringTargets";
import type { ServiceName } from "./serviceCatalog";

/** Where each file goes inside its container (the upstream images' paths). */
export const MONITORING_FILE_PATHS = {
  prometheusConfig: "/etc/prometheus/prometheus.yml",
  rules: "/etc/prometheus/rules.yml",
  alertmanagerConfig: "/etc/alertmanager/alertmanager.yml",
  blackboxConfig: "/etc/blackbox_exporter/config.yml",
} as const;

/** A probe gives up after this long (the alert rules count a timeout as a failed probe). */
export const PROBE_TIMEOUT_SECONDS = 5;

const WEBHOOK_SECRET = "{secret:alertWebhookUrl}";

function dump(document: unknown): string {
  return yaml.dump(document, { lineWidth: -1, noRefs: true });
}

const seconds = (value: number) => `${value}s`;

/** `prometheus.yml`: one job per kind of target, each target labelled with its node and service. */
export function prometheusConfig(
  settings: MonitoringSettings,
  targets: readonly ScrapeTarget[],
  externalLabels: Readonly<Record<string, string>>,
  alertmanager: string,
  blackbox: string,
): string {
  const jobs = [...new Set(targets.map((t) => t.job))];
  const staticConfigs = (job: ScrapeJob) =>
    targets
      .filter((t) => t.job === job)
      .map((t) => ({ targets: [t.target], labels: { node: t.node, service: t.service } }));
  const probe = (job: ScrapeJob) =>
    job === "probe-http" || job === "probe-tcp"
      ? {
          metrics_path: "/probe",
          params: { module: [job === "probe-http" ? "http_2xx" : "tcp_connect"] },
          // The target becomes the probe's ?target= and the instance label; the blackbox exporter is scraped.
          relabel_configs: [
            { source_labels: ["__address__"], target_label: "__param_target" },
            { source_labels: ["__param_target"], target_label: "instance" },
            { target_label: "__address__", replacement: blackbox },
          ],
        }
      : {};
  return dump({
    global: {
      scrape_interval: seconds(settings.probeIntervalSeconds),
      scrape_timeout: seconds(Math.min(PROBE_TIMEOUT_SECONDS + 1, settings.probeIntervalSeconds)),
      evaluation_interval: seconds(settings.probeIntervalSeconds),
      external_labels: externalLabels,
    },
    rule_files: [MONITORING_FILE_PATHS.rules],
    alerting: { alertmanagers: [{ static_configs: [{ targets: [alertmanager] }] }] },
    scrape_configs: jobs.map((job) => ({ job_name: job, ...probe(job), static_configs: staticConfigs(job) })),
  });
}

/** The rule file: one group, every rule with its labels and a summary and action annotation. */
export function rulesFile(group: string, rules: readonly AlertRule[]): string {
  return dump({
    groups: [
      {
        name: group,
        rules: rules.map((rule) => ({
          alert: rule.alert,
          expr: rule.expr,
          ...(rule.forSeconds > 0 ? { for: seconds(rule.forSeconds) } : {}),
          labels: {
            severity: rule.severity,
            node: rule.node,
            ...(rule.service !== undefined ? { service: rule.service } : {}),
          },
          annotations: { summary: rule.summary, action: rule.action },
        })),
      },
    ],
  });
}

/**
 * `alertmanager.yml`: every alert to one receiver, grouped by alert, node and service. The URL is
 * the secret `alertWebhookUrl`, left as `{secret:alertWebhookUrl}` for renderFileSecrets (which
 * writes it as a double-quoted string; js-yaml quotes the placeholder, so the quotes are dropped here).
 */
export function alertmanagerConfig(settings: MonitoringSettings): string {
  const receiver =
    settings.receiver === "slack"
      ? {
          slack_configs: [
            {
              api_url: WEBHOOK_SECRET,
              send_resolved: true,
              title: "[{{ .Status | toUpper }}] {{ .CommonLabels.alertname }}",
              text: "{{ range .Alerts }}{{ .Annotations.summary }}: {{ .Annotations.action }}\n{{ end }}",
            },
          ],
        }
      : { webhook_configs: [{ url: WEBHOOK_SECRET, send_resolved: true }] };
  const text = dump({
    route: {
      receiver: "operators",
      group_by: ["alertname", "node", "service"],
      group_wait: seconds(settings.groupWaitSeconds),
      group_interval: seconds(settings.groupIntervalSeconds),
      repeat_interval: `${settings.repeatIntervalMinutes}m`,
    },
    receivers: [{ name: "operators", ...receiver }],
  });
  const quoted = `'${WEBHOOK_SECRET}'`;
  if (!text.includes(quoted)) throw new Error(`alertmanager.yml: the webhook placeholder is not ${quoted}`);
  return text.split(quoted).join(WEBHOOK_SECRET);
}

/** The blackbox exporter's modules: an HTTP GET that wants a 2xx, and a TCP connect. */
export function blackboxConfig(): string {
  return dump({
    modules: {
      http_2xx: {
        prober: "http",
        timeout: seconds(PROBE_TIMEOUT_SECONDS),
        http: { method: "GET", preferred_ip_protocol: "ip4" },
      },
      tcp_connect: {
        prober: "tcp",
        timeout: seconds(PROBE_TIMEOUT_SECONDS),
        tcp: { preferred_ip_protocol: "ip4" },
      },
    },
  });
}

/** A service's `host:port` for a file, by its name on the app network. */
export function byServiceName(service: ServiceName, port: number): string {
  return `${service}:${port}`;
}

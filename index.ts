/**
 * Composition only: loadStack (the one config read) -> planLayer (pure) -> the budget gate -> the
 * backup bucket check -> the Layer component -> outputs.
 *
 * The program is Pulumi's async entry point because the budget gate asks Lambda for prices: it
 * must finish (and throw, over budget) before any resource is declared, and CommonJS has no
 * top-level await. Everything the stack exports is the object returned below.
 */
import * as pulumi from "@pulumi/pulumi";
import { totalHourlyUsd } from "./components/gpuFleetPlan";
import { backupBucketGate } from "./stacks/backupBucketGate";
import { costGate } from "./stacks/costGate";
import { requireDockerSshKey } from "./stacks/dockerSshAgent";
import { Layer } from "./stacks/layer";
import { dockerOverSsh, planLayer } from "./stacks/layerPlan";
import { loadStack } from "./stacks/loadStack";

export = async () => {
  const stack = loadStack();
  const { config } = stack;
  const plan = planLayer(config, stack.identity);
  // Docker's ssh takes the node key from an ssh-agent: without it, fail here, before any node bills.
  if (dockerOverSsh(plan)) await requireDockerSshKey(config.ssh.publicKey);
  // Over budget (without an override) this throws: `pulumi preview` fails and nothing is created.
  const costReport = await costGate(stack);
  // A layer that keeps backups fails here when its bucket cannot be written with its keys.
  await backupBucketGate(stack);

  const built = new Layer(plan.names.layer, { plan, secrets: stack.secrets });
  const fleetNodes = built.fleet?.nodes ?? {};

  // Outputs a layer does not have (no containers: no apiUrl, no redisUrl...) are left out rather
  // than exported as undefined, which the engine reports as one warning per key on every run.
  return withoutUndefined({
    layer: config.layer,
    apiUrl: built.apiUrl,
    frontendUrl: built.frontendUrl,
    mcpEndpoints: built.mcpEndpoints,
    /** The node table: where each node landed, what it costs, how to reach it, when it expires. */
    nodes: Object.fromEntries(
      Object.entries(fleetNodes).map(([key, node]) => [
        key,
        {
          instanceId: node.instanceId,
          ip: node.ip,
          privateIp: node.privateIp,
          region: node.region,
          instanceType: node.instanceType,
          hourlyPriceUsd: node.hourlyPriceUsd,
          ssh: node.sshCommand,
          expiresAt: node.expiresAt,
        },
      ]),
    ),
    /** USD per hour for the whole fleet, summed in whole cents (see totalHourlyUsd). */
    fleetHourlyUsd: pulumi
      .all(Object.values(fleetNodes).map((node) => node.hourlyPriceUsd))
      .apply(totalHourlyUsd),
    nodeReadiness: built.fleet?.readiness ?? {},
    // Connection strings carry passwords: secrets (built as secrets; pulumi.secret again is a guard).
    databaseUrl: built.databaseUrl === undefined ? undefined : pulumi.secret(built.databaseUrl),
    redisUrl: built.redisUrl === undefined ? undefined : pulumi.secret(built.redisUrl),
    weaviateUrl: built.weaviateUrl === undefined ? undefined : pulumi.secret(built.weaviateUrl),
    /** Where each container runs: node key -> container names (what `docker ps` there shows). */
    containers: built.containers,
    healthGate: built.gate?.report,
    /** Where Prometheus and Alertmanager listen (private), the tunnel that reaches them, the rules. */
    monitoring:
      built.monitoring === undefined
        ? undefined
        : {
            prometheusUrl: built.monitoring.prometheusUrl,
            alertmanagerUrl: built.monitoring.alertmanagerUrl,
            tunnel: built.monitoring.tunnelCommand,
            receiver: built.monitoring.plan.settings.settings.receiver,
            alertRules: built.monitoring.alertRules,
          },
    /** Per store: where its backups go, the schedule (cron, UTC), retention, RPO and the restore command. */
    backups: built.backups?.outputs,
    costReport,
  });
};

function withoutUndefined<T extends Record<string, unknown>>(outputs: T): Partial<T> {
  return Object.fromEntries(Object.entries(outputs).filter(([, value]) => value !== undefined)) as Partial<T>;
}

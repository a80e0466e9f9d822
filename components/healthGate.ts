/**
 * HealthGate: after the containers are up, one command on the app host checks `/api/health` and
 * every MCP server's health endpoint and fails the deployment naming the service that never
 * answered. Locally it is `command.local.Command`; on Lambda it runs over SSH on the app node
 * (`command.remote.Command`, or this project's RemoteCommand where the command plugin cannot be
 * installed, as GpuFleet chooses).
 */
import * as pulumi from "@pulumi/pulumi";
import { runOnHost } from "./hostCommand";
import type { HostTarget } from "./hostTarget";
import { DEFAULT_GATE_TIMING, healthGateScript, type GateTiming } from "./healthGatePlan";

export const HEALTH_GATE_TYPE = "orchestra:services:HealthGate";

export interface HealthGateArgs {
  /** Service -> health URL as seen from the app host (AppServices.healthEndpoints). */
  readonly endpoints: pulumi.Input<Record<string, string>>;
  readonly target: HostTarget;
  /** The gate runs after these (the containers) and again whenever one is replaced. */
  readonly containers: readonly pulumi.CustomResource[];
  /** Rounds, interval and per-request timeout. @default 30 rounds 10 s apart, 5 s per request */
  readonly timing?: GateTiming;
}

export class HealthGate extends pulumi.ComponentResource {
  /** One line per healthy service, then "health gate passed: N service(s) healthy". */
  public readonly report: pulumi.Output<string>;

  constructor(name: string, args: HealthGateArgs, opts: pulumi.ComponentResourceOptions = {}) {
    super(HEALTH_GATE_TYPE, name, {}, opts);
    const timing = args.timing ?? DEFAULT_GATE_TIMING;
    // Endpoints carry node addresses known only after launch, so the script is built in an apply.
    const script = pulumi.output(args.endpoints).apply((endpoints) =>
      healthGateScript(
        Object.entries(endpoints).map(([service, url]) => ({ service, url })),
        timing,
      ),
    );
    const step = runOnHost(
      `${name}-check`,
      script,
      args.target,
      args.containers.map((container) => container.id),
      { parent: this, dependsOn: [...args.containers] },
    );
    this.report = step.stdout;
    this.registerOutputs({ report: this.report });
  }
}

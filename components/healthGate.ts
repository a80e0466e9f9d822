/**
 * HealthGate: after the containers are up, one command on the app host checks `/api/health` and
 * every MCP server's health endpoint and fails the deployment naming the service that never
 * answered. Locally it is `command.local.Command`; on Lambda it runs over SSH on the app node
 * (`command.remote.Command`, or this project's RemoteCommand where the command plugin cannot be
 * installed, as GpuFleet chooses).
 */
import * as command from "@pulumi/command";
import * as pulumi from "@pulumi/pulumi";
import { RemoteCommand } from "../infra/providers/remoteCommand";
import { DEFAULT_GATE_TIMING, healthGateScript, type GateTiming } from "./healthGatePlan";

export const HEALTH_GATE_TYPE = "orchestra:services:HealthGate";

/** Where a host command runs: this machine (local layer) or a Lambda node over SSH. */
export type HostTarget =
  | { readonly kind: "local" }
  | {
      readonly kind: "ssh";
      readonly runner: "pulumi-command" | "ssh2-dynamic";
      readonly host: pulumi.Input<string>;
      readonly port: number;
      readonly user: string;
      /** OpenSSH private key (a Pulumi secret). */
      readonly privateKey: pulumi.Input<string>;
    };

export interface HostCommandResult {
  readonly stdout: pulumi.Output<string>;
  readonly resource: pulumi.CustomResource;
}

/**
 * Runs a script (which must hold no secret) once on create and again whenever a trigger changes.
 * Used by the gate and by the layer's filesystem preparation.
 */
export function runOnHost(
  name: string,
  script: pulumi.Input<string>,
  target: HostTarget,
  triggers: pulumi.Input<unknown[]>,
  opts: pulumi.CustomResourceOptions,
): HostCommandResult {
  if (target.kind === "local") {
    const step = new command.local.Command(name, { create: script, triggers }, opts);
    return { stdout: step.stdout, resource: step };
  }
  if (target.runner === "pulumi-command") {
    const step = new command.remote.Command(
      name,
      {
        connection: {
          host: target.host,
          port: target.port,
          user: target.user,
          privateKey: target.privateKey,
          dialErrorLimit: 120,
          perDialTimeout: 5,
        },
        create: script,
        triggers,
      },
      opts,
    );
    return { stdout: step.stdout, resource: step };
  }
  const step = new RemoteCommand(
    name,
    {
      host: target.host,
      port: target.port,
      user: target.user,
      privateKey: target.privateKey,
      create: script,
      triggers,
    },
    opts,
  );
  return { stdout: step.stdout, resource: step };
}

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

/**
 * The one way a layer runs a script on a host: `command.local.Command` on this machine, or over
 * SSH on a Lambda node with the runner the stack chose (hostTarget.ts). GpuFleet's readiness
 * steps, the layer's data-directory step and the health gate all go through `runOnHost`.
 */
import * as command from "@pulumi/command";
import * as pulumi from "@pulumi/pulumi";
import { RemoteCommand } from "../infra/providers/remoteCommand";
import { SSH_DIAL_RETRIES, type HostTarget } from "./hostTarget";

export interface HostCommandResult {
  readonly stdout: pulumi.Output<string>;
  readonly resource: pulumi.CustomResource;
}

/**
 * Runs a script (which must hold no secret: it is stored in state as plain text) once on create
 * and again whenever a trigger changes. `name` is the command resource's name; `opts` its options
 * (parent, dependsOn).
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
  const connection = {
    host: target.host,
    port: target.port,
    user: target.user,
    privateKey: target.privateKey,
  };
  if (target.runner === "pulumi-command") {
    const step = new command.remote.Command(
      name,
      { connection: { ...connection, ...SSH_DIAL_RETRIES }, create: script, triggers },
      opts,
    );
    return { stdout: step.stdout, resource: step };
  }
  const step = new RemoteCommand(name, { ...connection, create: script, triggers }, opts);
  return { stdout: step.stdout, resource: step };
}

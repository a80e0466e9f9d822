/**
 * Where a host command runs, as plain data (no resources here, so planners and the config schema
 * can name it): this machine on the local layer, or a Lambda node over SSH. The one home of the
 * runner choice and of the SSH connection settings host commands share (hostCommand.ts declares
 * the commands).
 */
import type * as pulumi from "@pulumi/pulumi";

/**
 * What runs a command on a node: `pulumi-command` (@pulumi/command's remote.Command) or
 * `ssh2-dynamic` (this project's RemoteCommand, for machines where the command plugin cannot be
 * installed). The config key `orchestra:remoteCommandRunner` takes one of these.
 */
export const REMOTE_COMMAND_RUNNERS = ["pulumi-command", "ssh2-dynamic"] as const;
export type RemoteCommandRunner = (typeof REMOTE_COMMAND_RUNNERS)[number];

/** How a node is reached over SSH (the private key is a Pulumi secret). */
export interface SshConnection {
  readonly runner: RemoteCommandRunner;
  readonly port: number;
  readonly user: string;
  /** OpenSSH private key (a Pulumi secret). */
  readonly privateKey: pulumi.Input<string>;
}

/** Where a host command runs: this machine (local layer) or a Lambda node over SSH. */
export type HostTarget =
  | { readonly kind: "local" }
  | ({ readonly kind: "ssh"; readonly host: pulumi.Input<string> } & SshConnection);

/**
 * A booting VM refuses SSH for a while: `pulumi-command` retries the dial this many times, each
 * attempt bounded (seconds), about ten minutes in all.
 */
export const SSH_DIAL_RETRIES = { dialErrorLimit: 120, perDialTimeout: 5 } as const;

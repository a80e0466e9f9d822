/**
 * `RemoteCommand`: runs a script on a host over SSH (ssh2, pure JavaScript) as a dynamic resource.
 *
 * Why it exists beside `@pulumi/command`: the command provider's plugin cannot be built from the
 * Go module proxy these machines reach (see README), so the engine tier and the sandbox run node
 * readiness through this provider; a stack chooses with `orchestra:remoteCommandRunner`.
 *
 * The script goes over the SSH channel's stdin-free `exec`, never onto a local command line; the
 * private key is a secret input and is never part of the outputs or an error message.
 */
import * as pulumi from "@pulumi/pulumi";
import { configureFromStack, diffByKeys, sleep, UNKNOWN } from "./common";

export interface RemoteCommandArgs {
  readonly host: pulumi.Input<string>;
  readonly port?: pulumi.Input<number>;
  readonly user: pulumi.Input<string>;
  /** OpenSSH private key (kept secret). */
  readonly privateKey: pulumi.Input<string>;
  /** Script run with `bash -s` semantics on create (and again when a trigger changes). */
  readonly create: pulumi.Input<string>;
  /** Values whose change re-runs the script (e.g. the instance id). */
  readonly triggers?: pulumi.Input<unknown[]>;
  /** Attempts to connect before giving up: a booting VM refuses SSH for a while. @default 120 */
  readonly dialAttempts?: pulumi.Input<number>;
  /** Seconds between connection attempts. @default 5 */
  readonly dialIntervalSeconds?: pulumi.Input<number>;
}

interface RemoteCommandInputs {
  host: string;
  port: number;
  user: string;
  privateKey: string;
  create: string;
  triggers: unknown[];
  dialAttempts: number;
  dialIntervalSeconds: number;
}

interface ExecResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** One SSH session: connect, run the script, collect output. Rejects on connection errors. */
function execOverSsh(inputs: RemoteCommandInputs): Promise<ExecResult> {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { Client } = require("ssh2") as typeof import("ssh2");
  return new Promise((resolve, reject) => {
    const connection = new Client();
    connection
      .on("ready", () => {
        connection.exec("bash -s", (error, stream) => {
          if (error) {
            connection.end();
            return reject(error);
          }
          let stdout = "";
          let stderr = "";
          stream.on("data", (chunk: Buffer) => (stdout += chunk.toString("utf8")));
          stream.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString("utf8")));
          stream.on("close", (code: number | null) => {
            connection.end();
            resolve({ code: code ?? -1, stdout, stderr });
          });
          // The script travels over the channel, so nothing of it shows in a process list.
          stream.end(inputs.create);
        });
      })
      .on("error", (error) => reject(error))
      .connect({
        host: inputs.host,
        port: inputs.port,
        username: inputs.user,
        privateKey: inputs.privateKey,
        readyTimeout: 15_000,
      });
  });
}

async function runWithDialRetries(inputs: RemoteCommandInputs): Promise<ExecResult> {
  let lastError = "";
  for (let attempt = 1; attempt <= inputs.dialAttempts; attempt++) {
    try {
      return await execOverSsh(inputs);
    } catch (error) {
      // Only the error's message: ssh2 errors do not carry the key, but their config objects might.
      lastError = error instanceof Error ? error.message : String(error);
      if (attempt < inputs.dialAttempts) await sleep(inputs.dialIntervalSeconds * 1000);
    }
  }
  throw new Error(
    `Could not reach ${inputs.user}@${inputs.host}:${inputs.port} over SSH after ${inputs.dialAttempts} attempts (${lastError}); check that the node is up and that the firewall allows SSH from here`,
  );
}

async function runScript(news: Record<string, unknown>): Promise<Record<string, unknown>> {
  const inputs = news as unknown as RemoteCommandInputs;
  const result = await runWithDialRetries(inputs);
  if (result.code !== 0) {
    const detail = result.stderr.trim() || result.stdout.trim() || "(no output)";
    throw new Error(`Remote command on ${inputs.host} failed with exit code ${result.code}: ${detail}`);
  }
  const { privateKey: _omitted, ...visible } = inputs;
  return { ...visible, stdout: result.stdout.trim(), stderr: result.stderr.trim() };
}

const REPLACE_KEYS = ["host", "port", "user", "create", "triggers"] as const;

/**
 * During preview, an input that comes from a resource being replaced or updated arrives unknown:
 * the Node.js dynamic provider cannot preview an update, so every output of an updated node (its
 * `ip` too) is unknown, even for a rename. The node's resource id is what tells the two apart: it
 * is known when the node changes in place and unknown only when it is replaced. So `triggers`
 * (which hold the node's id) decides: unknown triggers count as a replacement, and the plan shows
 * the step replaced with its node; an unknown `host` alone is read as the old host (a Lambda
 * instance keeps its address for life), so a rename does not show a false "replace".
 */
function diffRemoteCommand(
  olds: Record<string, unknown>,
  news: Record<string, unknown>,
): pulumi.dynamic.DiffResult {
  const knownNews = news.host === UNKNOWN ? { ...news, host: olds.host } : news;
  // The sentinel (alone or inside `triggers`) never equals a stored value, so diffByKeys lists an
  // unknown trigger as a replacement.
  return diffByKeys(
    olds,
    knownNews,
    { replace: REPLACE_KEYS, update: ["dialAttempts", "dialIntervalSeconds"] },
    false,
  );
}

export const remoteCommandProvider: pulumi.dynamic.ResourceProvider = {
  configure: (req) => configureFromStack(req),
  check: async (_olds, news) => ({ inputs: news, failures: [] }),
  diff: async (_id, olds, news) => diffRemoteCommand(olds, news),
  create: async (inputs) => ({
    id: `${inputs.host as string}-${Date.now().toString(36)}`,
    outs: await runScript(inputs),
  }),
  update: async (_id, olds, news) => {
    const { privateKey: _omitted, ...visible } = news;
    return { outs: { ...visible, stdout: olds.stdout, stderr: olds.stderr } };
  },
  read: async (id, props) => ({ id, props }),
  // Nothing to undo on the host: the node itself is terminated by its own resource.
  delete: async () => undefined,
};

export class RemoteCommand extends pulumi.dynamic.Resource {
  declare readonly stdout: pulumi.Output<string>;
  declare readonly stderr: pulumi.Output<string>;

  constructor(name: string, args: RemoteCommandArgs, opts: pulumi.CustomResourceOptions = {}) {
    super(
      remoteCommandProvider,
      name,
      {
        host: args.host,
        port: args.port ?? 22,
        user: args.user,
        privateKey: pulumi.secret(args.privateKey),
        create: args.create,
        triggers: args.triggers ?? [],
        dialAttempts: args.dialAttempts ?? 120,
        dialIntervalSeconds: args.dialIntervalSeconds ?? 5,
        stdout: undefined,
        stderr: undefined,
      },
      { ...opts, additionalSecretOutputs: [...(opts.additionalSecretOutputs ?? []), "privateKey"] },
      "remote",
      "Command",
    );
  }
}

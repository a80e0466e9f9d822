/**
 * Small pure helpers around the Pulumi Automation API (@pulumi/pulumi/automation), shared by the
 * engine tier's driver (engineStack.ts) and `npm run cost`: a failed command's result, outputs as
 * the CLI prints them, and a preview's steps as `pulumi preview --json` lists them.
 */
import type { CommandError, EngineEvent, OpType, OutputMap } from "@pulumi/pulumi/automation";

/** What one CLI command ended with. `code` is null when it was killed by a signal. */
export interface CommandOutcome {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

type Streams = { code?: unknown; exitCode?: unknown; stdout?: unknown; stderr?: unknown; err?: unknown };

const hasStreams = (value: unknown): value is Streams & { stdout: string; stderr: string } =>
  typeof value === "object" &&
  value !== null &&
  typeof (value as Streams).stdout === "string" &&
  typeof (value as Streams).stderr === "string";

/**
 * The exit code, stdout and stderr of the command a CommandError reports. The SDK (3.248) keeps a
 * CommandResult in a field its typings mark private (`commandResult`); for a command that exited
 * non-zero or was killed, that result holds the child-process error (`err`, execa's: `exitCode`,
 * `stdout`, `stderr`) and only its message as stderr. Read from there, then from the result, and
 * when neither has that shape, the whole message stands as stderr.
 */
export function commandOutcomeOf(error: CommandError): CommandOutcome {
  const result = (error as unknown as { commandResult?: unknown }).commandResult;
  const cause = hasStreams(result) ? result.err : undefined;
  if (hasStreams(cause))
    return {
      code: typeof cause.exitCode === "number" ? cause.exitCode : null,
      stdout: cause.stdout,
      stderr: cause.stderr,
    };
  if (hasStreams(result))
    return {
      code: typeof result.code === "number" ? result.code : null,
      stdout: result.stdout,
      stderr: result.stderr,
    };
  return { code: null, stdout: "", stderr: error.message };
}

/** Outputs as `pulumi stack output --json` prints them: plain values, each secret as "[secret]". */
export function maskedOutputs(outputs: OutputMap): Record<string, unknown> {
  return Object.fromEntries(
    Object.entries(outputs).map(([name, output]) => [
      name,
      output.secret ? "[secret]" : (output.value as unknown),
    ]),
  );
}

/** One step of a preview, in the shape and names of `pulumi preview --json`'s `steps`. */
export interface PreviewStep {
  readonly op: OpType;
  readonly urn: string;
  readonly oldState?: { readonly inputs: Record<string, unknown> };
  readonly newState?: { readonly inputs: Record<string, unknown> };
  /** The keys that force a replacement (the engine's `keys`). */
  readonly replaceReasons?: readonly string[];
}

/** The Pulumi stack resource's type: `pulumi preview --json` always lists its step. */
const ROOT_STACK_TYPE = "pulumi:pulumi:Stack";

/** The engine's replacement steps (deploy.IsReplacementStep). */
const REPLACEMENT_OPS: ReadonlySet<OpType> = new Set<OpType>([
  "replace",
  "create-replacement",
  "delete-replaced",
  "read-replacement",
  "discard-replaced",
  "remove-pending-replace",
  "import-replacement",
]);

/**
 * The steps of a preview's engine events that `pulumi preview --json` lists (3.248's
 * display.shouldShow with the JSON display's defaults): every step but a `same` one whose
 * protection is unchanged, and but the physical halves of a replacement (`create-replacement`,
 * `delete-replaced`, ...: not logical), plus always the stack resource's own step.
 *
 * The event log also carries the steps the engine marks internal, which the CLI's display drops
 * before it prints anything (and the log has no such flag): a default provider's steps (its inputs
 * hold the stack's config, so any config change updates it) and a pending replacement's removal;
 * they are dropped here too. (An internal refresh step of `preview --refresh` cannot be told from
 * the events; no caller lists those steps.)
 */
export function previewSteps(events: readonly EngineEvent[]): PreviewStep[] {
  return events.flatMap((event): PreviewStep[] => {
    const step = event.resourcePreEvent?.metadata;
    if (step === undefined) return [];
    // urn:pulumi:<stack>::<project>::<qualified type>::<name>
    const [, , qualifiedType, ...name] = step.urn.split("::");
    const isRoot = qualifiedType === ROOT_STACK_TYPE;
    // providers.IsDefaultProvider: a provider resource whose name starts with "default".
    const isDefaultProvider =
      (qualifiedType?.split("$").pop() ?? "").startsWith("pulumi:providers:") &&
      name.join("::").startsWith("default");
    const hidden =
      step.op === "same"
        ? (step.old?.protect ?? false) === (step.new?.protect ?? false)
        : step.logical !== true && REPLACEMENT_OPS.has(step.op);
    if (isDefaultProvider || (hidden && !isRoot)) return [];
    return [
      {
        op: step.op,
        urn: step.urn,
        // The events carry null where --json leaves a field out.
        ...(step.old != null ? { oldState: { inputs: step.old.inputs ?? {} } } : {}),
        ...(step.new != null ? { newState: { inputs: step.new.inputs ?? {} } } : {}),
        ...(step.keys != null ? { replaceReasons: step.keys } : {}),
      },
    ];
  });
}

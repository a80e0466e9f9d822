/**
 * The pull-request comment `scripts/pipeline/preview.ts` writes: a marker the workflow finds the
 * comment by (so each run updates one comment instead of adding another), the preview of each
 * affected stack, and the cost of each (the GPU fleet's, priced from the pull request's stack
 * files, with the diff against what is deployed). Pure.
 */
import type { CommandError } from "@pulumi/pulumi/automation";
import { commandOutcomeOf } from "../../infra/engine/automation";
import type { CostReport } from "../../infra/pricing/costModel";
import { formatCostMarkdown, markdownTable, type StackCost } from "../costFormat";

/** The comment's first line; the workflow updates the comment that starts with it. */
export const COMMENT_MARKER = "<!-- orchestra-cost-comment -->";

/** How one affected stack's preview went. */
export type StackPreview =
  | { readonly stack: string; readonly kind: "passed"; readonly changes: Readonly<Record<string, number>> }
  | { readonly stack: string; readonly kind: "failed"; readonly errors: readonly string[] }
  /** No such stack in the backend (e.g. local, or a layer not deployed yet): priced only. */
  | { readonly stack: string; readonly kind: "not deployed" };

/** Pulumi's changeSummary operations, in the order a reader wants them. */
const OPERATION_WORDS: ReadonlyArray<readonly [string, string]> = [
  ["create", "to create"],
  ["update", "to update"],
  ["replace", "to replace"],
  ["delete", "to delete"],
  ["same", "unchanged"],
];

/** `{create: 1, same: 12}` -> "1 to create, 12 unchanged" (other operations by their own name). */
export function changeText(changes: Readonly<Record<string, number>>): string {
  const known = new Map(OPERATION_WORDS);
  const ordered = [
    ...OPERATION_WORDS.map(([op]) => op).filter((op) => op in changes),
    ...Object.keys(changes)
      .filter((op) => !known.has(op))
      .sort(),
  ];
  const parts = ordered
    .filter((op) => (changes[op] ?? 0) > 0)
    .map((op) => `${changes[op]} ${known.get(op) ?? op}`);
  return parts.length === 0 ? "no resources" : parts.join(", ");
}

/**
 * The `error:` lines of a failed command's output (Pulumi prints each diagnostic so), without the
 * prefix and trimmed, at most `limit`; the last non-empty line when there is none.
 */
export function errorLines(output: string, limit = 3): string[] {
  const lines = output.split("\n").map((line) => line.trim());
  const errors = lines
    .filter((line) => line.startsWith("error: "))
    .map((line) => line.slice("error: ".length));
  const unique = [...new Set(errors)];
  if (unique.length > 0) return unique.slice(0, limit);
  const last = lines.filter(Boolean).pop();
  return last === undefined ? [] : [last];
}

/** The `error:` lines (errorLines) of what a failed Automation API command printed, stdout then stderr. */
export function failedCommandLines(error: CommandError, limit = 3): string[] {
  const outcome = commandOutcomeOf(error);
  return errorLines(`${outcome.stdout}\n${outcome.stderr}`, limit);
}

const failedBudget = (report: CostReport) => report.status === "OVER_BUDGET";

/** Why the check fails (a failed preview, a stack not priced, a budget exceeded), or [] when it passes. */
export function checkFailures(previews: readonly StackPreview[], costs: readonly StackCost[]): string[] {
  return [
    ...previews.filter((p) => p.kind === "failed").map((p) => `${p.stack}: preview failed`),
    ...costs.flatMap((c) =>
      "error" in c ? [`${c.stack}: not priced`] : failedBudget(c.report) ? [`${c.stack}: over budget`] : [],
    ),
  ];
}

/** The whole comment: marker, status, previews, then the cost (formatCostMarkdown). */
export function previewComment(previews: readonly StackPreview[], costs: readonly StackCost[]): string {
  if (previews.length === 0)
    return `${COMMENT_MARKER}\n## Pulumi preview\n\nThis change affects no stack: nothing to preview or price.\n`;
  const failures = checkFailures(previews, costs);
  const previewed = previews.some((p) => p.kind !== "not deployed");
  const status =
    failures.length > 0
      ? `**Status: ❌ failed** (${failures.join("; ")})`
      : previewed
        ? "**Status: ✅ passed**"
        : "**Status: ✅ passed** (priced only: none of these stacks is deployed, so none was previewed)";
  const rows = previews.map((p) => {
    if (p.kind === "passed") return [p.stack, "passed", changeText(p.changes)];
    if (p.kind === "failed") return [p.stack, "❌ failed", p.errors.join("\n")];
    return [p.stack, "not deployed", "priced from its stack file only"];
  });
  return [
    COMMENT_MARKER,
    "## Pulumi preview",
    "",
    status,
    "",
    markdownTable(["stack", "preview", "changes"], rows, []),
    "",
    formatCostMarkdown(costs),
  ].join("\n");
}

/**
 * The comment when the check could not run at all (git, the backend, no `pulumi`): the marker, a
 * failed status and the reason, so the pull request says why rather than keeping a stale comment.
 */
export function notRunComment(reason: string): string {
  return [
    COMMENT_MARKER,
    "## Pulumi preview",
    "",
    "**Status: ❌ failed** (the check could not run)",
    "",
    "```text",
    reason,
    "```",
    "",
  ].join("\n");
}

/**
 * Why the check could not run, in a line or a few: no `pulumi` on PATH is said so with the fix;
 * a CLI failure is its `error:` lines (the Automation API's message repeats the whole output).
 */
export function checkNotRunReason(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  if (/spawn pulumi ENOENT|ENOENT[^\n]*pulumi/.test(message))
    return "pulumi not found on PATH: install the Pulumi CLI 3.248.0 (in CI: pulumi/actions; here: scripts/toolchain.sh)";
  return errorLines(message, 5).join("\n");
}

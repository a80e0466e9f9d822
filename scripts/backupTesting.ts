/**
 * Test support (pure tier) for restore and drill: a docker CLI that records each command line and
 * answers from a script, and a clock that only moves when the code sleeps.
 */
import type { DockerCli, DockerResult, EnvFile } from "./backupDocker";

/** What the fake answers for one argv (unset fields: exit 0, no output). */
export type Answer = (args: readonly string[], input?: string) => Partial<DockerResult> | undefined;

/** A recording docker CLI: `calls` holds `docker <args>` (and `<<< <stdin>`), in order. */
export function fakeDocker(answer: Answer = () => undefined) {
  const calls: string[] = [];
  const argvs: string[][] = [];
  const docker: DockerCli = {
    run: async (args, input) => {
      argvs.push([...args]);
      calls.push(`docker ${args.join(" ")}${input !== undefined ? ` <<< ${input.trim()}` : ""}`);
      return { code: 0, stdout: "", stderr: "", ...answer(args, input) };
    },
    pipe: async (from, to) => {
      argvs.push([...from], [...to]);
      calls.push(`docker ${from.join(" ")} | docker ${to.join(" ")}`);
      return { code: 0, stdout: "", stderr: "" };
    },
  };
  return { calls, argvs, docker };
}

/** A clock at `start` that advances only by sleep(ms). */
export function fakeClock(start = "2026-11-30T22:15:00.000Z") {
  let at = Date.parse(start);
  return {
    now: () => new Date(at),
    sleep: async (ms: number) => {
      at += ms;
    },
  };
}

/** Env files written as `/tmp/env-<n>`, with what each held and whether it was removed. */
export function fakeEnvFiles() {
  const files: { path: string; env: Record<string, string>; removed: boolean }[] = [];
  const write = (env: Readonly<Record<string, string>>): EnvFile => {
    const file = { path: `/tmp/env-${files.length + 1}`, env: { ...env }, removed: false };
    files.push(file);
    return { path: file.path, remove: () => void (file.removed = true) };
  };
  return { files, write };
}

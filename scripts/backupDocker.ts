/**
 * The docker CLI as `npm run backup -- restore|drill` drives it: `docker` spawned with an argument
 * array (never a shell), against the engine in DOCKER_HOST (`ssh://ubuntu@<data node>` per the
 * README) or `--docker-host`, else the local engine. No secret is ever an argument: store
 * environments reach a new container through `--env-file` of a 0600 temp file (writeEnvFile),
 * secret files through `docker cp` piped container to container.
 */
import { spawn } from "child_process";
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from "fs";
import { tmpdir } from "os";
import { join } from "path";

/** How one `docker` run ended: its exit code (-1 when it could not start) and its output. */
export interface DockerResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** What restore and drill need of the docker CLI; dockerCli in use, a recording fake in tests. */
export interface DockerCli {
  /** `docker <args>`, `input` on its stdin. Resolves however it exits. */
  run(args: readonly string[], input?: string): Promise<DockerResult>;
  /** `docker <from> | docker <to>` (a `docker cp` tar stream); the first failing side's result. */
  pipe(from: readonly string[], to: readonly string[]): Promise<DockerResult>;
}

function collect(
  args: readonly string[],
  env: NodeJS.ProcessEnv,
  stdin: "pipe" | "ignore",
): { child: ReturnType<typeof spawn>; done: Promise<DockerResult> } {
  const child = spawn("docker", [...args], { env, stdio: [stdin, "pipe", "pipe"] });
  const out: Buffer[] = [];
  const err: Buffer[] = [];
  child.stdout?.on("data", (chunk: Buffer) => out.push(chunk));
  child.stderr?.on("data", (chunk: Buffer) => err.push(chunk));
  const done = new Promise<DockerResult>((resolve) => {
    child.on("error", (error) => resolve({ code: -1, stdout: "", stderr: `docker: ${error.message}` }));
    child.on("close", (code) =>
      resolve({
        code: code ?? -1,
        stdout: Buffer.concat(out).toString("utf8"),
        stderr: Buffer.concat(err).toString("utf8"),
      }),
    );
  });
  return { child, done };
}

/**
 * The docker CLI on `host` (a Docker engine URL) or, when undefined, on whatever DOCKER_HOST this
 * process has (unset: the local engine).
 */
export function dockerCli(host: string | undefined, env: NodeJS.ProcessEnv = process.env): DockerCli {
  const childEnv = host !== undefined ? { ...env, DOCKER_HOST: host } : env;
  return {
    run: async (args, input) => {
      const { child, done } = collect(args, childEnv, input === undefined ? "ignore" : "pipe");
      if (input !== undefined) child.stdin?.end(input);
      return done;
    },
    pipe: async (from, to) => {
      // The tar stream goes straight from one docker to the other, not through a buffer here.
      const source = spawn("docker", [...from], { env: childEnv, stdio: ["ignore", "pipe", "pipe"] });
      const sink = collect(to, childEnv, "pipe");
      source.stdout.pipe(sink.child.stdin as NodeJS.WritableStream);
      const err: Buffer[] = [];
      source.stderr.on("data", (chunk: Buffer) => err.push(chunk));
      const first = await new Promise<DockerResult>((resolve) => {
        source.on("error", (error) => resolve({ code: -1, stdout: "", stderr: `docker: ${error.message}` }));
        source.on("close", (code) =>
          resolve({ code: code ?? -1, stdout: "", stderr: Buffer.concat(err).toString("utf8") }),
        );
      });
      const second = await sink.done;
      return first.code !== 0 ? first : second;
    },
  };
}

/** The one word `docker ... --env-file` cannot carry: a value with a line break. */
export function envFileProblem(env: Readonly<Record<string, string>>): string | undefined {
  const bad = Object.entries(env).find(([, value]) => /[\r\n]/.test(value));
  return bad === undefined ? undefined : `${bad[0]} has a line break, which --env-file cannot carry`;
}

/** A written env file and how to remove it. */
export interface EnvFile {
  readonly path: string;
  remove(): void;
}

/**
 * Writes `NAME=value` lines (docker's --env-file format: the value verbatim to the line's end) to
 * a 0600 file in a new 0700 temp directory. Throws for a value with a line break (envFileProblem).
 * The caller removes it right after the `docker create` that reads it.
 */
export function writeEnvFile(env: Readonly<Record<string, string>>): EnvFile {
  const problem = envFileProblem(env);
  if (problem !== undefined) throw new Error(problem);
  const dir = mkdtempSync(join(tmpdir(), "orchestra-drill-env-"));
  chmodSync(dir, 0o700);
  const path = join(dir, "env");
  const text = Object.entries(env)
    .map(([name, value]) => `${name}=${value}\n`)
    .join("");
  writeFileSync(path, text, { mode: 0o600 });
  return { path, remove: () => rmSync(dir, { recursive: true, force: true }) };
}

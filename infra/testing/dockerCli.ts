/**
 * Test support for the services tier: how a ContainerSpec's parts are written for the docker CLI
 * (shell words, the health-check string), the per-run names and free ports a run needs, and the
 * clean-up of a run's containers and volumes.
 */
import { execFileSync } from "node:child_process";
import { createServer } from "node:net";

/** Single-quotes one word for /bin/sh. */
export function shellQuote(word: string): string {
  return /^[\w@%+=:,./-]+$/.test(word) ? word : `'${word.replace(/'/g, `'\\''`)}'`;
}

/**
 * The docker CLI only takes a health check as a shell string (`--health-cmd` becomes CMD-SHELL).
 * An exec-form ["CMD", ...args] check is quoted word by word, which runs the same program with the
 * same arguments through the image's /bin/sh (every stand-in has one; a distroless image would not).
 */
export function healthCmdString(test: readonly string[]): string {
  const [kind, ...rest] = test;
  if (kind === "CMD-SHELL" && rest.length === 1) return rest[0];
  if (kind === "CMD" && rest.length > 0) return rest.map(shellQuote).join(" ");
  throw new Error(
    `unsupported health check test ${JSON.stringify(test)}: expected ["CMD", ...] or ["CMD-SHELL", cmd]`,
  );
}

/** Free TCP ports on the host (listened on 0.0.0.0, then released for docker-proxy to take). */
export async function freePorts(count: number): Promise<number[]> {
  const servers = await Promise.all(
    Array.from(
      { length: count },
      () =>
        new Promise<import("node:net").Server>((resolve, reject) => {
          const server = createServer();
          server.once("error", reject);
          server.listen(0, "0.0.0.0", () => resolve(server));
        }),
    ),
  );
  const ports = servers.map((server) => (server.address() as import("node:net").AddressInfo).port);
  await Promise.all(servers.map((server) => new Promise((resolve) => server.close(resolve))));
  return ports;
}

/** A run id unique to this process and moment: `<prefix>-<base36 time><random>`. */
export function uniqueRunId(prefix: string): string {
  return `${prefix}-${Date.now().toString(36).slice(-5)}${Math.random().toString(36).slice(2, 6)}`;
}

/** A run's containers and volumes: those whose names start with `<run>-`, one name per line ("" when none). */
export function runObjects(run: string): { containers: string; volumes: string } {
  const list = (args: string[]) =>
    execFileSync("docker", [...args, "--filter", `name=^${run}-`], { encoding: "utf8" }).trim();
  return {
    containers: list(["ps", "-a", "--format", "{{.Names}}"]),
    volumes: list(["volume", "ls", "--format", "{{.Name}}"]),
  };
}

/** Removes a run's containers (with their anonymous volumes) and named volumes; throws if docker fails. */
export function removeRunObjects(run: string): void {
  const { containers, volumes } = runObjects(run);
  for (const name of containers.split("\n").filter(Boolean))
    execFileSync("docker", ["rm", "-f", "-v", name], { stdio: ["ignore", "pipe", "pipe"] });
  for (const volume of volumes.split("\n").filter(Boolean))
    execFileSync("docker", ["volume", "rm", volume], { stdio: ["ignore", "pipe", "pipe"] });
}

/**
 * The local S3-compatible server (scripts/s3-server.sh, versitygw) for the tests that need one: the
 * backup store (services tier), the state bucket and the pipeline (engine tier). Started on a
 * directory of the test's own; its endpoint and random keys come back as the script's `DIR/s3.env`.
 */
import { execFileSync } from "child_process";
import { readFileSync } from "fs";
import { join } from "path";

const SCRIPT = join(__dirname, "..", "..", "scripts", "s3-server.sh");

function run(args: string[]): void {
  execFileSync("bash", [SCRIPT, ...args], { stdio: ["ignore", "ignore", "inherit"] });
}

/** Builds versitygw when missing (a no-op when cached; toolchain.sh normally has). */
export function installS3Server(): void {
  run(["install"]);
}

/**
 * Serves `dir`/data on loopback and returns `dir`/s3.env as the script writes it: S3_ENDPOINT,
 * AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_REGION, in that order. Throws if the script fails.
 */
export function startS3Server(dir: string): Record<string, string> {
  run(["start", dir]);
  const entries = readFileSync(join(dir, "s3.env"), "utf8")
    .split("\n")
    .filter(Boolean)
    .map((line) => [line.slice(0, line.indexOf("=")), line.slice(line.indexOf("=") + 1)]);
  return Object.fromEntries(entries) as Record<string, string>;
}

/** Stops the server started on `dir`. */
export function stopS3Server(dir: string): void {
  run(["stop", dir]);
}

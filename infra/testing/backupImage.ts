/**
 * Test support for the backup job (images/backup): its image built on the stand-in base, and its
 * secrets as the planner gives them (one 0600 file per name in a 0700 directory, mounted read-only
 * at /run/secrets). Needs the stand-in base (scripts/standin-images/build.sh), which carries every
 * tool the image installs, so the build runs with no network.
 */
import { execFileSync } from "child_process";
import { chmodSync, mkdtempSync, writeFileSync } from "fs";
import { tmpdir } from "os";
import { join } from "path";

/** The tag the tests run. */
export const BACKUP_TEST_IMAGE = "orchestra-backup:test";

/** Where the planner mounts the secret files in the backup container (BACKUP_FILE_PATHS.secretsDir). */
export const BACKUP_SECRETS_MOUNT = "/run/secrets";

const CONTEXT = join(__dirname, "..", "..", "images", "backup");
const STANDIN_BASE = "orchestra-standin/base:bookworm";

/**
 * Builds images/backup on the stand-in base, offline, as `tag` (default BACKUP_TEST_IMAGE; a test
 * that runs beside others' gives its own, so another build cannot retag it mid-run). Throws if
 * docker fails.
 */
export function buildBackupImage(tag: string = BACKUP_TEST_IMAGE): void {
  execFileSync(
    "docker",
    ["build", "-q", "--network", "none", "--build-arg", `BASE=${STANDIN_BASE}`, "-t", tag, CONTEXT],
    { stdio: ["ignore", "ignore", "inherit"] },
  );
}

/** A fresh age identity (`AGE-SECRET-KEY-1...`, the backupEncryptionKey format) from `image`'s age-keygen. */
export function ageIdentity(image: string = BACKUP_TEST_IMAGE): string {
  const out = execFileSync("docker", ["run", "--rm", "--entrypoint", "age-keygen", image], {
    encoding: "utf8",
    stdio: ["ignore", "pipe", "ignore"],
  });
  const identity = out.split("\n").find((line) => line.startsWith("AGE-SECRET-KEY-1"));
  if (identity === undefined) throw new Error("age-keygen printed no AGE-SECRET-KEY-1 line");
  return identity;
}

/**
 * Writes each secret to `<new 0700 temp dir>/<name>` (mode 0600, the value exactly, no newline)
 * and returns the directory, to mount read-only at BACKUP_SECRETS_MOUNT. The caller removes it.
 */
export function writeSecretsDir(secrets: Readonly<Record<string, string>>): string {
  const dir = mkdtempSync(join(tmpdir(), "orchestra-backup-secrets-"));
  chmodSync(dir, 0o700);
  for (const [name, value] of Object.entries(secrets)) writeFileSync(join(dir, name), value, { mode: 0o600 });
  return dir;
}

/**
 * A Python 3 script (the stand-in base has python3) that records every new process command line
 * in its container, one per line into `outPath` (line-buffered), polling /proc every millisecond:
 * how the services tests prove no secret is ever on a command line, however short-lived.
 */
export function argvWatcher(outPath: string): string {
  return `
import os, time
me = str(os.getpid())
seen = set()
out = open(${JSON.stringify(outPath)}, "a", buffering=1)
while True:
    for pid in os.listdir("/proc"):
        if not pid.isdigit() or pid == me:
            continue
        try:
            with open("/proc/" + pid + "/cmdline", "rb") as f:
                raw = f.read()
        except OSError:
            continue
        if raw and raw not in seen:
            seen.add(raw)
            out.write(raw.replace(b"\\0", b" ").decode("utf-8", "replace").strip() + "\\n")
    time.sleep(0.001)
`;
}

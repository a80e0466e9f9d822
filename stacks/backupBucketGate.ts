/**
 * The bucket check index.ts runs before it declares any resource, on a layer that keeps backups:
 * with the stack's own backup keys, write, read back and delete one small object where the stack's
 * backups go (S3BackupStore.checkWritable). A bucket that is missing, unreachable or not writable
 * with those keys fails `pulumi preview` (and `up`) with the fix, before anything is created,
 * instead of a backup job that fails quietly on the node every night.
 *
 * The keys are revealed here only to build the S3 client; they are never logged, thrown or
 * exported (S3BackupStore's errors name the action, the key and the server's words only).
 */
import * as pulumi from "@pulumi/pulumi";
import { BackupStoreError, S3BackupStore } from "../infra/backup/backupStore";
import type { BackupSettings } from "./configBackup";
import { revealForGate, type LoadedStack } from "./loadStack";

/** What the gate needs of a store: S3BackupStore in use, a fake in tests. */
export interface WritableCheck {
  checkWritable(stack: string): Promise<void>;
  destroy(): void;
}

export type OpenCheck = (
  settings: BackupSettings,
  credentials: { accessKeyId: string; secretAccessKey: string },
) => WritableCheck;

const openS3: OpenCheck = (settings, credentials) =>
  new S3BackupStore(settings, { credentials, failFast: true });

/** `s3://<bucket>/<prefix>/<stack>/` on `<endpoint>` when one is set. */
function destination(settings: BackupSettings, stack: string): string {
  const where = `s3://${settings.bucket}/${settings.prefix}/${stack}/`;
  return settings.endpoint !== undefined
    ? `${where} on ${settings.endpoint}`
    : `${where} (AWS S3, ${settings.region})`;
}

/**
 * The error a failed check becomes: what failed, where, and the fixes (the bucket, the keys'
 * rights, the endpoint, or backups off). Pure.
 */
export function bucketCheckMessage(settings: BackupSettings, stack: string, cause: string): string {
  return [
    `Backups: cannot write where this stack's backups go, ${destination(settings, stack)}: ${cause.replace(/\.$/, "")}.`,
    "Fix one of: create the bucket (orchestra:backup.bucket); give the keys in backupAccessKeyId and backupSecretAccessKey s3:PutObject, s3:GetObject, s3:DeleteObject and s3:ListBucket on it;",
    "correct orchestra:backup.endpoint or region; or turn backups off with `pulumi config set --path 'backup.enabled' false`.",
  ].join(" ");
}

/**
 * Checks the backup bucket when the layer keeps backups (`config.backups` set); a no-op otherwise.
 * Throws a `pulumi.RunError` (printed as its message alone) when the check fails.
 */
export async function backupBucketGate(stack: LoadedStack, open: OpenCheck = openS3): Promise<void> {
  const settings = stack.config.backups;
  if (settings === undefined) return;
  const accessKeyId = stack.secrets.backupAccessKeyId;
  const secretAccessKey = stack.secrets.backupSecretAccessKey;
  // loadStack refuses a layer that keeps backups without both; this only narrows the types.
  if (accessKeyId === undefined || secretAccessKey === undefined) return;
  const store = open(settings, {
    accessKeyId: (await revealForGate(accessKeyId)).trim(),
    secretAccessKey: (await revealForGate(secretAccessKey)).trim(),
  });
  try {
    await store.checkWritable(stack.identity.stack);
  } catch (error) {
    const cause =
      error instanceof BackupStoreError
        ? error.message
        : `${(error as Error).name}: ${(error as Error).message}`;
    throw new pulumi.RunError(bucketCheckMessage(settings, stack.identity.stack, cause));
  } finally {
    store.destroy();
  }
}

/**
 * The backup bucket check's decisions with a fake store: when it runs, what it is given (the
 * stack's keys, trimmed), and the error a failure becomes. The S3 side (checkWritable against a
 * real server) is in infra/backup/backupStore.s3.test.ts.
 */
import * as pulumi from "@pulumi/pulumi";
import { BackupStoreError } from "../infra/backup/backupStore";
import { backupBucketGate, type OpenCheck } from "./backupBucketGate";
import { validateStackConfig } from "./config";
import { stackValues } from "./configFiles";
import type { LoadedStack } from "./loadStack";

const KEYS = { backupAccessKeyId: "AKIDTEST", backupSecretAccessKey: "s3cr3t-backup-key" };

function loaded(
  layer: string,
  edit: (values: Record<string, unknown>) => Record<string, unknown> = (v) => v,
): LoadedStack {
  const config = validateStackConfig(edit(stackValues(layer)));
  return {
    config,
    // As `pulumi config set --secret ... < file` stores them: with a trailing newline.
    secrets: {
      backupAccessKeyId: pulumi.secret(`${KEYS.backupAccessKeyId}\n`),
      backupSecretAccessKey: pulumi.secret(`${KEYS.backupSecretAccessKey}\n`),
    },
    lambda: {},
    identity: { project: "orchestra", stack: layer },
  };
}

/** A fake store that records what it was opened with and fails with `error` when given. */
function fake(error?: Error) {
  const calls: string[] = [];
  const open: OpenCheck = (settings, credentials) => {
    calls.push(
      `open ${settings.bucket} ${settings.prefix} ${credentials.accessKeyId} ${credentials.secretAccessKey}`,
    );
    return {
      checkWritable: async (stack) => {
        calls.push(`checkWritable ${stack}`);
        if (error !== undefined) throw error;
      },
      destroy: () => calls.push("destroy"),
    };
  };
  return { open, calls };
}

test("a layer that keeps backups checks its bucket with the stack's keys, then closes the client", async () => {
  const { open, calls } = fake();
  await backupBucketGate(loaded("staging"), open);
  expect(calls).toEqual([
    "open orchestra-backups-staging orchestra AKIDTEST s3cr3t-backup-key",
    "checkWritable staging",
    "destroy",
  ]);
});

test("a layer without backups checks nothing", async () => {
  const { open, calls } = fake();
  await backupBucketGate(loaded("integration"), open);
  await backupBucketGate(
    loaded("staging", (values) => ({ ...values, backup: { enabled: false } })),
    open,
  );
  expect(calls).toEqual([]);
});

test("a failed check fails the preview with where, why and the fixes, and closes the client", async () => {
  const { open, calls } = fake(
    new BackupStoreError(
      "writing s3://orchestra-backups-production/orchestra/production/.write-check failed: AccessDenied: Access Denied.",
    ),
  );
  const failure = backupBucketGate(loaded("production"), open);
  await expect(failure).rejects.toBeInstanceOf(pulumi.RunError);
  await expect(failure).rejects.toThrow(
    "Backups: cannot write where this stack's backups go, s3://orchestra-backups-production/orchestra/production/ (AWS S3, us-east-1): " +
      "writing s3://orchestra-backups-production/orchestra/production/.write-check failed: AccessDenied: Access Denied. " +
      "Fix one of: create the bucket (orchestra:backup.bucket); give the keys in backupAccessKeyId and backupSecretAccessKey s3:PutObject, s3:GetObject, s3:DeleteObject and s3:ListBucket on it; " +
      "correct orchestra:backup.endpoint or region; or turn backups off with `pulumi config set --path 'backup.enabled' false`.",
  );
  expect(calls.at(-1)).toBe("destroy");
});

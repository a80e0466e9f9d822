/** Pure tier: `npm run backup`'s arguments and the stack file's `orchestra:backup`. */
import {
  BACKUP_USAGE,
  backupSettingsFromStackFile,
  BackupUsageError,
  NOT_BUILT,
  parseBackupArgs,
} from "./backupArgs";

describe("parseBackupArgs", () => {
  test("the command, the stack, and the stores (all three unless --store names one)", () => {
    expect(parseBackupArgs(["list", "--stack", "staging"])).toEqual({
      command: "list",
      stack: "staging",
      stores: ["postgres", "redis", "weaviate"],
    });
    expect(parseBackupArgs(["--store=redis", "--stack", "pr-12", "verify"])).toEqual({
      command: "verify",
      stack: "pr-12",
      stores: ["redis"],
    });
  });

  test("the usage line says restore and drill are not built yet", () => {
    expect(BACKUP_USAGE).toBe(
      "usage: npm run backup -- list|verify|prune --stack <name> [--store postgres|redis|weaviate]   (restore, drill and --at <time>: not built yet)",
    );
  });

  test.each([
    [[], "a command is needed: list, verify or prune"],
    [["--stack", "staging"], "a command is needed: list, verify or prune"],
    [["restore", "--stack", "staging", "--at", "2026-11-30T10:00:00Z"], NOT_BUILT],
    [["drill", "--stack", "staging"], NOT_BUILT],
    [["backup", "--stack", "staging"], 'unknown command "backup": allowed are list, verify, prune'],
    [["list", "verify"], 'unknown argument "verify": allowed are --stack, --store, --at and 1 argument'],
    [["list", "--all"], 'unknown argument "--all": allowed are --stack, --store, --at and 1 argument'],
    [
      ["list"],
      "--stack is needed: the stack whose backups to read (its Pulumi.<stack>.yaml names the bucket)",
    ],
    [["list", "--stack"], "--stack needs a value"],
    [["list", "--stack", "a", "--stack", "b"], '--stack is given twice ("a", then "b"): one stack per run'],
    [
      ["list", "--stack", "../x"],
      '--stack "../x" is not a stack name (letters, digits, "-", "_" and "." only)',
    ],
    [["list", "--stack", "s", "--store", "mysql"], '--store "mysql": allowed are postgres, redis, weaviate'],
    [
      ["list", "--stack", "s", "--store", "redis", "--store", "weaviate"],
      '--store is given twice ("redis", then "weaviate"): one store, or none for all three',
    ],
    [["verify", "--stack", "s", "--at", "yesterday"], "--at is for restore, which is not built yet"],
  ])("%j is refused: %s", (argv, problem) => {
    expect(() => parseBackupArgs(argv)).toThrow(new BackupUsageError(problem));
    expect(() => parseBackupArgs(argv)).toThrow(`${problem}\n${BACKUP_USAGE}`);
  });

  test("the not-built message", () => {
    expect(NOT_BUILT).toBe("not built yet: restore and drill come with the restore drills (issue 11)");
  });
});

describe("backupSettingsFromStackFile", () => {
  const EXAMPLE = `e.g.
  orchestra:backup:
    region: us-east-1
    bucket: my-orchestra-backups
(endpoint: an S3-compatible server's https URL, omitted for AWS S3; prefix: default "orchestra")`;

  test("reads orchestra:backup as YAML mapping or JSON text", () => {
    const file = `config:
  orchestra:layer: staging
  orchestra:backup:
    endpoint: https://s3.example.net
    region: eu-central-1
    bucket: orchestra-staging-backups
`;
    expect(backupSettingsFromStackFile(file, "staging")).toEqual({
      endpoint: "https://s3.example.net",
      region: "eu-central-1",
      bucket: "orchestra-staging-backups",
      prefix: "orchestra",
    });
    const json = `config:\n  orchestra:backup: '{"region":"us-east-1","bucket":"abc","prefix":"x/y"}'\n`;
    expect(backupSettingsFromStackFile(json, "local")).toEqual({
      region: "us-east-1",
      bucket: "abc",
      prefix: "x/y",
    });
  });

  test.each([
    [
      "config:\n  orchestra:layer: staging\n",
      `Pulumi.staging.yaml sets no orchestra:backup, so there is no bucket to read: add it, ${EXAMPLE}`,
    ],
    ["", `Pulumi.staging.yaml sets no orchestra:backup, so there is no bucket to read: add it, ${EXAMPLE}`],
    [
      "config:\n  orchestra:backup:\n",
      `Pulumi.staging.yaml sets no orchestra:backup, so there is no bucket to read: add it, ${EXAMPLE}`,
    ],
    [
      "config:\n  orchestra:backup:\n    secure: v1:abc\n",
      `Pulumi.staging.yaml: orchestra:backup is a secret; set it as plain values (the bucket is no secret; the credentials come from AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY), ${EXAMPLE}`,
    ],
    [
      "config:\n  orchestra:backup:\n    region: us-east-1\n    bucket: B\n    retention: 7\n",
      "Pulumi.staging.yaml: orchestra:backup.bucket must be an S3 bucket name: 3-63 lowercase letters, digits, '.' and '-', starting and ending with a letter or digit\nPulumi.staging.yaml: orchestra:backup.retention is not a backup setting (orchestra:backup has endpoint, region, bucket and prefix)",
    ],
    [
      "config: [\n",
      "Pulumi.staging.yaml is not YAML: unexpected end of the stream within a flow collection (2:1)",
    ],
  ])("%j is refused", (text, message) => {
    expect(() => backupSettingsFromStackFile(text, "staging")).toThrow(new Error(message));
  });
});

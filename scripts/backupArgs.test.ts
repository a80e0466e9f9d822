/** Pure tier: `npm run backup`'s arguments and the stack file's `orchestra:backup`. */
import {
  AT_FORM,
  BACKUP_USAGE,
  backupSettingsFromStackFile,
  BackupUsageError,
  isRecoveryTime,
  parseBackupArgs,
} from "./backupArgs";

describe("parseBackupArgs", () => {
  test("the command, the stack, and the stores (all three unless --store names one)", () => {
    expect(parseBackupArgs(["list", "--stack", "staging"])).toEqual({
      command: "list",
      stack: "staging",
      stores: ["postgres", "redis", "weaviate"],
      yes: false,
    });
    expect(parseBackupArgs(["--store=redis", "--stack", "pr-12", "verify"])).toEqual({
      command: "verify",
      stack: "pr-12",
      stores: ["redis"],
      yes: false,
    });
  });

  test("restore: one store, --backup, --at or --latest, --yes, --docker-host; drill: --docker-host", () => {
    expect(
      parseBackupArgs([
        "restore",
        "--stack",
        "staging",
        "--store",
        "redis",
        "--backup",
        "20261130T031500Z-rdb",
        "--yes",
        "--docker-host",
        "ssh://ubuntu@10.0.0.5",
      ]),
    ).toEqual({
      command: "restore",
      stack: "staging",
      stores: ["redis"],
      backupId: "20261130T031500Z-rdb",
      yes: true,
      dockerHost: "ssh://ubuntu@10.0.0.5",
    });
    expect(
      parseBackupArgs([
        "restore",
        "--stack",
        "production",
        "--store",
        "postgres",
        "--at",
        "2026-11-30T10:15:00+01:00",
      ]),
    ).toEqual({
      command: "restore",
      stack: "production",
      stores: ["postgres"],
      target: { at: "2026-11-30T10:15:00+01:00" },
      yes: false,
    });
    expect(
      parseBackupArgs(["restore", "--stack", "production", "--store", "postgres", "--latest", "--yes"]),
    ).toEqual({
      command: "restore",
      stack: "production",
      stores: ["postgres"],
      target: { latest: true },
      yes: true,
    });
    expect(
      parseBackupArgs(["drill", "--stack", "staging", "--docker-host=unix:///var/run/docker.sock"]),
    ).toEqual({
      command: "drill",
      stack: "staging",
      stores: ["postgres", "redis", "weaviate"],
      yes: false,
      dockerHost: "unix:///var/run/docker.sock",
    });
  });

  test("the usage line and the --at form", () => {
    expect(BACKUP_USAGE).toBe(
      "usage: npm run backup -- list|verify|prune|restore|drill --stack <name> [--store postgres|redis|weaviate] [--backup <backupId>] [--at <ISO time> | --latest] [--yes] [--docker-host <url>]",
    );
    expect(AT_FORM).toBe(
      "an ISO 8601 time with seconds and a zone, YYYY-MM-DDTHH:MM:SS[.fraction of up to 6 digits] then Z or +HH:MM or -HH:MM, e.g. 2026-11-30T10:15:00Z",
    );
  });

  test.each([
    ["2026-11-30T10:15:00Z", true],
    ["2026-11-30T10:15Z", false],
    ["2026-11-30T10:15+01:00", false],
    ["2026-11-30T10:15:00.1234567Z", false],
    ["2026-11-30T10:15:00.123456Z", true],
    ["2026-11-30T10:15:00-05:30", true],
    ["2026-11-30T10:15:00", false],
    ["2026-11-30 10:15:00Z", false],
    ["2026-11-30T10:15:00+0100", false],
    ["2026-02-30T10:15:00Z", false],
    ["2026-13-01T10:15:00Z", false],
    ["2026-11-30T24:00:00Z", false],
    ["2026-11-30T10:60:00Z", false],
    ["2026-11-30T10:15:00+15:00", false],
    ["2026-11-30T10:15:00+01:60", false],
    ["yesterday", false],
    ["1764497700", false],
  ])("isRecoveryTime(%j) is %j", (text, ok) => {
    expect(isRecoveryTime(text)).toBe(ok);
  });

  test.each([
    [[], "a command is needed: list, verify, prune, restore or drill"],
    [["--stack", "staging"], "a command is needed: list, verify, prune, restore or drill"],
    [
      ["backup", "--stack", "staging"],
      'unknown command "backup": allowed are list, verify, prune, restore, drill',
    ],
    [
      ["list", "verify"],
      'unknown argument "verify": allowed are --stack, --store, --backup, --at, --latest, --yes, --docker-host and 1 argument',
    ],
    [
      ["list", "--all"],
      'unknown argument "--all": allowed are --stack, --store, --backup, --at, --latest, --yes, --docker-host and 1 argument',
    ],
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
    [["verify", "--stack", "s", "--at", "2026-11-30T10:15:00Z"], "--at is for restore, not verify"],
    [["drill", "--stack", "s", "--yes"], "--yes is for restore, not drill"],
    [["drill", "--stack", "s", "--backup", "20261130T031500Z-rdb"], "--backup is for restore, not drill"],
    [
      ["list", "--stack", "s", "--docker-host", "ssh://u@h"],
      "--docker-host is for restore and drill, not list",
    ],
    [["restore", "--stack", "s"], "restore needs --store: one store at a time (postgres, redis or weaviate)"],
    [["restore", "--stack", "s", "--yes=no", "--store", "redis"], "--yes takes no value"],
    [
      ["restore", "--stack", "s", "--store", "redis", "--backup", "20261130T031500Z-dump"],
      '--backup: backupId "20261130T031500Z-dump": kind "dump" is not a redis backup kind (rdb)',
    ],
    [
      ["restore", "--stack", "s", "--store", "redis", "--backup", "latest"],
      '--backup: backupId "latest" is not YYYYMMDDTHHMMSSZ-<kind> (UTC start time, e.g. 20261130T101500Z-full)',
    ],
    [
      ["restore", "--stack", "s", "--store", "redis", "--latest"],
      "--latest is for --store postgres (a point-in-time restore from the WAL archive), not redis",
    ],
    [
      [
        "restore",
        "--stack",
        "s",
        "--store",
        "postgres",
        "--at",
        "2026-11-30T10:15:00Z",
        "--backup",
        "20261130T030000Z-full",
      ],
      "--at and --backup: a point-in-time restore picks its backup itself; give one of them",
    ],
    [
      ["restore", "--stack", "s", "--store", "postgres", "--at", "2026-11-30T10:15:00Z", "--latest"],
      "--at and --latest: give one (a time, or the end of the WAL archive)",
    ],
    [
      ["restore", "--stack", "s", "--store", "postgres", "--at", "yesterday"],
      `--at "yesterday": allowed is ${AT_FORM}`,
    ],
    [
      ["restore", "--stack", "s", "--store", "postgres", "--at", "2026-11-30T10:15:00"],
      `--at "2026-11-30T10:15:00": allowed is ${AT_FORM}`,
    ],
    [
      ["drill", "--stack", "s", "--docker-host", "10.0.0.5"],
      '--docker-host "10.0.0.5": allowed is a Docker engine URL, ssh://user@host, tcp://host:port or unix:///path',
    ],
  ])("%j is refused: %s", (argv, problem) => {
    expect(() => parseBackupArgs(argv)).toThrow(new BackupUsageError(problem));
    expect(() => parseBackupArgs(argv)).toThrow(`${problem}\n${BACKUP_USAGE}`);
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

  test("the stack's own keys (enabled, hourUtc, the cost estimate) are accepted; the location is read", () => {
    expect(
      backupSettingsFromStackFile(
        "config:\n  orchestra:backup:\n    enabled: true\n    region: us-east-1\n    bucket: b-1\n    hourUtc: 4\n    estimateGiB: 50\n    usdPerGiBMonth: 0.02\n",
        "integration",
      ),
    ).toEqual({ region: "us-east-1", bucket: "b-1", prefix: "orchestra" });
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
      'Pulumi.staging.yaml: orchestra:backup.bucket = "B": must be an S3 bucket name: 3 to 63 characters, lowercase letters, digits, "." and "-", starting and ending with a letter or digit, e.g. orchestra-backups-production; fix with `pulumi config set --path \'backup.bucket\' <value>`\nPulumi.staging.yaml: orchestra:backup.retention = (not shown: it may be a credential): not a backup setting (a backup has enabled, endpoint, region, bucket, prefix, hourUtc, estimateGiB and usdPerGiBMonth; its credentials are the secrets backupAccessKeyId and backupSecretAccessKey); remove it with `pulumi config rm --path \'backup.retention\'`',
    ],
    [
      "config:\n  orchestra:backup:\n    region: us-east-1\n    bucket: b-1\n    hourUtc: 25\n",
      "Pulumi.staging.yaml: orchestra:backup.hourUtc = 25: must be a whole hour from 0 to 23 (UTC); fix with `pulumi config set --path 'backup.hourUtc' <value>`",
    ],
    [
      "config: [\n",
      "Pulumi.staging.yaml is not YAML: unexpected end of the stream within a flow collection (2:1)",
    ],
  ])("%j is refused", (text, message) => {
    expect(() => backupSettingsFromStackFile(text, "staging")).toThrow(new Error(message));
  });
});

/**
 * Pure tier: `orchestra:backup` and the backup policy. Where backups run (production and staging
 * by default, integration when enabled, never on local), what they need (a bucket, a region and
 * three secrets), and every refusal in the user's words: the key, the value, what is allowed, the fix.
 */
import { DEFAULT_IMAGES, isPinnedImage } from "../components/serviceCatalog";
import { StackConfigError, validateStackConfig } from "./config";
import { stackValues } from "./configFiles";
import { validStagingConfig } from "./configFixtures";
import type { SecretKey } from "./configSchema";
import { environmentPolicy } from "./policy";

const valid = validStagingConfig;
const { backup: _bucket, ...unbacked } = valid;

/** The problems a config is refused with; fails the test when it is accepted. */
function problemsOf(raw: Record<string, unknown>, presentSecrets?: readonly SecretKey[]): string[] {
  let thrown: unknown;
  try {
    validateStackConfig(raw, presentSecrets);
  } catch (error) {
    thrown = error;
  }
  expect(thrown).toBeInstanceOf(StackConfigError);
  return (thrown as StackConfigError).problems;
}

const fixWith = (path: string) => `; fix with \`pulumi config set --path '${path}' <value>\``;
const BACKUP_SECRETS = ["backupAccessKeyId", "backupSecretAccessKey", "backupEncryptionKey"];
const LOCAL = {
  layer: "local",
  sshPublicKey: valid.sshPublicKey,
  allowedCidrs: ["127.0.0.1/32"],
  nodes: {},
};
const INTEGRATION = { ...unbacked, layer: "integration", monthlyBudgetUsd: 300 };

test("the policy: production archives WAL (RPO 5 min) with weekly full and daily differential, stores hourly, 30 days; staging daily, 7; integration optional daily, 3; local none", () => {
  expect(environmentPolicy("production").backups).toEqual({
    availability: "default",
    retentionDays: 30,
    walArchiving: { archiveTimeoutSeconds: 60, rpoMinutes: 5 },
    schedule: {
      postgres: [
        { type: "full", cadence: "weekly" },
        { type: "diff", cadence: "daily" },
      ],
      redis: [{ type: "rdb", cadence: "hourly" }],
      weaviate: [{ type: "snapshot", cadence: "hourly" }],
    },
  });
  const daily = {
    postgres: [{ type: "dump", cadence: "daily" }],
    redis: [{ type: "rdb", cadence: "daily" }],
    weaviate: [{ type: "snapshot", cadence: "daily" }],
  };
  expect(environmentPolicy("staging").backups).toEqual({
    availability: "default",
    retentionDays: 7,
    schedule: daily,
  });
  expect(environmentPolicy("integration").backups).toEqual({
    availability: "optional",
    retentionDays: 3,
    schedule: daily,
  });
  expect(environmentPolicy("local").backups).toEqual({ availability: "unavailable" });
});

describe("the committed stacks", () => {
  test("production and staging back up to their placeholder buckets and need the three backup secrets", () => {
    const production = validateStackConfig(stackValues("production"));
    expect(production.backups).toEqual({
      region: "us-east-1",
      bucket: "orchestra-backups-production",
      prefix: "orchestra",
      hourUtc: 3,
      storage: { estimateGiB: 100, usdPerGiBMonth: 0.023 },
      retentionDays: 30,
      walArchiving: { archiveTimeoutSeconds: 60, rpoMinutes: 5 },
      schedule: {
        postgres: [
          { type: "full", cadence: "weekly" },
          { type: "diff", cadence: "daily" },
        ],
        redis: [{ type: "rdb", cadence: "hourly" }],
        weaviate: [{ type: "snapshot", cadence: "hourly" }],
      },
    });
    const staging = validateStackConfig(stackValues("staging"));
    expect(staging.backups).toEqual({
      region: "us-east-1",
      bucket: "orchestra-backups-staging",
      prefix: "orchestra",
      hourUtc: 3,
      storage: { estimateGiB: 100, usdPerGiBMonth: 0.023 },
      retentionDays: 7,
      schedule: {
        postgres: [{ type: "dump", cadence: "daily" }],
        redis: [{ type: "rdb", cadence: "daily" }],
        weaviate: [{ type: "snapshot", cadence: "daily" }],
      },
    });
    for (const config of [production, staging])
      expect(config.requiredSecrets.slice(-3)).toEqual(BACKUP_SECRETS);
  });

  test("integration and local keep none; the sandbox turns them off (no S3 server there)", () => {
    for (const layer of ["integration", "local", "sandbox"]) {
      const config = validateStackConfig(stackValues(layer));
      expect([
        layer,
        config.backups,
        config.requiredSecrets.filter((key) => key.startsWith("backup")),
      ]).toEqual([layer, undefined, []]);
    }
    expect(stackValues("sandbox").backup).toEqual({ enabled: false });
  });
});

describe("where backups run", () => {
  test("integration when enabled: daily, kept 3 days, with its bucket and secrets", () => {
    const config = validateStackConfig({
      ...INTEGRATION,
      backup: {
        enabled: true,
        region: "eu-central-1",
        bucket: "ci.backups-1",
        prefix: "team/orchestra",
        hourUtc: 23,
      },
    });
    expect(config.backups).toEqual({
      region: "eu-central-1",
      bucket: "ci.backups-1",
      prefix: "team/orchestra",
      hourUtc: 23,
      storage: { estimateGiB: 100, usdPerGiBMonth: 0.023 },
      retentionDays: 3,
      schedule: {
        postgres: [{ type: "dump", cadence: "daily" }],
        redis: [{ type: "rdb", cadence: "daily" }],
        weaviate: [{ type: "snapshot", cadence: "daily" }],
      },
    });
    expect(config.requiredSecrets).toEqual(["sshPrivateKey", "databasePassword", ...BACKUP_SECRETS]);
  });

  test("an S3-compatible endpoint: https with a host and an optional port", () => {
    for (const endpoint of ["https://localhost:9443", "https://s3.example.test", "https://10.0.0.5:7070/"])
      expect(validateStackConfig({ ...valid, backup: { ...valid.backup, endpoint } }).backups?.endpoint).toBe(
        endpoint,
      );
  });

  test("backup.enabled false turns them off on production and staging; their secrets are then not needed", () => {
    const config = validateStackConfig({ ...valid, backup: { enabled: false } }, [
      "sshPrivateKey",
      "databasePassword",
      "redisPassword",
      "weaviateApiKey",
    ]);
    expect(config.backups).toBeUndefined();
  });
});

test("the backup job's image is pinned and overridable like every service's", () => {
  expect(isPinnedImage(DEFAULT_IMAGES["orchestra-backup"])).toBe(true);
  expect(
    validateStackConfig({ ...valid, images: { "orchestra-backup": "registry.example.test/backup:7" } })
      .services.images["orchestra-backup"],
  ).toBe("registry.example.test/backup:7");
  expect(
    problemsOf({ ...valid, images: { "orchestra-backup": "ghcr.io/ai-cherry/orchestra-backup:latest" } }),
  ).toEqual([
    "orchestra:images.orchestra-backup = \"ghcr.io/ai-cherry/orchestra-backup:latest\": images must be pinned by a version tag (not latest, stable, edge, nightly, main or master, in any case: they move) or by a digest, so a deployment is repeatable; set e.g. `pulumi config set --path 'images.orchestra-backup' ghcr.io/ai-cherry/orchestra-backup:<version>`",
  ]);
});

describe("refused, with the fix", () => {
  test("a layer that backs up by default without a bucket or a region", () => {
    expect(problemsOf({ ...valid, backup: {} })).toEqual([
      "orchestra:backup.bucket is not set; the staging layer keeps backups by default and they need a bucket: set it with `pulumi config set --path 'backup.bucket' orchestra-backups-staging`, or turn backups off with `pulumi config set --path 'backup.enabled' false`",
      "orchestra:backup.region is not set; the staging layer keeps backups by default and they need a region: set it with `pulumi config set --path 'backup.region' us-east-1`, or turn backups off with `pulumi config set --path 'backup.enabled' false`",
    ]);
    expect(problemsOf({ ...INTEGRATION, backup: { enabled: true, bucket: "ci-backups" } })).toEqual([
      "orchestra:backup.region is not set; the integration layer keeps backups (backup.enabled is true) and they need a region: set it with `pulumi config set --path 'backup.region' us-east-1`, or remove backup.enabled with `pulumi config rm --path 'backup.enabled'`",
    ]);
  });

  test("the backup secrets, wherever backups run", () => {
    expect(
      problemsOf(valid, ["sshPrivateKey", "databasePassword", "redisPassword", "weaviateApiKey"]),
    ).toEqual(
      BACKUP_SECRETS.map(
        (key) =>
          `orchestra:${key} is not set; the staging layer needs it: set it with \`pulumi config set --secret ${key} <value>\` (a secret: never commit it in plain text)`,
      ),
    );
  });

  test("local keeps no backups: enabled and any setting are refused", () => {
    expect(problemsOf({ ...LOCAL, backup: { enabled: true } })).toEqual([
      "orchestra:backup.enabled = true: the local layer keeps no backups (its SQLite file stays on the operator's machine; production and staging back up by default, integration when enabled); remove it with `pulumi config rm --path 'backup.enabled'`",
    ]);
    expect(problemsOf({ ...LOCAL, backup: { bucket: "orchestra-backups-local" } })).toEqual([
      "orchestra:backup sets bucket but the local layer keeps no backups, so it does nothing: set backup.enabled true where the layer allows it, or remove it with `pulumi config rm --path 'backup.bucket'`",
    ]);
    expect(validateStackConfig({ ...LOCAL, backup: { enabled: false } }).backups).toBeUndefined();
  });

  test("settings where backups are off do nothing and are refused, not ignored", () => {
    expect(problemsOf({ ...INTEGRATION, backup: valid.backup })).toEqual([
      "orchestra:backup sets region, bucket but the integration layer keeps backups only with backup.enabled true, so they do nothing: set backup.enabled true where the layer allows it, or remove them with `pulumi config rm --path 'backup.region'` and `pulumi config rm --path 'backup.bucket'`",
    ]);
    expect(problemsOf({ ...valid, backup: { enabled: false, prefix: "orchestra" } })).toEqual([
      "orchestra:backup sets prefix but backups are off here (backup.enabled is false), so it does nothing: set backup.enabled true where the layer allows it, or remove it with `pulumi config rm --path 'backup.prefix'`",
    ]);
    expect(problemsOf({ ...valid, deployContainers: false })).toEqual([
      "orchestra:backup sets region, bucket but backups are off here (orchestra:deployContainers is false: no store runs), so they do nothing: set backup.enabled true where the layer allows it, or remove them with `pulumi config rm --path 'backup.region'` and `pulumi config rm --path 'backup.bucket'`",
    ]);
    expect(problemsOf({ ...valid, deployContainers: false, backup: { enabled: true } })).toEqual([
      "orchestra:backup.enabled = true but orchestra:deployContainers = false: backups run in a container beside the stores; set deployContainers to true or remove backup.enabled with `pulumi config rm --path 'backup.enabled'`",
    ]);
  });

  test("bucket, region, prefix and hour out of bounds name the key, the value and what is allowed", () => {
    const bucket =
      'must be an S3 bucket name: 3 to 63 characters, lowercase letters, digits, "." and "-", starting and ending with a letter or digit, e.g. orchestra-backups-production';
    const prefix =
      'must be key segments of letters, digits, ".", "_" and "-" joined by "/", without a leading or trailing "/", an empty segment, "." or "..", e.g. orchestra or team/orchestra';
    expect(
      problemsOf({
        ...valid,
        backup: { region: "US East", bucket: "Orchestra_Backups", prefix: "/orchestra/", hourUtc: 24 },
      }),
    ).toEqual([
      `orchestra:backup.region = "US East": must be a region name: lowercase letters, digits and "-", at most 63 characters, e.g. us-east-1${fixWith("backup.region")}`,
      `orchestra:backup.bucket = "Orchestra_Backups": ${bucket}${fixWith("backup.bucket")}`,
      `orchestra:backup.prefix = "/orchestra/": ${prefix}${fixWith("backup.prefix")}`,
      `orchestra:backup.hourUtc = 24: must be a whole hour from 0 to 23 (UTC)${fixWith("backup.hourUtc")}`,
    ]);
    for (const name of ["ab", "-orchestra", "orchestra-", "a".repeat(64)])
      expect(problemsOf({ ...valid, backup: { ...valid.backup, bucket: name } })).toEqual([
        `orchestra:backup.bucket = ${JSON.stringify(name)}: ${bucket}${fixWith("backup.bucket")}`,
      ]);
    for (const bad of ["a/../b", "a//b", "./a", "a b"])
      expect(problemsOf({ ...valid, backup: { ...valid.backup, prefix: bad } })).toEqual([
        `orchestra:backup.prefix = ${JSON.stringify(bad)}: ${prefix}${fixWith("backup.prefix")}`,
      ]);
  });

  test("an endpoint must be https to a host only; a password in it is never repeated", () => {
    const endpoint = (url: string) => problemsOf({ ...valid, backup: { ...valid.backup, endpoint: url } });
    expect(endpoint("http://s3.example.test")).toEqual([
      `orchestra:backup.endpoint = "http://s3.example.test": must be an https:// URL of an S3-compatible server such as https://s3.example.test:9443 (pgBackRest speaks S3 only over TLS); leave it unset for AWS S3${fixWith("backup.endpoint")}`,
    ]);
    expect(endpoint("https://s3.example.test/orchestra-backups")).toEqual([
      `orchestra:backup.endpoint = "https://s3.example.test/orchestra-backups": must be the server's address only, https://<host>[:<port>], without a path, query or fragment (orchestra:backup.bucket and prefix say where in it)${fixWith("backup.endpoint")}`,
    ]);
    const leaked = endpoint("https://AKIAEXAMPLE:hunter2@s3.example.test");
    expect(leaked).toEqual([
      `orchestra:backup.endpoint = "https://***@s3.example.test": must not carry a user name or password (URLs are stored and logged in plain text); the credentials are the secrets backupAccessKeyId and backupSecretAccessKey${fixWith("backup.endpoint")}`,
    ]);
    expect(leaked.join("\n")).not.toMatch(/hunter2|AKIAEXAMPLE/);
  });

  test("an unknown key (credentials written in plain config) is refused without repeating its value", () => {
    const problems = problemsOf({ ...valid, backup: { ...valid.backup, secretAccessKey: "wJalrXUtnFEMI" } });
    expect(problems).toEqual([
      "orchestra:backup.secretAccessKey = (not shown: it may be a credential): not a backup setting (a backup has enabled, endpoint, region, bucket, prefix, hourUtc, estimateGiB and usdPerGiBMonth; its credentials are the secrets backupAccessKeyId and backupSecretAccessKey); remove it with `pulumi config rm --path 'backup.secretAccessKey'`",
    ]);
    expect(problems.join("\n")).not.toContain("wJalrXUtnFEMI");
  });

  test("a mistake inside backup does not hide that backups run: their secrets are still required", () => {
    expect(
      problemsOf({ ...INTEGRATION, backup: { enabled: true, bucket: "Bad" } }, [
        "sshPrivateKey",
        "databasePassword",
      ]),
    ).toEqual([
      `orchestra:backup.bucket = "Bad": must be an S3 bucket name: 3 to 63 characters, lowercase letters, digits, "." and "-", starting and ending with a letter or digit, e.g. orchestra-backups-production${fixWith("backup.bucket")}`,
      ...BACKUP_SECRETS.map(
        (key) =>
          `orchestra:${key} is not set; the integration layer needs it: set it with \`pulumi config set --secret ${key} <value>\` (a secret: never commit it in plain text)`,
      ),
    ]);
  });
});

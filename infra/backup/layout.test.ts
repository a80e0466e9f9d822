/** Pure tier: the backup key layout, backupIds and the `orchestra:backup` settings. */
import {
  backupFolder,
  backupIdFor,
  manifestKeyIn,
  objectKeyIn,
  parseBackupId,
  parseBackupKey,
  parseBackupSettings,
  storeFolder,
} from "./layout";

describe("backupId", () => {
  test("is the UTC start to the second plus the kind, and parses back", () => {
    const start = new Date("2026-11-30T10:15:07.999Z");
    expect(backupIdFor("postgres", start, "full")).toBe("20261130T101507Z-full");
    expect(backupIdFor("postgres", start, "dump")).toBe("20261130T101507Z-dump");
    expect(backupIdFor("redis", start, "rdb")).toBe("20261130T101507Z-rdb");
    expect(backupIdFor("weaviate", start, "snapshot")).toBe("20261130T101507Z-snapshot");
    expect(parseBackupId("20261130T101507Z-incr", "postgres")).toEqual({
      startedAt: new Date("2026-11-30T10:15:07Z"),
      kind: "incr",
    });
    expect(parseBackupId("20240229T235959Z-rdb")).toEqual({
      startedAt: new Date("2024-02-29T23:59:59Z"),
      kind: "rdb",
    });
  });

  test("ids sort by time as text", () => {
    const ids = ["2026-12-01T00:00:00Z", "2026-11-30T23:59:59Z", "2027-01-01T00:00:00Z"].map((time) =>
      backupIdFor("redis", new Date(time), "rdb"),
    );
    expect([...ids].sort()).toEqual([ids[1], ids[0], ids[2]]);
  });

  test("backupIdFor refuses another store's kind and a time outside 1970-9999", () => {
    expect(() => backupIdFor("redis", new Date(0), "full")).toThrow(
      new Error('a redis backup is rdb, not "full"'),
    );
    expect(() => backupIdFor("postgres", new Date(0), "snapshot")).toThrow(
      new Error('a postgres backup is full, diff, incr, dump, not "snapshot"'),
    );
    expect(() => backupIdFor("redis", new Date("1969-12-31T23:59:59Z"), "rdb")).toThrow(
      /^backup start .*: a backupId needs a time from year 1970 to 9999$/,
    );
    expect(() => backupIdFor("redis", new Date(NaN), "rdb")).toThrow(
      new Error("backup start Invalid Date: a backupId needs a time from year 1970 to 9999"),
    );
  });

  const FORM = "YYYYMMDDTHHMMSSZ-<kind> (UTC start time, e.g. 20261130T101500Z-full)";
  test.each([
    ["20261130T101500Z", undefined, `backupId "20261130T101500Z" is not ${FORM}`],
    ["20261130T101500-full", undefined, `backupId "20261130T101500-full" is not ${FORM}`],
    ["2026-11-30T10:15:00Z-full", undefined, `backupId "2026-11-30T10:15:00Z-full" is not ${FORM}`],
    ["20261130T101500Z-Full", undefined, `backupId "20261130T101500Z-Full" is not ${FORM}`],
    [
      "20260230T101500Z-full",
      undefined,
      `backupId "20260230T101500Z-full" names no UTC time from 1970 on: ${FORM}`,
    ],
    [
      "20261301T000000Z-full",
      undefined,
      `backupId "20261301T000000Z-full" names no UTC time from 1970 on: ${FORM}`,
    ],
    [
      "20261130T240000Z-full",
      undefined,
      `backupId "20261130T240000Z-full" names no UTC time from 1970 on: ${FORM}`,
    ],
    [
      "19691231T235959Z-full",
      undefined,
      `backupId "19691231T235959Z-full" names no UTC time from 1970 on: ${FORM}`,
    ],
    [
      "20261130T101500Z-weekly",
      undefined,
      'backupId "20261130T101500Z-weekly": kind "weekly" is not a backup kind (full, diff, incr, dump, rdb, snapshot)',
    ],
    [
      "20261130T101500Z-rdb",
      "postgres",
      'backupId "20261130T101500Z-rdb": kind "rdb" is not a postgres backup kind (full, diff, incr, dump)',
    ],
  ] as const)("parseBackupId(%j, %s) is refused", (id, store, message) => {
    expect(() => parseBackupId(id, store)).toThrow(new Error(message));
  });
});

describe("keys", () => {
  test("folders, objects and the manifest", () => {
    expect(storeFolder("orchestra", "staging", "redis")).toBe("orchestra/staging/redis/");
    const folder = backupFolder("backups/orchestra", "pr-12", "postgres", "20261130T101500Z-full");
    expect(folder).toBe("backups/orchestra/pr-12/postgres/20261130T101500Z-full/");
    expect(objectKeyIn(folder, "pg_data/base/1/1259.gz")).toBe(
      "backups/orchestra/pr-12/postgres/20261130T101500Z-full/pg_data/base/1/1259.gz",
    );
    expect(manifestKeyIn(folder)).toBe(
      "backups/orchestra/pr-12/postgres/20261130T101500Z-full/manifest.json",
    );
  });

  test.each([
    [
      'storeFolder("/orchestra", "staging", "redis")',
      () => storeFolder("/orchestra", "staging", "redis"),
      '"/orchestra" must be one or more folder names',
    ],
    [
      'storeFolder("orchestra/", "staging", "redis")',
      () => storeFolder("orchestra/", "staging", "redis"),
      '"orchestra/" must be one or more folder names',
    ],
    [
      'storeFolder("a//b", "staging", "redis")',
      () => storeFolder("a//b", "staging", "redis"),
      '"a//b" must be one or more folder names',
    ],
    [
      'storeFolder("a/../b", "staging", "redis")',
      () => storeFolder("a/../b", "staging", "redis"),
      '"a/../b" must be one or more folder names',
    ],
    [
      'storeFolder("orchestra", "stag/ing", "redis")',
      () => storeFolder("orchestra", "stag/ing", "redis"),
      '"stag/ing" is not a stack name',
    ],
    [
      'storeFolder("orchestra", "..", "redis")',
      () => storeFolder("orchestra", "..", "redis"),
      '".." is not a stack name',
    ],
    [
      'backupFolder("orchestra", "staging", "redis", "latest")',
      () => backupFolder("orchestra", "staging", "redis", "latest"),
      'backupId "latest" is not',
    ],
    [
      'objectKeyIn("f/", "manifest.json")',
      () => objectKeyIn("f/", "manifest.json"),
      '"manifest.json" is the manifest\'s own name',
    ],
    ['objectKeyIn("f/", "/abs")', () => objectKeyIn("f/", "/abs"), '"/abs" must be a relative path'],
    ['objectKeyIn("f/", "a/./b")', () => objectKeyIn("f/", "a/./b"), '"a/./b" must be a relative path'],
    ['objectKeyIn("f/", "")', () => objectKeyIn("f/", ""), '"" must be a relative path'],
  ])("%s is refused", (_call, build, start) => {
    expect(build).toThrow(start);
  });

  test("the whole messages of a bad prefix, stack and object key", () => {
    expect(() => storeFolder("a//b", "s", "redis")).toThrow(
      new Error(
        '"a//b" must be one or more folder names separated by "/", with no leading, trailing or doubled "/" and no "." or ".." (e.g. "orchestra" or "backups/orchestra")',
      ),
    );
    expect(() => storeFolder("orchestra", "a b", "redis")).toThrow(
      new Error('"a b" is not a stack name (letters, digits, "-", "_" and "." only)'),
    );
    expect(() => objectKeyIn("f/", "a//b")).toThrow(
      new Error('"a//b" must be a relative path: segments separated by single "/", none empty, "." or ".."'),
    );
  });

  test("parseBackupKey takes a key apart", () => {
    expect(
      parseBackupKey("orchestra", "orchestra/staging/postgres/20261130T101500Z-diff/pg_data/x.gz"),
    ).toEqual({
      stack: "staging",
      store: "postgres",
      backupId: "20261130T101500Z-diff",
      object: "pg_data/x.gz",
    });
    expect(parseBackupKey("b/o", "b/o/prod/redis/20261130T101500Z-rdb/manifest.json")).toEqual({
      stack: "prod",
      store: "redis",
      backupId: "20261130T101500Z-rdb",
      object: "manifest.json",
    });
  });

  test.each([
    [
      "other/staging/redis/20261130T101500Z-rdb/x",
      'key "other/staging/redis/20261130T101500Z-rdb/x" is not under "orchestra/"',
    ],
    [
      "orchestra/staging/redis/20261130T101500Z-rdb",
      'key "orchestra/staging/redis/20261130T101500Z-rdb" is not <prefix>/<stack>/<store>/<backupId>/<object>',
    ],
    [
      "orchestra/staging/mysql/20261130T101500Z-rdb/x",
      'key "orchestra/staging/mysql/20261130T101500Z-rdb/x": "mysql" is not a store (postgres, redis, weaviate)',
    ],
    [
      "orchestra/staging/postgres/pgbackrest/archive/x",
      'key "orchestra/staging/postgres/pgbackrest/archive/x" is in pgBackRest\'s repository, not a backup folder',
    ],
    [
      "orchestra/staging/redis/20261130T101500Z-full/x",
      'backupId "20261130T101500Z-full": kind "full" is not a redis backup kind (rdb)',
    ],
    [
      "orchestra/staging/redis/20261130T101500Z-rdb/a//b",
      '"a//b" must be a relative path: segments separated by single "/", none empty, "." or ".."',
    ],
    [
      "orchestra/staging/redis/20261130T101500Z-rdb/",
      '"" must be a relative path: segments separated by single "/", none empty, "." or ".."',
    ],
  ])("parseBackupKey refuses %j", (key, message) => {
    expect(() => parseBackupKey("orchestra", key)).toThrow(new Error(message));
  });
});

describe("parseBackupSettings", () => {
  test("an object or its JSON text; prefix defaults to orchestra; a trailing / of the endpoint goes", () => {
    expect(parseBackupSettings({ region: "us-east-1", bucket: "orchestra-backups" })).toEqual({
      region: "us-east-1",
      bucket: "orchestra-backups",
      prefix: "orchestra",
    });
    expect(
      parseBackupSettings(
        '{"endpoint":"https://s3.example.net/","region":"auto","bucket":"b.k-1","prefix":"team/orchestra"}',
      ),
    ).toEqual({
      endpoint: "https://s3.example.net",
      region: "auto",
      bucket: "b.k-1",
      prefix: "team/orchestra",
    });
    // `pulumi config set --path` stores a bucket typed as 123 as a number.
    expect(parseBackupSettings({ region: "r", bucket: 123 })).toEqual({
      region: "r",
      bucket: "123",
      prefix: "orchestra",
    });
  });

  test("every problem, one a line, naming its key", () => {
    expect(() =>
      parseBackupSettings({ endpoint: "http://s3.local", bucket: "Bad_Bucket", prefix: "/x", retention: 3 }),
    ).toThrow(
      new Error(
        [
          "orchestra:backup.endpoint must be an https URL with no path and no user, e.g. https://s3.example.net",
          "orchestra:backup.region is missing",
          "orchestra:backup.bucket must be an S3 bucket name: 3-63 lowercase letters, digits, '.' and '-', starting and ending with a letter or digit",
          'orchestra:backup.prefix "/x" must be one or more folder names separated by "/", with no leading, trailing or doubled "/" and no "." or ".." (e.g. "orchestra" or "backups/orchestra")',
          "orchestra:backup.retention is not a backup setting (orchestra:backup has endpoint, region, bucket and prefix)",
        ].join("\n"),
      ),
    );
  });

  const ENDPOINT = "must be an https URL with no path and no user, e.g. https://s3.example.net";
  const BUCKET =
    "must be an S3 bucket name: 3-63 lowercase letters, digits, '.' and '-', starting and ending with a letter or digit";
  test.each([
    [{ region: "", bucket: "abc" }, "orchestra:backup.region must not be empty"],
    [{ region: "r", bucket: "ab" }, `orchestra:backup.bucket ${BUCKET}`],
    [{ region: "r", bucket: "-abc" }, `orchestra:backup.bucket ${BUCKET}`],
    [
      { region: "r", bucket: "abc", endpoint: "https://s3.example.net/path" },
      `orchestra:backup.endpoint ${ENDPOINT}`,
    ],
    [
      { region: "r", bucket: "abc", endpoint: "https://key:secret@s3.example.net" },
      `orchestra:backup.endpoint ${ENDPOINT}`,
    ],
    [{ region: ["r"], bucket: "abc" }, "orchestra:backup.region must be a text"],
    [["r"], "orchestra:backup must be an object { endpoint?, region, bucket, prefix? }"],
    [null, "orchestra:backup must be an object { endpoint?, region, bucket, prefix? }"],
    [
      "bucket=abc",
      'orchestra:backup must be an object { endpoint?, region, bucket, prefix? }, not the text "bucket=abc"',
    ],
  ])("%j is refused", (value, message) => {
    expect(() => parseBackupSettings(value)).toThrow(new Error(message));
  });
});

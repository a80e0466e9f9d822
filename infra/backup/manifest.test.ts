/** Pure tier: the manifest's schema, manifestFor, and the judgement of a listed folder. */
import {
  judgeFolder,
  manifestFor,
  manifestText,
  parseManifest,
  validateManifest,
  ManifestError,
  type ListedFolder,
  type Manifest,
} from "./manifest";

const SHA_A = "a".repeat(64);
const SHA_B = "0123456789abcdef".repeat(4);

/** A valid manifest as JSON data; tests change one field at a time. */
function valid(): Record<string, unknown> {
  return {
    version: 1,
    store: "redis",
    stack: "staging",
    backupId: "20261130T101500Z-rdb",
    engine: { name: "redis", version: "7.2.4" },
    startedAt: "2026-11-30T10:15:00.250Z",
    finishedAt: "2026-11-30T10:15:09Z",
    encryption: "age",
    objects: [
      { key: "dump.rdb.age", size: 1048576, sha256: SHA_A },
      { key: "redis.conf.age", size: 0, sha256: SHA_B },
    ],
  };
}

function withField(path: (string | number)[], value: unknown): Record<string, unknown> {
  const data = structuredClone(valid());
  let node = data as Record<string | number, unknown>;
  for (const part of path.slice(0, -1)) node = node[part] as Record<string | number, unknown>;
  const last = path[path.length - 1];
  if (value === undefined) delete node[last];
  else node[last] = value;
  return data;
}

describe("the manifest schema", () => {
  test("a valid manifest parses to itself", () => {
    expect(parseManifest(JSON.stringify(valid()))).toEqual(valid());
  });

  test.each([
    [["version"], 2, "version must be 1 (the only version), not 2"],
    [["version"], undefined, "version is missing"],
    [["store"], "mysql", 'store must be postgres, redis, weaviate, not "mysql"'],
    [["stack"], "a/b", 'stack "a/b" is not a stack name (letters, digits, "-", "_" and "." only)'],
    [["backupId"], 20261130, "backupId must be a backupId such as 20261130T101500Z-full, not 20261130"],
    [
      ["backupId"],
      "20261130T101500Z-full",
      'backupId "20261130T101500Z-full": kind "full" is not a redis backup kind (rdb)',
    ],
    [
      ["backupId"],
      "20261130T101501Z-rdb",
      'backupId "20261130T101501Z-rdb" must start with startedAt\'s UTC time (2026-11-30T10:15:00.250Z)',
    ],
    [["engine"], "redis", 'engine must be an object { name, version }, not "redis"'],
    [["engine", "name"], "postgres", 'engine.name must be the manifest\'s store "redis", not "postgres"'],
    [["engine", "version"], "", 'engine.version must be the engine\'s version, e.g. 15.4, not ""'],
    [["engine", "build"], "x", "engine.build is not a field of engine (it has name, version)"],
    [
      ["startedAt"],
      "2026-11-30T11:15:00+01:00",
      'startedAt must be an ISO-8601 UTC time such as 2026-11-30T10:15:00.000Z, not "2026-11-30T11:15:00+01:00"',
    ],
    [
      ["finishedAt"],
      "2026-11-30T10:14:59Z",
      "finishedAt 2026-11-30T10:14:59Z is before startedAt 2026-11-30T10:15:00.250Z",
    ],
    [["encryption"], "none", 'encryption must be pgbackrest-aes-256-cbc, age, not "none"'],
    [["objects"], [], "objects must list at least one object"],
    [["objects"], {}, "objects must be a list of objects, not {}"],
    [["objects", 1, "sha256"], "ABC", 'objects[1].sha256 must be 64 lowercase hex digits, not "ABC"'],
    // A long value is cut to 57 characters and "...".
    [
      ["objects", 1, "sha256"],
      SHA_A.toUpperCase(),
      `objects[1].sha256 must be 64 lowercase hex digits, not "${"A".repeat(57)}..."`,
    ],
    [["objects", 0, "size"], -1, "objects[0].size must be a whole number of bytes from 0, not -1"],
    [["objects", 0, "size"], 1.5, "objects[0].size must be a whole number of bytes from 0, not 1.5"],
    [["objects", 0, "size"], "10", 'objects[0].size must be a whole number of bytes from 0, not "10"'],
    [
      ["objects", 0, "key"],
      "../x",
      'objects[0].key "../x" must be a relative path: segments separated by single "/", none empty, "." or ".."',
    ],
    [["objects", 0, "key"], "manifest.json", 'objects[0].key "manifest.json" is the manifest\'s own name'],
    [["objects", 0, "sha256"], undefined, "objects[0].sha256 is missing"],
    [["objects", 0, "mtime"], 1, "objects[0].mtime is not a field of an object (it has key, size, sha256)"],
    [
      ["retention"],
      7,
      "retention is not a field of a manifest (it has version, store, stack, backupId, engine, startedAt, finishedAt, encryption, objects)",
    ],
    [
      ["objects", 1, "key"],
      "dump.rdb.age",
      'objects[1].key repeats "dump.rdb.age" (objects[0].key): each object is listed once',
    ],
    [
      ["objects", 1, "key"],
      "A.conf",
      'objects[1].key "A.conf" sorts before objects[0].key "dump.rdb.age": objects are listed sorted by key',
    ],
  ] as [(string | number)[], unknown, string][])("%j = %j is refused: %s", (path, value, message) => {
    expect(() => validateManifest(withField(path, value))).toThrow(new ManifestError(message));
  });

  test("every problem is listed, '; '-separated; a non-object and non-JSON are refused", () => {
    const data = withField(["objects", 0, "size"], -2);
    data.version = "1";
    expect(() => validateManifest(data)).toThrow(
      new ManifestError(
        'version must be 1 (the only version), not "1"; objects[0].size must be a whole number of bytes from 0, not -2',
      ),
    );
    expect(() => validateManifest(null)).toThrow(
      new ManifestError(
        "must be an object { version, store, stack, backupId, engine, startedAt, finishedAt, encryption, objects }, not null",
      ),
    );
    expect(() => parseManifest("{")).toThrow(ManifestError);
    expect(() => parseManifest("{")).toThrow(/^not JSON \(/);
  });
});

describe("manifestFor and manifestText", () => {
  const input = {
    store: "postgres" as const,
    stack: "production",
    backupId: "20261130T101500Z-full",
    engineVersion: "15.4",
    startedAt: new Date("2026-11-30T10:15:00.500Z"),
    finishedAt: new Date("2026-11-30T10:20:00Z"),
    encryption: "pgbackrest-aes-256-cbc" as const,
    objects: [
      { key: "pg_data/b", size: 2, sha256: SHA_B },
      { key: "pg_data/a", size: 1, sha256: SHA_A },
      { key: "backup.manifest", size: 3, sha256: SHA_A },
    ],
  };

  test("builds the manifest with objects sorted by key and the fields in the schema's order", () => {
    const manifest: Manifest = manifestFor(input);
    expect(manifest.objects.map((object) => object.key)).toEqual([
      "backup.manifest",
      "pg_data/a",
      "pg_data/b",
    ]);
    expect(Object.keys(JSON.parse(manifestText(manifest)) as object)).toEqual([
      "version",
      "store",
      "stack",
      "backupId",
      "engine",
      "startedAt",
      "finishedAt",
      "encryption",
      "objects",
    ]);
    expect(manifestText(manifest)).toBe(
      `${JSON.stringify(
        {
          version: 1,
          store: "postgres",
          stack: "production",
          backupId: "20261130T101500Z-full",
          engine: { name: "postgres", version: "15.4" },
          startedAt: "2026-11-30T10:15:00.500Z",
          finishedAt: "2026-11-30T10:20:00.000Z",
          encryption: "pgbackrest-aes-256-cbc",
          objects: [
            { key: "backup.manifest", size: 3, sha256: SHA_A },
            { key: "pg_data/a", size: 1, sha256: SHA_A },
            { key: "pg_data/b", size: 2, sha256: SHA_B },
          ],
        },
        null,
        2,
      )}\n`,
    );
    expect(parseManifest(manifestText(manifest))).toEqual(manifest);
  });

  test("sorts by UTF-8 bytes, S3's listing order (not UTF-16 units)", () => {
    // U+FF5E is 0xEF... in UTF-8, an astral character 0xF0...: UTF-16 would order them the other way.
    const keys = manifestFor({
      ...input,
      objects: [
        { key: "\u{1F600}", size: 1, sha256: SHA_A },
        { key: "\uFF5E", size: 1, sha256: SHA_A },
      ],
    }).objects.map((object) => object.key);
    expect(keys).toEqual(["\uFF5E", "\u{1F600}"]);
  });

  test("refuses what the schema refuses", () => {
    expect(() => manifestFor({ ...input, objects: [...input.objects, input.objects[0]] })).toThrow(
      new ManifestError('objects[3].key repeats "pg_data/b" (objects[2].key): each object is listed once'),
    );
    expect(() => manifestFor({ ...input, objects: [] })).toThrow(
      new ManifestError("objects must list at least one object"),
    );
  });
});

describe("judgeFolder", () => {
  const at = new Date("2026-11-30T10:16:00Z");
  const folder = (objects: [string, number][]): ListedFolder => ({
    stack: "staging",
    store: "redis",
    backupId: "20261130T101500Z-rdb",
    objects: objects.map(([key, size]) => ({ key, size, lastModified: at })),
  });
  const text = JSON.stringify(valid());
  const all: [string, number][] = [
    ["dump.rdb.age", 1048576],
    ["manifest.json", 512],
    ["redis.conf.age", 0],
  ];

  test("complete: a valid manifest for this folder and every object with its size; extras are ignored", () => {
    expect(judgeFolder(folder(all), { text })).toEqual({ state: "complete", manifest: valid() });
    expect(judgeFolder(folder([...all, ["leftover.tmp", 9]]), { text }).state).toBe("complete");
  });

  test.each([
    [
      "no manifest",
      folder([["dump.rdb.age", 1048576]]),
      undefined,
      "no manifest.json (a backup stopped before its end, or one still running)",
    ],
    ["a manifest listed but not read", folder(all), undefined, "unreadable manifest.json: not read"],
    [
      "a manifest that could not be read",
      folder(all),
      { error: "reading s3://b/k failed: AccessDenied: Access Denied" },
      "unreadable manifest.json: reading s3://b/k failed: AccessDenied: Access Denied",
    ],
    [
      "a manifest that is not JSON",
      folder(all),
      { text: "" },
      "unreadable manifest.json: not JSON (Unexpected end of JSON input)",
    ],
    [
      "a manifest that does not validate",
      folder(all),
      { text: JSON.stringify(withField(["objects", 0, "size"], -1)) },
      "unreadable manifest.json: objects[0].size must be a whole number of bytes from 0, not -1",
    ],
    [
      "another folder's manifest",
      { ...folder(all), stack: "production" },
      { text },
      "manifest.json is for staging/redis/20261130T101500Z-rdb, not this folder",
    ],
    [
      "a missing object",
      folder(all.filter(([key]) => key !== "redis.conf.age")),
      { text },
      "object redis.conf.age is missing",
    ],
    [
      "an object of another size",
      folder(all.map(([key, size]): [string, number] => [key, key === "dump.rdb.age" ? size - 1 : size])),
      { text },
      "object dump.rdb.age is 1048575 bytes, the manifest says 1048576",
    ],
  ] as const)("incomplete: %s", (_what, listed, read, reason) => {
    expect(judgeFolder(listed, read)).toEqual({ state: "incomplete", reason });
  });
});

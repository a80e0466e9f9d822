import { parsePgbackrestSet, repositoryFolder } from "./pgbackrestSet";

const SHA = "a".repeat(64);
const record = (overrides: Record<string, unknown> = {}) =>
  JSON.stringify({
    stanza: "orchestra",
    label: "20261130-101500F",
    type: "full",
    reference: [],
    archiveId: "15-1",
    archiveStart: "000000010000000000000003",
    archiveStop: "000000010000000000000003",
    repository: "orchestra/production/postgres/pgbackrest/",
    objects: [
      {
        key: "archive/orchestra/15-1/0000000100000000/000000010000000000000003-abc.zst",
        size: 10,
        sha256: SHA,
      },
      { key: "backup/orchestra/20261130-101500F/backup.manifest", size: 20, sha256: SHA },
    ],
    ...overrides,
  });

describe("parsePgbackrestSet", () => {
  test("a record of the stack's repository: its objects, keys relative to the repository", () => {
    const set = parsePgbackrestSet(record(), "orchestra", "production");
    expect([set.label, set.type, set.repository, set.objects.map((object) => object.size)]).toEqual([
      "20261130-101500F",
      "full",
      "orchestra/production/postgres/pgbackrest/",
      [10, 20],
    ]);
  });

  test("repositoryFolder is <prefix>/<stack>/postgres/pgbackrest/", () => {
    expect(repositoryFolder("team/orchestra", "staging")).toBe("team/orchestra/staging/postgres/pgbackrest/");
  });

  test.each([
    ["{", /^not JSON \(/],
    [
      record({ repository: "orchestra/staging/postgres/pgbackrest/" }),
      /^repository is "orchestra\/staging\/postgres\/pgbackrest\/", not this stack's "orchestra\/production\/postgres\/pgbackrest\/"$/,
    ],
    [
      record({ objects: [{ key: "../redis/x", size: 1, sha256: SHA }] }),
      /^objects\[0\]\.key "\.\.\/redis\/x" must be a relative path: segments separated by single "\/", none empty, "\." or "\.\."$/,
    ],
    [record({ objects: [{ key: "k", size: 1, sha256: "nope" }] }), /^objects\[0\]\.sha256 /],
    [record({ type: "weekly" }), /^type /],
    [record({ extra: 1 }), /extra/],
  ])("refuses %s", (text, problem) => {
    expect(() => parsePgbackrestSet(text, "orchestra", "production")).toThrow(problem);
  });
});

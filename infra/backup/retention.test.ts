/** Pure tier: what retention deletes. */
import { retentionPlan, type RetentionFolder } from "./retention";

const NOW = new Date("2026-11-30T12:00:00Z");

/** A folder whose last write is its start (the id's time) plus `minutes`. */
function folder(
  backupId: string,
  state: RetentionFolder["state"] = "complete",
  minutes = 5,
): RetentionFolder {
  const start = Date.UTC(
    Number(backupId.slice(0, 4)),
    Number(backupId.slice(4, 6)) - 1,
    Number(backupId.slice(6, 8)),
    Number(backupId.slice(9, 11)),
    Number(backupId.slice(11, 13)),
    Number(backupId.slice(13, 15)),
  );
  return { backupId, state, lastWrittenAt: new Date(start + minutes * 60_000) };
}

describe("complete backups", () => {
  const daily = [
    folder("20261120T020000Z-rdb"),
    folder("20261122T020000Z-rdb"),
    folder("20261123T120000Z-rdb"),
    folder("20261123T120001Z-rdb"),
    folder("20261129T020000Z-rdb"),
  ];

  test("those started more than retentionDays before now go, oldest first; exactly on the cutoff stays", () => {
    expect(
      retentionPlan({
        store: "redis",
        folders: daily,
        retentionDays: 7,
        newestVerified: "20261129T020000Z-rdb",
        now: NOW,
      }),
    ).toEqual([
      { backupId: "20261120T020000Z-rdb", reason: "older than 7 days (started 2026-11-20T02:00:00.000Z)" },
      { backupId: "20261122T020000Z-rdb", reason: "older than 7 days (started 2026-11-22T02:00:00.000Z)" },
    ]);
  });

  test("the newest verified backup is never deleted, however old", () => {
    // The three newest failed verify: the newest verified is old, and stays; they go by age.
    expect(
      retentionPlan({
        store: "redis",
        folders: daily,
        retentionDays: 1,
        newestVerified: "20261122T020000Z-rdb",
        now: NOW,
      }),
    ).toEqual([
      { backupId: "20261120T020000Z-rdb", reason: "older than 1 day (started 2026-11-20T02:00:00.000Z)" },
      { backupId: "20261123T120000Z-rdb", reason: "older than 1 day (started 2026-11-23T12:00:00.000Z)" },
      { backupId: "20261123T120001Z-rdb", reason: "older than 1 day (started 2026-11-23T12:00:01.000Z)" },
      { backupId: "20261129T020000Z-rdb", reason: "older than 1 day (started 2026-11-29T02:00:00.000Z)" },
    ]);
  });

  test("with no verified backup, no complete backup is deleted", () => {
    expect(
      retentionPlan({
        store: "redis",
        folders: daily,
        retentionDays: 1,
        newestVerified: undefined,
        now: NOW,
      }),
    ).toEqual([]);
  });

  test("a kept postgres diff or incr keeps every backup back to the full before it", () => {
    const chain = [
      folder("20261101T000000Z-full"),
      folder("20261102T000000Z-diff"),
      folder("20261108T000000Z-full"),
      folder("20261109T000000Z-incr"),
      folder("20261110T000000Z-diff"),
      folder("20261124T000000Z-incr"),
      folder("20261129T000000Z-full"),
    ];
    // Cutoff 2026-11-23T12:00: the kept incr of the 24th needs the diff of the 10th, the incr of
    // the 9th and the full of the 8th; the full of the 1st and its diff go.
    expect(
      retentionPlan({
        store: "postgres",
        folders: chain,
        retentionDays: 7,
        newestVerified: "20261129T000000Z-full",
        now: NOW,
      }),
    ).toEqual([
      { backupId: "20261101T000000Z-full", reason: "older than 7 days (started 2026-11-01T00:00:00.000Z)" },
      { backupId: "20261102T000000Z-diff", reason: "older than 7 days (started 2026-11-02T00:00:00.000Z)" },
    ]);
    // An rdb or snapshot is whole by itself: no chain.
    expect(
      retentionPlan({
        store: "weaviate",
        folders: [folder("20261101T000000Z-snapshot"), folder("20261129T000000Z-snapshot")],
        retentionDays: 7,
        newestVerified: "20261129T000000Z-snapshot",
        now: NOW,
      }),
    ).toEqual([
      {
        backupId: "20261101T000000Z-snapshot",
        reason: "older than 7 days (started 2026-11-01T00:00:00.000Z)",
      },
    ]);
  });
});

describe("incomplete folders", () => {
  test("go once untouched for 24 h; younger ones stay (a backup may be running); retentionDays does not matter", () => {
    const folders = [
      folder("20261101T000000Z-rdb", "incomplete"),
      // Started 30 h ago, last written 23 h 59 min ago: still running.
      folder("20261129T060000Z-rdb", "incomplete", 6 * 60 + 1),
      // Last written exactly 24 h ago: no longer younger than 24 h.
      folder("20261129T115500Z-rdb", "incomplete"),
      folder("20261130T110000Z-rdb", "incomplete"),
      folder("20261130T113000Z-rdb"),
    ];
    expect(
      retentionPlan({
        store: "redis",
        folders,
        retentionDays: 365,
        newestVerified: "20261130T113000Z-rdb",
        now: NOW,
      }),
    ).toEqual([
      {
        backupId: "20261101T000000Z-rdb",
        reason: "incomplete, last written 2026-11-01T00:05:00.000Z (over 24 h ago)",
      },
      {
        backupId: "20261129T115500Z-rdb",
        reason: "incomplete, last written 2026-11-29T12:00:00.000Z (over 24 h ago)",
      },
    ]);
  });

  test("are deleted with or without a verified backup; a start later than the last write counts", () => {
    const folders = [
      folder("20261128T000000Z-rdb", "incomplete"),
      // Objects stamped a day before the id's start (a skewed clock): the start decides.
      folder("20261130T000000Z-rdb", "incomplete", -24 * 60),
    ];
    expect(
      retentionPlan({ store: "redis", folders, retentionDays: 7, newestVerified: undefined, now: NOW }),
    ).toEqual([
      {
        backupId: "20261128T000000Z-rdb",
        reason: "incomplete, last written 2026-11-28T00:05:00.000Z (over 24 h ago)",
      },
    ]);
  });
});

test("refuses a retention that is no whole number of days from 1, and a newest verified that is not complete", () => {
  const folders = [folder("20261130T000000Z-rdb"), folder("20261130T010000Z-rdb", "incomplete")];
  for (const days of [0, 1.5, -1, NaN])
    expect(() =>
      retentionPlan({ store: "redis", folders, retentionDays: days, newestVerified: undefined, now: NOW }),
    ).toThrow(new Error(`retentionDays must be a whole number of days from 1, not ${days}`));
  expect(() =>
    retentionPlan({
      store: "redis",
      folders,
      retentionDays: 7,
      newestVerified: "20261130T010000Z-rdb",
      now: NOW,
    }),
  ).toThrow(new Error("newest verified backup 20261130T010000Z-rdb is not a complete backup of the listing"));
  expect(() =>
    retentionPlan({
      store: "redis",
      folders,
      retentionDays: 7,
      newestVerified: "20261201T000000Z-rdb",
      now: NOW,
    }),
  ).toThrow(new Error("newest verified backup 20261201T000000Z-rdb is not a complete backup of the listing"));
});

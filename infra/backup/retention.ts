/**
 * What retention deletes from one store's backups, as a pure function of the listing, the newest
 * verified backup and `now`. The rules, in the order they protect data:
 * - the newest verified backup is never deleted, whatever its age (it may be all there is);
 * - with no verified backup, no complete backup is deleted (nothing proves the newer ones good);
 * - a Postgres diff or incr that is kept keeps every backup back to the full before it (pgBackRest
 *   restores a diff on its full, an incr on the backups before it);
 * - any other complete backup that started more than `retentionDays` before `now` is deleted;
 * - an incomplete folder (no valid manifest) is deleted once nothing was written to it for 24 h: a
 *   younger one may be a backup still running, an older one is a killed upload's leftovers.
 */
import { parseBackupId, type Store } from "./layout";

const HOUR_MS = 60 * 60 * 1000;

/** How long an incomplete folder is left alone: a backup may still be writing it. */
export const INCOMPLETE_GRACE_HOURS = 24;

/** One backup folder of the store, as the listing judged it. */
export interface RetentionFolder {
  readonly backupId: string;
  /** complete: the manifest parses and every object is there with its size (manifest.ts). */
  readonly state: "complete" | "incomplete";
  /** The newest LastModified among the folder's objects: an upload still writing keeps it recent. */
  readonly lastWrittenAt: Date;
}

export interface RetentionInput {
  readonly store: Store;
  readonly folders: readonly RetentionFolder[];
  /** Complete backups started more than this many days before `now` go; a whole number from 1. */
  readonly retentionDays: number;
  /** The newest complete backup whose SHA-256 re-read passed; undefined when none did. */
  readonly newestVerified: string | undefined;
  readonly now: Date;
}

export interface RetentionDeletion {
  readonly backupId: string;
  /** `older than 7 days (started <ISO>)` or `incomplete, last written <ISO> (over 24 h ago)`. */
  readonly reason: string;
}

/**
 * The folders to delete, sorted by backupId (oldest first). Throws when `retentionDays` is not a
 * whole number from 1, or `newestVerified` names no complete folder of `folders`.
 */
export function retentionPlan(input: RetentionInput): RetentionDeletion[] {
  const { store, folders, retentionDays, newestVerified, now } = input;
  if (!Number.isInteger(retentionDays) || retentionDays < 1)
    throw new Error(`retentionDays must be a whole number of days from 1, not ${retentionDays}`);
  if (
    newestVerified !== undefined &&
    !folders.some((folder) => folder.backupId === newestVerified && folder.state === "complete")
  )
    throw new Error(`newest verified backup ${newestVerified} is not a complete backup of the listing`);

  const deletions: RetentionDeletion[] = [];
  for (const folder of folders) {
    if (folder.state !== "incomplete") continue;
    // The later of its start (from the id) and its last write: a folder whose clock-skewed objects
    // look old but whose id says it just started is still left alone.
    const started = parseBackupId(folder.backupId, store).startedAt.getTime();
    const touched = Math.max(started, folder.lastWrittenAt.getTime());
    if (now.getTime() - touched >= INCOMPLETE_GRACE_HOURS * HOUR_MS)
      deletions.push({
        backupId: folder.backupId,
        reason: `incomplete, last written ${new Date(touched).toISOString()} (over ${INCOMPLETE_GRACE_HOURS} h ago)`,
      });
  }

  if (newestVerified !== undefined) {
    // Oldest first: a backupId's text order is its start time's order.
    const complete = folders
      .filter((folder) => folder.state === "complete")
      .map((folder) => ({ backupId: folder.backupId, ...parseBackupId(folder.backupId, store) }))
      .sort((a, b) => (a.backupId < b.backupId ? -1 : a.backupId > b.backupId ? 1 : 0));
    const cutoff = now.getTime() - retentionDays * 24 * HOUR_MS;
    const kept = new Set(
      complete
        .filter((backup) => backup.backupId === newestVerified || backup.startedAt.getTime() >= cutoff)
        .map((backup) => backup.backupId),
    );
    // A kept diff or incr keeps its chain: every backup back to (and with) the full before it.
    complete.forEach((backup, index) => {
      if (!kept.has(backup.backupId) || (backup.kind !== "diff" && backup.kind !== "incr")) return;
      for (let earlier = index - 1; earlier >= 0; earlier--) {
        kept.add(complete[earlier].backupId);
        if (complete[earlier].kind === "full") break;
      }
    });
    for (const backup of complete)
      if (!kept.has(backup.backupId))
        deletions.push({
          backupId: backup.backupId,
          reason: `older than ${retentionDays} ${retentionDays === 1 ? "day" : "days"} (started ${backup.startedAt.toISOString()})`,
        });
  }
  return deletions.sort((a, b) => (a.backupId < b.backupId ? -1 : 1));
}

/**
 * The backups in an S3-compatible bucket, through @aws-sdk/client-s3: list a store's backups (each
 * judged complete or incomplete), read a manifest, verify a backup by re-reading every object
 * through SHA-256, upload a backup (objects first, manifest last), and delete per retention.
 *
 * Credentials come from the SDK's default chain (AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY as the
 * pipeline passes them, or a profile); nothing here reads, logs or reports them. Errors name the
 * action and the s3:// key, and the server's error name and message, never a request's headers.
 */
import { createHash } from "crypto";
import { createReadStream, statSync } from "fs";
import {
  DeleteObjectCommand,
  DeleteObjectsCommand,
  GetObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
  type _Object,
} from "@aws-sdk/client-s3";
import {
  MANIFEST_NAME,
  PGBACKREST_FOLDER,
  backupFolder,
  manifestKeyIn,
  objectKeyIn,
  parseBackupId,
  storeFolder,
  type BackupSettings,
  type Store,
} from "./layout";
import {
  judgeFolder,
  manifestFor,
  manifestText,
  parseManifest,
  type Encryption,
  type FolderJudgement,
  type ListedObject,
  type Manifest,
  type ManifestObject,
  type ManifestRead,
} from "./manifest";
import { parsePgbackrestSet, PGBACKREST_SET_NAME, type PgbackrestSet } from "./pgbackrestSet";
import { retentionPlan, type RetentionDeletion } from "./retention";

/** A manifest larger than this is not read into memory (a real one is a few hundred bytes per object). */
export const MAX_MANIFEST_BYTES = 16 * 1024 * 1024;

/** PutObject's limit: one request stores at most 5 GiB. */
export const MAX_OBJECT_BYTES = 5 * 1024 * 1024 * 1024;

/** One backup folder of a listing. */
export interface StoredBackup {
  readonly backupId: string;
  /** From the backupId: the backup's start, whole seconds. */
  readonly startedAt: Date;
  /** The newest LastModified of the folder's objects (the manifest included). */
  readonly lastWrittenAt: Date;
  /** Complete: the manifest's objects; incomplete: the data objects listed (manifest excluded). */
  readonly objects: number;
  /** The bytes of those objects. */
  readonly bytes: number;
  readonly judgement: FolderJudgement;
}

/** A store's backups. */
export interface BackupListing {
  readonly store: Store;
  /** `s3://<bucket>/<prefix>/<stack>/<store>/`. */
  readonly location: string;
  /** Oldest first (a backupId's text order is its start's order). */
  readonly backups: readonly StoredBackup[];
  /** Keys and folders under the store's folder that are no backup (pgBackRest's repository aside). */
  readonly ignored: readonly string[];
}

/** The newest complete backup of a listing, the one a restore picks; undefined when none is. */
export function newestComplete(listing: BackupListing): StoredBackup | undefined {
  return listing.backups.filter((backup) => backup.judgement.state === "complete").at(-1);
}

/**
 * A verify's outcome and the line the CLI prints:
 * `verified <store> <backupId>: N objects, B bytes`, or a failure naming what is wrong, e.g.
 * `<store> <backupId>: object <key>: sha256 <got> does not match the manifest's <want>`.
 */
export type VerifyOutcome =
  | { readonly ok: true; readonly objects: number; readonly bytes: number; readonly line: string }
  | { readonly ok: false; readonly line: string };

/** A data object to upload: its key in the backup's folder and the file holding its bytes. */
export interface UploadFile {
  readonly key: string;
  readonly path: string;
}

export interface UploadInput {
  readonly stack: string;
  readonly store: Store;
  readonly backupId: string;
  readonly engineVersion: string;
  readonly startedAt: Date;
  readonly finishedAt: Date;
  readonly encryption: Encryption;
  /** Already encrypted; read twice (hash, then upload), so they must not change meanwhile. */
  readonly files: readonly UploadFile[];
}

export interface RetentionResult {
  /** The newest complete backup that verified; undefined when none did (nothing complete deleted). */
  readonly newestVerified: string | undefined;
  /** Lines of the newer complete backups that failed verify before it, newest first. */
  readonly failedVerify: readonly string[];
  /** What retentionPlan chose, all deleted. */
  readonly deleted: readonly RetentionDeletion[];
}

/** An S3 call that failed: the action, the s3:// location and the server's words. */
export class BackupStoreError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "BackupStoreError";
  }
}

/** The S3 error's name (NoSuchKey, AccessDenied, ...) or undefined for a non-S3 failure. */
function s3ErrorName(error: unknown): string | undefined {
  return typeof (error as { $metadata?: unknown }).$metadata === "object" ? (error as Error).name : undefined;
}

/** Streams `body` through SHA-256, counting bytes: a multi-GB object never sits in memory. */
async function digestStream(body: AsyncIterable<Uint8Array>): Promise<{ size: number; sha256: string }> {
  const hash = createHash("sha256");
  let size = 0;
  for await (const chunk of body) {
    hash.update(chunk);
    size += chunk.length;
  }
  return { size, sha256: hash.digest("hex") };
}

export interface S3BackupStoreOptions {
  /** @default an S3Client for the settings with `credentials` or the SDK's default credential chain */
  readonly client?: S3Client;
  /** The bucket's keys (the stack's backupAccessKeyId and backupSecretAccessKey). @default the SDK's chain */
  readonly credentials?: { readonly accessKeyId: string; readonly secretAccessKey: string };
  /**
   * Fail fast instead of the SDK's 3 attempts without a connection timeout (the preview's bucket
   * check: an unreachable endpoint must not hang a preview). @default false
   */
  readonly failFast?: boolean;
  /** Keys per ListObjectsV2 page (S3's maximum is 1000); tests make it small to page. @default 1000 */
  readonly pageSize?: number;
}

export class S3BackupStore {
  private readonly client: S3Client;
  private readonly pageSize: number;

  /** @param settings where the backups are (layout.ts BackupSettings). */
  constructor(
    readonly settings: BackupSettings,
    options: S3BackupStoreOptions = {},
  ) {
    this.pageSize = options.pageSize ?? 1000;
    this.client =
      options.client ??
      new S3Client({
        region: settings.region,
        // An S3-compatible server serves buckets as paths, not as host names under its own.
        ...(settings.endpoint !== undefined ? { endpoint: settings.endpoint, forcePathStyle: true } : {}),
        // The SDK would check a stored CRC itself and throw its own "Checksum mismatch", naming no
        // object; verify's SHA-256 against the manifest is the check, and says which object failed.
        responseChecksumValidation: "WHEN_REQUIRED",
        ...(options.credentials !== undefined ? { credentials: { ...options.credentials } } : {}),
        ...(options.failFast === true
          ? { maxAttempts: 1, requestHandler: { connectionTimeout: 5000, requestTimeout: 15000 } }
          : {}),
      });
  }

  /**
   * Proves the job can use where `stack`'s backups go: puts, reads back, lists and deletes
   * `<prefix>/<stack>/.write-check` (a few bytes, outside every store's folder, so no listing of a
   * store sees it). Listing is checked too: a restore lists a backup's folder, and keys without it
   * would back up fine and fail only on the day of a restore. The object is deleted whatever fails
   * after it was written. Rejects with BackupStoreError naming the step, the s3:// key and the
   * server's words.
   */
  async checkWritable(stack: string): Promise<void> {
    const key = `${this.settings.prefix}/${stack}/.write-check`;
    const body = `written by the preview's bucket check at ${new Date().toISOString()}\n`;
    const bucket = this.settings.bucket;
    try {
      await this.client.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: body }));
    } catch (error) {
      throw this.failure("writing", key, error);
    }
    let failure: BackupStoreError | undefined;
    try {
      let read: string | undefined;
      try {
        const object = await this.client.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
        read = await object.Body?.transformToString("utf8");
      } catch (error) {
        throw this.failure("reading back", key, error);
      }
      if (read !== body)
        throw new BackupStoreError(`reading back ${this.where(key)} returned other bytes than were written`);
      let listed;
      try {
        listed = await this.client.send(
          new ListObjectsV2Command({ Bucket: bucket, Prefix: key, MaxKeys: 1 }),
        );
      } catch (error) {
        throw this.failure("listing", key, error);
      }
      if ((listed.Contents ?? []).every((object) => object.Key !== key))
        throw new BackupStoreError(`listing ${this.where(key)} did not show the object just written`);
    } catch (error) {
      failure = error as BackupStoreError;
    }
    try {
      await this.client.send(new DeleteObjectCommand({ Bucket: bucket, Key: key }));
    } catch (error) {
      // The first failure is the one to fix; a delete that fails too is said after it.
      const deleting = this.failure("deleting", key, error);
      throw failure === undefined
        ? deleting
        : new BackupStoreError(`${failure.message}; then ${deleting.message}`);
    }
    if (failure !== undefined) throw failure;
  }

  /** Closes the client's connections. */
  destroy(): void {
    this.client.destroy();
  }

  private where(key: string): string {
    return `s3://${this.settings.bucket}/${key}`;
  }

  private failure(action: string, key: string, error: unknown): BackupStoreError {
    // A network failure comes wrapped by the SDK ("AWS SDK error wrapper for Error: connect
    // ECONNREFUSED ...", named "Error"): the socket's own words are the useful part.
    const wrapper = /^AWS SDK error wrapper for (?:\w*Error: )?/;
    const message = (error as Error).message;
    const name = wrapper.test(message) ? undefined : s3ErrorName(error);
    const words = message.replace(wrapper, "");
    return new BackupStoreError(
      `${action} ${this.where(key)} failed: ${name !== undefined ? `${name}: ` : ""}${words}`,
    );
  }

  /** Every page of a listing of `prefix` (with `delimiter`, folders come back as prefixes). */
  private async listAll(
    prefix: string,
    delimiter?: string,
  ): Promise<{ objects: _Object[]; folders: string[] }> {
    const objects: _Object[] = [];
    const folders: string[] = [];
    let token: string | undefined;
    do {
      let page;
      try {
        page = await this.client.send(
          new ListObjectsV2Command({
            Bucket: this.settings.bucket,
            Prefix: prefix,
            Delimiter: delimiter,
            MaxKeys: this.pageSize,
            ContinuationToken: token,
          }),
        );
      } catch (error) {
        throw this.failure("listing", prefix, error);
      }
      objects.push(...(page.Contents ?? []));
      folders.push(...(page.CommonPrefixes ?? []).flatMap((entry) => (entry.Prefix ? [entry.Prefix] : [])));
      token = page.IsTruncated === true ? page.NextContinuationToken : undefined;
    } while (token !== undefined);
    return { objects, folders };
  }

  /**
   * A manifest's text; undefined when there is no such key. Rejects with BackupStoreError when S3
   * fails or the object is over MAX_MANIFEST_BYTES (its body is then dropped unread).
   */
  private async readText(key: string): Promise<string | undefined> {
    let object;
    try {
      object = await this.client.send(new GetObjectCommand({ Bucket: this.settings.bucket, Key: key }));
    } catch (error) {
      if (s3ErrorName(error) === "NoSuchKey") return undefined;
      throw this.failure("reading", key, error);
    }
    if ((object.ContentLength ?? 0) > MAX_MANIFEST_BYTES) {
      (object.Body as { destroy?: () => void } | undefined)?.destroy?.();
      throw new BackupStoreError(
        `${this.where(key)} is ${object.ContentLength} bytes, more than a manifest's ${MAX_MANIFEST_BYTES}`,
      );
    }
    try {
      return (await object.Body?.transformToString("utf8")) ?? "";
    } catch (error) {
      throw this.failure("reading", key, error);
    }
  }

  /**
   * The backups of `stack`'s `store`, each judged (manifest.ts judgeFolder), oldest first. One
   * delimited listing finds the backup folders (so pgBackRest's WAL archive is never walked), then
   * each folder is listed and its manifest read. Rejects with BackupStoreError when S3 fails.
   */
  async list(stack: string, store: Store): Promise<BackupListing> {
    const folder = storeFolder(this.settings.prefix, stack, store);
    const top = await this.listAll(folder, "/");
    const ignored = top.objects.map((object) => object.Key ?? "");
    const backups: StoredBackup[] = [];
    for (const prefix of top.folders.sort()) {
      const name = prefix.slice(folder.length, -1);
      if (store === "postgres" && name === PGBACKREST_FOLDER) continue;
      let startedAt: Date;
      try {
        startedAt = parseBackupId(name, store).startedAt;
      } catch {
        ignored.push(prefix);
        continue;
      }
      backups.push(await this.readFolder(stack, store, name, startedAt));
    }
    return { store, location: this.where(folder), backups, ignored };
  }

  private async readFolder(
    stack: string,
    store: Store,
    backupId: string,
    startedAt: Date,
  ): Promise<StoredBackup> {
    const folder = backupFolder(this.settings.prefix, stack, store, backupId);
    const listed: ListedObject[] = (await this.listAll(folder)).objects.map((object) => ({
      key: (object.Key ?? "").slice(folder.length),
      size: object.Size ?? 0,
      lastModified: object.LastModified ?? new Date(0),
    }));
    let read: ManifestRead | undefined;
    if (listed.some((object) => object.key === MANIFEST_NAME)) {
      try {
        const text = await this.readText(manifestKeyIn(folder));
        // Listed a moment ago, gone now: a delete running meanwhile.
        read = text === undefined ? { error: "deleted while listed" } : { text };
      } catch (error) {
        read = { error: (error as Error).message };
      }
    }
    const judgement = judgeFolder({ stack, store, backupId, objects: listed }, read);
    const data = listed.filter((object) => object.key !== MANIFEST_NAME);
    const counted = judgement.state === "complete" ? judgement.manifest.objects : data;
    return {
      backupId,
      startedAt,
      lastWrittenAt: new Date(Math.max(0, ...listed.map((object) => object.lastModified.getTime()))),
      objects: counted.length,
      bytes: counted.reduce((total, object) => total + object.size, 0),
      judgement,
    };
  }

  /**
   * A backup's manifest, parsed. Rejects with BackupStoreError naming the key when there is none
   * (`s3://.../manifest.json: no such key`), it cannot be read, or it does not parse
   * (ManifestError's problems).
   */
  async readManifest(stack: string, store: Store, backupId: string): Promise<Manifest> {
    const key = manifestKeyIn(backupFolder(this.settings.prefix, stack, store, backupId));
    const text = await this.readText(key);
    if (text === undefined) throw new BackupStoreError(`${this.where(key)}: no such key`);
    try {
      return parseManifest(text);
    } catch (error) {
      throw new BackupStoreError(`${this.where(key)}: ${(error as Error).message}`);
    }
  }

  /**
   * Re-reads every object of the backup, in the manifest's order, streaming each through SHA-256,
   * and compares size and hash with the manifest; stops at the first mismatch. Failure lines:
   * `<store> <backupId>: no manifest.json`, `<store> <backupId>: unreadable manifest.json: <why>`,
   * `<store> <backupId>: manifest.json is for <stack>/<store>/<backupId>, not this folder`,
   * `<store> <backupId>: object <key>: missing`,
   * `<store> <backupId>: object <key>: <got> bytes, the manifest's <size>`,
   * `<store> <backupId>: object <key>: sha256 <got> does not match the manifest's <want>`.
   * A pgBackRest backup (its one object is pgbackrest-set.json) also has every repository object its
   * record lists re-read: `postgres <backupId>: repository object <key>: sha256 <got> does not match
   * pgbackrest-set.json's <want>` (or `missing`, or the sizes), `unreadable pgbackrest-set.json: <why>`;
   * its success line adds `; pgBackRest set <label>: N repository objects, B bytes`.
   * Rejects with BackupStoreError for any other S3 failure (access, network).
   */
  async verify(stack: string, store: Store, backupId: string): Promise<VerifyOutcome> {
    const folder = backupFolder(this.settings.prefix, stack, store, backupId);
    const fail = (problem: string): VerifyOutcome => ({
      ok: false,
      line: `${store} ${backupId}: ${problem}`,
    });
    const text = await this.readText(manifestKeyIn(folder));
    if (text === undefined) return fail(`no ${MANIFEST_NAME}`);
    let manifest: Manifest;
    try {
      manifest = parseManifest(text);
    } catch (error) {
      return fail(`unreadable ${MANIFEST_NAME}: ${(error as Error).message}`);
    }
    const claimed = `${manifest.stack}/${manifest.store}/${manifest.backupId}`;
    if (claimed !== `${stack}/${store}/${backupId}`)
      return fail(`${MANIFEST_NAME} is for ${claimed}, not this folder`);
    let bytes = 0;
    for (const object of manifest.objects) {
      const problem = await this.checkObject(objectKeyIn(folder, object.key), object, "the manifest's");
      if (typeof problem === "string") return fail(`object ${object.key}: ${problem}`);
      bytes += object.size;
    }
    const count = manifest.objects.length;
    let line = `verified ${store} ${backupId}: ${count} objects, ${bytes} bytes`;
    if (manifest.objects.some((object) => object.key === PGBACKREST_SET_NAME)) {
      // The record lists the pgBackRest set's own files and WAL: re-read those too.
      const recordText = await this.readText(objectKeyIn(folder, PGBACKREST_SET_NAME));
      if (recordText === undefined) return fail(`object ${PGBACKREST_SET_NAME}: missing`);
      let set: PgbackrestSet;
      try {
        set = parsePgbackrestSet(recordText, this.settings.prefix, stack);
      } catch (error) {
        return fail(`unreadable ${PGBACKREST_SET_NAME}: ${(error as Error).message}`);
      }
      let setBytes = 0;
      for (const object of set.objects) {
        const key = `${set.repository}${object.key}`;
        const problem = await this.checkObject(key, object, `${PGBACKREST_SET_NAME}'s`);
        if (typeof problem === "string") return fail(`repository object ${object.key}: ${problem}`);
        setBytes += object.size;
      }
      line += `; pgBackRest set ${set.label}: ${set.objects.length} repository objects, ${setBytes} bytes`;
    }
    return { ok: true, objects: count, bytes, line };
  }

  /**
   * Re-reads `key` through SHA-256 and compares it with `want`: undefined when it matches, else the
   * problem (`missing`, `<got> bytes, <whose> <size>`, `sha256 <got> does not match <whose> <want>`).
   * Rejects with BackupStoreError for any other S3 failure.
   */
  private async checkObject(
    key: string,
    want: { readonly size: number; readonly sha256: string },
    whose: string,
  ): Promise<string | undefined> {
    let got: { size: number; sha256: string };
    try {
      const response = await this.client.send(
        new GetObjectCommand({ Bucket: this.settings.bucket, Key: key }),
      );
      got = await digestStream(response.Body as AsyncIterable<Uint8Array>);
    } catch (error) {
      if (s3ErrorName(error) === "NoSuchKey") return "missing";
      throw this.failure("reading", key, error);
    }
    if (got.size !== want.size) return `${got.size} bytes, ${whose} ${want.size}`;
    if (got.sha256 !== want.sha256) return `sha256 ${got.sha256} does not match ${whose} ${want.sha256}`;
    return undefined;
  }

  /** Puts one file, streamed, with its SHA-256 for the server to check against what arrives. */
  private async putFile(key: string, path: string, size: number, sha256: string): Promise<void> {
    // A streamed body cannot be rewound, so the SDK does not retry it: up to 3 tries here, each
    // from a fresh stream, for failures the server did not answer (network) or answered with 5xx.
    for (let attempt = 1; ; attempt++) {
      try {
        await this.client.send(
          new PutObjectCommand({
            Bucket: this.settings.bucket,
            Key: key,
            Body: createReadStream(path),
            ContentLength: size,
            ChecksumSHA256: Buffer.from(sha256, "hex").toString("base64"),
          }),
        );
        return;
      } catch (error) {
        const status = (error as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
        if (attempt >= 3 || (status !== undefined && status < 500))
          throw this.failure("uploading", key, error);
      }
    }
  }

  /**
   * Uploads a backup: every file (hashed first, then streamed with its SHA-256 so the server refuses
   * bytes that changed on the way), then `manifest.json` LAST, so a backup killed mid-upload leaves
   * a folder without a manifest, which never counts. Throws before uploading anything when an id,
   * key or the manifest is invalid or a file is over 5 GiB; rejects with BackupStoreError when S3
   * fails. @returns the manifest written.
   */
  async upload(input: UploadInput): Promise<Manifest> {
    const folder = backupFolder(this.settings.prefix, input.stack, input.store, input.backupId);
    const objects: ManifestObject[] = [];
    for (const file of input.files) {
      objectKeyIn(folder, file.key);
      const size = statSync(file.path).size;
      if (size > MAX_OBJECT_BYTES)
        throw new Error(
          `${file.path} is ${size} bytes: one object holds at most ${MAX_OBJECT_BYTES} (5 GiB); split it`,
        );
      objects.push({ key: file.key, ...(await digestStream(createReadStream(file.path))) });
    }
    const manifest = manifestFor({ ...input, objects });
    for (const file of input.files) {
      const described = objects.find((object) => object.key === file.key) as ManifestObject;
      await this.putFile(objectKeyIn(folder, file.key), file.path, described.size, described.sha256);
    }
    const text = manifestText(manifest);
    const key = manifestKeyIn(folder);
    try {
      await this.client.send(
        new PutObjectCommand({
          Bucket: this.settings.bucket,
          Key: key,
          Body: text,
          ContentType: "application/json",
          ChecksumSHA256: createHash("sha256").update(text).digest("base64"),
        }),
      );
    } catch (error) {
      throw this.failure("uploading", key, error);
    }
    return manifest;
  }

  /**
   * Deletes a backup's folder: `manifest.json` first, so a delete cut short leaves an incomplete
   * folder (never restored; retention removes it later), then the data objects, 1000 a request.
   */
  async deleteBackup(stack: string, store: Store, backupId: string): Promise<void> {
    const folder = backupFolder(this.settings.prefix, stack, store, backupId);
    const keys = (await this.listAll(folder)).objects.map((object) => object.Key ?? "");
    const manifest = manifestKeyIn(folder);
    if (keys.includes(manifest)) {
      try {
        await this.client.send(new DeleteObjectCommand({ Bucket: this.settings.bucket, Key: manifest }));
      } catch (error) {
        throw this.failure("deleting", manifest, error);
      }
    }
    const data = keys.filter((key) => key !== manifest);
    for (let start = 0; start < data.length; start += 1000) {
      const batch = data.slice(start, start + 1000);
      let response;
      try {
        response = await this.client.send(
          new DeleteObjectsCommand({
            Bucket: this.settings.bucket,
            Delete: { Objects: batch.map((Key) => ({ Key })), Quiet: true },
          }),
        );
      } catch (error) {
        throw this.failure("deleting", folder, error);
      }
      const failed = response.Errors?.[0];
      if (failed !== undefined)
        throw new BackupStoreError(
          `deleting ${this.where(failed.Key ?? folder)} failed: ${failed.Code ?? "error"}: ${failed.Message ?? ""}`,
        );
    }
  }

  /**
   * Applies retention to `stack`'s `store`: lists it, verifies complete backups newest first until
   * one passes (the newest verified, which is never deleted), and deletes what retentionPlan
   * chooses for `retentionDays` at `now`. Rejects with BackupStoreError when S3 fails (what was
   * deleted before stays deleted; a rerun continues).
   */
  async applyRetention(
    stack: string,
    store: Store,
    retentionDays: number,
    now: Date,
  ): Promise<RetentionResult> {
    const listing = await this.list(stack, store);
    const failedVerify: string[] = [];
    let newestVerified: string | undefined;
    for (const backup of [...listing.backups].reverse()) {
      if (backup.judgement.state !== "complete") continue;
      const outcome = await this.verify(stack, store, backup.backupId);
      if (outcome.ok) {
        newestVerified = backup.backupId;
        break;
      }
      failedVerify.push(outcome.line);
    }
    const deleted = retentionPlan({
      store,
      folders: listing.backups.map((backup) => ({
        backupId: backup.backupId,
        state: backup.judgement.state,
        lastWrittenAt: backup.lastWrittenAt,
      })),
      retentionDays,
      newestVerified,
      now,
    });
    for (const deletion of deleted) await this.deleteBackup(stack, store, deletion.backupId);
    return { newestVerified, failedVerify, deleted };
  }
}

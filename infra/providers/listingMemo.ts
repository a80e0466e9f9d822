/**
 * One listing per kind (instances, SSH keys, filesystems, firewall rulesets, instance types,
 * images) shared by the whole provider process for a short window, and forgotten by every write
 * of that kind.
 *
 * Why: Lambda allows one request per second, and a `pulumi preview --refresh` reads every resource
 * of the stack. Each `read` listing on its own (or `get`ting its object) made the refresh cost one
 * call per resource; with this memo it costs one list per resource kind, whatever N is, because
 * every read of a kind awaits the same request (in flight included). The same listing serves the
 * adoption look-ups of `create` (objects left by an interrupted run existed before this process
 * started, so any listing of this process sees them).
 *
 * Correctness: a write of a kind (create, update, delete, launch, terminate, restart) calls
 * `invalidateListing(kind)` so that nothing after it in this process sees the old list; a look-up
 * that must be fresh (after an ambiguous answer) invalidates first. The window
 * (`LAMBDA_LIST_CACHE_MS`, default 30 s) only bounds how long a change made outside this process
 * can go unseen; tests set 0. A failed fetch is forgotten at once.
 *
 * The memo is process-wide (see infra/processWide.ts): every serialized provider of the program
 * shares it.
 */
import { forgetProcessWide, processWide } from "../processWide";
import type { LambdaClient } from "../lambda/client";
import type {
  Filesystem,
  FirewallRuleset,
  Image,
  InstanceListing,
  InstanceTypesMap,
  SshKey,
} from "../lambda/schemas";

export type ListingKind =
  | "instances"
  | "sshKeys"
  | "filesystems"
  | "firewallRulesets"
  | "instanceTypes"
  | "images";

/** The process-wide key of every memoized listing (tests clear it between emulators). */
export const LISTING_MEMO_KEY = "__orchestraLambdaListings";
export const DEFAULT_LISTING_MEMO_MS = 30_000;

interface Entry {
  readonly at: number;
  readonly promise: Promise<unknown>;
}

function entries(): Map<string, Entry> {
  return processWide(LISTING_MEMO_KEY, () => new Map<string, Entry>());
}

/** Forgets every memoized listing of this realm (tests start each emulator from none). */
export function forgetListings(): void {
  forgetProcessWide(LISTING_MEMO_KEY);
}

/** The memo window in ms: `LAMBDA_LIST_CACHE_MS` when it is a number >= 0, else 30 s. */
export function listingMemoMs(): number {
  const raw = process.env.LAMBDA_LIST_CACHE_MS;
  const value = raw === undefined || raw === "" ? NaN : Number(raw);
  return Number.isFinite(value) && value >= 0 ? value : DEFAULT_LISTING_MEMO_MS;
}

/**
 * One fetch shared by the whole provider process while it is younger than `ttlMs` (in flight
 * included, so concurrent callers make one request). A failed fetch is forgotten at once.
 */
export function memoized<T>(key: string, ttlMs: number, fetch: () => Promise<T>): Promise<T> {
  const memo = entries();
  const current = memo.get(key);
  if (current !== undefined && Date.now() - current.at < ttlMs) return current.promise as Promise<T>;
  const promise = fetch();
  memo.set(key, { at: Date.now(), promise });
  promise.catch(() => {
    if (memo.get(key)?.promise === promise) memo.delete(key);
  });
  return promise;
}

function memoKey(kind: ListingKind, client: LambdaClient): string {
  return `${kind} ${client.apiUrl}`;
}

/** Forgets the listing of `kind` (every API): call it after any write of that kind. */
export function invalidateListing(...kinds: ListingKind[]): void {
  const memo = entries();
  for (const key of [...memo.keys()]) if (kinds.some((kind) => key.startsWith(`${kind} `))) memo.delete(key);
}

function listing<T>(kind: ListingKind, client: LambdaClient, fetch: () => Promise<T>): Promise<T> {
  return memoized(memoKey(kind, client), listingMemoMs(), fetch);
}

/** `GET /instances`, each instance parsed on its own (see parseInstanceListing). */
export function memoInstances(client: LambdaClient): Promise<InstanceListing> {
  return listing("instances", client, () => client.listInstancesChecked());
}

export function memoSshKeys(client: LambdaClient): Promise<SshKey[]> {
  return listing("sshKeys", client, () => client.listSshKeys());
}

export function memoFilesystems(client: LambdaClient): Promise<Filesystem[]> {
  return listing("filesystems", client, () => client.listFilesystems());
}

export function memoFirewallRulesets(client: LambdaClient): Promise<FirewallRuleset[]> {
  return listing("firewallRulesets", client, () => client.listFirewallRulesets());
}

/**
 * `/instance-types`: the type check and the launch's capacity hint share it. Launches, refusals
 * and terminations invalidate it, since each changes (or disproves) `regions_with_capacity_available`.
 */
export function memoInstanceTypes(client: LambdaClient): Promise<InstanceTypesMap> {
  return listing("instanceTypes", client, () => client.listInstanceTypes());
}

/** `/images` (one entry per image per region): nothing this project does changes it. */
export function memoImages(client: LambdaClient): Promise<Image[]> {
  return listing("images", client, () => client.listImages());
}

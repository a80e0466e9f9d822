/**
 * What a drill compares, live store against its scratch copy (backupDrill.ts), and how it reports
 * it: Redis DBSIZE and DEBUG DIGEST through redis-cli in each container (the password from the
 * container's own environment, as the health check reads it); Postgres, per user table, the row
 * count and the MD5 of its rows in text order (psql over the container's local socket); Weaviate,
 * per class, the object count and the nearVector top-10 ids of a few of its own vectors (Weaviate's
 * REST and GraphQL API through wget in the live backup container, the API key from its secret file).
 */
import { createHash } from "crypto";
import { BACKUP_FILE_PATHS } from "../components/backupsFiles";
import type { Store } from "../infra/backup/layout";
import { failureLine, must, psqlArgs, StepError, type NodeDeps } from "./backupRestore";
import { renderTable } from "./costFormat";

/** The backup a drill restores: the newest complete one, verified. */
export interface DrillBackup {
  readonly backupId: string;
  /** Its manifest's finishedAt: writes to the live store after it make the comparison differ. */
  readonly finishedAt: string;
}

/** One store's row of the comparison: what was measured, live and restored. */
export interface CompareRow {
  readonly check: string;
  readonly live: string;
  readonly restored: string;
}

async function redisValue(deps: NodeDeps, container: string, port: number, command: string) {
  // The password stays in the container's environment: the shell there expands it.
  const result = await deps.docker.run([
    "exec",
    container,
    "sh",
    "-c",
    `REDISCLI_AUTH="$REDIS_PASSWORD" redis-cli --no-auth-warning -p ${port} ${command}`,
  ]);
  if (result.code !== 0) return `failed: ${failureLine(result)}`;
  const value = result.stdout.trim();
  // Only the answer's own shape counts: redis-cli exits 0 on NOAUTH, WRONGPASS, LOADING... too, and
  // two equal error texts must not read as equal stores.
  return REDIS_ANSWER[command]?.test(value) === true ? value : `refused: ${value}`;
}

/** The shape of each comparison's answer: DBSIZE a count, DEBUG DIGEST 40 hex digits. */
const REDIS_ANSWER: Readonly<Record<string, RegExp>> = {
  DBSIZE: /^\d+$/,
  "DEBUG DIGEST": /^[0-9a-f]{40}$/,
};

export async function compareRedis(deps: NodeDeps, port: number, live: string, scratch: string) {
  const rows: CompareRow[] = [];
  for (const command of ["DBSIZE", "DEBUG DIGEST"])
    rows.push({
      check: command,
      live: await redisValue(deps, live, port, command),
      restored: await redisValue(deps, scratch, port, command),
    });
  return rows;
}

/**
 * Per user table (relkind r, outside pg_catalog and information_schema): `schema.table|rows|md5`
 * with the MD5 over its rows' text in text order, one psql run (\gexec runs each table's query).
 */
export const TABLE_CHECKSUMS = `SELECT format(
  'SELECT %L || ''|'' || count(*) || ''|'' || md5(coalesce(string_agg(t::text, E''\\n'' ORDER BY t::text), '''')) FROM %I.%I t',
  n.nspname || '.' || c.relname, n.nspname, c.relname)
FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE c.relkind = 'r' AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg_toast%'
ORDER BY n.nspname, c.relname
\\gexec
`;

async function tableChecksums(deps: NodeDeps, container: string, port: number) {
  const result = await must(
    deps,
    `table checksums in ${container}`,
    psqlArgs(container, port),
    TABLE_CHECKSUMS,
  );
  const tables = new Map<string, string>();
  for (const line of result.stdout.split("\n").filter(Boolean)) {
    // `schema.table|rows|md5`; split from the right, a table's name may hold "|".
    const match = /^(.+)\|(\d+)\|([0-9a-f]{32})$/.exec(line);
    if (match === null) throw new StepError(`table checksums in ${container}: unexpected line "${line}"`);
    tables.set(match[1], `${match[2]} rows, md5 ${match[3]}`);
  }
  return tables;
}

export async function comparePostgres(deps: NodeDeps, port: number, live: string, scratch: string) {
  const liveTables = await tableChecksums(deps, live, port);
  const restoredTables = await tableChecksums(deps, scratch, port);
  const names = [...new Set([...liveTables.keys(), ...restoredTables.keys()])].sort();
  return names.map((table) => ({
    check: table,
    live: liveTables.get(table) ?? "(no table)",
    restored: restoredTables.get(table) ?? "(no table)",
  }));
}

/**
 * One request to Weaviate's API: bash in the live backup container (GNU wget, and the key in its
 * secret file), `$1` the URL; a JSON body on stdin makes it a POST. The key goes into a 0600 wgetrc
 * in a temp directory removed on exit (wget's `--config` must be a regular file: a `<(...)` pipe is
 * refused), so it is on no argv, here or in the container; printf is bash's own. Weaviate's answer
 * on stdout, error answers too; on an HTTP error, wget's last line on stderr and exit 1.
 */
export const WEAVIATE_REQUEST = `set -eu
dir="$(mktemp -d)"
trap 'rm -rf "$dir"' EXIT
key="$(cat ${BACKUP_FILE_PATHS.secretsDir}/weaviateApiKey)"
case "$key" in *[$'\\n\\r']*) echo "the weaviateApiKey secret holds a line break" >&2; exit 1 ;; esac
(umask 077 && printf 'header = Authorization: Bearer %s\\n' "$key" >"$dir/wgetrc")
body="$(cat)"
url="$1"
set --
[ -z "$body" ] || set -- --method=POST --header="Content-Type: application/json" --body-data="$body"
wget -nv -O - --content-on-error --tries=1 --timeout=60 --config="$dir/wgetrc" "$@" "$url" 2>"$dir/log" ||
  { tail -n 1 "$dir/log" >&2; exit 1; }
`;

/** `docker exec` arguments for one WEAVIATE_REQUEST to `url` in `container` (`-i`: a body on stdin). */
export function weaviateRequestArgs(container: string, url: string, post: boolean): string[] {
  return [
    "exec",
    ...(post ? ["-i"] : []),
    container,
    "bash",
    "-c",
    WEAVIATE_REQUEST,
    "weaviate-request",
    url,
  ];
}

type Answer = { readonly value: unknown } | { readonly unread: string };

/** Weaviate's JSON answer, or why it could not be read (`failed: ...`, GraphQL's `refused: ...`). */
async function weaviateAsk(deps: NodeDeps, container: string, url: string, query?: string): Promise<Answer> {
  const body = query === undefined ? undefined : JSON.stringify({ query });
  const result = await deps.docker.run(weaviateRequestArgs(container, url, body !== undefined), body);
  if (result.code !== 0) return { unread: `failed: ${failureLine(result)}` };
  let answer: { data?: unknown; errors?: { message?: string }[] };
  try {
    answer = JSON.parse(result.stdout) as typeof answer;
  } catch {
    return { unread: `failed: not JSON: ${result.stdout.slice(0, 200)}` };
  }
  if (query !== undefined && answer.errors !== undefined)
    return { unread: `refused: ${answer.errors.map((error) => error.message).join("; ")}` };
  return { value: query !== undefined ? answer.data : answer };
}

async function weaviateClasses(deps: NodeDeps, container: string, base: string): Promise<string[]> {
  const answer = await weaviateAsk(deps, container, `${base}/v1/schema`);
  if ("unread" in answer) throw new StepError(`reading the schema at ${base}: ${answer.unread}`);
  const classes = (answer.value as { classes?: { class: string }[] }).classes ?? [];
  return classes.map((entry) => entry.class).sort();
}

async function weaviateCount(deps: NodeDeps, container: string, base: string, name: string) {
  const answer = await weaviateAsk(
    deps,
    container,
    `${base}/v1/graphql`,
    `{ Aggregate { ${name} { meta { count } } } }`,
  );
  if ("unread" in answer) return answer.unread;
  const rows = (answer.value as { Aggregate: Record<string, { meta: { count: number } }[]> }).Aggregate[name];
  return String(rows[0].meta.count);
}

/** `10 ids, first <id>, sha256 <12 hex>`: nearVector's top 10 in order, short enough for a table. */
export function idsSummary(ids: readonly string[]): string {
  const digest = createHash("sha256").update(ids.join("\n")).digest("hex").slice(0, 12);
  return `${ids.length} ids, first ${ids[0] ?? "(none)"}, sha256 ${digest}`;
}

async function weaviateNearest(
  deps: NodeDeps,
  container: string,
  base: string,
  name: string,
  vector: readonly number[],
) {
  const answer = await weaviateAsk(
    deps,
    container,
    `${base}/v1/graphql`,
    `{ Get { ${name}(nearVector: { vector: ${JSON.stringify(vector)} }, limit: 10) { _additional { id } } } }`,
  );
  if ("unread" in answer) return answer.unread;
  const hits = (answer.value as { Get: Record<string, { _additional: { id: string } }[]> }).Get[name];
  return idsSummary(hits.map((hit) => hit._additional.id));
}

/** How many of a class's objects lend their vectors as queries: the first by id. */
export const WEAVIATE_QUERIES_PER_CLASS = 3;

/**
 * Per class (either side's schema, by name): `<class> objects`, the exact count (GraphQL Aggregate's
 * meta count); and for each of the class's first 3 live objects (GET /v1/objects lists in id order)
 * that has a vector, `<class> nearVector <id>`, the top-10 ids of that vector, in order, on each
 * side. Every request runs in `container` (the live backup container, on the stores' network, with
 * the key both Weaviates take). Classes with named vectors or tenants get the count row only or a
 * NOT READ row. Throws StepError when a schema cannot be read.
 */
export async function compareWeaviate(deps: NodeDeps, container: string, live: string, scratch: string) {
  const liveClasses = await weaviateClasses(deps, container, live);
  const restoredClasses = await weaviateClasses(deps, container, scratch);
  const names = [...new Set([...liveClasses, ...restoredClasses])].sort();
  const rows: CompareRow[] = [];
  for (const name of names) {
    const inLive = liveClasses.includes(name);
    const inRestored = restoredClasses.includes(name);
    rows.push({
      check: `${name} objects`,
      live: inLive ? await weaviateCount(deps, container, live, name) : "(no class)",
      restored: inRestored ? await weaviateCount(deps, container, scratch, name) : "(no class)",
    });
    if (!inLive) continue;
    const listed = await weaviateAsk(
      deps,
      container,
      `${live}/v1/objects?class=${name}&limit=${WEAVIATE_QUERIES_PER_CLASS}&include=vector`,
    );
    if ("unread" in listed) {
      rows.push({ check: `${name} query vectors`, live: listed.unread, restored: "" });
      continue;
    }
    const objects = (listed.value as { objects?: { id: string; vector?: number[] }[] }).objects ?? [];
    for (const object of objects) {
      if (object.vector === undefined || object.vector.length === 0) continue;
      rows.push({
        check: `${name} nearVector ${object.id}`,
        live: await weaviateNearest(deps, container, live, name, object.vector),
        restored: inRestored
          ? await weaviateNearest(deps, container, scratch, name, object.vector)
          : "(no class)",
      });
    }
  }
  return rows;
}

/** A value the check could not read (an error answer, a failed command): never counts as equal. */
const UNREAD = /^(refused|failed): /;

/**
 * The comparison as a table and the verdict line: `drill <store> <backupId>: equal`, or what
 * differs (a live store written after the backup's finishedAt differs by those writes) and what
 * could not be read on either side. Pure.
 */
export function drillReport(store: Store, backup: DrillBackup, rows: readonly CompareRow[]): string {
  const unread = (row: CompareRow) => UNREAD.test(row.live) || UNREAD.test(row.restored);
  const table = renderTable(
    ["check", "live", "restored", ""],
    rows.map((row) => [
      row.check,
      row.live,
      row.restored,
      unread(row) ? "NOT READ" : row.live === row.restored ? "equal" : "DIFFERS",
    ]),
  );
  const differing = rows.filter((row) => !unread(row) && row.live !== row.restored).map((row) => row.check);
  const notRead = rows.filter(unread).map((row) => row.check);
  const problems = [
    ...(differing.length > 0
      ? [
          `differs in ${differing.join(", ")} (a live store written after the backup finished, ${backup.finishedAt}, differs by those writes; one without writes since must be equal)`,
        ]
      : []),
    ...(notRead.length > 0 ? [`could not read ${notRead.join(", ")}`] : []),
  ];
  const verdict =
    rows.length === 0
      ? `drill ${store} ${backup.backupId}: nothing to compare`
      : problems.length === 0
        ? `drill ${store} ${backup.backupId}: equal`
        : `drill ${store} ${backup.backupId}: ${problems.join("; ")}`;
  return `${table}\n${verdict}\n`;
}

/**
 * What a drill compares, live store against its scratch copy (backupDrill.ts), and how it reports
 * it: Redis DBSIZE and DEBUG DIGEST through redis-cli in each container (the password from the
 * container's own environment, as the health check reads it); Postgres, per user table, the row
 * count and the MD5 of its rows in text order (psql over the container's local socket).
 */
import type { Store } from "../infra/backup/layout";
import { failureLine, must, psqlArgs, type NodeDeps } from "./backupRestore";
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
  return /^ERR /.test(value) ? `refused: ${value}` : value;
}

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
    const [table, rows, md5] = line.split("|");
    tables.set(table, `${rows} rows, md5 ${md5}`);
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

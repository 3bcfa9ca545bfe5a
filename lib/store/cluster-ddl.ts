/**
 * The ClickHouse cluster variant of the DDL, generated from the single-node files in
 * `schemas/clickhouse/` (one source of truth): every table becomes
 *
 * - `<name>_local` on every node, `ON CLUSTER`, with the replicated engine of its family
 *   (`ReplicatedReplacingMergeTree`, `ReplicatedAggregatingMergeTree`, …) at
 *   `/clickhouse/tables/{shard}/{database}/<name>_local` and replica `{replica}` (the server's macros);
 * - `<name>`, a `Distributed` table over `<name>_local` on the same cluster, sharded by
 *   `cityHash64(<the table's ORDER BY key>)`: the rows a ReplacingMergeTree collapses (a redelivered
 *   report, an incident's revisions, a certificate's observations at one place) always land on one
 *   shard, so `FINAL` and `argMax` over the distributed table stay exact.
 *
 * The services read and write the unsuffixed names, so their SQL is the same on one server and on a
 * cluster. Materialized views are created on every node and read and write the local tables (an
 * insert through the distributed table reaches each shard's view); `ALTER TABLE … ADD COLUMN` is
 * applied to both tables. A statement no rule covers is refused, so a new migration of another
 * shape cannot silently skip the cluster.
 */
import type { Migration } from './migrations.ts';

export const LOCAL_SUFFIX = '_local';

const CREATE_TABLE = /^CREATE TABLE IF NOT EXISTS (\w+) \(([\s\S]*)\)\s*ENGINE = (\w*MergeTree)(?:\(([^)]*)\))?([\s\S]*)$/;
const CREATE_MV = /^CREATE MATERIALIZED VIEW IF NOT EXISTS (\w+) TO (\w+) AS\s+([\s\S]*)$/;
const ALTER_TABLE = /^ALTER TABLE (\w+) (ADD COLUMN IF NOT EXISTS [\s\S]*)$/;

/** The ORDER BY columns of a table's settings text: `ORDER BY (a, b)` or `ORDER BY a`. */
export function orderByKey(rest: string): string {
  const m = /ORDER BY (\([^)]*\)|\w+)/.exec(rest);
  if (!m) throw new Error(`cluster DDL: no ORDER BY in ${JSON.stringify(rest.trim())}`);
  return m[1]!.replace(/^\(|\)$/g, '');
}

function quoted(cluster: string): string {
  if (!/^[A-Za-z_][A-Za-z0-9_-]*$/.test(cluster)) throw new Error(`cluster name ${JSON.stringify(cluster)}: letters, digits, _ and - only`);
  return `'${cluster}'`;
}

/** The cluster statements of one single-node statement. */
export function clusterStatement(sql: string, cluster: string, tables: ReadonlySet<string>): string[] {
  const on = `ON CLUSTER ${quoted(cluster)}`;
  let m = CREATE_TABLE.exec(sql);
  if (m) {
    const [, name, columns, engine, args, rest] = m as unknown as [string, string, string, string, string | undefined, string];
    const local = name + LOCAL_SUFFIX;
    const replicated = `Replicated${engine}('/clickhouse/tables/{shard}/{database}/${local}', '{replica}'${args?.trim() ? `, ${args.trim()}` : ''})`;
    return [
      `CREATE TABLE IF NOT EXISTS ${local} ${on} (${columns}) ENGINE = ${replicated}${rest}`,
      `CREATE TABLE IF NOT EXISTS ${name} ${on} AS ${local}\nENGINE = Distributed(${quoted(cluster)}, currentDatabase(), '${local}', cityHash64(${orderByKey(rest)}))`,
    ];
  }
  m = CREATE_MV.exec(sql);
  if (m) {
    const [, name, target, select] = m as unknown as [string, string, string, string];
    const body = select.replace(/\bFROM (\w+)/g, (whole, t: string) => (tables.has(t) ? `FROM ${t}${LOCAL_SUFFIX}` : whole));
    return [`CREATE MATERIALIZED VIEW IF NOT EXISTS ${name} ${on} TO ${target}${LOCAL_SUFFIX} AS\n${body}`];
  }
  m = ALTER_TABLE.exec(sql);
  if (m) {
    const [, name, change] = m as unknown as [string, string, string];
    return [`ALTER TABLE ${name}${LOCAL_SUFFIX} ${on} ${change}`, `ALTER TABLE ${name} ${on} ${change}`];
  }
  throw new Error(`cluster DDL: no rule for this statement (add one to lib/store/cluster-ddl.ts):\n${sql}`);
}

/** The names of the tables the statements create (materialized views excluded). */
function tablesOf(statements: readonly string[]): Set<string> {
  return new Set(statements.map((s) => CREATE_TABLE.exec(s)?.[1]).filter((n): n is string => n !== undefined));
}

/** Every statement of `statements` for `cluster`, in order. */
export function clusterStatements(statements: readonly string[], cluster: string, known: ReadonlySet<string> = tablesOf(statements)): string[] {
  return statements.flatMap((s) => clusterStatement(s, cluster, known));
}

/** The migrations with their cluster statements (versions and names unchanged). */
export function clusterMigrations(migrations: readonly Migration[], cluster: string): Migration[] {
  const known = tablesOf(migrations.flatMap((m) => m.statements));
  return migrations.map((m) => ({ ...m, statements: clusterStatements(m.statements, cluster, known) }));
}

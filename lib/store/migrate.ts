/**
 * Applies the DDL files of `schemas/clickhouse/` in order, once each. Idempotent: applied
 * versions are recorded in `schema_migrations`, and every statement is `IF NOT EXISTS` too, so a
 * half-applied file can be run again.
 */
import { clusterMigrations, clusterStatements } from './cluster-ddl.ts';
import { loadMigrations, type Migration } from './migrations.ts';
import type { Store } from './store.ts';

/** Which versions were applied (itself created first, in the layout of the other tables). */
export const MIGRATIONS_TABLE = `CREATE TABLE IF NOT EXISTS schema_migrations (version UInt32, name String, applied_at DateTime64(3, 'UTC') DEFAULT now64(3))
     ENGINE = ReplacingMergeTree ORDER BY version`;

/**
 * The statements `migrate` runs for a store, in order, once each: the single-node DDL, or with a
 * cluster its replicated and distributed variant (`lib/store/cluster-ddl.ts`).
 */
export function migrationPlan(migrations = loadMigrations(), cluster?: string): { table: string[]; migrations: Migration[] } {
  if (!cluster) return { table: [MIGRATIONS_TABLE], migrations };
  return { table: clusterStatements([MIGRATIONS_TABLE], cluster), migrations: clusterMigrations(migrations, cluster) };
}

/**
 * Returns the versions applied by this call (empty when the store was already up to date). On a
 * ClickHouse cluster (`cluster`, by default the store's `CLICKHOUSE_CLUSTER`) every statement is
 * its `ON CLUSTER` variant.
 */
export async function migrate(store: Store, migrations = loadMigrations(), cluster = store.cluster): Promise<number[]> {
  const plan = migrationPlan(migrations, cluster);
  for (const sql of plan.table) await store.command(sql);
  const done = new Set(
    (await store.query<{ version: number }>('SELECT version FROM schema_migrations FINAL')).map((r) => Number(r.version)),
  );
  const applied: number[] = [];
  for (const m of plan.migrations) {
    if (done.has(m.version)) continue;
    for (const sql of m.statements) await store.command(sql);
    await store.insert('schema_migrations', [{ version: m.version, name: m.name }]);
    applied.push(m.version);
  }
  return applied;
}

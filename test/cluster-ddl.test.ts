/**
 * The ClickHouse cluster DDL (`outage migrate --cluster NAME`, lib/store/cluster-ddl.ts) on chDB.
 * chDB has no clusters and no ZooKeeper/Keeper, so:
 *
 * - every statement is parsed by the engine's own parser (`formatQuery`), ON CLUSTER included;
 * - its shape is checked: ON CLUSTER on each, a Replicated* engine with the {shard}/{replica}
 *   macros on every `_local` table, a Distributed table under each single-node name sharded by its
 *   ORDER BY key, materialized views between local tables;
 * - it is applied where the engine allows: the local tables, views and ALTERs with ON CLUSTER and
 *   replication taken out, and a Merge table in place of each Distributed one (same name, same
 *   columns). The result has the same columns as the single-node DDL, table by table, and a report
 *   inserted into `reports_local` is counted by the view into `report_counts_1m_local` and read
 *   back through the unsuffixed name with FINAL, as the services read it.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Session } from 'chdb';
import { clusterStatement, LOCAL_SUFFIX, orderByKey } from '../lib/store/cluster-ddl.ts';
import { migrationPlan } from '../lib/store/migrate.ts';
import { loadMigrations } from '../lib/store/migrations.ts';

const CLUSTER = 'outage-cluster';
const single = migrationPlan(loadMigrations());
const cluster = migrationPlan(loadMigrations(), CLUSTER);
const singleStatements = [...single.table, ...single.migrations.flatMap((m) => m.statements)];
const clusterStatements = [...cluster.table, ...cluster.migrations.flatMap((m) => m.statements)];

/** Tables of the single-node DDL with their settings text (what follows the engine). */
const singleTables = new Map(
  singleStatements.flatMap((s) => {
    const m = /^CREATE TABLE IF NOT EXISTS (\w+) \([\s\S]*\)\s*ENGINE = \w+(?:\([^)]*\))?([\s\S]*)$/.exec(s);
    return m ? [[m[1]!, m[2]!] as const] : [];
  }),
);

function literal(s: string): string {
  return `'${s.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;
}

/** The statement as chDB can run it: no ON CLUSTER, no replication, a Merge table for a Distributed one. */
function onOneNode(sql: string): string {
  const dist = /^(CREATE TABLE IF NOT EXISTS (\w+)) ON CLUSTER '[^']+' AS (\w+)\nENGINE = Distributed\([\s\S]*\)$/.exec(sql);
  if (dist) return `${dist[1]} AS ${dist[3]} ENGINE = Merge(currentDatabase(), '^${dist[3]}$')`;
  return sql
    .replace(/ ON CLUSTER '[^']+'/, '')
    .replace(/Replicated(\w*MergeTree)\('[^']*', '[^']*'(?:, )?/, '$1(')
    .replace(/(\w*MergeTree)\(\)/, '$1');
}

describe('ClickHouse cluster DDL', () => {
  let dir: string;
  let session: Session;
  const run = (sql: string): string => session.query(sql, 'CSV');
  const rows = <T,>(sql: string): T[] =>
    session
      .query(sql, 'JSONEachRow')
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l) as T);

  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'cluster-ddl-'));
    session = new Session(dir);
  });
  after(() => {
    session.cleanup();
    rmSync(dir, { recursive: true, force: true });
  });

  it('parses every statement with the engine (formatQuery), ON CLUSTER and Replicated engines included', () => {
    for (const sql of clusterStatements) {
      const formatted = rows<{ f: string }>(`SELECT formatQuery(${literal(sql)}) AS f`)[0]!.f;
      assert.match(formatted, /ON CLUSTER/, sql);
    }
  });

  it('has the shape of a replicated, distributed layout of every single-node table', () => {
    for (const sql of clusterStatements) assert.match(sql, new RegExp(`ON CLUSTER '${CLUSTER}'`), sql);
    assert.ok(singleTables.size >= 12, `only ${singleTables.size} tables`);
    for (const [name, rest] of singleTables) {
      const local = clusterStatements.find((s) => s.startsWith(`CREATE TABLE IF NOT EXISTS ${name}${LOCAL_SUFFIX} `));
      assert.ok(local, `no ${name}${LOCAL_SUFFIX}`);
      assert.match(local, new RegExp(`ENGINE = Replicated\\w*MergeTree\\('/clickhouse/tables/\\{shard\\}/\\{database\\}/${name}${LOCAL_SUFFIX}', '\\{replica\\}'`));
      const dist = clusterStatements.find((s) => s.startsWith(`CREATE TABLE IF NOT EXISTS ${name} `));
      assert.ok(dist, `no distributed ${name}`);
      assert.equal(
        dist.split('\n')[1],
        `ENGINE = Distributed('${CLUSTER}', currentDatabase(), '${name}${LOCAL_SUFFIX}', cityHash64(${orderByKey(rest)}))`,
        `${name}: sharded by its ORDER BY key, so the rows FINAL collapses share a shard`,
      );
      assert.ok(clusterStatements.indexOf(local) < clusterStatements.indexOf(dist), `${name}: local table first`);
    }
    // The engines keep their version columns.
    assert.match(clusterStatements.find((s) => s.startsWith('CREATE TABLE IF NOT EXISTS incidents_local'))!, /ReplicatedReplacingMergeTree\('[^']+', '\{replica\}', revision\)/);
    assert.match(clusterStatements.find((s) => s.startsWith('CREATE TABLE IF NOT EXISTS report_counts_1m_local'))!, /ReplicatedAggregatingMergeTree\(/);
    const views = clusterStatements.filter((s) => s.startsWith('CREATE MATERIALIZED VIEW'));
    assert.equal(views.length, singleStatements.filter((s) => s.startsWith('CREATE MATERIALIZED VIEW')).length);
    for (const v of views) {
      assert.match(v, /TO \w+_local AS/);
      assert.match(v, /FROM \w+_local\b/);
    }
    const alters = singleStatements.filter((s) => s.startsWith('ALTER TABLE'));
    assert.equal(clusterStatements.filter((s) => s.startsWith('ALTER TABLE')).length, alters.length * 2, 'each ALTER on the local and the distributed table');
  });

  it('refuses a statement it has no rule for', () => {
    assert.throws(() => clusterStatement('CREATE TABLE IF NOT EXISTS x (a String) ENGINE = Memory', CLUSTER, new Set()), /no rule/);
    assert.throws(() => clusterStatement('DROP TABLE reports', CLUSTER, new Set()), /no rule/);
  });

  it('applies on chDB without replication, with the same columns as the single-node tables', () => {
    run('CREATE DATABASE IF NOT EXISTS single');
    run('USE single');
    for (const sql of singleStatements) run(sql);
    run('CREATE DATABASE IF NOT EXISTS clustered');
    run('USE clustered');
    for (const sql of clusterStatements) run(onOneNode(sql));
    const columns = (db: string, table: string) =>
      rows<{ name: string; type: string; default_expression: string }>(
        `SELECT name, type, default_expression FROM system.columns WHERE database = '${db}' AND table = '${table}' ORDER BY position`,
      );
    for (const name of singleTables.keys()) {
      const expected = columns('single', name);
      assert.ok(expected.length > 0, name);
      assert.deepEqual(columns('clustered', `${name}${LOCAL_SUFFIX}`), expected, `${name}${LOCAL_SUFFIX}`);
      assert.deepEqual(columns('clustered', name), expected, name);
    }
    run(`INSERT INTO reports_local (id, ts, service) VALUES ('r1', '2020-02-03 13:40:00', 'teams'), ('r1', '2020-02-03 13:40:00', 'teams'), ('r2', '2020-02-03 13:40:30', 'teams')`);
    assert.deepEqual(rows('SELECT count() AS n FROM reports FINAL'), [{ n: 2 }]);
    assert.deepEqual(rows("SELECT service, uniqExactMerge(reports) AS n FROM report_counts_1m GROUP BY service"), [{ service: 'teams', n: 2 }]);
  });
});

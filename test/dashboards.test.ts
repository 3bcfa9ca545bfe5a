/**
 * Grafana cannot run here, so the dashboards are checked by shape and by executing every panel's
 * and annotation's SQL on chDB against the replayed Teams example, with the plugin's macros
 * expanded as the plugin expands them.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { BUILD_DIR, dashboardFiles } from '../dashboards/build.ts';
import { overviewDashboard } from '../dashboards/overview.ts';
import { replay } from '../cli/replay.ts';
import { createLogger } from '../lib/log.ts';
import { openStore, type Store } from '../lib/store/store.ts';

const tmp = mkdtempSync(join(tmpdir(), 'outage-dash-'));
const FROM = '2020-02-03 00:00:00';
const TO = '2020-02-04 00:00:00';

/** The ClickHouse plugin's macros for a fixed time range. */
function expand(sql: string): string {
  return sql
    .replace(/\$__timeFilter\(([^)]+)\)/g, `$1 >= toDateTime('${FROM}', 'UTC') AND $1 <= toDateTime('${TO}', 'UTC')`)
    .replace(/\$__fromTime/g, `toDateTime('${FROM}', 'UTC')`)
    .replace(/\$__toTime/g, `toDateTime('${TO}', 'UTC')`);
}

interface Target {
  rawSql: string;
  queryType: string;
  editorType: string;
  datasource: { type: string; uid: string };
}

describe('dashboards', () => {
  let store: Store;
  before(async () => {
    await replay({ dir: 'examples/teams-2020-02-03', store: { kind: 'chdb', dataDir: join(tmp, 'chdb') }, logger: createLogger('test', 'silent') });
    store = await openStore({ kind: 'chdb', dataDir: join(tmp, 'chdb') });
  });
  after(async () => {
    await store?.close();
    rmSync(tmp, { recursive: true, force: true });
  });

  it('the JSON in dashboards/build is generated from the code (run `npm run dashboards` after a change)', () => {
    for (const [file, text] of Object.entries(dashboardFiles())) assert.equal(readFileSync(BUILD_DIR + file, 'utf8'), text, `${file} is out of date`);
  });

  it('every panel and annotation queries the ClickHouse data source variable with raw SQL', () => {
    const d = overviewDashboard();
    assert.equal(d.schemaVersion, 42);
    const targets = [...(d.panels ?? []).flatMap((p) => ('targets' in p ? (p.targets as unknown as Target[]) : [])), ...(d.annotations?.list ?? []).map((a) => a.target as unknown as Target)];
    assert.equal(targets.length, 7);
    for (const t of targets) {
      assert.equal(t.editorType, 'sql');
      assert.deepEqual(t.datasource, { type: 'grafana-clickhouse-datasource', uid: '${datasource}' });
      assert.ok(t.rawSql.length > 0);
    }
  });

  it('every panel query runs on the store and returns the outage', async () => {
    const panels = overviewDashboard().panels ?? [];
    const results = new Map<string, Record<string, unknown>[]>();
    for (const p of panels) {
      const t = (p as unknown as { targets: Target[] }).targets[0]!;
      results.set(p.title!, await store.query(expand(t.rawSql)));
    }
    const reports = results.get('User reports per minute')!;
    const teamsPeak = Math.max(...reports.filter((r) => r.service === 'teams').map((r) => Number(r.reports)));
    assert.ok(teamsPeak >= 150, `teams peak ${teamsPeak}`);
    const failures = results.get('Probe failure ratio')!.filter((r) => r.service === 'teams' && Number(r.failure_ratio) === 1);
    assert.ok(failures.length > 200, 'minutes with every teams probe failing');
    const incidents = results.get('Incidents')!;
    assert.deepEqual(incidents.map((r) => [r.service, r.status, r.top_hint_kind]), [['teams', 'resolved', 'cert_expired']]);
    const warnings = results.get('Certificate warnings')!;
    assert.ok(warnings.some((w) => w.name === 'outlook-office-com' && w.level === 'warning'), JSON.stringify(warnings));
    assert.ok(warnings.some((w) => w.name === 'teams-auth-token-signing' && (w.blast_radius as string[]).includes('teams')));
    const hints = results.get('Root-cause hints')!;
    assert.equal(hints[0]!.kind, 'cert_expired');
    assert.deepEqual(hints.map((h) => Number(h.rank)), hints.map((_, i) => i + 1));
  });

  it('every incident change is an annotation row: opened first, resolved last, with tags', async () => {
    const target = overviewDashboard().annotations!.list![1]!.target as unknown as Target;
    const rows = await store.query<{ time: string; timeEnd: string | null; title: string; tags: string[]; text: string }>(expand(target.rawSql));
    assert.ok(rows.length >= 2);
    assert.match(rows[0]!.title, /^teams opened/);
    assert.match(rows.at(-1)!.title, /^teams resolved: cert_expired \d+%/);
    assert.ok(rows.at(-1)!.timeEnd?.startsWith('2020-02-03 17:57'));
    assert.deepEqual(rows.at(-1)!.tags.slice(0, 3), ['service:teams', 'incident:teams-20200203T1340Z', 'hint:cert_expired']);
  });

  it('the annotation query returns the shape the plugin expects: time, timeEnd, title, text, tags', async () => {
    const target = overviewDashboard().annotations!.list![0]!.target as unknown as Target;
    const rows = await store.query<{ time: string; timeEnd: string; title: string; text: string; tags: string[] }>(expand(target.rawSql));
    assert.equal(rows.length, 1);
    const r = rows[0]!;
    assert.equal(r.title, 'teams: cert_expired');
    assert.ok(r.time.startsWith('2020-02-03 13:40'));
    assert.ok(r.timeEnd.startsWith('2020-02-03 1'));
    assert.deepEqual(r.tags.slice(0, 2), ['teams', 'cert_expired']);
    assert.match(r.text, /teams-auth-token-signing/);
  });
});

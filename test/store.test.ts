/**
 * Store conformance: the same suite runs on chDB (always) and on a ClickHouse server through
 * the same client when CLICKHOUSE_URL is set. Real SQL, real tables from the migrations.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { CertObservation, Incident, ProbeResult, UserReport } from '../schemas/contracts.ts';
import { migrate } from '../lib/store/migrate.ts';
import { loadMigrations } from '../lib/store/migrations.ts';
import { certRow, incidentRows, probeRow, reportRow } from '../lib/store/rows.ts';
import { openStore, type Store, type StoreConfig } from '../lib/store/store.ts';

const targets: { name: string; config: () => StoreConfig; cleanup?: () => void }[] = [];
const dir = mkdtempSync(join(tmpdir(), 'outage-store-'));
targets.push({ name: 'chDB (embedded)', config: () => ({ kind: 'chdb', dataDir: join(dir, 'chdb') }), cleanup: () => rmSync(dir, { recursive: true, force: true }) });
if (process.env.CLICKHOUSE_URL) targets.push({ name: `ClickHouse server ${new URL(process.env.CLICKHOUSE_URL).host}`, config: () => ({ kind: 'server', url: process.env.CLICKHOUSE_URL! }) });

const report = (i: number, extra: Partial<UserReport> = {}): UserReport => ({
  id: `r${i}`,
  ts: `2020-02-03T13:${String(40 + (i % 3)).padStart(2, '0')}:0${i % 10}.123Z`,
  service: 'teams',
  channel: 'web',
  ...extra,
});

for (const target of targets) {
  describe(`store conformance: ${target.name}`, () => {
    let store: Store;
    before(async () => {
      store = await openStore(target.config());
      if (store.kind === 'server') for (const t of ['reports', 'probe_results', 'cert_observations', 'incidents', 'incident_hints', 'report_counts_1m', 'schema_migrations']) await store.command(`DROP TABLE IF EXISTS ${t}`);
    });
    after(async () => {
      await store?.close();
      target.cleanup?.();
    });

    it('migrate creates every table once and is idempotent', async () => {
      const first = await migrate(store);
      assert.deepEqual(first, loadMigrations().map((m) => m.version));
      assert.deepEqual(await migrate(store), []);
      const tables = (await store.query<{ name: string }>('SELECT name FROM system.tables WHERE database = currentDatabase() ORDER BY name')).map((t) => t.name);
      for (const t of ['reports', 'status_posts', 'probe_results', 'cert_observations', 'incidents', 'incident_hints', 'dead_letters', 'report_counts_1m', 'probe_counts_1m']) {
        assert.ok(tables.includes(t), `missing table ${t}`);
      }
    });

    it('stores reports with their values intact, unknown fields kept, and hostile strings as data', async () => {
      const hostile = "Robert'); DROP TABLE reports;-- \u0000 \u202e ☃ \\ \" \n";
      const rows = [report(1, { text: hostile, region: 'GB', problem: 'login' }), { ...report(2), clientVersion: '2.1' } as UserReport];
      await store.insert('reports', rows.map(reportRow));
      const back = await store.query<Record<string, string>>(
        "SELECT id, formatDateTime(ts, '%Y-%m-%dT%H:%i:%S.%fZ') AS ts, text, region, problem, extra FROM reports FINAL WHERE id IN ({ids:Array(String)}) ORDER BY id",
        { ids: ['r1', 'r2'] },
      );
      assert.equal(back.length, 2);
      assert.equal(back[0]!.text, hostile);
      assert.equal(back[0]!.ts, '2020-02-03T13:41:01.123000Z');
      assert.equal(back[0]!.region, 'GB');
      assert.deepEqual(JSON.parse(back[1]!.extra!), { clientVersion: '2.1' });
      assert.equal(back[0]!.extra, '');
    });

    it('a redelivered batch leaves no duplicate rows and the per-minute rollup stays exact', async () => {
      const batch = Array.from({ length: 3000 }, (_, i) => reportRow(report(1000 + i, { service: 'dedup' })));
      await store.insert('reports', batch);
      await store.insert('reports', batch);
      const [{ n }] = (await store.query<{ n: string }>("SELECT count() AS n FROM reports FINAL WHERE service = 'dedup'")) as [{ n: string }];
      assert.equal(Number(n), 3000);
      const perMinute = await store.query<{ minute: string; reports: string }>(
        "SELECT minute, uniqExactMerge(reports) AS reports FROM report_counts_1m WHERE service = 'dedup' GROUP BY minute ORDER BY minute",
      );
      assert.deepEqual(perMinute.map((r) => Number(r.reports)), [1000, 1000, 1000]);
    });

    it('stores probe results, certificates and the latest revision of an incident with its hints', async () => {
      const probe: ProbeResult = {
        id: 'p1', ts: '2020-02-03T13:41:00Z', probe: 'https-teams', service: 'teams', target: 'https://teams.microsoft.com/', ok: false, durationMs: 40,
        error: { code: 'CERT_HAS_EXPIRED', message: 'certificate has expired' }, tls: { leafSha256: 'a'.repeat(64), chainSha256: ['a'.repeat(64), 'b'.repeat(64)] },
      };
      await store.insert('probe_results', [probeRow(probe)]);
      const cert: CertObservation = {
        ts: '2020-02-03T00:00:00Z', source: 'file', sha256: 'a'.repeat(64), subject: 'CN=x', issuer: 'CN=y', serial: '01',
        notBefore: '2018-02-03T13:31:00Z', notAfter: '2020-02-03T13:31:00Z', dnsNames: ['x.example'], isCA: false, endpoint: 'certs/x.pem',
      };
      await store.insert('cert_observations', [certRow(cert), certRow({ ...cert, ts: '2020-02-03T01:00:00Z' })]);
      const inc: Incident = {
        id: 'teams-20200203T1340Z', service: 'teams', status: 'open', startedAt: '2020-02-03T13:40:00.000Z', detectedAt: '2020-02-03T13:41:00.000Z',
        resolvedAt: null, peakPerMin: 10, baselinePerMin: 1.5,
        hints: [{ kind: 'cert_expired', confidence: 0.9, summary: 'certificate x expired', evidence: { certName: 'x' }, certSha256: 'a'.repeat(64) }],
        outageId: 'cert-aaaaaaaaaaaaaaaa-20200203T1331Z',
      };
      for (const [rev, status] of [[1, 'open'], [2, 'resolved']] as const) {
        const r = incidentRows({ ...inc, status, resolvedAt: status === 'resolved' ? '2020-02-03T17:00:00.000Z' : null }, rev);
        await store.insert('incidents', [r.incident]);
        await store.insert('incident_hints', r.hints);
      }
      const probes = await store.query<{ error_code: string; tls_chain_sha256: string[] }>('SELECT error_code, tls_chain_sha256 FROM probe_results FINAL');
      assert.deepEqual(probes, [{ error_code: 'CERT_HAS_EXPIRED', tls_chain_sha256: ['a'.repeat(64), 'b'.repeat(64)] }]);
      const certs = await store.query<{ n: string; ts: string }>("SELECT count() AS n, any(toString(ts)) AS ts FROM cert_observations FINAL");
      assert.equal(Number(certs[0]!.n), 1);
      assert.equal(certs[0]!.ts, '2020-02-03 01:00:00.000');
      const incidents = await store.query<{ status: string; revision: number; top_hint_kind: string; outage_id: string }>('SELECT status, revision, top_hint_kind, outage_id FROM incidents FINAL');
      assert.deepEqual(incidents, [{ status: 'resolved', revision: 2, top_hint_kind: 'cert_expired', outage_id: 'cert-aaaaaaaaaaaaaaaa-20200203T1331Z' }]);
    });

    it('binds parameters instead of splicing them into SQL', async () => {
      const rows = await store.query<{ n: string }>('SELECT count() AS n FROM reports FINAL WHERE service = {s:String}', { s: "teams' OR '1'='1" });
      assert.equal(Number(rows[0]!.n), 0);
    });
  });
}

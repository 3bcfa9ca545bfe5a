/**
 * The metrics endpoint of a running certificate inventory and prober, scraped over HTTP: the
 * inventory scans a copy of the bundled example's certificate folder (plus two broken files), the
 * prober checks a real local TLS server; both share one registry behind the operations server,
 * as in `outage serve`. The early-warning gauges come from `storeWarnings` on chDB.
 */
import assert from 'node:assert/strict';
import { cpSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer as createHttpsServer, type Server as HttpsServer } from 'node:https';
import type { Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { storeWarnings } from '../cli/replay.ts';
import { MemoryBus } from '../lib/bus/memory-bus.ts';
import { loadCatalog } from '../lib/catalog.ts';
import { makeCert, privateKeyPem, type Issued } from '../lib/certs/make.ts';
import { createLogger } from '../lib/log.ts';
import { createMetrics, type Metrics } from '../lib/metrics.ts';
import { startOpsServer } from '../lib/ops-server.ts';
import { migrate } from '../lib/store/migrate.ts';
import { certRow } from '../lib/store/rows.ts';
import { openStore } from '../lib/store/store.ts';
import type { CertObservation } from '../schemas/contracts.ts';
import { topics } from '../schemas/topics.ts';
import { scanOnce } from '../services/cert-inventory/inventory.ts';
import { inventoryMetrics, scanErrorReason } from '../services/cert-inventory/metrics.ts';
import { createProberMetrics } from '../services/prober/metrics.ts';
import { Prober } from '../services/prober/prober.ts';
import { specFor } from '../services/prober/probes/index.ts';

const EXAMPLE = 'examples/teams-2020-02-03';
const SIGNING_SHA = 'bd6199b0afb09af1801413595c4adeccfe86c29d5d8a4837d2c057e4138a60da';
const tmp = mkdtempSync(join(tmpdir(), 'outage-cert-metrics-'));
const certDir = join(tmp, 'certs');

interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/** The Prometheus text format, one sample per line (comments skipped). */
function parseExposition(text: string): Sample[] {
  const out: Sample[] = [];
  for (const line of text.split('\n')) {
    if (!line || line.startsWith('#')) continue;
    const m = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    assert.ok(m, `not a sample line: ${line}`);
    const labels: Record<string, string> = {};
    for (const l of (m[2] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)) labels[l[1]!] = l[2]!.replace(/\\(.)/g, (_, c: string) => (c === 'n' ? '\n' : c));
    out.push({ name: m[1]!, labels, value: Number(m[3]) });
  }
  return out;
}

const find = (samples: Sample[], name: string, labels: Record<string, string>) =>
  samples.filter((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v));

describe('metrics endpoint of the inventory and the prober', () => {
  let metrics: Metrics;
  let ops: Server;
  let clockMs = Date.parse('2020-02-03T00:00:00Z');
  const servers: HttpsServer[] = [];
  const logger = createLogger('test', 'silent');
  const catalog = loadCatalog(join(EXAMPLE, 'catalog.yaml'));
  const deps = () => ({ bus: new MemoryBus(), logger, metrics, dirs: [certDir], catalog, now: () => clockMs });
  let url: string;
  const scrape = async () => {
    const res = await fetch(url);
    assert.equal(res.status, 200);
    return parseExposition(await res.text());
  };

  before(async () => {
    cpSync(join(EXAMPLE, 'certs'), certDir, { recursive: true });
    writeFileSync(join(certDir, 'notes.txt'), 'renew the teams cert before February!\n');
    writeFileSync(join(certDir, 'truncated.pem'), '-----BEGIN CERTIFICATE-----\nMIIB\n');
    metrics = createMetrics();
    // The inventory's clock, for `outage_cert_expired` at scrape time (its default is the wall clock).
    inventoryMetrics(metrics.registry, { now: () => clockMs });
    ops = await startOpsServer({ port: 0, metrics, ready: () => ({ ok: true }) });
    url = `http://127.0.0.1:${(ops.address() as { port: number }).port}/metrics`;
  });
  after(async () => {
    for (const s of servers) s.close();
    await new Promise((r) => ops.close(r));
    rmSync(tmp, { recursive: true, force: true });
  });

  it('one series per certificate and place: notAfter and notBefore in Unix seconds, with bounded labels', async () => {
    const [scan] = await scanOnce(deps());
    assert.equal(scan!.observations.length, 6);
    const samples = await scrape();
    const notAfter = find(samples, 'outage_cert_not_after_seconds', { name: 'teams-auth-token-signing' });
    assert.deepEqual(notAfter, [
      {
        name: 'outage_cert_not_after_seconds',
        labels: {
          sha256: SIGNING_SHA,
          name: 'teams-auth-token-signing',
          subject_cn: 'teams-auth-token-signing',
          issuer_cn: 'Example Global Root CA',
          service: 'm365-auth',
          source: 'file',
          place: 'teams-auth-token-signing.pem',
        },
        value: 1580736660,
      },
    ]);
    assert.equal(find(samples, 'outage_cert_not_before_seconds', { sha256: SIGNING_SHA })[0]!.value, Date.parse('2018-02-03T13:31:00Z') / 1000);
    // Every certificate of the folder, each with its own validity.
    const expected: Record<string, [string, string]> = {
      'example-ca-bundle': ['2015-01-01T00:00:00Z', '2035-01-01T00:00:00Z'],
      'example-ca-bundle#2': ['2019-01-01T00:00:00Z', '2027-01-01T00:00:00Z'],
      'teams-auth-token-signing-2017': ['2017-02-03T13:31:00Z', '2018-02-03T13:31:00Z'],
      'outlook-office-com': ['2019-02-12T00:00:00Z', '2020-02-12T09:00:00Z'],
      'teams-auth-token-signing': ['2018-02-03T13:31:00Z', '2020-02-03T13:31:00Z'],
      'api-zoom-us-2019': ['2019-02-03T13:36:00Z', '2020-02-03T13:36:00Z'],
    };
    for (const [name, [from, to]] of Object.entries(expected)) {
      assert.equal(find(samples, 'outage_cert_not_after_seconds', { name })[0]?.value, Date.parse(to) / 1000, name);
      assert.equal(find(samples, 'outage_cert_not_before_seconds', { name })[0]?.value, Date.parse(from) / 1000, name);
    }
    assert.equal(find(samples, 'outage_cert_not_after_seconds', {}).length, 6);
    // The catalog names the services (outlook's certificate by host name; the CA that issued it inherits).
    assert.equal(find(samples, 'outage_cert_not_after_seconds', { name: 'outlook-office-com' })[0]!.labels.service, 'outlook');
    assert.equal(find(samples, 'outage_cert_not_after_seconds', { name: 'teams-auth-token-signing-2017' })[0]!.labels.service, '');
    for (const s of find(samples, 'outage_cert_not_after_seconds', {})) {
      assert.deepEqual(Object.keys(s.labels).sort(), ['issuer_cn', 'name', 'place', 'service', 'sha256', 'source', 'subject_cn']);
      for (const v of Object.values(s.labels)) assert.ok(v.length <= 128);
    }
  });

  it('expired is read at the time of the scrape', async () => {
    clockMs = Date.parse('2020-02-03T13:00:00Z');
    let samples = await scrape();
    assert.equal(find(samples, 'outage_cert_expired', { name: 'teams-auth-token-signing' })[0]!.value, 0);
    assert.equal(find(samples, 'outage_cert_expired', { name: 'teams-auth-token-signing-2017' })[0]!.value, 1);
    clockMs = Date.parse('2020-02-03T13:32:00Z');
    samples = await scrape();
    assert.equal(find(samples, 'outage_cert_expired', { name: 'teams-auth-token-signing' })[0]!.value, 1);
    assert.equal(find(samples, 'outage_cert_expired', { name: 'api-zoom-us-2019' })[0]!.value, 0);
    assert.equal(find(samples, 'outage_cert_expired', { name: 'example-ca-bundle' })[0]!.value, 0);
  });

  it('scan errors are counted by a bounded reason, never by message', async () => {
    const samples = await scrape();
    const errors = find(samples, 'outage_cert_scan_errors_total', {});
    assert.equal(find(errors, 'outage_cert_scan_errors_total', { reason: 'malformed' })[0]!.value, 1);
    assert.equal(find(errors, 'outage_cert_scan_errors_total', { reason: 'not_a_certificate' })[0]!.value, 1);
    assert.equal(find(errors, 'outage_cert_scan_errors_total', { reason: 'other' })[0]!.value, 0);
    assert.deepEqual(
      ['PKCS#12: wrong password or damaged store (mac verify failure)', 'login.example:443: HTTP 503', 'cannot fetch: ECONNREFUSED', 'DER has 2 bytes of trailing garbage', 'unreadable (EACCES: permission denied): skipped', 'a FIFO (named pipe), not a regular file: skipped', 'larger than 16777216 bytes, skipped'].map(scanErrorReason),
      ['password', 'fetch_failed', 'fetch_failed', 'malformed', 'unreadable', 'skipped_path', 'too_large'],
    );
  });

  it('a certificate no longer found loses its series; a scan that fails keeps the last good one', async () => {
    rmSync(join(certDir, 'old'), { recursive: true });
    await scanOnce(deps());
    let samples = await scrape();
    assert.equal(find(samples, 'outage_cert_not_after_seconds', { name: 'teams-auth-token-signing-2017' }).length, 0);
    assert.equal(find(samples, 'outage_cert_expired', { name: 'teams-auth-token-signing-2017' }).length, 0);
    assert.equal(find(samples, 'outage_cert_not_after_seconds', {}).length, 5);
    // The folder disappears (an unmounted volume): counted as a failed scan, series kept.
    const moved = `${certDir}-moved`;
    cpSync(certDir, moved, { recursive: true });
    rmSync(certDir, { recursive: true });
    await scanOnce(deps());
    samples = await scrape();
    assert.ok(find(samples, 'outage_cert_scan_errors_total', { reason: 'scan_failed' })[0]!.value + find(samples, 'outage_cert_scan_errors_total', { reason: 'unreadable' })[0]!.value >= 1);
    assert.equal(find(samples, 'outage_cert_not_after_seconds', {}).length, 5);
    cpSync(moved, certDir, { recursive: true });
  });

  it('the early warnings set outage_cert_warnings{level} where they are computed (storeWarnings)', async () => {
    const store = await openStore({ kind: 'chdb', dataDir: join(tmp, 'chdb') });
    try {
      await migrate(store);
      const bus = new MemoryBus();
      const seen: CertObservation[] = [];
      await bus.subscribe({ group: 't', topics: [topics.certs.name], eachBatch: async (b) => void seen.push(...b.map((m) => JSON.parse(String(m.value)) as CertObservation)) });
      clockMs = Date.parse('2020-01-20T00:00:00Z');
      await scanOnce({ ...deps(), bus });
      await bus.drain();
      await store.insert('cert_observations', seen.map(certRow));
      const warnings = await storeWarnings(store, catalog, Date.parse('2020-02-01T13:31:00Z'), metrics);
      const samples = await scrape();
      const byLevel = Object.fromEntries(find(samples, 'outage_cert_warnings', {}).map((s) => [s.labels.level, s.value]));
      assert.deepEqual(Object.keys(byLevel).sort(), ['critical', 'expired', 'high', 'notice', 'warning']);
      for (const level of Object.keys(byLevel)) assert.equal(byLevel[level], warnings.filter((w) => w.level === level).length, level);
      // Two days before the outage: the signing certificate is "high" (within 7 days).
      assert.ok(warnings.some((w) => w.name === 'teams-auth-token-signing' && w.level === 'high'));
      assert.ok(byLevel.high! >= 1);
    } finally {
      await store.close();
    }
  });

  it('the prober exports TLS version and cipher as an info metric and each HTTP phase in seconds', async () => {
    const d = (iso: string) => new Date(iso);
    const root: Issued = await makeCert({ subject: 'CN=Metrics Root', isCA: true, notBefore: d('2020-01-01T00:00:00Z'), notAfter: d('2040-01-01T00:00:00Z') });
    const leaf = await makeCert({ subject: 'CN=teams.example.test', dnsNames: ['teams.example.test'], issuer: root, notBefore: d('2020-01-01T00:00:00Z'), notAfter: d('2039-01-01T00:00:00Z') });
    const server = createHttpsServer({ key: await privateKeyPem(leaf), cert: leaf.pem, maxVersion: 'TLSv1.2', ciphers: 'ECDHE-RSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES128-GCM-SHA256' }, (_req, res) => res.end('ok'));
    servers.push(server);
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const port = (server.address() as { port: number }).port;
    const prober = new Prober({ bus: new MemoryBus(), logger, metrics: createProberMetrics(metrics.registry) });
    const spec = specFor(`https://teams.example.test:${port}/`, 'teams', { ipOverride: '127.0.0.1', ca: root.pem, timeoutMs: 5000, region: 'eu-test' });
    const result = await prober.check(spec);
    assert.equal(result.ok, true, JSON.stringify(result.error));
    const samples = await scrape();
    const info = find(samples, 'outage_probe_tls_info', { region: 'eu-test' });
    assert.equal(info.length, 1);
    assert.deepEqual(info[0]!.labels, { probe: result.probe, region: 'eu-test', version: 'TLSv1.2', cipher: result.tls!.cipher! });
    assert.match(info[0]!.labels.cipher!, /AES_128_GCM_SHA256$/);
    assert.equal(info[0]!.value, 1);
    assert.equal(find(samples, 'outage_probe_success', { probe: result.probe, region: 'eu-test' })[0]!.value, 1);
    for (const phase of ['connect', 'tls', 'ttfb', 'total']) {
      const count = find(samples, 'outage_probe_duration_seconds_count', { probe: result.probe, region: 'eu-test', phase });
      assert.equal(count[0]?.value, 1, phase);
      const sum = find(samples, 'outage_probe_duration_seconds_sum', { probe: result.probe, region: 'eu-test', phase })[0]!.value;
      assert.ok(sum >= 0 && sum < 5, `${phase} in seconds: ${sum}`);
    }
    const total = find(samples, 'outage_probe_duration_seconds_sum', { probe: result.probe, phase: 'total' })[0]!.value;
    assert.ok(Math.abs(total - result.durationMs / 1000) < 1e-9);
    // The endpoint moves to TLS 1.3: the old info series goes, one series stays.
    server.setSecureContext({ key: await privateKeyPem(leaf), cert: leaf.pem, minVersion: 'TLSv1.3', maxVersion: 'TLSv1.3' });
    const again = await prober.check(spec);
    const after2 = find(await scrape(), 'outage_probe_tls_info', { region: 'eu-test' });
    assert.deepEqual(after2.map((s) => s.labels.version), [again.tls!.protocol]);
    assert.equal(again.tls!.protocol, 'TLSv1.3');
  });
});

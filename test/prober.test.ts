/**
 * The prober against real local TLS servers serving certificates generated here, one per way a
 * certificate goes wrong. Each check must fail (or pass) with the right Node/OpenSSL code and
 * still report the chain it was shown, with leaf expiry, earliest chain expiry and notBefore.
 */
import assert from 'node:assert/strict';
import { createServer as createHttpServer } from 'node:http';
import { createServer as createHttpsServer, type Server } from 'node:https';
import { createServer as createTcpServer } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { makeCert, privateKeyPem, type Issued } from '../lib/certs/make.ts';
import { factsOf } from '../lib/certs/x509.ts';
import { runProbe, specFor } from '../services/prober/probes/index.ts';
import { check } from '../schemas/decode.ts';
import { execFile } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { MemoryBus } from '../lib/bus/memory-bus.ts';
import { createLogger } from '../lib/log.ts';
import { createMetrics } from '../lib/metrics.ts';
import { topics } from '../schemas/topics.ts';
import { parseCatalog } from '../lib/catalog.ts';
import { createProberMetrics } from '../services/prober/metrics.ts';
import { Prober, scheduleOf } from '../services/prober/prober.ts';

const DAY = 86_400_000;
const now = Date.now();
const at = (days: number) => new Date(now + days * DAY);
const HOST = 'teams.example.test';

let root: Issued;
let intermediate: Issued;
const servers: Server[] = [];

/** An HTTPS server on 127.0.0.1 presenting `chain` (leaf first) with the leaf's key. */
async function serve(chain: Issued[], status = 200): Promise<number> {
  const server = createHttpsServer({ key: await privateKeyPem(chain[0]!), cert: chain.map((c) => c.pem).join('') }, (_req, res) => {
    res.writeHead(status, { 'content-type': 'text/plain' });
    res.end(status === 200 ? 'service is up' : 'down');
  });
  servers.push(server);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return (server.address() as { port: number }).port;
}

const leaf = (opts: { names?: string[]; from?: number; to?: number; issuer?: Issued } = {}) =>
  makeCert({ subject: `CN=${(opts.names ?? [HOST])[0]}`, dnsNames: opts.names ?? [HOST], issuer: opts.issuer ?? intermediate, notBefore: at(opts.from ?? -30), notAfter: at(opts.to ?? 60) });

async function probe(port: number, kind: 'https' | 'tls' = 'https') {
  const target = kind === 'https' ? `https://${HOST}:${port}/health` : `tls://${HOST}:${port}`;
  const out = await runProbe(specFor(target, 'teams', { ipOverride: '127.0.0.1', ca: root.pem, timeoutMs: 5000, region: 'test' }));
  const valid = check('ProbeResult', out.result);
  assert.ok(valid.ok, `not a valid ProbeResult: ${!valid.ok && valid.detail}`);
  return out;
}

describe('prober against real TLS servers', () => {
  before(async () => {
    root = await makeCert({ subject: 'CN=Test Root CA', isCA: true, notBefore: at(-3650), notAfter: at(3650) });
    intermediate = await makeCert({ subject: 'CN=Test Intermediate CA', isCA: true, issuer: root, notBefore: at(-365), notAfter: at(365) });
  });
  after(() => {
    for (const s of servers) s.close();
  });

  it('a valid chain: up, with status, phases and the presented chain', async () => {
    const l = await leaf();
    const { result, chain } = await probe(await serve([l, intermediate]));
    assert.equal(result.ok, true, JSON.stringify(result.error));
    assert.equal(result.httpStatus, 200);
    assert.ok(result.phases!.tlsMs! >= 0 && result.phases!.ttfbMs! >= result.phases!.tlsMs!);
    assert.equal(result.tls!.leafSha256, factsOf(l.cert).sha256);
    assert.deepEqual(chain.slice(0, 2).map((c) => c.sha256), [factsOf(l.cert).sha256, factsOf(intermediate.cert).sha256]);
    assert.equal(chain[0]!.issuerSha256, factsOf(intermediate.cert).sha256);
    assert.equal(result.tls!.protocol, 'TLSv1.3');
  });

  it('an expired leaf: CERT_HAS_EXPIRED, with its expiry and the chain still reported', async () => {
    const l = await leaf({ from: -400, to: -2 });
    const { result, chain } = await probe(await serve([l, intermediate]));
    assert.equal(result.ok, false);
    assert.equal(result.error!.code, 'CERT_HAS_EXPIRED');
    assert.match(result.error!.message, /^leaf certificate expired at /);
    assert.equal(result.tls!.validTo, l.cert.notAfter.toISOString());
    assert.equal(result.tls!.chainValidTo, l.cert.notAfter.toISOString());
    assert.equal(chain[0]!.sha256, factsOf(l.cert).sha256);
  });

  it('a leaf not yet valid (clock skew, early deployment): CERT_NOT_YET_VALID with its notBefore', async () => {
    const l = await leaf({ from: 2, to: 90 });
    const { result } = await probe(await serve([l, intermediate]));
    assert.equal(result.error!.code, 'CERT_NOT_YET_VALID');
    assert.equal(result.tls!.validFrom, l.cert.notBefore.toISOString());
  });

  it('a certificate for another host: ERR_TLS_CERT_ALTNAME_INVALID', async () => {
    const { result } = await probe(await serve([await leaf({ names: ['other.example.test'] }), intermediate]));
    assert.equal(result.error!.code, 'ERR_TLS_CERT_ALTNAME_INVALID');
    assert.match(result.error!.message, /teams\.example\.test/);
  });

  it('a self-signed leaf: DEPTH_ZERO_SELF_SIGNED_CERT', async () => {
    const self = await makeCert({ subject: `CN=${HOST}`, dnsNames: [HOST], notBefore: at(-1), notAfter: at(30) });
    const { result, chain } = await probe(await serve([self]));
    assert.equal(result.error!.code, 'DEPTH_ZERO_SELF_SIGNED_CERT');
    assert.equal(chain.length, 1);
  });

  it('an expired intermediate under a valid root: CERT_HAS_EXPIRED naming the intermediate; the leaf is still valid', async () => {
    const oldCa = await makeCert({ subject: 'CN=Old Intermediate CA', isCA: true, issuer: root, notBefore: at(-800), notAfter: at(-1) });
    const l = await leaf({ issuer: oldCa, from: -30, to: 300 });
    const { result, chain } = await probe(await serve([l, oldCa]));
    assert.equal(result.error!.code, 'CERT_HAS_EXPIRED');
    assert.match(result.error!.message, /Old Intermediate CA/);
    assert.equal(result.tls!.validTo, l.cert.notAfter.toISOString());
    assert.equal(result.tls!.chainValidTo, oldCa.cert.notAfter.toISOString());
    assert.ok(chain.some((c) => c.sha256 === factsOf(oldCa.cert).sha256 && c.isCA));
  });

  it('an incomplete chain (intermediate not sent): the issuer cannot be found', async () => {
    const l = await leaf();
    const { result, chain } = await probe(await serve([l]));
    assert.equal(result.ok, false);
    assert.ok(['UNABLE_TO_VERIFY_LEAF_SIGNATURE', 'UNABLE_TO_GET_ISSUER_CERT_LOCALLY'].includes(result.error!.code), result.error!.code);
    assert.equal(chain.length, 1);
  });

  it('a TLS-only check sees the same, and HTTP errors are classed by status', async () => {
    const expired = await probe(await serve([await leaf({ from: -400, to: -2 }), intermediate]), 'tls');
    assert.equal(expired.result.error!.code, 'CERT_HAS_EXPIRED');
    assert.equal(expired.result.httpStatus, undefined);
    const down = await probe(await serve([await leaf(), intermediate], 503));
    assert.deepEqual([down.result.ok, down.result.httpStatus, down.result.error!.code], [false, 503, 'HTTP_503']);
  });

  it('the prober service publishes each result and, once per new chain, an observation per certificate', async () => {
    const l = await leaf({ from: -400, to: -2 });
    const port = await serve([l, intermediate]);
    const catalog = parseCatalog(`services:\n  - id: teams\n    name: Teams\n    endpoints:\n      - { url: "https://${HOST}:${port}/", ip: 127.0.0.1, intervalS: 30 }\n`);
    const [scheduled] = scheduleOf(catalog, { region: 'eu-test', intervalS: 60, timeoutMs: 5000, ca: root.pem });
    assert.equal(scheduled!.intervalMs, 30_000);
    const bus = new MemoryBus();
    const seen: { topic: string; value: Record<string, unknown> }[] = [];
    await bus.subscribe({ group: 't', topics: [topics.probes.name, topics.certs.name], eachBatch: async (b) => void seen.push(...b.map((m) => ({ topic: m.topic, value: JSON.parse(String(m.value)) }))) });
    const metrics = createMetrics();
    const prober = new Prober({ bus, logger: createLogger('test', 'silent'), metrics: createProberMetrics(metrics.registry) });
    await prober.check(scheduled!.spec);
    await prober.check(scheduled!.spec);
    await bus.drain();
    const probes = seen.filter((m) => m.topic === topics.probes.name);
    const certs = seen.filter((m) => m.topic === topics.certs.name);
    assert.equal(probes.length, 2);
    assert.equal((probes[0]!.value.error as { code: string }).code, 'CERT_HAS_EXPIRED');
    assert.equal(probes[0]!.value.region, 'eu-test');
    assert.deepEqual(certs.map((c) => [c.value.sha256, c.value.source, c.value.endpoint, c.value.service]).slice(0, 2), [
      [factsOf(l.cert).sha256, 'probe', `${HOST}:${port}`, 'teams'],
      [factsOf(intermediate.cert).sha256, 'probe', `${HOST}:${port}`, 'teams'],
    ]);
    for (const c of certs) assert.ok(check('CertObservation', c.value).ok);
    assert.match(await metrics.registry.metrics(), /outage_probe_success\{probe="https-teams",region="eu-test"\} 0/);
  });

  it('`outage probe` prints the verdict and the chain with validity and days left', async () => {
    const l = await leaf({ from: -400, to: -2 });
    const port = await serve([l, intermediate]);
    const dir = mkdtempSync(join(tmpdir(), 'outage-probe-'));
    writeFileSync(join(dir, 'root.pem'), root.pem);
    const err = await promisify(execFile)(process.execPath, ['bin/outage.js', 'probe', `https://${HOST}:${port}/`, '--ip', '127.0.0.1', '--ca', join(dir, 'root.pem')]).catch((e: { code: number; stdout: string }) => e);
    const { code, stdout } = err as { code: number; stdout: string };
    assert.equal(code, 2);
    assert.match(stdout, /DOWN {2}CERT_HAS_EXPIRED: leaf certificate expired at/);
    assert.match(stdout, /0 {2}CN=teams\.example\.test\n {6}issuer {3}CN=Test Intermediate CA\n {6}names {4}teams\.example\.test/);
    assert.match(stdout, /\(EXPIRED 2 days ago\)/);
    assert.match(stdout, /1 {2}CN=Test Intermediate CA {2}\[CA\]/);
  });

  it('TCP and DNS checks: refused, resolved, not found', async () => {
    const tcp = createTcpServer();
    await new Promise<void>((r) => tcp.listen(0, '127.0.0.1', r));
    const port = (tcp.address() as { port: number }).port;
    tcp.close();
    await new Promise((r) => tcp.once('close', r));
    const refused = await runProbe(specFor(`tcp://127.0.0.1:${port}`, 'teams', { timeoutMs: 2000 }));
    assert.equal(refused.result.error!.code, 'ECONNREFUSED');
    const resolved = await runProbe(specFor('dns://localhost', 'teams', { timeoutMs: 2000 }));
    assert.equal(resolved.result.ok, true);
    const missing = await runProbe(specFor('dns://nonexistent.invalid', 'teams', { timeoutMs: 2000 }));
    assert.equal(missing.result.error!.code, 'ENOTFOUND');
  });

  it('plain http:// checks: status, an unfollowed redirect, phases, no TLS part, and a catalog endpoint', async () => {
    const server = createHttpServer((req, res) => {
      if (req.url === '/health') res.writeHead(200).end('ok');
      else if (req.url === '/old') res.writeHead(301, { location: 'https://teams.example.test/' }).end();
      else res.writeHead(503).end('down');
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const port = (server.address() as { port: number }).port;
    try {
      const up = await runProbe(specFor(`http://${HOST}:${port}/health`, 'teams', { timeoutMs: 2000, ipOverride: '127.0.0.1', bodyMatch: '^ok$' }));
      assert.deepEqual([up.result.ok, up.result.httpStatus, up.result.tls, up.chain], [true, 200, undefined, []]);
      assert.ok(up.result.phases!.connectMs !== undefined && up.result.phases!.ttfbMs !== undefined, JSON.stringify(up.result.phases));
      assert.equal(up.result.probe, 'http-teams');
      assert.ok(check('ProbeResult', up.result).ok);
      const redirect = await runProbe(specFor(`http://127.0.0.1:${port}/old`, 'teams', { timeoutMs: 2000 }));
      assert.deepEqual([redirect.result.ok, redirect.result.httpStatus], [true, 301], 'a redirect is up by default');
      const pinned = await runProbe(specFor(`http://127.0.0.1:${port}/old`, 'teams', { timeoutMs: 2000, expectStatus: 200 }));
      assert.deepEqual([pinned.result.ok, pinned.result.error], [false, { code: 'HTTP_301', message: 'HTTP 301 to https://teams.example.test/ (expected 200)' }]);
      const down = await runProbe(specFor(`http://127.0.0.1:${port}/`, 'teams', { timeoutMs: 2000 }));
      assert.deepEqual([down.result.ok, down.result.httpStatus, down.result.error!.code], [false, 503, 'HTTP_503']);
      const catalog = parseCatalog(`services:\n  - id: teams\n    name: Teams\n    endpoints: ["http://127.0.0.1:${port}/health"]\n`);
      assert.deepEqual(scheduleOf(catalog, { region: 'eu-test', intervalS: 60, timeoutMs: 2000 }).map((p) => p.spec.kind), ['http']);
    } finally {
      server.close();
    }
  });
});

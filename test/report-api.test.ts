/**
 * The report API over real HTTP (the Express app listening on a free port), with every kind of
 * bad input; exactly the accepted reports must reach the bus.
 */
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import { connect } from 'node:net';
import { after, before, beforeEach, describe, it } from 'node:test';
import type { UserReport } from '../schemas/contracts.ts';
import { topics } from '../schemas/topics.ts';
import { MemoryBus } from '../lib/bus/memory-bus.ts';
import { parseCatalog } from '../lib/catalog.ts';
import { hardenServer, HTTP_TIMEOUT_DEFAULTS } from '../lib/http-server.ts';
import { createLogger } from '../lib/log.ts';
import { createMetrics } from '../lib/metrics.ts';
import { createReportApp } from '../services/report-ingest/app.ts';

const catalog = parseCatalog('services:\n  - id: teams\n    name: Teams\n  - id: zoom\n    name: Zoom\n');
const TOKEN = 'tok-0123456789abcdef';
const NOW = Date.parse('2026-11-25T10:00:00.000Z');

let server: Server;
let base: string;
let onBus: UserReport[] = [];
let bus: MemoryBus;

async function start(opts: { allowAnonymous?: boolean; anonymousRatePerMin?: number; tokenRatePerMin?: number } = {}) {
  bus = new MemoryBus();
  await bus.subscribe({ group: 't', topics: [topics.reports.name], eachBatch: async (b) => void onBus.push(...b.map((m) => JSON.parse(String(m.value)) as UserReport)) });
  const app = createReportApp({
    bus,
    catalog,
    logger: createLogger('test', 'silent'),
    metrics: createMetrics(),
    tokens: [TOKEN, 'another-token-xyz'],
    allowAnonymous: opts.allowAnonymous ?? false,
    salt: 'test-salt-0123456789',
    maxBodyBytes: 8 * 1024,
    tokenRatePerMin: opts.tokenRatePerMin ?? 1000,
    anonymousRatePerMin: opts.anonymousRatePerMin ?? 3,
    now: () => NOW,
  });
  server = app.listen(0, '127.0.0.1');
  await new Promise((r) => server.once('listening', r));
  base = `http://127.0.0.1:${(server.address() as { port: number }).port}/api/v1/reports`;
}

async function post(body: string, headers: Record<string, string> = {}): Promise<{ status: number; json: Record<string, unknown>; headers: Headers }> {
  const res = await fetch(base, { method: 'POST', body, headers: { 'content-type': 'application/json', authorization: `Bearer ${TOKEN}`, ...headers } });
  await bus.drain();
  return { status: res.status, json: (await res.json()) as Record<string, unknown>, headers: res.headers };
}

const report = (extra: Record<string, unknown> = {}): Record<string, unknown> & { id: string } => ({ id: `r-${Math.random().toString(36).slice(2)}`, ts: '2026-11-25T09:59:00Z', service: 'teams', channel: 'api', ...extra });

describe('report API', () => {
  before(() => start());
  after(() => server.close());
  beforeEach(() => {
    onBus = [];
  });

  it('accepts one report, fills nothing it was given, and publishes it with a reporter identity', async () => {
    const r = report({ text: 'teams keeps dropping calls' });
    const res = await post(JSON.stringify(r));
    assert.equal(res.status, 202);
    assert.deepEqual(res.json, { accepted: [r.id], duplicates: [], refused: [] });
    assert.equal(onBus.length, 1);
    assert.equal(onBus[0]!.text, r.text);
    assert.match(onBus[0]!.author!, /^anon:[0-9a-f]{20}$/);
    assert.equal(res.headers.get('x-content-type-options'), 'nosniff');
    assert.ok(res.headers.get('content-security-policy'));
  });

  it('fills id and ts when absent (receive time)', async () => {
    const res = await post(JSON.stringify({ service: 'zoom', channel: 'app' }));
    assert.equal(res.status, 202);
    assert.equal(onBus[0]!.ts, new Date(NOW).toISOString());
    assert.equal(onBus[0]!.id, (res.json.accepted as string[])[0]);
  });

  it('a batch (JSON array) accepts the good items and names each bad one with its index and reason', async () => {
    const good = [report(), report({ service: 'zoom' })];
    const res = await post(JSON.stringify([good[0], { ...report(), channel: 7 }, good[1], report({ service: 'slack' }), 'text']));
    assert.equal(res.status, 202);
    assert.deepEqual(res.json.accepted, good.map((g) => g.id));
    assert.deepEqual((res.json.refused as { index: number; reason: string }[]).map((r) => [r.index, r.reason]), [
      [1, 'schema_violation'],
      [3, 'unknown_service'],
      [4, 'not_an_object'],
    ]);
    assert.match((res.json.refused as { detail: string }[])[1]!.detail, /unknown service "slack"; known services: teams, zoom/);
    assert.deepEqual(onBus.map((r) => r.id), good.map((g) => g.id));
  });

  it('a batch as NDJSON, with a malformed line', async () => {
    const a = report();
    const b = report();
    const res = await post(`${JSON.stringify(a)}\n{"id": "cut\n\n${JSON.stringify(b)}\n`, { 'content-type': 'application/x-ndjson' });
    assert.equal(res.status, 202);
    assert.deepEqual(res.json.accepted, [a.id, b.id]);
    assert.deepEqual((res.json.refused as { index: number; reason: string }[]).map((r) => [r.index, r.reason]), [[1, 'malformed_json']]);
  });

  it('refuses bad input with the right status and a clear body, and publishes nothing', async () => {
    const cases: [string, Record<string, string>, number, string][] = [
      ['{"service": "teams", ', {}, 400, 'malformed_json'],
      [JSON.stringify(report({ channel: 'fax' })), {}, 400, 'schema_violation'],
      [JSON.stringify(report({ region: 44 })), {}, 400, 'schema_violation'],
      [JSON.stringify(report({ service: 'myspace' })), {}, 422, 'unknown_service'],
      [JSON.stringify(report({ text: 'x'.repeat(9000) })), {}, 413, 'body_too_large'],
      [JSON.stringify(report()), { authorization: '' }, 401, 'unauthorized'],
      [JSON.stringify(report()), { authorization: 'Bearer wrong-token-0000000' }, 401, 'unauthorized'],
      [JSON.stringify(report()), { authorization: `Basic ${TOKEN}` }, 401, 'unauthorized'],
      ['[]', {}, 400, 'no_valid_reports'],
      ['{}', {}, 400, 'empty_body'],
    ];
    for (const [body, headers, status, error] of cases) {
      const res = await post(body, headers);
      assert.equal(res.status, status, `${body.slice(0, 60)} → ${JSON.stringify(res.json)}`);
      assert.equal(res.json.error, error, body.slice(0, 60));
      assert.equal(typeof (res.json.message ?? (res.json.refused as unknown[])?.length), res.json.message ? 'string' : 'number');
    }
    assert.deepEqual(onBus, []);
  });

  it('refuses hostile bodies with the reason a consumer would give: not UTF-8, too deep, year 0000, 1e309', async () => {
    const bytes = async (body: Buffer, type = 'application/json') => {
      const res = await fetch(base, { method: 'POST', body, headers: { 'content-type': type, authorization: `Bearer ${TOKEN}` } });
      await bus.drain();
      return { status: res.status, json: (await res.json()) as Record<string, unknown> };
    };
    const latin1 = Buffer.concat([Buffer.from(JSON.stringify(report()).slice(0, -1) + ',"text":"caf'), Buffer.from([0xe9, 0x22, 0x7d])]);
    const cases: [Buffer, number, string][] = [
      [latin1, 400, 'invalid_utf8'],
      [Buffer.from(JSON.stringify(report()).replace('}', `,"x":${'['.repeat(3000)}${']'.repeat(3000)}}`)), 400, 'too_deep'],
      [Buffer.from(JSON.stringify(report({ ts: '0000-01-01T00:00:00Z' }))), 400, 'out_of_range'],
      [Buffer.from(JSON.stringify(report()).replace('}', ',"n":1e309}')), 400, 'out_of_range'],
    ];
    for (const [body, status, error] of cases) {
      const res = await bytes(body);
      assert.equal(res.status, status, JSON.stringify(res.json));
      assert.equal(res.json.error ?? (res.json.refused as { reason: string }[])[0]!.reason, error, JSON.stringify(res.json));
    }
    // In a batch only the bad item is refused; in NDJSON only the bad line.
    const good = report();
    const batch = await bytes(Buffer.from(`[${JSON.stringify(good)},${JSON.stringify(report()).replace('}', ',"n":-1e400}')}]`));
    assert.deepEqual([batch.status, batch.json.accepted, (batch.json.refused as { index: number; reason: string }[]).map((r) => [r.index, r.reason])], [202, [good.id], [[1, 'out_of_range']]]);
    const good2 = report();
    const nd = await bytes(Buffer.concat([latin1, Buffer.from(`\n${JSON.stringify(good2)}\n`)]), 'application/x-ndjson');
    assert.deepEqual([nd.status, nd.json.accepted, (nd.json.refused as { index: number; reason: string }[]).map((r) => [r.index, r.reason])], [202, [good2.id], [[0, 'invalid_utf8']]]);
    assert.deepEqual(onBus.map((r) => r.id), [good.id, good2.id]);
  });

  it('ignores a duplicate id (a retried request is idempotent)', async () => {
    const r = report();
    const first = await post(JSON.stringify(r));
    const again = await post(JSON.stringify([r, r]));
    assert.deepEqual(first.json.accepted, [r.id]);
    assert.deepEqual([again.status, again.json.accepted, again.json.duplicates], [202, [], [r.id, r.id]]);
    assert.equal(onBus.length, 1);
  });
});

describe('report API, anonymous web reports and rate limits', () => {
  before(() => start({ allowAnonymous: true, anonymousRatePerMin: 3, tokenRatePerMin: 5 }));
  after(() => server.close());
  beforeEach(() => {
    onBus = [];
  });

  it('accepts anonymous web reports, refuses the api channel to them, and limits them harder', async () => {
    const anon = { authorization: '' };
    const ok = await post(JSON.stringify(report({ channel: 'web' })), anon);
    assert.equal(ok.status, 202);
    const api = await post(JSON.stringify(report({ channel: 'api' })), anon);
    assert.deepEqual([api.status, (api.json.refused as { reason: string }[])[0]!.reason], [400, 'forbidden_channel']);
    await post(JSON.stringify(report({ channel: 'web' })), anon);
    const limited = await post(JSON.stringify(report({ channel: 'web' })), anon);
    assert.deepEqual([limited.status, limited.json.error], [429, 'rate_limited']);
    assert.ok(limited.headers.get('ratelimit-policy') ?? limited.headers.get('ratelimit'));
    // A token client has its own, larger allowance.
    assert.equal((await post(JSON.stringify(report()))).status, 202);
    assert.equal(onBus.length, 3);
    // The same anonymous client gets the same reporter identity, so it counts once per window.
    assert.equal(onBus[0]!.author, onBus[1]!.author);
    assert.notEqual(onBus[0]!.author, onBus[2]!.author);
  });
});

describe('report API, stalled requests', () => {
  let stalled: Server;
  let port = 0;
  before(async () => {
    const app = createReportApp({ bus: new MemoryBus(), catalog, logger: createLogger('test', 'silent'), metrics: createMetrics(), tokens: [TOKEN], allowAnonymous: false, salt: 'salt-0123456789abcdef' });
    // Short limits keep the test quick; the defaults are seconds too.
    stalled = hardenServer(createServer(app), { headersTimeoutMs: 1_000, requestTimeoutMs: 1_500, checkIntervalMs: 100 });
    await new Promise<void>((r) => stalled.listen(0, '127.0.0.1', r));
    port = (stalled.address() as { port: number }).port;
  });
  after(() => {
    stalled.closeAllConnections();
    stalled.close();
  });

  /** Sends `head` (and never the rest), then waits for the answer or the connection's end. */
  const stall = (head: string) =>
    new Promise<{ answer: string; ms: number }>((resolve, reject) => {
      const started = performance.now();
      const socket = connect(port, '127.0.0.1', () => socket.write(head));
      let answer = '';
      socket.on('data', (d) => (answer += d.toString()));
      socket.on('error', reject);
      socket.on('close', () => resolve({ answer, ms: performance.now() - started }));
      setTimeout(() => socket.destroy(new Error('no answer within 20 s')), 20_000).unref();
    });
  const headers = (extra: string) => `POST /api/v1/reports HTTP/1.1\r\nhost: x\r\nauthorization: Bearer ${TOKEN}\r\ncontent-type: application/json\r\n${extra}\r\n`;

  it('a Content-Length larger than the body sent gets 408 within seconds', async () => {
    const r = await stall(`${headers('content-length: 1000\r\n')}{"service":"teams"`);
    assert.match(r.answer, /^HTTP\/1\.1 408 /);
    assert.ok(r.ms < 10_000, `${r.ms} ms`);
  });

  it('a chunked body that never ends gets 408 within seconds', async () => {
    const r = await stall(`${headers('transfer-encoding: chunked\r\n')}5\r\n{"ser\r\n`);
    assert.match(r.answer, /^HTTP\/1\.1 408 /);
  });

  it('headers that never end get 408 within seconds', async () => {
    const r = await stall('POST /api/v1/reports HTTP/1.1\r\nhost: x\r\nx-slow: ');
    assert.match(r.answer, /^HTTP\/1\.1 408 /);
  });

  it('the defaults answer a stalled request within seconds, not Node\'s five minutes', () => {
    assert.ok(HTTP_TIMEOUT_DEFAULTS.requestTimeoutMs + HTTP_TIMEOUT_DEFAULTS.checkIntervalMs <= 30_000);
    const s = hardenServer(createServer());
    assert.deepEqual([s.requestTimeout, s.headersTimeout], [HTTP_TIMEOUT_DEFAULTS.requestTimeoutMs, HTTP_TIMEOUT_DEFAULTS.headersTimeoutMs]);
  });
});

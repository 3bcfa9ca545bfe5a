/**
 * The sink tells a bad row from a store outage (on the memory bus and chDB, the real engine): a
 * row ClickHouse refuses is dead-lettered alone while the rest of its batch is stored; an outage
 * is retried with backoff, reported by `health()` and `outage_store_up`, and loses nothing.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { UserReport } from '../../schemas/contracts.ts';
import { topics } from '../../schemas/topics.ts';
import { until } from '../../lib/bus/bus-contract.ts';
import { MemoryBus } from '../../lib/bus/memory-bus.ts';
import { createLogger } from '../../lib/log.ts';
import { createMetrics, type Metrics } from '../../lib/metrics.ts';
import { migrate } from '../../lib/store/migrate.ts';
import { openStore, type Store } from '../../lib/store/store.ts';
import { runSink } from './sink.ts';
import { classifyStoreError } from './store-errors.ts';

const logger = createLogger('sink-test', 'silent');
const dir = mkdtempSync(join(tmpdir(), 'sink-test-'));
let store: Store;
before(async () => {
  store = await openStore({ kind: 'chdb', dataDir: dir });
  await migrate(store);
});
after(async () => {
  await store.close();
  rmSync(dir, { recursive: true, force: true });
});

const report = (id: string, extra: Partial<UserReport> = {}): UserReport => ({ id, ts: '2020-02-03T13:40:00Z', service: 'teams', channel: 'web', ...extra });
const value = async (metrics: Metrics, name: string, labels: Record<string, string> = {}) => {
  const m = (await metrics.registry.getMetricsAsJSON()).find((x) => x.name === name);
  return (m?.values ?? []).filter((v) => Object.entries(labels).every(([k, want]) => String(v.labels[k]) === want)).reduce((s, v) => s + v.value, 0);
};
const count = async (sql: string) => Number((await store.query<{ n: string }>(sql))[0]!.n);

/** The store, refusing every insert with a socket error while `down`. */
function flaky(inner: Store) {
  const state = { down: false, refused: 0 };
  const refuseWhileDown = () => {
    if (!state.down) return;
    state.refused++;
    throw Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:8123'), { code: 'ECONNREFUSED' });
  };
  const wrapped: Store = {
    kind: inner.kind,
    location: inner.location,
    insert: async (table, rows) => {
      refuseWhileDown();
      return inner.insert(table, rows);
    },
    insertLines: async (table, lines) => {
      refuseWhileDown();
      return inner.insertLines(table, lines);
    },
    query: (sql, params) => inner.query(sql, params),
    command: (sql) => inner.command(sql),
    close: async () => {},
  };
  return { store: wrapped, state };
}

describe('sink: bad rows and store outages', () => {
  it('dead-letters a row the store refuses (store_rejected) and stores the rest of its batch', async () => {
    const metrics = createMetrics();
    const bus = new MemoryBus({ metrics });
    const sink = await runSink({ bus, store, logger, metrics });
    // A lone surrogate passes JSON and the contract, and ClickHouse refuses it (CANNOT_PARSE_ESCAPE_SEQUENCE).
    // The memory bus carries the decoded value, as a replay does, so no decoder stands in between.
    const bad = report('bad-row-1', { text: 'broken \ud800 surrogate' });
    const good = Array.from({ length: 40 }, (_, i) => report(`bad-row-good-${i}`));
    const all = [...good.slice(0, 17), bad, ...good.slice(17)];
    await bus.publish(
      topics.reports.name,
      all.map((r) => ({ key: r.service, value: JSON.stringify(r), decoded: r })),
    );
    await bus.drain();
    assert.equal(await count("SELECT count() AS n FROM reports FINAL WHERE startsWith(id, 'bad-row-')"), good.length);
    const letters = await store.query<{ reason: string; detail: string; value_base64: string; size_bytes: string; sha256: string }>(
      "SELECT reason, detail, value_base64, size_bytes, sha256 FROM dead_letters FINAL WHERE reason = 'store_rejected'",
    );
    assert.equal(letters.length, 1);
    assert.match(letters[0]!.detail, /^reports: the store refused the row: CANNOT_PARSE_ESCAPE_SEQUENCE/);
    assert.equal((JSON.parse(Buffer.from(letters[0]!.value_base64, 'base64').toString('utf8')) as UserReport).id, 'bad-row-1');
    assert.equal(letters[0]!.sha256.length, 64);
    assert.ok((await value(metrics, 'outage_store_write_errors_total', { kind: 'bad_row' })) >= 1);
    assert.equal(await value(metrics, 'outage_dead_letters_total', { reason: 'store_rejected' }), 1);
    assert.equal(await value(metrics, 'outage_store_up'), 1, 'a bad row is not an outage');
    assert.deepEqual(sink.health(), { ok: true });
    await bus.close();
  });

  it('retries through a store outage, reports it in health and outage_store_up, and loses nothing', async () => {
    const metrics = createMetrics();
    const bus = new MemoryBus({ metrics });
    const { store: out, state } = flaky(store);
    const sink = await runSink({ bus, store: out, logger, metrics, storeRetry: { initialMs: 5, maxMs: 20 } });
    state.down = true;
    const reports = Array.from({ length: 100 }, (_, i) => report(`outage-${i}`));
    await bus.publish(
      topics.reports.name,
      reports.map((r) => ({ key: r.service, value: JSON.stringify(r) })),
    );
    await until(() => !sink.health().ok && state.refused >= 3, 5_000, () => `refused ${state.refused}`);
    assert.match(sink.health().reason ?? '', /^store refuses writes since .* \(ECONNREFUSED\): connect ECONNREFUSED/);
    assert.equal(await value(metrics, 'outage_store_up'), 0);
    assert.equal(await count("SELECT count() AS n FROM reports FINAL WHERE startsWith(id, 'outage-')"), 0);
    state.down = false;
    await bus.drain();
    assert.equal(await count("SELECT count() AS n FROM reports FINAL WHERE startsWith(id, 'outage-')"), 100);
    assert.deepEqual(sink.health(), { ok: true });
    assert.equal(await value(metrics, 'outage_store_up'), 1);
    assert.equal(await value(metrics, 'outage_dead_letters_total'), 0);
    await bus.close();
  });

  it('stops waiting for the store when the bus closes, without committing the batch', async () => {
    const metrics = createMetrics();
    const bus = new MemoryBus({ metrics, redelivery: { retries: 0 } });
    const { store: out, state } = flaky(store);
    await runSink({ bus, store: out, logger, metrics, storeRetry: { initialMs: 5, maxMs: 20 } });
    state.down = true;
    await bus.publish(topics.reports.name, [{ key: 'teams', value: JSON.stringify(report('closing-1')) }]);
    await until(() => state.refused >= 2, 5_000, () => `refused ${state.refused}`);
    await bus.close(); // resolves: the retry loop gives up once the bus is stopping
    assert.equal(await count("SELECT count() AS n FROM reports FINAL WHERE id = 'closing-1'"), 0);
  });

  it('classifies store errors by the table: rows refused for their data, everything else an outage', () => {
    const ch = (code: string, type: string) => Object.assign(new Error(type), { code, type });
    assert.deepEqual(classifyStoreError(ch('25', 'CANNOT_PARSE_ESCAPE_SEQUENCE')), { name: 'CANNOT_PARSE_ESCAPE_SEQUENCE', kind: 'bad_row' });
    assert.deepEqual(classifyStoreError(ch('27', 'CANNOT_PARSE_INPUT_ASSERTION_FAILED')), { name: 'CANNOT_PARSE_INPUT_ASSERTION_FAILED', kind: 'bad_row' });
    assert.deepEqual(classifyStoreError(ch('241', 'MEMORY_LIMIT_EXCEEDED')), { name: 'MEMORY_LIMIT_EXCEEDED', kind: 'outage' });
    assert.deepEqual(classifyStoreError(ch('60', 'UNKNOWN_TABLE')), { name: 'UNKNOWN_TABLE', kind: 'outage' });
    assert.deepEqual(classifyStoreError(ch('9999', 'SOMETHING_NEW')), { name: 'SOMETHING_NEW', kind: 'outage' });
    assert.deepEqual(classifyStoreError(Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' })), { name: 'ECONNRESET', kind: 'outage' });
    assert.deepEqual(classifyStoreError(new Error('Timeout error.')), { name: 'timeout', kind: 'outage' });
    assert.deepEqual(classifyStoreError(new Error('fetch failed', { cause: Object.assign(new Error('x'), { code: 'ECONNREFUSED' }) })), { name: 'ECONNREFUSED', kind: 'outage' });
    assert.deepEqual(classifyStoreError('weird'), { name: 'unknown', kind: 'outage' });
  });
});

/**
 * A store outage under a running sink, against the real broker and the sink as its own process,
 * writing over HTTP to a ClickHouse endpoint (`helpers/clickhouse-http.ts`, the real engine behind
 * it) that goes away and comes back: while it is away the sink's /readyz answers 503 with the
 * reason, `outage_store_up` is 0, nothing past the stored records is committed; when it is back
 * the sink recovers by itself and every record is stored once.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { gunzipSync } from 'node:zlib';
import { Kafka, logLevel } from 'kafkajs';
import { topics } from '../schemas/topics.ts';
import { startClickHouseHttp } from './helpers/clickhouse-http.ts';
import { admin, brokersOrSkip, caughtUp, metric, startService, stopService, topicNames, uniquePrefix, waitFor } from './helpers/kafka.ts';

const EXAMPLE = 'examples/teams-2020-02-03';
const tmp = mkdtempSync(join(tmpdir(), 'outage-store-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

const reportLines = gunzipSync(readFileSync(join(EXAMPLE, 'reports.ndjson.gz'))).toString('utf8').trim().split('\n').slice(0, 600);
const ids = (lines: string[]) => new Set(lines.map((l) => (JSON.parse(l) as { id: string }).id));

describe('Kafka: the sink through a store outage', { timeout: 180_000 }, () => {
  it('reports not ready while the store refuses writes, commits nothing it did not store, and recovers losing nothing', async (t) => {
    const brokers = brokersOrSkip(t);
    if (!brokers) return;
    const ch = await startClickHouseHttp(join(tmp, 'clickhouse'));
    const prefix = uniquePrefix();
    const sink = await startService('sink', { KAFKA_BROKERS: brokers.join(','), KAFKA_TOPIC_PREFIX: prefix, CLICKHOUSE_URL: ch.url });
    const kafka = new Kafka({ brokers, logLevel: logLevel.NOTHING });
    const producer = kafka.producer();
    await producer.connect();
    const a = admin(brokers);
    await a.connect();
    const readyz = async () => {
      const res = await fetch(`http://127.0.0.1:${sink.port}/readyz`);
      return { status: res.status, body: (await res.text()).trim() };
    };
    const stored = async () => Number((await ch.query<{ n: string }>('SELECT count() AS n FROM reports FINAL'))[0]!.n);
    const send = (lines: string[]) => producer.send({ topic: prefix + topics.reports.name, messages: lines.map((value) => ({ key: (JSON.parse(value) as { service: string }).service, value })) });
    const reportsTopic = topicNames(prefix, ['reports']);
    try {
      const first = reportLines.slice(0, 200);
      await send(first);
      await waitFor(() => caughtUp(a, `${prefix}sink`, reportsTopic), 60_000, () => sink.logs());
      assert.equal(await stored(), ids(first).size);
      assert.equal(await metric(sink.port, 'outage_store_up'), 1);

      // The store goes away; more records arrive.
      await ch.stop();
      const downAt = Date.now();
      await send(reportLines.slice(200));
      let notReady = { status: 0, body: '' };
      await waitFor(async () => (notReady = await readyz()).status === 503, 60_000, () => `readyz still ${notReady.status}\n${sink.logs()}`);
      const notReadyMs = Date.now() - downAt;
      assert.match(notReady.body, /^not ready: store refuses writes since .* \((ECONNREFUSED|ECONNRESET)\)/);
      assert.equal(await metric(sink.port, 'outage_store_up'), 0);
      assert.ok((await metric(sink.port, 'outage_store_write_errors_total', { table: 'reports', kind: 'outage' })) >= 1);
      assert.equal((await fetch(`http://127.0.0.1:${sink.port}/healthz`)).status, 200, '/healthz is liveness only');
      // Nothing past what was stored is committed, and the lag read from the broker shows the wait.
      assert.equal(await caughtUp(a, `${prefix}sink`, reportsTopic), false);
      const [committed] = await a.fetchOffsets({ groupId: `${prefix}sink`, topics: reportsTopic });
      const committedSum = committed!.partitions.reduce((n, p) => n + Math.max(0, Number(p.offset)), 0);
      assert.equal(committedSum, first.length);
      const lag = await metric(sink.port, 'outage_consumer_lag_messages', { group: 'sink', topic: topics.reports.name });
      assert.equal(lag, reportLines.length - first.length);
      // Still not ready a moment later: the batch is being retried, not given up.
      await waitFor(async () => (await metric(sink.port, 'outage_store_write_errors_total', { kind: 'outage' })) >= 3, 30_000, () => sink.logs());
      assert.equal((await readyz()).status, 503);

      // The store comes back: the sink recovers by itself.
      await ch.start();
      const backAt = Date.now();
      await waitFor(async () => (await readyz()).status === 200, 60_000, () => `still not ready: ${JSON.stringify(notReady)}\n${sink.logs()}`);
      const recoveredMs = Date.now() - backAt;
      await waitFor(() => caughtUp(a, `${prefix}sink`, reportsTopic), 60_000, () => sink.logs());
      const retries = await metric(sink.port, 'outage_store_write_errors_total', { kind: 'outage' });
      console.log(`store down: /readyz 503 after ${notReadyMs} ms ("${notReady.body.slice(0, 120)}…"), lag ${lag}; store back: ready again after ${recoveredMs} ms; ${retries} failed inserts retried`);
      assert.equal(await stored(), ids(reportLines).size);
      assert.equal(await metric(sink.port, 'outage_store_up'), 1);
      assert.equal(await metric(sink.port, 'outage_dead_letters_total'), 0, 'an outage is not a bad row');
      assert.equal(await metric(sink.port, 'outage_consumer_restarts_total'), 0, 'the consumer waited instead of crashing');
      assert.equal(sink.proc.exitCode, null);
    } finally {
      await a.disconnect();
      await producer.disconnect();
      assert.equal(await stopService(sink), 0);
      await ch.close();
    }
  });
});

/**
 * Poison on an input topic, against the real broker and the services as their own processes: a
 * 900 KB record (under the broker's 1 MB limit, but its dead letter in full would not be) and a
 * 2 MB record (accepted compressed) among valid reports and probes. Each becomes one bounded dead
 * letter, published by the sink alone; every valid record around them is stored; both groups keep
 * going; `/readyz` answers 200 all along because nothing stopped.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { gunzipSync } from 'node:zlib';
import { Kafka, logLevel } from 'kafkajs';
import type { DeadLetter } from '../schemas/contracts.ts';
import { topics } from '../schemas/topics.ts';
import { DEAD_LETTER_VALUE_BYTES } from '../lib/bus/dead-letters.ts';
import { admin, brokersOrSkip, caughtUp, metric, sql, startService, stopService, topicNames, uniquePrefix, waitFor, type ServiceProcess } from './helpers/kafka.ts';

const EXAMPLE = 'examples/teams-2020-02-03';
const tmp = mkdtempSync(join(tmpdir(), 'outage-poison-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

const reportLines = gunzipSync(readFileSync(join(EXAMPLE, 'reports.ndjson.gz'))).toString('utf8').trim().split('\n').slice(0, 400);
const probeLines = readFileSync(join(EXAMPLE, 'probes.ndjson'), 'utf8').trim().split('\n').slice(0, 200);
const serviceOf = (line: string) => (JSON.parse(line) as { service: string }).service;

/** A report-shaped record of exactly `bytes` bytes (its text breaks the 2,000-character limit). */
const poison = (id: string, bytes: number) => {
  const head = `{"id":"${id}","ts":"2020-02-03T13:40:00Z","service":"teams","channel":"web","text":"`;
  return head + 'x'.repeat(bytes - head.length - 2) + '"}';
};

/** Polls every service's /readyz in the background and keeps what each answered. */
function watchReadiness(services: ServiceProcess[]) {
  const seen = new Map<string, Map<string, number>>(services.map((s) => [s.name, new Map()]));
  let on = true;
  const loop = (async () => {
    while (on) {
      for (const s of services) {
        const r = await fetch(`http://127.0.0.1:${s.port}/readyz`).then(async (res) => `${res.status} ${(await res.text()).trim()}`, (err: Error) => `error ${err.message}`);
        const counts = seen.get(s.name)!;
        counts.set(r, (counts.get(r) ?? 0) + 1);
      }
      await new Promise((r) => setTimeout(r, 100));
    }
  })();
  return {
    seen,
    async stop() {
      on = false;
      await loop;
    },
  };
}

describe('Kafka: poison records never stall the pipeline', { timeout: 240_000 }, () => {
  it('a 900 KB and a 2 MB record become one bounded dead letter each, every valid record is stored, both groups keep going, /readyz stays truthful', async (t) => {
    const brokers = brokersOrSkip(t);
    if (!brokers) return;
    const prefix = uniquePrefix();
    const dataDir = join(tmp, 'poison');
    const env = { KAFKA_BROKERS: brokers.join(','), KAFKA_TOPIC_PREFIX: prefix, CATALOG: join(EXAMPLE, 'catalog.yaml'), OUTAGE_DATA_DIR: dataDir };
    const sink = await startService('sink', env);
    const correlator = await startService('correlator', env);
    const readiness = watchReadiness([sink, correlator]);
    const kafka = new Kafka({ brokers, logLevel: logLevel.NOTHING });
    const producer = kafka.producer();
    await producer.connect();
    const big900k = poison('poison-900k', 900 * 1024);
    const big2m = poison('poison-2m', 2 * 1024 * 1024);
    const started = Date.now();
    const a = admin(brokers);
    await a.connect();
    try {
      const send = (topic: string, values: string[], key?: string, compression?: number) =>
        producer.send({ topic: prefix + topic, ...(compression ? { compression } : {}), messages: values.map((value) => ({ key: key ?? serviceOf(value), value })) });
      // Each poison in its own request: together they would pass the broker's request limit.
      await send(topics.reports.name, reportLines.slice(0, 200));
      await send(topics.reports.name, [big900k], 'teams');
      await send(topics.probes.name, probeLines.slice(0, 100));
      await send(topics.reports.name, [big2m], 'teams', 1 /* gzip: 2 MB of one letter is a few KB on the wire */);
      await send(topics.reports.name, reportLines.slice(200));
      await send(topics.probes.name, probeLines.slice(100));

      await waitFor(() => caughtUp(a, `${prefix}correlator`, topicNames(prefix, ['reports', 'probes'])), 120_000, () => `correlator lagging:\n${correlator.logs()}`);
      await waitFor(() => caughtUp(a, `${prefix}sink`, topicNames(prefix, ['reports', 'probes', 'dlq'])), 120_000, () => `sink lagging:\n${sink.logs()}`);
      const caughtUpMs = Date.now() - started;
      for (const s of [sink, correlator]) {
        assert.equal(s.proc.exitCode, null, `${s.name} exited`);
        assert.equal(await metric(s.port, 'outage_consumer_up', { group: s.name }), 1, `${s.name} consumer up`);
        assert.equal((await fetch(`http://127.0.0.1:${s.port}/readyz`)).status, 200);
      }
      assert.equal(await metric(sink.port, 'outage_dead_letters_total', { topic: topics.reports.name }), 2);
      assert.equal(await metric(sink.port, 'outage_dead_letters_total', { topic: topics.reports.name, reason: 'oversized' }), 1);
      assert.equal(await metric(correlator.port, 'outage_dead_letters_total'), 0);
      assert.equal(await metric(correlator.port, 'outage_messages_refused_total', { group: 'correlator', topic: topics.reports.name }), 2);
      assert.ok((await metric(correlator.port, 'outage_messages_consumed_total', { group: 'correlator' })) >= reportLines.length + probeLines.length);
      assert.equal(await metric(sink.port, 'outage_produce_retries_total'), 0, 'no publish was retried');
      assert.equal(await metric(sink.port, 'outage_consumer_lag_messages', { group: 'sink' }), 0);
      await readiness.stop();
      const answers = Object.fromEntries([...readiness.seen].map(([name, counts]) => [name, Object.fromEntries(counts)]));
      console.log(`caught up ${caughtUpMs} ms after the first send; /readyz answers while it ran: ${JSON.stringify(answers)}`);
      for (const [name, counts] of readiness.seen) assert.deepEqual([...counts.keys()], ['200 ready'], `${name} was not ready at some point`);

      // The dead letters on the topic: one per poison, bounded, with the digest of the whole record.
      const dlqEnd = (await a.fetchTopicOffsets(prefix + topics.dlq.name)).reduce((n, p) => n + Number(p.high), 0);
      assert.equal(dlqEnd, 2, 'one dead letter per poison record');
      const letters: { letter: DeadLetter; bytes: number }[] = [];
      const consumer = kafka.consumer({ groupId: `${prefix}check`, maxWaitTimeInMs: 200 });
      await consumer.connect();
      await consumer.subscribe({ topic: prefix + topics.dlq.name, fromBeginning: true });
      await consumer.run({ eachMessage: async ({ message }) => void letters.push({ letter: JSON.parse(message.value!.toString()) as DeadLetter, bytes: message.value!.length }) });
      await waitFor(async () => letters.length >= 2, 30_000, () => `${letters.length} dead letters`);
      await consumer.disconnect();
      for (const [record, reason] of [
        [big900k, 'schema_violation'],
        [big2m, 'oversized'],
      ] as const) {
        const sha = createHash('sha256').update(record).digest('hex');
        const found = letters.find((l) => l.letter.sha256 === sha);
        assert.ok(found, `no dead letter with the sha256 of the ${record.length}-byte record`);
        const { letter, bytes } = found;
        console.log(`${record.length}-byte record → dead letter of ${bytes} bytes: reason ${letter.reason}, sizeBytes ${letter.sizeBytes}, truncated ${letter.truncated}, offset ${letter.offset}`);
        assert.equal(letter.reason, reason);
        assert.equal(letter.sizeBytes, record.length);
        assert.equal(letter.truncated, true);
        assert.equal(letter.topic, topics.reports.name);
        assert.equal(Buffer.from(letter.valueBase64, 'base64').toString('utf8'), record.slice(0, DEAD_LETTER_VALUE_BYTES));
        assert.ok(bytes < 100_000, `a dead letter of ${bytes} bytes`);
      }
    } finally {
      await readiness.stop();
      await a.disconnect();
      await producer.disconnect();
      await stopService(correlator);
      await stopService(sink);
    }
    const [row] = await sql<Record<string, unknown>>(
      dataDir,
      `SELECT (SELECT count() FROM reports FINAL) AS reports, (SELECT count() FROM probe_results FINAL) AS probes,
              (SELECT count() FROM dead_letters FINAL) AS dead,
              (SELECT groupArray((size_bytes, truncated, length(sha256))) FROM (SELECT * FROM dead_letters FINAL ORDER BY size_bytes)) AS letters`,
    );
    const distinct = (lines: string[]) => new Set(lines.map((l) => (JSON.parse(l) as { id: string }).id)).size;
    assert.equal(Number(row!.reports), distinct(reportLines));
    assert.equal(Number(row!.probes), distinct(probeLines));
    assert.equal(Number(row!.dead), 2);
    assert.deepEqual(
      (row!.letters as [number | string, boolean, number | string][]).map(([size, truncated, shaLength]) => [Number(size), truncated, Number(shaLength)]),
      [
        [big900k.length, true, 64],
        [big2m.length, true, 64],
      ],
    );
  });
});

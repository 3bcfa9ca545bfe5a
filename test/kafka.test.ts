/**
 * The distributed path against a real Kafka broker: services as separate processes, the
 * bundled example published through Kafka, a sink killed mid-run, and bad messages among good.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { after, describe, it } from 'node:test';
import { Kafka, logLevel } from 'kafkajs';
import type { Hint, Incident } from '../schemas/contracts.ts';
import { topics } from '../schemas/topics.ts';
import { admin, brokersOrSkip, caughtUp, cli, metric, sql, startService, stopService, topicNames, uniquePrefix, waitFor } from './helpers/kafka.ts';

const EXAMPLE = 'examples/teams-2020-02-03';
const CATALOG = join(EXAMPLE, 'catalog.yaml');
const tmp = mkdtempSync(join(tmpdir(), 'outage-kafka-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

const reportLines = gunzipSync(readFileSync(join(EXAMPLE, 'reports.ndjson.gz'))).toString('utf8').trim().split('\n');
const probeLines = readFileSync(join(EXAMPLE, 'probes.ndjson'), 'utf8').trim().split('\n');
const SINK_TOPICS = ['reports', 'posts', 'probes', 'certs', 'incidents', 'dlq'] as const;
/** A fresh topic prefix and data directory for one test, and the services' environment. */
function isolated(brokers: string[], name: string) {
  const prefix = uniquePrefix();
  const dataDir = join(tmp, name);
  return { prefix, dataDir, env: { KAFKA_BROKERS: brokers.join(','), KAFKA_TOPIC_PREFIX: prefix, CATALOG, OUTAGE_DATA_DIR: dataDir } };
}
/** ClickHouse sends 64-bit counts as strings or numbers depending on the query; compare numbers. */
const numbers = (row: Record<string, unknown>) => Object.fromEntries(Object.entries(row).map(([k, v]) => [k, Number(v)]));

describe('Kafka: topics, processes, dead letters and crash recovery', { timeout: 600_000 }, () => {
  it('creates every topic explicitly with its partitions and retention (no auto-create)', async (t) => {
    const brokers = brokersOrSkip(t);
    if (!brokers) return;
    const prefix = uniquePrefix();
    await cli(['publish', join(tmp, 'empty-does-not-exist')], { KAFKA_BROKERS: brokers.join(','), KAFKA_TOPIC_PREFIX: prefix }).catch(() => undefined);
    const a = admin(brokers);
    await a.connect();
    try {
      const { KafkaBus } = await import('../lib/bus/kafka-bus.ts');
      const { createLogger } = await import('../lib/log.ts');
      const bus = new KafkaBus({ brokers, clientId: 'test', logger: createLogger('test', 'silent'), topicPrefix: prefix });
      await bus.ensureTopics();
      await bus.ensureTopics(); // idempotent
      const meta = await a.fetchTopicMetadata({ topics: Object.values(topics).map((s) => prefix + s.name) });
      for (const spec of Object.values(topics)) {
        const m = meta.topics.find((x) => x.name === prefix + spec.name);
        assert.equal(m?.partitions.length, spec.partitions, spec.name);
      }
      const configs = await a.describeConfigs({
        includeSynonyms: false,
        resources: Object.values(topics).map((s) => ({ type: 2, name: prefix + s.name, configNames: ['cleanup.policy', 'retention.ms'] })),
      });
      for (const r of configs.resources) {
        const get = (n: string) => r.configEntries.find((e) => e.configName === n)?.configValue;
        if (Object.values(topics).some((s) => s.compacted && r.resourceName === prefix + s.name)) assert.equal(get('cleanup.policy'), 'compact');
        else {
          assert.equal(get('cleanup.policy'), 'delete', r.resourceName);
          assert.equal(get('retention.ms'), '-1', `${r.resourceName} must keep 2020 event times`);
        }
      }
      await bus.close();
    } finally {
      await a.disconnect();
    }
  });

  it('publishes the Teams example through Kafka to separate processes and stores the same incidents as the embedded replay', async (t) => {
    const brokers = brokersOrSkip(t);
    if (!brokers) return;
    const { prefix, dataDir, env } = isolated(brokers, 'e2e');
    const embedded = (await cli(['replay', EXAMPLE, '--format', 'ndjson', '--data-dir', join(tmp, 'embedded')])).trim().split('\n').map((l) => JSON.parse(l) as Incident);

    const published = await cli(['publish', EXAMPLE], env);
    assert.match(published, /published 60262 reports, 3 status posts, 10800 probe results, 11 certificate observations/);
    const sink = await startService('sink', env);
    const correlator = await startService('correlator', env);
    const a = admin(brokers);
    await a.connect();
    try {
      await waitFor(() => caughtUp(a, `${prefix}correlator`, topicNames(prefix, ['reports', 'posts', 'probes'])), 180_000, () => `correlator lagging:\n${correlator.logs()}`);
      await waitFor(() => caughtUp(a, `${prefix}sink`, topicNames(prefix, [...SINK_TOPICS])), 180_000, () => `sink lagging:\n${sink.logs()}`);
      assert.ok((await metric(correlator.port, 'outage_messages_consumed_total', { group: 'correlator' })) >= 60262 + 10800 + 3);
      assert.ok((await metric(correlator.port, 'outage_messages_produced_total', { topic: topics.incidents.name })) >= 1);
      assert.equal(await metric(sink.port, 'outage_consumer_lag_messages'), 0);
    } finally {
      await a.disconnect();
      assert.equal(await stopService(correlator), 0);
      assert.equal(await stopService(sink), 0);
    }

    const stored = await sql<{ id: string; status: string; started_at: string; detected_at: string; resolved_at: string | null; peak_per_min: number; hints: string }>(
      dataDir,
      'SELECT id, status, started_at, detected_at, resolved_at, peak_per_min, hints FROM incidents FINAL ORDER BY started_at',
    );
    const view = (i: { id: string; status: string; peak: number; hints: Hint[] }) => ({
      id: i.id,
      status: i.status,
      peak: i.peak,
      hints: i.hints.map((h) => [h.kind, h.certSha256 ?? '', h.confidence, h.summary]),
    });
    assert.deepEqual(
      stored.map((s) => view({ id: s.id, status: s.status, peak: Number(s.peak_per_min), hints: JSON.parse(s.hints) as Hint[] })),
      embedded.map((e) => view({ id: e.id, status: e.status, peak: e.peakPerMin, hints: e.hints })),
    );
    assert.equal(stored[0]!.detected_at.slice(0, 19), embedded[0]!.detectedAt.slice(0, 19).replace('T', ' '));
    const [counts] = await sql(dataDir, 'SELECT (SELECT count() FROM reports FINAL) AS reports, (SELECT count() FROM probe_results FINAL) AS probes');
    assert.deepEqual(numbers(counts!), { reports: reportLines.length, probes: probeLines.length });
  });

  it('loses and doubles nothing when the sink is killed with SIGKILL mid-run and restarted', async (t) => {
    const brokers = brokersOrSkip(t);
    if (!brokers) return;
    const { prefix, dataDir, env } = isolated(brokers, 'crash');
    await cli(['publish', EXAMPLE], env);
    const first = await startService('sink', env);
    await waitFor(async () => (await metric(first.port, 'outage_store_rows_total', { table: 'reports' })) >= 10_000, 120_000, () => first.logs());
    assert.equal(await stopService(first, 'SIGKILL'), 'SIGKILL');
    const second = await startService('sink', env);
    const a = admin(brokers);
    await a.connect();
    try {
      await waitFor(() => caughtUp(a, `${prefix}sink`, topicNames(prefix, ['reports', 'posts', 'probes', 'certs'])), 180_000, () => second.logs());
    } finally {
      await a.disconnect();
      assert.equal(await stopService(second), 0);
    }
    const distinct = (lines: string[]) => new Set(lines.map((l) => (JSON.parse(l) as { id: string }).id)).size;
    const [row] = await sql(
      dataDir,
      `SELECT (SELECT count() FROM reports FINAL) AS reports, (SELECT count() FROM probe_results FINAL) AS probes,
              (SELECT count() FROM status_posts FINAL) AS posts, (SELECT count() FROM cert_observations FINAL) AS certs,
              (SELECT sum(n) FROM (SELECT uniqExactMerge(reports) AS n FROM report_counts_1m GROUP BY service, minute)) AS rollup`,
    );
    assert.deepEqual(numbers(row!), { reports: distinct(reportLines), probes: distinct(probeLines), posts: 3, certs: 11, rollup: distinct(reportLines) });
  });

  it('sends every malformed or schema-violating message to dlq.v1 with its reason, stores every good one, and keeps running', async (t) => {
    const brokers = brokersOrSkip(t);
    if (!brokers) return;
    const { prefix, dataDir, env } = isolated(brokers, 'dlq');
    const sink = await startService('sink', env); // creates the topics
    const correlator = await startService('correlator', env);
    const kafka = new Kafka({ brokers, logLevel: logLevel.NOTHING });
    const producer = kafka.producer();
    await producer.connect();
    const good = reportLines.slice(0, 500);
    const bad = [
      '{"id": "cut", "ts": "2020-02-03T13:4',
      '{"id":"no-service","ts":"2020-02-03T13:40:00Z","channel":"web"}',
      '{"id":"bad-type","ts":"2020-02-03T13:40:00Z","service":"teams","channel":"web","region":7}',
      '[]',
      '\u0000\u0001 binary',
      `{"id":"huge","ts":"2020-02-03T13:40:00Z","service":"teams","channel":"web","text":"${'x'.repeat(3000)}"}`,
    ];
    const mixed = [...good.slice(0, 250), ...bad, ...good.slice(250)];
    await producer.send({ topic: prefix + topics.reports.name, messages: mixed.map((value) => ({ key: 'teams', value })) });
    await producer.send({ topic: prefix + topics.probes.name, messages: [{ key: 'teams', value: '{"id":"p","ok":"maybe"}' }] });
    await producer.disconnect();
    const a = admin(brokers);
    await a.connect();
    try {
      await waitFor(() => caughtUp(a, `${prefix}correlator`, topicNames(prefix, ['reports', 'probes'])), 120_000, () => correlator.logs());
      await waitFor(() => caughtUp(a, `${prefix}sink`, topicNames(prefix, [...SINK_TOPICS])), 120_000, () => sink.logs());
      for (const s of [sink, correlator]) {
        assert.equal(s.proc.exitCode, null, `${s.name} exited`);
        assert.equal((await fetch(`http://127.0.0.1:${s.port}/healthz`)).status, 200);
      }
      // The sink owns the dead letters of every topic; the correlator counts what it cannot read and skips it.
      assert.equal(await metric(sink.port, 'outage_dead_letters_total', { topic: topics.reports.name }), bad.length);
      assert.equal(await metric(sink.port, 'outage_dead_letters_total', { topic: topics.probes.name }), 1);
      assert.equal(await metric(correlator.port, 'outage_dead_letters_total'), 0);
      assert.equal(await metric(correlator.port, 'outage_messages_refused_total', { group: 'correlator', topic: topics.reports.name }), bad.length);
      assert.equal(await metric(correlator.port, 'outage_messages_refused_total', { group: 'correlator', topic: topics.probes.name }), 1);
      for (const s of [sink, correlator]) assert.equal((await fetch(`http://127.0.0.1:${s.port}/readyz`)).status, 200, `${s.name} ready`);
    } finally {
      await a.disconnect();
      await stopService(correlator);
      await stopService(sink);
    }
    // The dead letters on the topic carry the original bytes and the reason.
    const letters: { topic: string; reason: string; valueBase64: string; offset?: string }[] = [];
    const consumer = kafka.consumer({ groupId: `${prefix}check`, maxWaitTimeInMs: 200 });
    await consumer.connect();
    await consumer.subscribe({ topic: prefix + topics.dlq.name, fromBeginning: true });
    await consumer.run({ eachMessage: async ({ message }) => void letters.push(JSON.parse(message.value!.toString())) });
    await waitFor(async () => letters.length >= bad.length + 1, 30_000, () => `${letters.length} dead letters`);
    await consumer.disconnect();
    // One dead letter per bad message, not one per consumer group.
    const a2 = admin(brokers);
    await a2.connect();
    const onTopic = (await a2.fetchTopicOffsets(prefix + topics.dlq.name)).reduce((n, p) => n + Number(p.high), 0);
    await a2.disconnect();
    assert.equal(onTopic, bad.length + 1);
    assert.equal(letters.length, bad.length + 1);
    const byValue = new Map(letters.map((l) => [Buffer.from(l.valueBase64, 'base64').toString('utf8'), l]));
    assert.deepEqual(
      bad.map((b) => byValue.get(b)?.reason),
      ['malformed_json', 'schema_violation', 'schema_violation', 'not_an_object', 'malformed_json', 'schema_violation'],
    );
    const [row] = await sql(dataDir, 'SELECT (SELECT count() FROM reports FINAL) AS reports, (SELECT count() FROM dead_letters FINAL) AS dead');
    assert.deepEqual(numbers(row!), { reports: good.length, dead: bad.length + 1 });
  });
});

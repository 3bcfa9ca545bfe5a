/**
 * The Kafka adapter on the suite's real broker: the bus contract every adapter meets, then what
 * only a broker shows — a consumer restarted after its handler kept failing, a record the broker
 * refuses split out of its request as a dead letter, and the lag read from the broker.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { DeadLetter } from '../schemas/contracts.ts';
import { topics } from '../schemas/topics.ts';
import type { Bus, BusMessage } from '../lib/bus/bus.ts';
import { busContract, until, type BusFixture } from '../lib/bus/bus-contract.ts';
import { KafkaBus, type KafkaBusOptions } from '../lib/bus/kafka-bus.ts';
import { createLogger } from '../lib/log.ts';
import { createMetrics, type Metrics } from '../lib/metrics.ts';
import { admin, brokersOrSkip, uniquePrefix } from './helpers/kafka.ts';

const logger = createLogger('kafka-bus-test', 'silent');
const text = (m: BusMessage) => Buffer.from(m.value).toString('utf8');

/** Buses on one broker under one fresh topic prefix, with short retries so failures show fast. */
async function kafkaFixture(brokers: string[], extra: Partial<KafkaBusOptions> = {}): Promise<BusFixture & { metrics: Metrics; prefix: string }> {
  const prefix = uniquePrefix();
  const metrics = createMetrics();
  const buses: KafkaBus[] = [];
  return {
    metrics,
    prefix,
    timeoutMs: 60_000,
    partitioned: true,
    async bus() {
      const bus = new KafkaBus({
        brokers,
        clientId: 'bus-test',
        logger,
        metrics,
        topicPrefix: prefix,
        consumerRetry: { retries: 3, initialRetryTime: 100, maxRetryTime: 1_000 },
        restart: { initialMs: 200, maxMs: 2_000 },
        lag: { intervalMs: 500 },
        ...extra,
      });
      if (buses.length === 0) await bus.ensureTopics();
      buses.push(bus);
      return bus;
    },
    async close() {
      await Promise.allSettled(buses.map((b) => b.close()));
    },
  };
}

busContract('kafka', async (t) => {
  const brokers = brokersOrSkip(t);
  return brokers ? kafkaFixture(brokers) : undefined;
});

const sum = async (metrics: Metrics, name: string, labels: Record<string, string> = {}) => {
  const m = (await metrics.registry.getMetricsAsJSON()).find((x) => x.name === name);
  return (m?.values ?? []).filter((v) => Object.entries(labels).every(([k, want]) => String(v.labels[k]) === want)).reduce((s, v) => s + v.value, 0);
};

describe('Kafka bus: restarts, broker refusals and lag', { timeout: 180_000 }, () => {
  it('restarts a consumer whose handler kept failing past its in-place retries, and then handles the batch', async (t) => {
    const brokers = brokersOrSkip(t);
    if (!brokers) return;
    const fx = await kafkaFixture(brokers);
    try {
      const bus = await fx.bus();
      const states = new Set<string>();
      let failures = 0;
      let firstFailureAt = 0;
      let handledAt = 0;
      await bus.subscribe({
        group: 'crashy',
        topics: [topics.reports.name],
        eachBatch: async () => {
          if (failures < 6) {
            failures++;
            firstFailureAt ||= Date.now();
            throw new Error('disk full');
          }
          handledAt ||= Date.now();
        },
      });
      const watch = setInterval(() => states.add(bus.health().reason?.match(/"crashy" (\w+)/)?.[1] ?? 'ok'), 20);
      await bus.publish(topics.reports.name, [{ key: 'k', value: 'm0' }]);
      await until(() => handledAt > 0 && bus.health().ok, fx.timeoutMs, () => `failures ${failures}, health ${JSON.stringify(bus.health())}`);
      clearInterval(watch);
      const restarts = await sum(fx.metrics, 'outage_consumer_restarts_total', { group: 'crashy' });
      console.log(`handler failed ${failures} times; consumer restarted ${restarts} time(s); states seen: ${[...states].join(', ')}; batch handled ${handledAt - firstFailureAt} ms after the first failure`);
      assert.ok(restarts >= 1, 'the consumer was restarted');
      assert.ok(states.has('failing') && states.has('restarting'), [...states].join());
      assert.equal(await sum(fx.metrics, 'outage_consumer_up', { group: 'crashy' }), 1);
    } finally {
      await fx.close();
    }
  });

  it('splits a request the broker refuses for one record: that record is dead-lettered, the others delivered, nothing retried', async (t) => {
    const brokers = brokersOrSkip(t);
    if (!brokers) return;
    // The bus's own limit above the topic's, so the broker is the one that refuses.
    const fx = await kafkaFixture(brokers, { maxMessageBytes: 10_000_000 });
    const a = admin(brokers);
    await a.connect();
    try {
      // The topic made with a 20 KB record limit before the bus creates the others (a limit
      // altered later takes effect on the broker a moment after the call returns).
      await a.createTopics({
        waitForLeaders: true,
        topics: [{ topic: fx.prefix + topics.reports.name, numPartitions: 1, configEntries: [{ name: 'max.message.bytes', value: '20000' }] }],
      });
      const bus = await fx.bus();
      const got: string[] = [];
      const letters: DeadLetter[] = [];
      await bus.subscribe({ group: 'reader', topics: [topics.reports.name], eachBatch: async (b) => void got.push(...b.map(text)) });
      await bus.subscribe({ group: 'dlq-reader', topics: [topics.dlq.name], eachBatch: async (b) => void letters.push(...b.map((m) => JSON.parse(text(m)) as DeadLetter)) });
      const small = Array.from({ length: 10 }, (_, i) => ({ key: 'k', value: `small-${i}` }));
      const large = { key: 'k', value: 'L'.repeat(30_000) };
      const started = Date.now();
      await bus.publish(topics.reports.name, [...small.slice(0, 5), large, ...small.slice(5)]);
      const publishMs = Date.now() - started;
      await until(() => got.length >= 10 && letters.length >= 1, fx.timeoutMs, () => `${got.length} delivered, ${letters.length} dead letters`);
      console.log(`publish of 11 records with one refused by the broker took ${publishMs} ms; ${got.length} delivered, ${letters.length} dead letter (${letters[0]?.detail})`);
      assert.deepEqual(got, small.map((m) => m.value));
      assert.equal(letters.length, 1);
      assert.equal(letters[0]!.reason, 'oversized');
      assert.match(letters[0]!.detail, /MESSAGE_TOO_LARGE|RECORD_LIST_TOO_LARGE/);
      assert.equal(letters[0]!.sizeBytes, 30_000);
      assert.equal(await sum(fx.metrics, 'outage_produce_retries_total'), 0, 'a refusal is not retried');
      assert.deepEqual(bus.health(), { ok: true });
    } finally {
      await a.disconnect();
      await fx.close();
    }
  });

  it("reads the lag from the broker: a stuck consumer's lag shows, its health fails, and both recover", async (t) => {
    const brokers = brokersOrSkip(t);
    if (!brokers) return;
    const fx = await kafkaFixture(brokers, { lag: { intervalMs: 250, stallMs: 1_500, growthMs: 60_000 } });
    try {
      const bus: Bus = await fx.bus();
      let release!: () => void;
      const gate = new Promise<void>((r) => (release = r));
      let handled = 0;
      await bus.subscribe({
        group: 'stuck',
        topics: [topics.reports.name],
        eachBatch: async (b) => {
          await gate;
          handled += b.length;
        },
      });
      await bus.publish(topics.reports.name, Array.from({ length: 40 }, (_, i) => ({ key: `k${i % 4}`, value: `m${i}` })));
      const started = Date.now();
      await until(() => !bus.health().ok, 10_000, () => JSON.stringify(bus.health()));
      const lag = await sum(fx.metrics, 'outage_consumer_lag_messages', { group: 'stuck' });
      console.log(`stuck consumer: health failed after ${Date.now() - started} ms ("${bus.health().reason}"), lag ${lag}`);
      assert.match(bus.health().reason ?? '', /"stuck": no commit for \d+ s while \d+ messages wait/);
      assert.equal(lag, 40);
      release();
      await until(() => bus.health().ok, fx.timeoutMs, () => JSON.stringify(bus.health()));
      await until(() => handled >= 40, fx.timeoutMs, () => `${handled} handled`);
      await bus.drain();
      assert.equal(await sum(fx.metrics, 'outage_consumer_lag_messages', { group: 'stuck' }), 0);
    } finally {
      await fx.close();
    }
  });
});

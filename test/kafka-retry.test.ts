/**
 * A producer that cannot reach the broker retries with backoff, logs each retry and counts it,
 * then fails the publish (so the caller's batch is redelivered) instead of dropping messages.
 */
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { describe, it } from 'node:test';
import { pino } from 'pino';
import { topics } from '../schemas/topics.ts';
import { KafkaBus } from '../lib/bus/kafka-bus.ts';
import { createMetrics } from '../lib/metrics.ts';
import { freePort } from './helpers/kafka.ts';

describe('Kafka producer without a broker', () => {
  it('retries with backoff, says so in the log and metrics, then fails the publish', async () => {
    const port = await freePort(); // nothing listens there
    const lines: { msg: string; attempt?: number; delayMs?: number }[] = [];
    const sink = new Writable({ write: (chunk, _e, cb) => (lines.push(JSON.parse(String(chunk))), cb()) });
    const metrics = createMetrics();
    const bus = new KafkaBus({
      brokers: [`127.0.0.1:${port}`],
      clientId: 'retry-test',
      logger: pino({ level: 'warn' }, sink),
      metrics,
      clientRetry: { retries: 1, initialRetryTime: 10 },
      publishRetry: { retries: 3, initialMs: 20, maxMs: 40 },
    });
    await assert.rejects(bus.publish(topics.reports.name, [{ key: 'teams', value: '{}' }]), /connect|ECONNREFUSED|Connection/i);
    const retries = lines.filter((l) => l.msg === 'publish failed, retrying');
    assert.deepEqual(retries.map((l) => l.attempt), [1, 2, 3]);
    assert.ok(retries.every((l) => typeof l.delayMs === 'number' && l.delayMs <= 40));
    const counted = (await metrics.produceRetries.get()).values.reduce((s, v) => s + v.value, 0);
    assert.equal(counted, 3);
    await bus.close();
  });
});

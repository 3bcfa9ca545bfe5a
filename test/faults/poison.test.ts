/**
 * Fault suite: poison of every kind mixed into the input topics while the Teams example is
 * published through the suite's broker to the correlator and sink processes. Every poison record
 * becomes one dead letter (by the sha256 of its bytes), every valid event is stored once, the
 * incidents are the embedded replay's, and nothing stops.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { CompressionTypes, Kafka, logLevel } from 'kafkajs';
import { topics } from '../../schemas/topics.ts';
import { brokersOrSkip, metric } from '../helpers/kafka.ts';
import { EXAMPLE, FaultRun, embeddedIncidents, judge, readInputs, splitScenario, summary, type IncidentView, type Poison } from './harness.ts';

const tmp = mkdtempSync(join(tmpdir(), 'outage-faults-poison-'));
after(() => rmSync(tmp, { recursive: true, force: true }));
const inputs = readInputs(EXAMPLE);
let reference: IncidentView[] = [];

const report = (id: string, extra: string) => `{"id":"${id}","ts":"2020-02-03T13:45:00Z","service":"teams","channel":"web"${extra}}`;
const bytes = (id: string, n: number) => {
  const head = `{"id":"${id}","ts":"2020-02-03T13:45:00Z","service":"teams","channel":"web","text":"`;
  return Buffer.from(head + 'x'.repeat(n - head.length - 2) + '"}');
};

/** One of each kind; the reason is what the dead letter must say. */
const POISON: Poison[] = [
  { name: 'malformed JSON', topic: 'reports', value: Buffer.from('{"id":"cut","ts":"2020-02-03T13:4'), reason: 'malformed_json' },
  { name: 'not an object', topic: 'probes', value: Buffer.from('[1,2,3]'), reason: 'not_an_object' },
  { name: 'schema violation', topic: 'posts', value: Buffer.from('{"id":"post-without-account","ts":"2020-02-03T14:00:00Z","service":"teams","text":"down"}'), reason: 'schema_violation' },
  {
    name: 'invalid UTF-8',
    topic: 'reports',
    value: Buffer.concat([Buffer.from(report('bad-utf8', ',"text":"').slice(0, -1)), Buffer.from([0xc3, 0x28, 0xff]), Buffer.from('"}')]),
    reason: 'invalid_utf8',
  },
  { name: '10,000-deep nesting', topic: 'reports', value: Buffer.from(report('deep', `,"x":${'['.repeat(10_000)}${']'.repeat(10_000)}`)), reason: 'too_deep' },
  {
    name: '1e309',
    topic: 'probes',
    value: Buffer.from('{"id":"p-inf","ts":"2020-02-03T13:45:00Z","probe":"p","service":"teams","target":"https://teams.microsoft.com","region":"eu","ok":true,"durationMs":1e309}'),
    reason: 'out_of_range',
  },
  { name: 'year 0000', topic: 'reports', value: Buffer.from('{"id":"year-zero","ts":"0000-01-01T00:00:00Z","service":"teams","channel":"web"}'), reason: 'out_of_range' },
  { name: '900 KB record', topic: 'reports', value: bytes('poison-900k', 900 * 1024), reason: 'schema_violation' },
  { name: '2 MB record', topic: 'reports', value: bytes('poison-2m', 2 * 1024 * 1024), reason: 'oversized' },
];

describe('faults: poison of every kind in the input topics', { timeout: 240_000 }, () => {
  before(async () => {
    if (process.env.TEST_KAFKA_BROKERS) reference = await embeddedIncidents(EXAMPLE, join(tmp, 'embedded'));
  });

  it('one dead letter per poison record, every valid event stored once, the embedded replay’s incidents, nothing stops', async (t) => {
    const brokers = brokersOrSkip(t);
    if (!brokers) return;
    const run = new FaultRun(brokers, tmp, 'poison');
    const producer = new Kafka({ brokers, logLevel: logLevel.NOTHING }).producer();
    try {
      // The poison goes in between the two halves of the example, in the middle of the incident.
      const { a, b } = splitScenario(inputs, '2020-02-03T14:30:00Z', join(tmp, 'split'));
      const correlator = await run.start('correlator');
      const sink = await run.start('sink');
      await producer.connect();
      await run.publish(a);
      // Each record in its own request (900 KB and 2 MB together pass the broker's request limit);
      // the 2 MB one compressed, as a producer with compression would send it.
      for (const p of POISON) {
        await producer.send({
          topic: run.prefix + topics[p.topic].name,
          ...(p.value.length > 1_000_000 ? { compression: CompressionTypes.GZIP } : {}),
          messages: [{ key: 'teams', value: p.value }],
        });
      }
      const sentAt = performance.now();
      await run.publish(b);
      await run.waitCaughtUp();
      const caughtUpMs = performance.now() - sentAt;
      for (const s of [correlator, sink]) {
        assert.equal(s.proc.exitCode, null, `${s.name} exited`);
        assert.equal((await fetch(`http://127.0.0.1:${s.port}/readyz`)).status, 200, `${s.name} ready`);
      }
      const refused = await metric(correlator.port, 'outage_messages_refused_total', { group: 'correlator' });
      const lettered = await metric(sink.port, 'outage_dead_letters_total');
      const stored = await run.finish();
      console.log(
        `poison: ${POISON.length} records (${POISON.map((p) => p.name).join(', ')}); the correlator refused ${refused}, the sink dead-lettered ${lettered}; ` +
          `caught up ${(caughtUpMs / 1000).toFixed(1)} s after the last poison; stored: ${summary(stored)}`,
      );
      assert.equal(refused, POISON.length);
      assert.equal(lettered, POISON.length);
      run.expectRight(judge(stored, inputs, reference, POISON, 11));
    } finally {
      await producer.disconnect().catch(() => undefined);
      await run.close();
    }
  });
});

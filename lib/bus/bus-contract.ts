/**
 * The one contract both bus adapters are held to (the memory bus in `memory-bus.test.ts`, the
 * Kafka adapter on the suite's real broker in `test/kafka-bus.test.ts`): what the services may
 * rely on, whichever bus runs under them.
 *
 * @example
 * busContract('memory', async () => { const bus = new MemoryBus(); return { bus: async () => bus, timeoutMs: 5_000, close: () => bus.close() }; });
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { describe, it, type TestContext } from 'node:test';
import type { DeadLetter } from '../../schemas/contracts.ts';
import { topics } from '../../schemas/topics.ts';
import type { Bus, BusMessage, StatefulSubscription, TopicPartition } from './bus.ts';
import { DEAD_LETTER_VALUE_BYTES, decodeBatch, publishDeadLetters } from './dead-letters.ts';

export interface BusFixture {
  /**
   * A bus attached to the same log or broker as the fixture's other buses: another process on
   * Kafka (its own consumers, the same groups), the same in-process bus for the memory adapter.
   */
  bus(): Promise<Bus>;
  /** How long a delivery may take (group joins and fetch waits on Kafka). */
  readonly timeoutMs: number;
  /**
   * Whether each `bus()` is an instance of its own whose partitions move to the others when it
   * closes (Kafka). Unset: one process (the memory bus), where a stateful handler's state never
   * moves, so nothing is rebuilt.
   */
  readonly partitioned?: boolean;
  /** Closes every bus the fixture made. */
  close(): Promise<void>;
}

/** Makes a fresh, isolated fixture for one test; undefined skips it (no broker outside CI). */
export type BusFactory = (t: TestContext) => Promise<BusFixture | undefined>;

/** Polls `check` every 20 ms until it holds. */
export async function until(check: () => boolean, timeoutMs: number, what: () => string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms: ${what()}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** A stateful subscription's hooks, recording every call; `from` answers `rebuildFrom`. */
function recordingState(from?: (tp: TopicPartition) => string | undefined) {
  const calls = { rebuildFrom: [] as TopicPartition[], assigned: [] as TopicPartition[], live: [] as TopicPartition[], revoked: [] as TopicPartition[], committed: 0 };
  const hooks: StatefulSubscription = {
    rebuildFrom: (tp) => (calls.rebuildFrom.push(tp), from?.(tp)),
    assigned: (tps) => void calls.assigned.push(...tps),
    live: (tp) => void calls.live.push(tp),
    revoked: (tps) => void calls.revoked.push(...tps),
    committed: async () => void calls.committed++,
  };
  return { calls, hooks };
}

const text = (m: BusMessage) => Buffer.from(typeof m.value === 'string' ? Buffer.from(m.value) : m.value).toString('utf8');
const report = (id: string, service = 'svc-a') => JSON.stringify({ id, ts: '2020-02-03T13:40:00Z', service, channel: 'web' });

/** Runs `body` with a fixture and closes it afterwards, whatever happens. */
async function withFixture(t: TestContext, make: BusFactory, body: (fx: BusFixture) => Promise<void>): Promise<void> {
  const fx = await make(t);
  if (!fx) return;
  try {
    await body(fx);
  } finally {
    await fx.close();
  }
}

export function busContract(name: string, make: BusFactory): void {
  describe(`bus contract: ${name}`, () => {
    it("delivers each key's messages in publish order, in batches of the subscribed topics only, tagged with the group", async (t) => {
      await withFixture(t, make, async (fx) => {
        const bus = await fx.bus();
        const got: BusMessage[] = [];
        const batches: (readonly BusMessage[])[] = [];
        await bus.subscribe({ group: 'ordered', topics: [topics.reports.name], eachBatch: async (b) => void (batches.push(b), got.push(...b)) });
        const keys = ['svc-a', 'svc-b', 'svc-c'];
        for (let round = 0; round < 3; round++) {
          await bus.publish(topics.probes.name, [{ key: 'svc-a', value: `probe-${round}` }]);
          await bus.publish(
            topics.reports.name,
            Array.from({ length: 30 }, (_, i) => ({ key: keys[i % 3]!, value: `${keys[i % 3]}-${round * 10 + Math.floor(i / 3)}` })),
          );
        }
        await until(() => got.length >= 90, fx.timeoutMs, () => `${got.length} of 90 delivered`);
        for (const key of keys) {
          const seen = got.filter((m) => m.key === key).map(text);
          assert.deepEqual(seen, Array.from({ length: 30 }, (_, i) => `${key}-${i}`), `order of key ${key}`);
        }
        assert.ok(batches.every((b) => b.length > 0 && b.every((m) => m.topic === topics.reports.name && m.group === 'ordered' && typeof m.offset === 'string')));
        assert.deepEqual(bus.health(), { ok: true });
      });
    });

    it('publishBatch delivers several topics in one call, in order within each topic', async (t) => {
      await withFixture(t, make, async (fx) => {
        const bus = await fx.bus();
        const got: BusMessage[] = [];
        await bus.subscribe({ group: 'both', topics: [topics.reports.name, topics.probes.name], eachBatch: async (b) => void got.push(...b) });
        await bus.publishBatch([
          { topic: topics.reports.name, messages: [{ key: 'k', value: 'a0' }, { key: 'k', value: 'a1' }] },
          { topic: topics.probes.name, messages: [{ key: 'k', value: 'p0' }] },
          { topic: topics.reports.name, messages: [{ key: 'k', value: 'a2' }] },
        ]);
        await until(() => got.length >= 4, fx.timeoutMs, () => `${got.length} of 4 delivered`);
        assert.deepEqual(got.filter((m) => m.topic === topics.reports.name).map(text), ['a0', 'a1', 'a2']);
        assert.deepEqual(got.filter((m) => m.topic === topics.probes.name).map(text), ['p0']);
      });
    });

    it('hands a batch whose handler threw to the handler again, and health says why until a batch succeeds', async (t) => {
      await withFixture(t, make, async (fx) => {
        const bus = await fx.bus();
        const deliveries: string[][] = [];
        let healthOnRedelivery: ReturnType<Bus['health']> | undefined;
        await bus.subscribe({
          group: 'flaky',
          topics: [topics.reports.name],
          eachBatch: async (batch) => {
            deliveries.push(batch.map(text));
            if (deliveries.length === 2) healthOnRedelivery = bus.health();
            if (deliveries.length <= 2) throw new Error('store down');
          },
        });
        await bus.publish(topics.reports.name, [0, 1, 2].map((i) => ({ key: 'k', value: `m${i}` })));
        await until(() => deliveries.flat().filter((v) => v === 'm2').length >= 3, fx.timeoutMs, () => `deliveries: ${JSON.stringify(deliveries)}`);
        // Every attempt starts where the failed one did: nothing was skipped or committed.
        for (const d of deliveries) assert.equal(d[0], 'm0', JSON.stringify(deliveries));
        assert.equal(healthOnRedelivery?.ok, false);
        assert.match(healthOnRedelivery?.reason ?? '', /flaky.*store down/);
        await until(() => bus.health().ok, fx.timeoutMs, () => `health: ${JSON.stringify(bus.health())}`);
      });
    });

    it('reads broadcast topics in full in every instance, and shares the other topics within the group by key', async (t) => {
      await withFixture(t, make, async (fx) => {
        const instances = [await fx.bus(), await fx.bus()];
        const seen = instances.map(() => ({ certs: [] as string[], probes: [] as BusMessage[] }));
        for (const [i, bus] of instances.entries()) {
          await bus.subscribe({
            group: 'correlator',
            topics: [topics.probes.name],
            broadcastTopics: [topics.certs.name],
            eachBatch: async (batch) => {
              for (const m of batch) {
                if (m.topic === topics.certs.name) seen[i]!.certs.push(text(m));
                else seen[i]!.probes.push(m);
              }
            },
          });
        }
        const publisher = instances[0]!;
        await publisher.publish(topics.certs.name, Array.from({ length: 10 }, (_, i) => ({ key: `cert-${i}`, value: `cert-${i}` })));
        const keys = Array.from({ length: 12 }, (_, i) => `service-${i}`);
        await publisher.publish(topics.probes.name, Array.from({ length: 60 }, (_, i) => ({ key: keys[i % 12]!, value: `probe-${i}` })));
        const probes = () => seen.flatMap((s) => s.probes);
        await until(() => seen.every((s) => s.certs.length >= 10) && new Set(probes().map(text)).size >= 60, fx.timeoutMs, () => JSON.stringify(seen.map((s) => [s.certs.length, s.probes.length])));
        for (const s of seen) assert.deepEqual([...new Set(s.certs)].sort(), Array.from({ length: 10 }, (_, i) => `cert-${i}`).sort());
        // Each key is handled by one instance of the group.
        for (const key of keys) assert.equal(seen.filter((s) => s.probes.some((m) => m.key === key)).length, 1, `key ${key} went to both instances`);
      });
    });

    it('drain() resolves once every subscriber has handled everything published before it', async (t) => {
      await withFixture(t, make, async (fx) => {
        const bus = await fx.bus();
        let handled = 0;
        await bus.subscribe({
          group: 'slow',
          topics: [topics.reports.name],
          eachBatch: async (batch) => {
            await new Promise((r) => setTimeout(r, 20));
            handled += batch.length;
          },
        });
        await bus.publish(topics.reports.name, Array.from({ length: 50 }, (_, i) => ({ key: `k${i % 5}`, value: `m${i}` })));
        await bus.drain();
        assert.equal(handled, 50);
      });
    });

    it('close() refuses further publishes and reports the bus as closed', async (t) => {
      await withFixture(t, make, async (fx) => {
        const bus = await fx.bus();
        const got: string[] = [];
        await bus.subscribe({ group: 'closing', topics: [topics.reports.name], eachBatch: async (b) => void got.push(...b.map(text)) });
        await bus.publish(topics.reports.name, [{ key: 'k', value: 'before' }]);
        await until(() => got.length === 1, fx.timeoutMs, () => `${got.length} delivered`);
        await bus.close();
        await assert.rejects(bus.publish(topics.reports.name, [{ key: 'k', value: 'after' }]), /closed/);
        assert.equal(bus.health().ok, false);
        assert.match(bus.health().reason ?? '', /closed/);
      });
    });

    it('turns a message over the bus limit into one bounded dead letter, and delivers the rest of the batch', async (t) => {
      await withFixture(t, make, async (fx) => {
        const bus = await fx.bus();
        const got: string[] = [];
        const letters: { letter: DeadLetter; bytes: number }[] = [];
        await bus.subscribe({ group: 'reader', topics: [topics.reports.name], eachBatch: async (b) => void got.push(...b.map(text)) });
        await bus.subscribe({
          group: 'dlq-reader',
          topics: [topics.dlq.name],
          eachBatch: async (b) => void letters.push(...b.map((m) => ({ letter: JSON.parse(text(m)) as DeadLetter, bytes: Buffer.byteLength(text(m)) }))),
        });
        const big = `{"id":"big","text":"${'x'.repeat(2 * 1024 * 1024)}"}`;
        await bus.publish(topics.reports.name, [
          { key: 'k', value: 'small-0' },
          { key: 'k', value: big },
          { key: 'k', value: 'small-1' },
        ]);
        await until(() => got.length >= 2 && letters.length >= 1, fx.timeoutMs, () => `${got.length} delivered, ${letters.length} dead letters`);
        assert.deepEqual(got, ['small-0', 'small-1']);
        assert.equal(letters.length, 1);
        const [{ letter, bytes }] = letters as [(typeof letters)[0]];
        assert.equal(letter.topic, topics.reports.name);
        assert.equal(letter.reason, 'oversized');
        assert.equal(letter.sizeBytes, Buffer.byteLength(big));
        assert.equal(letter.sha256, createHash('sha256').update(big).digest('hex'));
        assert.equal(letter.truncated, true);
        assert.equal(Buffer.from(letter.valueBase64, 'base64').toString('utf8'), big.slice(0, DEAD_LETTER_VALUE_BYTES));
        assert.ok(bytes < 100_000, `a dead letter of ${bytes} bytes`);
      });
    });

    it('a stateful subscription gets every message once, none flagged replayed, and loses nothing while its instance keeps its partitions', async (t) => {
      await withFixture(t, make, async (fx) => {
        const bus = await fx.bus();
        const got: BusMessage[] = [];
        const { calls, hooks } = recordingState();
        await bus.subscribe({ group: 'stateful-one', topics: [topics.reports.name], stateful: hooks, eachBatch: async (b) => void got.push(...b) });
        await bus.publish(topics.reports.name, Array.from({ length: 40 }, (_, i) => ({ key: `k${i % 4}`, value: `m${i}` })));
        await until(() => got.length >= 40, fx.timeoutMs, () => `${got.length} of 40 delivered`);
        await bus.drain();
        assert.deepEqual(got.map(text).sort(), Array.from({ length: 40 }, (_, i) => `m${i}`).sort());
        assert.ok(got.every((m) => !m.replayed));
        assert.deepEqual(calls.revoked, []);
        // Kafka asks where to rebuild each partition it was assigned (nothing committed yet: nothing replayed).
        assert.ok(calls.rebuildFrom.every((tp) => tp.topic === topics.reports.name));
        if (fx.partitioned) {
          assert.equal(new Set(got.map((m) => m.partition)).size > 0 && got.every((m) => typeof m.partition === 'number'), true);
          await until(() => calls.committed > 0, fx.timeoutMs, () => 'committed offsets never reported');
        }
      });
    });

    it('moves a stateful partition with its state: the new holder re-reads it from rebuildFrom, flagged replayed below what the group committed; the old one is told', async (t) => {
      await withFixture(t, make, async (fx) => {
        if (!fx.partitioned) {
          t.diagnostic('one process: a stateful handler keeps its state as long as the bus, nothing is rebuilt or revoked');
          return;
        }
        const first = await fx.bus();
        const one = recordingState();
        const gotFirst: BusMessage[] = [];
        await first.subscribe({ group: 'stateful-move', topics: [topics.reports.name], stateful: one.hooks, eachBatch: async (b) => void gotFirst.push(...b) });
        await first.publish(topics.reports.name, Array.from({ length: 20 }, (_, i) => ({ key: 'svc-a', value: `m${i}` })));
        await until(() => gotFirst.length >= 20, fx.timeoutMs, () => `${gotFirst.length} of 20 delivered`);
        await first.drain();
        const partition = gotFirst[0]!.partition!;
        const offsets = gotFirst.map((m) => Number(m.offset));
        // A second instance joins: the partitions handed to it are revoked from the first.
        const second = await fx.bus();
        const two = recordingState((tp) => (tp.partition === partition ? String(offsets[5]) : undefined));
        const gotSecond: BusMessage[] = [];
        await second.subscribe({ group: 'stateful-move', topics: [topics.reports.name], stateful: two.hooks, eachBatch: async (b) => void gotSecond.push(...b) });
        await until(() => two.calls.assigned.length > 0 && one.calls.revoked.length > 0, fx.timeoutMs, () => `assigned ${JSON.stringify(two.calls.assigned)}, revoked ${JSON.stringify(one.calls.revoked)}`);
        const key = (tp: TopicPartition) => `${tp.topic}|${tp.partition}`;
        assert.deepEqual(one.calls.revoked.map(key).sort(), two.calls.assigned.map(key).sort());
        // The first instance leaves: the second takes every partition; the one holding the data is re-read from offset 5.
        await first.close();
        await until(() => gotSecond.length >= 15, fx.timeoutMs, () => `${gotSecond.length} of 15 replayed`);
        const replay = gotSecond.filter((m) => m.partition === partition);
        assert.deepEqual(replay.map(text), Array.from({ length: 15 }, (_, i) => `m${i + 5}`));
        assert.ok(replay.every((m) => m.replayed === true), 'messages the group had committed come flagged replayed');
        assert.ok(two.calls.live.some((tp) => tp.partition === partition));
        // What follows is new.
        await second.publish(topics.reports.name, [{ key: 'svc-a', value: 'fresh' }]);
        await until(() => gotSecond.some((m) => text(m) === 'fresh'), fx.timeoutMs, () => 'fresh message not delivered');
        assert.equal(gotSecond.find((m) => text(m) === 'fresh')!.replayed, undefined);
        assert.equal(gotSecond.filter((m) => text(m) === 'm5').length, 1, 'replayed once');
      });
    });

    it("dead-letters an undecodable message once, from the topic's owning group, while every group counts it", async (t) => {
      await withFixture(t, make, async (fx) => {
        const bus = await fx.bus();
        const handled = new Map<string, number>();
        const refused = new Map<string, number>();
        for (const group of [topics.reports.deadLetteredBy, 'correlator']) {
          await bus.subscribe({
            group,
            topics: [topics.reports.name],
            eachBatch: async (batch) => {
              const decoded = decodeBatch(batch, Date.now());
              refused.set(group, (refused.get(group) ?? 0) + decoded.refused.length);
              await publishDeadLetters(bus, decoded.dead);
              handled.set(group, (handled.get(group) ?? 0) + batch.length);
            },
          });
        }
        const letters: DeadLetter[] = [];
        await bus.subscribe({ group: 'dlq-reader', topics: [topics.dlq.name], eachBatch: async (b) => void letters.push(...b.map((m) => JSON.parse(text(m)) as DeadLetter)) });
        await bus.publish(topics.reports.name, [
          { key: 'svc-a', value: report('r1') },
          { key: 'svc-a', value: '{"id": "cut' },
          { key: 'svc-a', value: report('r2') },
        ]);
        await until(() => handled.get('sink') === 3 && handled.get('correlator') === 3, fx.timeoutMs, () => JSON.stringify([...handled]));
        await bus.drain();
        assert.deepEqual(Object.fromEntries(refused), { sink: 1, correlator: 1 });
        assert.equal(letters.length, 1, JSON.stringify(letters));
        assert.equal(letters[0]!.reason, 'malformed_json');
        assert.equal(Buffer.from(letters[0]!.valueBase64, 'base64').toString('utf8'), '{"id": "cut');
        assert.equal(letters[0]!.truncated, false);
      });
    });
  });
}

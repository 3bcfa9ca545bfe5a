import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { topics } from '../../schemas/topics.ts';
import type { BusMessage } from './bus.ts';
import { busContract } from './bus-contract.ts';
import { MemoryBus } from './memory-bus.ts';

const msgs = (n: number, tag: string) => Array.from({ length: n }, (_, i) => ({ key: 'k', value: `${tag}${i}` }));

describe('memory bus', () => {
  it('gives each group every message of its topics, in publish order across topics', async () => {
    const bus = new MemoryBus({ maxBatch: 3 });
    const a: string[] = [];
    const b: string[] = [];
    await bus.subscribe({ group: 'a', topics: [topics.reports.name, topics.probes.name], eachBatch: async (batch) => void a.push(...batch.map((m) => String(m.value))) });
    await bus.subscribe({ group: 'b', topics: [topics.probes.name], eachBatch: async (batch) => void b.push(...batch.map((m) => String(m.value))) });
    await bus.publish(topics.reports.name, msgs(4, 'r'));
    await bus.publish(topics.probes.name, msgs(2, 'p'));
    await bus.publish(topics.reports.name, msgs(1, 'x'));
    await bus.drain();
    assert.deepEqual(a, ['r0', 'r1', 'r2', 'r3', 'p0', 'p1', 'x0']);
    assert.deepEqual(b, ['p0', 'p1']);
  });

  it('holds a producer back while a slow group lags, so memory stays bounded', async () => {
    const bus = new MemoryBus({ maxBatch: 10, highWater: 20 });
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    let seen = 0;
    await bus.subscribe({ group: 'slow', topics: [topics.reports.name], eachBatch: async (batch) => { await gate; seen += batch.length; } });
    await bus.publish(topics.reports.name, msgs(50, 'r'));
    let passed = false;
    const waiting = bus.backpressure().then(() => (passed = true));
    await new Promise((r) => setImmediate(r));
    assert.equal(passed, false);
    release();
    await waiting;
    await bus.drain();
    assert.equal(seen, 50);
  });

  it('lets a handler publish into a topic its own group reads without deadlock', async () => {
    const bus = new MemoryBus();
    const got: BusMessage[] = [];
    await bus.subscribe({
      group: 'loop',
      topics: [topics.reports.name, topics.incidents.name],
      eachBatch: async (batch) => {
        got.push(...batch);
        const reports = batch.filter((m) => m.topic === topics.reports.name);
        if (reports.length > 0) await bus.publish(topics.incidents.name, reports.map((m) => ({ key: m.key, value: `inc-${m.value}` })));
      },
    });
    await bus.publish(topics.reports.name, msgs(3, 'r'));
    await bus.drain();
    assert.deepEqual(got.map((m) => m.value), ['r0', 'r1', 'r2', 'inc-r0', 'inc-r1', 'inc-r2']);
  });

  it('surfaces a failing handler in drain() and publish() instead of losing messages silently', async () => {
    const bus = new MemoryBus();
    await bus.subscribe({ group: 'broken', topics: [topics.reports.name], eachBatch: async () => { throw new Error('disk full'); } });
    await bus.publish(topics.reports.name, msgs(1, 'r'));
    await assert.rejects(bus.drain(), /consumer group "broken" failed: disk full/);
    await assert.rejects(bus.publish(topics.reports.name, msgs(1, 'r')), /disk full/);
  });
});

describe('memory bus: dead-letter ownership in one process', () => {
  it("lets the first group reading a topic dead-letter its bad records when the topic's owner does not run here", async () => {
    const bus = new MemoryBus();
    const owners: Record<string, boolean[]> = { notifier: [], annotator: [] };
    for (const group of ['notifier', 'annotator']) {
      await bus.subscribe({ group, topics: [topics.incidents.name], eachBatch: async (b) => void owners[group]!.push(...b.map((m) => m.deadLetterOwner === true)) });
    }
    await bus.publish(topics.incidents.name, msgs(2, 'i'));
    await bus.drain();
    assert.deepEqual(owners, { notifier: [true, true], annotator: [false, false] });
    // Once the owner (the sink) reads the topic too, it alone dead-letters.
    const sink: boolean[] = [];
    await bus.subscribe({ group: 'sink', topics: [topics.incidents.name], eachBatch: async (b) => void sink.push(...b.map((m) => m.deadLetterOwner === true)) });
    await bus.publish(topics.incidents.name, msgs(1, 'j'));
    await bus.drain();
    assert.deepEqual(owners, { notifier: [true, true, false], annotator: [false, false, false] });
    assert.deepEqual(sink.slice(-1), [true]);
  });
});

busContract('memory bus', async () => {
  const bus = new MemoryBus({ redelivery: { initialMs: 5, maxMs: 20 } });
  return { bus: async () => bus, timeoutMs: 5_000, close: () => bus.close() };
});

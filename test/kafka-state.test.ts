/**
 * Correlator state that survives, on the suite's real broker with the correlator as a real
 * process: SIGKILL and restart (before the onset and while the incident is open), a second
 * instance killed so the survivor takes its partitions, and a long history of which only the
 * horizon is read again. The input is fed in event-time order by this process and held at chosen
 * event times, so each kill happens at a known point of the stream; every run ends with the same
 * incidents as the embedded replay (ids, detection, resolution, first hint). Each prints its
 * recovery time: from the kill to the (restarted or surviving) instance having rebuilt every
 * partition it took and committed the end of its input.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { Kafka, logLevel, type Admin } from 'kafkajs';
import type { Bus, TopicBatch } from '../lib/bus/bus.ts';
import { KafkaBus } from '../lib/bus/kafka-bus.ts';
import { createLogger } from '../lib/log.ts';
import { feedScenario } from '../lib/scenario/feed.ts';
import type { Checkpoint, Incident } from '../schemas/contracts.ts';
import { topics } from '../schemas/topics.ts';
import { admin, brokersOrSkip, caughtUp, cli, metric, startService, stopService, topicNames, uniquePrefix, waitFor, type ServiceProcess } from './helpers/kafka.ts';

const EXAMPLE = 'examples/teams-2020-02-03';
const tmp = mkdtempSync(join(tmpdir(), 'outage-kafka-state-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

const INPUTS = ['reports', 'posts', 'probes'] as const;

/** What must survive: the incidents' identity, timing and first hint. */
const view = (i: Incident) => ({
  id: i.id,
  status: i.status,
  detectedAt: i.detectedAt,
  resolvedAt: i.resolvedAt,
  firstHint: i.hints[0] ? [i.hints[0].kind, i.hints[0].certSha256 ?? ''] : [],
});

const embeddedCache = new Map<string, Promise<Incident[]>>();
function embedded(dir: string): Promise<Incident[]> {
  let p = embeddedCache.get(dir);
  if (!p) {
    p = cli(['replay', dir, '--format', 'ndjson', '--data-dir', join(tmp, `embedded-${embeddedCache.size}`)]).then((out) =>
      out
        .trim()
        .split('\n')
        .filter(Boolean)
        .map((l) => JSON.parse(l) as Incident),
    );
    embeddedCache.set(dir, p);
  }
  return p;
}

/**
 * Feeds a scenario directory to Kafka in event-time order, holding every message stamped after
 * the current limit until `until()` raises it. Resolves `done` when everything is published.
 */
function gatedFeed(brokers: string[], prefix: string, dir: string) {
  const bus = new KafkaBus({ brokers, clientId: 'test-feed', logger: createLogger('feed', 'silent'), topicPrefix: prefix });
  let limit = -Infinity;
  let waiters: (() => void)[] = [];
  /** The event time the feed is held at (a message past the limit), once everything before it is out. */
  let heldAt: number | undefined;
  const gated: Bus = Object.assign(Object.create(bus) as KafkaBus, {
    publish: (topic: TopicBatch['topic'], messages: TopicBatch['messages']) => gated.publishBatch([{ topic, messages }]),
    publishBatch: async (batches: readonly TopicBatch[]) => {
      let chunk: TopicBatch[] = [];
      for (const b of batches) {
        let run: TopicBatch['messages'][number][] = [];
        for (const m of b.messages) {
          const ts = Date.parse((JSON.parse(typeof m.value === 'string' ? m.value : Buffer.from(m.value).toString('utf8')) as { ts: string }).ts);
          if (ts > limit) {
            if (run.length > 0) chunk.push({ topic: b.topic, messages: run });
            if (chunk.length > 0) await bus.publishBatch(chunk);
            chunk = [];
            run = [];
            while (ts > limit) {
              heldAt = ts;
              await new Promise<void>((r) => waiters.push(r));
            }
          }
          run.push(m);
        }
        if (run.length > 0) chunk.push({ topic: b.topic, messages: run });
      }
      if (chunk.length > 0) await bus.publishBatch(chunk);
    },
  });
  let feeding: Promise<unknown> | undefined;
  let finished = false;
  return {
    /** Publishes everything stamped up to `iso` (the rest with `Infinity`); resolves once it is on the broker. */
    async until(iso: string | number): Promise<void> {
      limit = typeof iso === 'number' ? iso : Date.parse(iso);
      heldAt = undefined;
      const w = waiters;
      waiters = [];
      for (const r of w) r();
      feeding ??= bus.ensureTopics().then(() => feedScenario({ dir, bus: gated, batchSize: 500 })).finally(() => (finished = true));
      await waitFor(async () => finished || (heldAt !== undefined && heldAt > limit), 120_000, () => `feeding up to ${String(iso)}`);
      if (finished) await feeding;
    },
    close: () => bus.close(),
  };
}

/** Every record of a topic up to its current end, as JSON. */
async function readTopic<T>(brokers: string[], name: string): Promise<T[]> {
  const kafka = new Kafka({ brokers, logLevel: logLevel.NOTHING });
  const a = kafka.admin();
  await a.connect();
  const ends = await a.fetchTopicOffsets(name);
  await a.disconnect();
  const total = ends.reduce((n, p) => n + (Number(p.high) - Number(p.low)), 0);
  const out: T[] = [];
  if (total === 0) return out;
  const consumer = kafka.consumer({ groupId: `read-${uniquePrefix()}`, maxWaitTimeInMs: 200 });
  await consumer.connect();
  await consumer.subscribe({ topic: name, fromBeginning: true });
  const seen = new Map<number, number>();
  await consumer.run({
    eachMessage: async ({ partition, message }) => {
      seen.set(partition, Number(message.offset) + 1);
      out.push(JSON.parse(message.value!.toString()) as T);
    },
  });
  await waitFor(async () => ends.every((p) => Number(p.high) <= Number(p.low) || (seen.get(p.partition) ?? 0) >= Number(p.high)), 60_000, () => `read ${out.length} of ${total} from ${name}`);
  await consumer.disconnect();
  return out;
}

/** The latest state of every incident published to incidents.v1, in onset order. */
async function published(brokers: string[], prefix: string): Promise<Incident[]> {
  const latest = new Map<string, Incident>();
  for (const i of await readTopic<Incident>(brokers, prefix + topics.incidents.name)) {
    if ((latest.get(i.id)?.revision ?? 0) <= (i.revision ?? 0)) latest.set(i.id, i);
  }
  return [...latest.values()].sort((a, b) => a.startedAt.localeCompare(b.startedAt) || a.service.localeCompare(b.service));
}

const inputs = (prefix: string) => topicNames(prefix, [...INPUTS]);

async function groupCaughtUp(a: Admin, prefix: string): Promise<boolean> {
  return caughtUp(a, `${prefix}correlator`, inputs(prefix));
}

/** Waits until a process has rebuilt what it took (`replayedAtLeast` messages stepped again, none pending) and the group has committed every input. */
async function recovered(a: Admin, prefix: string, svc: ServiceProcess, replayedAtLeast: number): Promise<void> {
  await waitFor(
    async () =>
      (await metric(svc.port, 'outage_state_replayed_messages_total')) >= replayedAtLeast &&
      (await metric(svc.port, 'outage_state_rebuilding_partitions')) === 0 &&
      (await groupCaughtUp(a, prefix)),
    120_000,
    () => `${svc.name} not recovered:\n${svc.logs().slice(-3000)}`,
    svc.exited,
  );
}

/** Kills a correlator with SIGKILL and returns when it is gone (the kill instant first). */
async function kill(svc: ServiceProcess): Promise<number> {
  const at = Date.now();
  assert.equal(await stopService(svc, 'SIGKILL'), 'SIGKILL');
  return at;
}

/** Waits until every input partition's checkpoint covers its committed end (the state as of the kill is described). */
async function checkpointsCover(brokers: string[], a: Admin, prefix: string): Promise<Checkpoint[]> {
  let latest: Checkpoint[] = [];
  await waitFor(
    async () => {
      const byKey = new Map<string, Checkpoint>();
      for (const c of await readTopic<Checkpoint>(brokers, prefix + topics.checkpoints.name)) byKey.set(`${c.topic}|${c.partition}`, c);
      latest = [...byKey.values()];
      for (const name of inputs(prefix)) {
        for (const p of await a.fetchTopicOffsets(name)) {
          if (Number(p.high) === 0) continue;
          const c = byKey.get(`${name.slice(prefix.length)}|${p.partition}`);
          if (!c || Number(c.coveredTo) < Number(p.high)) return false;
        }
      }
      return true;
    },
    60_000,
    () => `checkpoints: ${JSON.stringify(latest)}`,
  );
  return latest;
}

describe('Kafka: correlator state survives SIGKILL, restarts and a lost instance', { timeout: 600_000 }, () => {
  it('SIGKILL before the onset and while the incident is open: the restarted correlator ends with the embedded replay\'s incidents', async (t) => {
    const brokers = brokersOrSkip(t);
    if (!brokers) return;
    const prefix = uniquePrefix();
    const env = { KAFKA_BROKERS: brokers.join(','), KAFKA_TOPIC_PREFIX: prefix, CATALOG: join(EXAMPLE, 'catalog.yaml') };
    const expected = embedded(EXAMPLE);
    let correlator = await startService('correlator', env);
    const feed = gatedFeed(brokers, prefix, EXAMPLE);
    const a = admin(brokers);
    await a.connect();
    try {
      // 1. Seven days of history and the morning of the outage day, then a kill before the onset (13:40).
      await feed.until('2020-02-03T12:00:00Z');
      await waitFor(() => groupCaughtUp(a, prefix), 120_000, () => correlator.logs());
      assert.equal(await metric(correlator.port, 'outage_incidents_open'), 0);
      let killedAt = await kill(correlator);
      correlator = await startService('correlator', env);
      await recovered(a, prefix, correlator, 1);
      const beforeOnset = { ms: Date.now() - killedAt, replayed: await metric(correlator.port, 'outage_state_replayed_messages_total') };

      // 2. Into the outage: killed as soon as the incident is open (the feed may still be coming in).
      await feed.until('2020-02-03T15:00:00Z');
      await waitFor(async () => (await metric(correlator.port, 'outage_incidents_open')) === 1, 120_000, () => correlator.logs());
      killedAt = await kill(correlator);
      correlator = await startService('correlator', env);
      await recovered(a, prefix, correlator, 1);
      const whileOpen = { ms: Date.now() - killedAt, replayed: await metric(correlator.port, 'outage_state_replayed_messages_total') };
      // The rebuilt state knows the incident is open (and publishes nothing for what it replayed).
      assert.equal(await metric(correlator.port, 'outage_incidents_open'), 1);

      // 3. The rest of the day: the incident resolves as in the undisturbed run.
      await feed.until(Infinity);
      await waitFor(() => groupCaughtUp(a, prefix), 120_000, () => correlator.logs());
      assert.equal(await metric(correlator.port, 'outage_incidents_open'), 0);
      t.diagnostic(`recovery (kill -> restarted, state rebuilt, caught up): before the onset ${beforeOnset.ms} ms (${beforeOnset.replayed} messages replayed), while open ${whileOpen.ms} ms (${whileOpen.replayed} replayed)`);
      process.stdout.write(`# correlator SIGKILL recovery: before onset ${beforeOnset.ms} ms / ${beforeOnset.replayed} replayed; incident open ${whileOpen.ms} ms / ${whileOpen.replayed} replayed\n`);
    } finally {
      await a.disconnect();
      await feed.close();
      await stopService(correlator);
    }
    const got = await published(brokers, prefix);
    const want = await expected;
    assert.ok(want.length >= 1);
    assert.deepEqual(got.map(view), want.map(view));
  });

  it('two instances in one group, one SIGKILLed with the open incident: the survivor takes its partitions and their state', async (t) => {
    const brokers = brokersOrSkip(t);
    if (!brokers) return;
    const prefix = uniquePrefix();
    const env = { KAFKA_BROKERS: brokers.join(','), KAFKA_TOPIC_PREFIX: prefix, CATALOG: join(EXAMPLE, 'catalog.yaml') };
    const expected = embedded(EXAMPLE);
    const instances = [await startService('correlator', env), await startService('correlator', env)];
    const feed = gatedFeed(brokers, prefix, EXAMPLE);
    const a = admin(brokers);
    await a.connect();
    let survivor: ServiceProcess | undefined;
    try {
      await waitFor(
        async () => {
          const [g] = (await a.describeGroups([`${prefix}correlator`])).groups;
          return g?.state === 'Stable' && g.members.length === 2;
        },
        60_000,
        () => 'the group never had both instances',
      );
      await feed.until('2020-02-03T15:00:00Z');
      await waitFor(() => groupCaughtUp(a, prefix), 120_000, () => instances.map((s) => s.logs()).join('\n'));
      // Kill the instance that holds the open incident (teams' reports partition).
      const open = await Promise.all(instances.map((s) => metric(s.port, 'outage_incidents_open')));
      assert.deepEqual([...open].sort(), [0, 1], `open incidents per instance: ${open}`);
      const victim = instances[open.indexOf(1)]!;
      survivor = instances[open.indexOf(0)]!;
      const replayedBefore = await metric(survivor.port, 'outage_state_replayed_messages_total');
      const killedAt = await kill(victim);
      // The broker notices the lost member after its session timeout, then the survivor rebuilds its partitions.
      await recovered(a, prefix, survivor, replayedBefore + 1);
      const ms = Date.now() - killedAt;
      const replayed = (await metric(survivor.port, 'outage_state_replayed_messages_total')) - replayedBefore;
      assert.equal(await metric(survivor.port, 'outage_incidents_open'), 1, 'the survivor knows the incident is open');
      await feed.until(Infinity);
      await waitFor(() => groupCaughtUp(a, prefix), 120_000, () => survivor!.logs());
      t.diagnostic(`failover (kill -> survivor rebuilt the lost partitions, caught up): ${ms} ms, ${replayed} messages replayed`);
      process.stdout.write(`# correlator failover to the second instance: ${ms} ms / ${replayed} replayed (includes the 10 s session timeout)\n`);
    } finally {
      await a.disconnect();
      await feed.close();
      for (const s of instances) await stopService(s);
    }
    const got = await published(brokers, prefix);
    assert.deepEqual(got.map(view), (await expected).map(view));
  });

  it('reads again only the horizon of a long history (checkpoints bound the rebuild), and still ends with the embedded replay\'s incidents', async (t) => {
    const brokers = brokersOrSkip(t);
    if (!brokers) return;
    const dir = join(tmp, 'long');
    // 14 days of two services (an outage of the first on the last day at 14:00), no probes.
    await cli(['generate', dir, '--services', '2', '--days', '14', '--seed', '11', '--rate', '3', '--probe-regions', '0']);
    const prefix = uniquePrefix();
    const env = { KAFKA_BROKERS: brokers.join(','), KAFKA_TOPIC_PREFIX: prefix, CATALOG: join(dir, 'catalog.yaml') };
    const expected = embedded(dir);
    let correlator = await startService('correlator', env);
    const feed = gatedFeed(brokers, prefix, dir);
    const a = admin(brokers);
    await a.connect();
    try {
      await feed.until('2020-02-09T12:00:00Z'); // 13.5 days of history
      await waitFor(() => groupCaughtUp(a, prefix), 120_000, () => correlator.logs());
      const total = (await Promise.all(inputs(prefix).map((n) => a.fetchTopicOffsets(n)))).flat().reduce((n, p) => n + Number(p.high), 0);
      const cps = await checkpointsCover(brokers, a, prefix);
      const killedAt = await kill(correlator);
      correlator = await startService('correlator', env);
      await recovered(a, prefix, correlator, 1);
      const ms = Date.now() - killedAt;
      const replayed = await metric(correlator.port, 'outage_state_replayed_messages_total');
      // The horizon is 8 days and 4.5 hours of 13.5: a rebuild reads about 61 % of this history.
      assert.ok(replayed < total * 0.7, `replayed ${replayed} of ${total}`);
      assert.ok(replayed > total * 0.5, `replayed ${replayed} of ${total}`);
      t.diagnostic(`long history: ${replayed} of ${total} messages replayed in ${ms} ms; checkpoints ${JSON.stringify(cps.map((c) => [c.topic, c.partition, c.rebuildFrom, c.coveredTo]))}`);
      process.stdout.write(`# correlator rebuild of a 13.5-day history: ${replayed} of ${total} messages replayed, ${ms} ms\n`);
      await feed.until(Infinity);
      await waitFor(() => groupCaughtUp(a, prefix), 120_000, () => correlator.logs());
    } finally {
      await a.disconnect();
      await feed.close();
      await stopService(correlator);
    }
    const want = await expected;
    assert.ok(want.length >= 1, 'the generated outage is detected');
    assert.deepEqual((await published(brokers, prefix)).map(view), want.map(view));
  });
});

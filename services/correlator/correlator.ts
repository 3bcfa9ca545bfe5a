/**
 * The correlator service: consumes reports, status posts and probe results as a group member and
 * the certificate topic as a global table, drives the pure core, and publishes every incident
 * state change to `incidents.v1`. Messages it cannot read are counted and skipped: the sink, which
 * reads the same topics, dead-letters them once (`deadLetteredBy` in `schemas/topics.ts`). It sets
 * `outage_incidents_open` (and per service) from the incidents it publishes.
 */
import type { Checkpoint, Incident } from '../../schemas/contracts.ts';
import { checkpointKey, topicByName, topics, type TopicId } from '../../schemas/topics.ts';
import { timestampMs } from '../../schemas/timestamp.ts';
import type { Bus, TopicPartition, TopicPartitionOffset } from '../../lib/bus/bus.ts';
import { countConsumed, countRefused, decodeBatch, publishDeadLetters } from '../../lib/bus/dead-letters.ts';
import type { Catalog } from '../../lib/catalog.ts';
import type { Logger } from '../../lib/log.ts';
import type { Metrics } from '../../lib/metrics.ts';
import { CorrelatorCore, eventOf, type StateSource } from './core/correlator.ts';
import { MINUTE_MS } from './core/detector.ts';
import { defaultParams, type CorrelatorParams } from './core/params.ts';
import { RebuildIndex } from './rebuild-index.ts';

/** The consumer group of every correlator instance (checkpoints are kept per group). */
const GROUP = 'correlator';

const SOURCES: Partial<Record<TopicId, StateSource>> = { reports: 'report', probes: 'probe', posts: 'post' };

export interface CorrelatorDeps {
  bus: Bus;
  catalog: Catalog;
  logger: Logger;
  metrics: Metrics;
  params?: CorrelatorParams;
  /** Clock for dead-letter stamps only; decisions use event time. */
  now?: () => number;
  /** Called with every published incident state (replay collects them). */
  onIncident?: (incident: Incident) => void;
  /**
   * Live mode: every minute, move quiet services' clocks to the wall clock minus this lateness,
   * so an incident resolves even when its service stops receiving reports. Only while the input
   * is live (its latest event within an hour of the wall clock), never while a backlog replays.
   */
  idleTickLatenessMs?: number;
}

export interface CorrelatorHandle {
  readonly core: CorrelatorCore;
  /** What the stateful part did: messages stepped again to rebuild state, partitions being rebuilt now, checkpoints written. */
  readonly rebuild: { readonly replayed: number; readonly rebuilding: number; readonly checkpointsPublished: number };
  /** Advances event time to `nowMs` (end of a replay, or a live clock) and publishes what changed. */
  flush(nowMs: number): Promise<void>;
  /** Stops the live idle tick. */
  stop(): void;
}

export async function runCorrelator(deps: CorrelatorDeps): Promise<CorrelatorHandle> {
  const { bus, logger, metrics } = deps;
  const now = deps.now ?? Date.now;
  const core = new CorrelatorCore(deps.catalog, deps.params ?? defaultParams);
  // The service of every incident open now, for the open-incident gauges.
  const open = new Map<string, string>();
  const countOpen = (incidents: readonly Incident[]) => {
    const touched = new Set<string>();
    for (const inc of incidents) {
      if (inc.status === 'open') open.set(inc.id, inc.service);
      else open.delete(inc.id);
      touched.add(inc.service);
    }
    metrics.incidentsOpen.set(open.size);
    for (const service of touched) {
      let n = 0;
      for (const s of open.values()) if (s === service) n++;
      metrics.incidentsOpenByService.set({ service }, n);
    }
  };
  metrics.incidentsOpen.set(0);

  const publish = async (incidents: Incident[]) => {
    if (incidents.length === 0) return;
    await bus.publish(
      topics.incidents.name,
      incidents.map((i) => ({ key: i.id, value: JSON.stringify(i) })),
    );
    countOpen(incidents);
    for (const inc of incidents) {
      deps.onIncident?.(inc);
      if (inc.revision === 1) logger.info({ incident: inc.id, service: inc.service, top: inc.hints[0]?.kind }, 'incident opened');
      else if (inc.status === 'resolved') logger.info({ incident: inc.id, resolvedAt: inc.resolvedAt }, 'incident state');
    }
  };

  // Rebuild bookkeeping, per input partition (`topic|partition`); unused on the memory bus.
  const indexes = new Map<string, RebuildIndex>();
  /** The latest checkpoint of each partition of this group, from the compacted topic. */
  const checkpoints = new Map<string, Checkpoint>();
  /** Partitions assigned and still being replayed: no idle tick meanwhile (it would move their clocks). */
  const rebuilding = new Set<string>();
  const rebuild = { replayed: 0, rebuilding: 0, checkpointsPublished: 0 };
  /** Incidents stepped out of a batch whose publish failed: published first when it is redelivered. */
  let unpublished: Incident[] = [];
  const tpKey = (tp: { topic: string; partition: number }) => `${tp.topic}|${tp.partition}`;

  const forgetPartitions = (tps: readonly TopicPartition[]) => {
    for (const tp of tps) {
      const key = tpKey(tp);
      const idx = indexes.get(key);
      const id = topicByName.get(tp.topic)?.id;
      const source = id ? SOURCES[id] : undefined;
      if (idx && source) {
        core.forget(idx.services, source);
        if (source === 'report') {
          for (const [incident, service] of [...open]) if (idx.services.has(service)) open.delete(incident);
          metrics.incidentsOpen.set(open.size);
          for (const service of idx.services) metrics.incidentsOpenByService.set({ service }, 0);
        }
      }
      indexes.delete(key);
      rebuilding.delete(key);
    }
    rebuild.rebuilding = rebuilding.size;
    metrics.stateRebuilding.set(rebuilding.size);
  };

  /** One checkpoint per partition, describing the state as of the committed offset. */
  const checkpointsOf = (offsets: readonly TopicPartitionOffset[]): Checkpoint[] => {
    const out: Checkpoint[] = [];
    // An incident that opens later reaches back from its onset, at most the onset search before now.
    const margin = (deps.params ?? defaultParams).detector.maxOnsetLookbackMinutes + 60;
    for (const o of offsets) {
      const idx = indexes.get(tpKey(o));
      const asOf = Number(o.offset);
      const latest = idx?.latestMinuteBefore(asOf);
      if (!idx || latest === undefined) continue; // nothing stepped from it: the last checkpoint stands
      const cutoff = Math.floor(core.neededSinceMs(idx.services, latest * MINUTE_MS) / MINUTE_MS);
      out.push({
        group: GROUP,
        topic: o.topic,
        partition: o.partition,
        rebuildFrom: String(idx.rebuildFrom(cutoff, asOf)),
        coveredTo: o.offset,
        horizonStart: new Date(Math.max(0, cutoff * MINUTE_MS)).toISOString(),
        ts: new Date(now()).toISOString(),
      });
      idx.prune(cutoff - margin);
    }
    return out;
  };

  await bus.subscribe({
    group: 'correlator',
    topics: [topics.reports.name, topics.posts.name, topics.probes.name],
    broadcastTopics: [topics.certs.name, topics.checkpoints.name],
    stateful: {
      rebuildFrom: (tp) => checkpoints.get(checkpointKey({ group: GROUP, ...tp }))?.rebuildFrom,
      assigned: (tps) => {
        for (const tp of tps) {
          indexes.delete(tpKey(tp));
          rebuilding.add(tpKey(tp));
        }
        rebuild.rebuilding = rebuilding.size;
        metrics.stateRebuilding.set(rebuilding.size);
      },
      live: (tp) => {
        rebuilding.delete(tpKey(tp));
        rebuild.rebuilding = rebuilding.size;
        metrics.stateRebuilding.set(rebuilding.size);
        logger.info({ topic: tp.topic, partition: tp.partition, replayed: rebuild.replayed }, 'partition state rebuilt');
      },
      revoked: forgetPartitions,
      committed: async (offsets) => {
        const cps = checkpointsOf(offsets);
        if (cps.length === 0) return;
        await bus.publish(
          topics.checkpoints.name,
          cps.map((c) => ({ key: checkpointKey(c), value: JSON.stringify(c) })),
        );
        rebuild.checkpointsPublished += cps.length;
        metrics.stateCheckpoints.inc(cps.length);
      },
    },
    eachBatch: async (batch) => {
      const { good, refused, dead } = decodeBatch(batch, now());
      countConsumed(metrics, 'correlator', good);
      countRefused(metrics, 'correlator', refused);
      // This group owns the dead letters of its checkpoint topic (the sink does not read it).
      await publishDeadLetters(bus, dead, metrics);
      const out = unpublished;
      unpublished = [];
      const replayedHere = new Map<string, number>();
      // A Kafka batch is one partition's: its index is looked up once, not per message.
      let idxTopic: string | undefined;
      let idxPartition: number | undefined;
      let idx: RebuildIndex | undefined;
      for (const d of good) {
        const m = d.message;
        if (d.topic === 'checkpoints') {
          const c = d.value as Checkpoint;
          if (c.group === GROUP) checkpoints.set(checkpointKey(c), c);
          continue;
        }
        const event = eventOf(d.topic, d.value);
        if (!event) continue;
        // Parsed once here, for the index and for the core.
        event.tsMs = timestampMs(event.value.ts);
        if (m.partition !== undefined && event.kind !== 'cert') {
          if (m.topic !== idxTopic || m.partition !== idxPartition || !idx) {
            const key = tpKey({ topic: m.topic, partition: m.partition });
            idx = indexes.get(key);
            if (!idx) indexes.set(key, (idx = new RebuildIndex()));
            idxTopic = m.topic;
            idxPartition = m.partition;
          }
          const offset = Number(m.offset);
          if (offset <= idx.last) continue; // stepped before (a batch redelivered after its publish failed)
          idx.observe(offset, Math.floor(event.tsMs / MINUTE_MS), event.value.service);
        }
        // One event the core cannot take must not stop every other one behind it (nor every
        // partition of the group): it is logged and counted; the sink still stores it.
        let incidents: Incident[];
        try {
          incidents = core.step(event);
        } catch (err) {
          logger.error({ err, topic: m.topic, partition: m.partition, offset: m.offset }, 'the correlator could not take an event; skipped');
          metrics.refused.inc({ group: 'correlator', topic: m.topic, reason: 'handler_error' });
          continue;
        }
        if (m.replayed) {
          // Published before this instance took the partition: only the state is rebuilt.
          rebuild.replayed++;
          replayedHere.set(m.topic, (replayedHere.get(m.topic) ?? 0) + 1);
          if (incidents.length > 0) countOpen(incidents);
          continue;
        }
        for (const inc of incidents) out.push(inc);
      }
      for (const [topic, n] of replayedHere) metrics.stateReplayed.inc({ topic }, n);
      try {
        await publish(out);
      } catch (err) {
        unpublished = out;
        throw err;
      }
    },
  });

  const flush = async (nowMs: number) => publish(core.tick(nowMs));
  let timer: NodeJS.Timeout | undefined;
  if (deps.idleTickLatenessMs !== undefined) {
    const lateness = deps.idleTickLatenessMs;
    timer = setInterval(() => {
      const wall = now();
      if (wall - core.latestEventMs > 3_600_000 || rebuilding.size > 0) return;
      flush(wall - lateness).catch((err: unknown) => logger.error({ err }, 'idle tick failed'));
    }, 60_000);
    timer.unref();
  }
  return { core, rebuild, flush, stop: () => clearInterval(timer) };
}

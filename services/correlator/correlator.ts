/**
 * The correlator service: consumes reports, status posts and probe results as a group member and
 * the certificate topic as a global table, drives the pure core, and publishes every incident
 * state change to `incidents.v1`. Messages it cannot read are counted and skipped: the sink, which
 * reads the same topics, dead-letters them once (`deadLetteredBy` in `schemas/topics.ts`). It sets
 * `outage_incidents_open` (and per service) from the incidents it publishes.
 */
import type { CertObservation, Incident, ProbeResult, StatusPost, UserReport } from '../../schemas/contracts.ts';
import { topics, type TopicId } from '../../schemas/topics.ts';
import type { Bus } from '../../lib/bus/bus.ts';
import { countConsumed, countRefused, decodeBatch } from '../../lib/bus/dead-letters.ts';
import type { Catalog } from '../../lib/catalog.ts';
import type { Logger } from '../../lib/log.ts';
import type { Metrics } from '../../lib/metrics.ts';
import { CorrelatorCore, type CorrelatorEvent } from './core/correlator.ts';
import { defaultParams, type CorrelatorParams } from './core/params.ts';

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
  /** Advances event time to `nowMs` (end of a replay, or a live clock) and publishes what changed. */
  flush(nowMs: number): Promise<void>;
  /** Stops the live idle tick. */
  stop(): void;
}

function toEvent(topic: TopicId, value: unknown): CorrelatorEvent | undefined {
  switch (topic) {
    case 'reports':
      return { kind: 'report', value: value as UserReport };
    case 'posts':
      return { kind: 'post', value: value as StatusPost };
    case 'probes':
      return { kind: 'probe', value: value as ProbeResult };
    case 'certs':
      return { kind: 'cert', value: value as CertObservation };
    default:
      return undefined;
  }
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
    countOpen(incidents);
    for (const inc of incidents) {
      deps.onIncident?.(inc);
      if (inc.revision === 1) logger.info({ incident: inc.id, service: inc.service, top: inc.hints[0]?.kind }, 'incident opened');
      else if (inc.status === 'resolved') logger.info({ incident: inc.id, resolvedAt: inc.resolvedAt }, 'incident state');
    }
    await bus.publish(
      topics.incidents.name,
      incidents.map((i) => ({ key: i.id, value: JSON.stringify(i) })),
    );
  };

  await bus.subscribe({
    group: 'correlator',
    topics: [topics.reports.name, topics.posts.name, topics.probes.name],
    broadcastTopics: [topics.certs.name],
    eachBatch: async (batch) => {
      const { good, refused } = decodeBatch(batch, now());
      countConsumed(metrics, 'correlator', good);
      countRefused(metrics, 'correlator', refused);
      const out: Incident[] = [];
      for (const d of good) {
        const event = toEvent(d.topic, d.value);
        if (!event) continue;
        // One event the core cannot take must not stop every other one behind it (nor every
        // partition of the group): it is logged and counted; the sink still stores it.
        let incidents: Incident[];
        try {
          incidents = core.step(event);
        } catch (err) {
          logger.error({ err, topic: d.message.topic, partition: d.message.partition, offset: d.message.offset }, 'the correlator could not take an event; skipped');
          metrics.refused.inc({ group: 'correlator', topic: d.message.topic, reason: 'handler_error' });
          continue;
        }
        for (const inc of incidents) out.push(inc);
      }
      await publish(out);
    },
  });

  const flush = async (nowMs: number) => publish(core.tick(nowMs));
  let timer: NodeJS.Timeout | undefined;
  if (deps.idleTickLatenessMs !== undefined) {
    const lateness = deps.idleTickLatenessMs;
    timer = setInterval(() => {
      const wall = now();
      if (wall - core.latestEventMs > 3_600_000) return;
      flush(wall - lateness).catch((err: unknown) => logger.error({ err }, 'idle tick failed'));
    }, 60_000);
    timer.unref();
  }
  return { core, flush, stop: () => clearInterval(timer) };
}

/**
 * The correlator service: consumes reports, status posts and probe results as a group member and
 * the certificate topic as a global table, drives the pure core, and publishes every incident
 * state change to `incidents.v1`. Bad messages go to `dlq.v1`.
 */
import type { CertObservation, Incident, ProbeResult, StatusPost, UserReport } from '../../schemas/contracts.ts';
import { topics, type TopicId } from '../../schemas/topics.ts';
import type { Bus } from '../../lib/bus/bus.ts';
import { countConsumed, decodeBatch, publishDeadLetters } from '../../lib/bus/dead-letters.ts';
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

  const publish = async (incidents: Incident[]) => {
    if (incidents.length === 0) return;
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
      const { good, dead } = decodeBatch(batch, now());
      countConsumed(metrics, 'correlator', good);
      const out: Incident[] = [];
      for (const d of good) {
        const event = toEvent(d.topic, d.value);
        if (event) for (const inc of core.step(event)) out.push(inc);
      }
      await publishDeadLetters(bus, dead, metrics);
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

/**
 * The notifier: incidents.v1 (consumer group `notifier`) and early warnings → signed webhooks,
 * Slack and PagerDuty. The bus handler decides (`events.ts`) and enqueues (`deliver.ts`); it
 * never waits for a receiver, so a slow or dead one cannot hold up the consumer.
 *
 * Offsets are committed once a batch is queued, not delivered: a crash loses what was queued and
 * not yet sent, and after a restart an open incident is announced again (as opened, see
 * `incidentNotifications`) on its next revision.
 */
import type { Incident } from '../../schemas/contracts.ts';
import { topics } from '../../schemas/topics.ts';
import type { Bus } from '../../lib/bus/bus.ts';
import { countConsumed, countRefused, decodeBatch, publishDeadLetters } from '../../lib/bus/dead-letters.ts';
import type { ExpiryWarning } from '../../lib/certs/warnings.ts';
import type { Logger } from '../../lib/log.ts';
import type { Metrics } from '../../lib/metrics.ts';
import type { NotifierConfig } from './config.ts';
import { createDelivery, type DeliveryOptions } from './deliver.ts';
import { incidentNotifications, warningNotifications, type IncidentTrack } from './events.ts';
import { notifierMetrics } from './metrics.ts';
import { receiversOf } from './receivers.ts';

export const GROUP = 'notifier';

/**
 * Incidents remembered between revisions. The least recently changed is forgotten first; one
 * forgotten and changed again is treated as after a restart.
 */
const MAX_TRACKED = 10_000;

export interface NotifierDeps {
  bus: Bus;
  config: NotifierConfig;
  logger: Logger;
  metrics: Metrics;
  /** Clock of `sentAt`, webhook signatures and dead-letter stamps (default `Date.now`). */
  now?: () => number;
  /** Queue size, request timeout and backoff (defaults in `deliver.ts`). */
  delivery?: DeliveryOptions;
}

export interface Notifier {
  /**
   * Queues the warnings whose sha256 + level were not notified before; returns how many.
   * Call it with every fresh list of early warnings (each inventory scan).
   */
  notifyWarnings(warnings: readonly ExpiryWarning[]): number;
  /** Resolves once every receiver's queue is empty (tests, shutdown). */
  drain(): Promise<void>;
  /** Stops notifying: lets the queues drain for up to `graceMs`, then drops what is left. */
  stop(opts?: { graceMs?: number }): Promise<void>;
}

/**
 * @example
 * const notifier = await runNotifier({ bus, config: notifierConfig(env)!, logger, metrics });
 * notifier.notifyWarnings(expiryWarnings(observations, catalog, Date.now()));
 */
export async function runNotifier(d: NotifierDeps): Promise<Notifier> {
  const now = d.now ?? Date.now;
  const receivers = receiversOf(d.config);
  const delivery = createDelivery(receivers, { logger: d.logger, metrics: notifierMetrics(d.metrics.registry), now, ...(d.delivery ? { options: d.delivery } : {}) });
  const tracks = new Map<string, IncidentTrack>();
  let warned: ReadonlySet<string> = new Set();
  let stopped = false;

  const remember = (id: string, track: IncidentTrack) => {
    // Re-inserted so the map's order is least recently changed first.
    tracks.delete(id);
    tracks.set(id, track);
    if (tracks.size > MAX_TRACKED) tracks.delete(tracks.keys().next().value!);
  };

  await d.bus.subscribe({
    group: GROUP,
    topics: [topics.incidents.name],
    eachBatch: async (batch) => {
      const { good, dead, refused } = decodeBatch(batch, now());
      countRefused(d.metrics, GROUP, refused);
      await publishDeadLetters(d.bus, dead, d.metrics);
      countConsumed(d.metrics, GROUP, good);
      if (stopped) return;
      // In order, one revision at a time: an open and its resolve in one batch are two notifications.
      for (const g of good) {
        const inc = g.value as Incident;
        const { track, out } = incidentNotifications(tracks.get(inc.id), inc, { minConfidence: d.config.minConfidence, nowMs: now() });
        remember(inc.id, track);
        for (const n of out) delivery.enqueue(n);
      }
    },
  });
  d.logger.info({ receivers: receivers.map((r) => `${r.id} ${r.origin}`), minConfidence: d.config.minConfidence }, 'notifier subscribed to incidents');

  return {
    notifyWarnings(warnings) {
      if (stopped) return 0;
      const { seen, out } = warningNotifications(warned, warnings, now());
      warned = seen;
      for (const n of out) delivery.enqueue(n);
      return out.length;
    },
    drain: () => delivery.drain(),
    async stop(opts) {
      stopped = true;
      await delivery.stop(opts);
    },
  };
}

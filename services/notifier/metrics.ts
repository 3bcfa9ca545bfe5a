/**
 * The notifier's metrics, declared here and nowhere else. Label values are bounded: `receiver` is
 * the receiver's kind and index (`webhook-0`, `slack-0`, `pagerduty-0`), never its URL; `type` is
 * a notification type; `outcome` is delivered | failed | dropped.
 */
import { Counter, Gauge, type Registry } from 'prom-client';
import type { NotificationType } from './events.ts';

export type Outcome = 'delivered' | 'failed' | 'dropped';

export interface NotifierMetrics {
  readonly notifications: Counter<'receiver' | 'type' | 'outcome'>;
  readonly retries: Counter<'receiver'>;
  readonly queueDepth: Gauge<'receiver'>;
  outcome(receiver: string, type: NotificationType, outcome: Outcome): void;
}

/** Registers the metrics once per registry (a second notifier in one process shares them). */
export function notifierMetrics(registry: Registry): NotifierMetrics {
  const registers = [registry];
  const existing = <T>(name: string) => registry.getSingleMetric(name) as T | undefined;
  const notifications =
    existing<Counter<'receiver' | 'type' | 'outcome'>>('outage_notifications_total') ??
    new Counter({
      name: 'outage_notifications_total',
      help: 'Notifications by receiver, type and outcome (delivered: accepted by the receiver; failed: refused or out of retries; dropped: pushed out of a full queue or left at shutdown)',
      labelNames: ['receiver', 'type', 'outcome'],
      registers,
    });
  const retries =
    existing<Counter<'receiver'>>('outage_notification_retries_total') ??
    new Counter({ name: 'outage_notification_retries_total', help: 'Notification requests sent again after a retriable failure (429, 5xx, network, timeout)', labelNames: ['receiver'], registers });
  const queueDepth =
    existing<Gauge<'receiver'>>('outage_notification_queue_depth') ??
    new Gauge({ name: 'outage_notification_queue_depth', help: 'Notifications waiting in a receiver\'s queue', labelNames: ['receiver'], registers });
  return {
    notifications,
    retries,
    queueDepth,
    outcome: (receiver, type, outcome) => notifications.inc({ receiver, type, outcome }),
  };
}

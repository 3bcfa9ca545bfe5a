/**
 * Delivery of notifications: one bounded queue and one worker per receiver, so a slow or dead
 * receiver delays only its own queue, never the bus consumer nor the other receivers.
 *
 * - Each worker sends its queue's notifications one at a time, in order (PagerDuty must see the
 *   trigger before the resolve), each exactly once unless it fails.
 * - A failure worth another try (429, 5xx, a network error, a timeout) is retried with the shared
 *   `retry()` (jittered exponential backoff); a refusal (any other 4xx, a redirect) is logged and
 *   counted, not retried. A retry after a lost answer can reach a receiver twice: the
 *   idempotency key (webhooks) and the dedup_key (PagerDuty) let it drop the second.
 * - Every request has its own timeout (`AbortSignal.timeout`, 10 s by default).
 * - When a queue is full, the OLDEST waiting notification is dropped, with a log line and
 *   `outage_notifications_total{outcome="dropped"}`: memory stays bounded while a receiver is
 *   down, and the newest state of an incident is the one worth sending when it comes back.
 * - Queued notifications live in memory only: a crash loses those not yet delivered.
 */
import type { Logger } from '../../lib/log.ts';
import { retry, type RetryOptions } from '../../lib/retry.ts';
import type { Notification } from './events.ts';
import { truncate } from './format.ts';
import type { NotifierMetrics } from './metrics.ts';
import type { OutgoingRequest, Receiver } from './receiver.ts';

export const DELIVERY_DEFAULTS = {
  /** Notifications waiting per receiver (besides the one being sent). */
  queueSize: 1000,
  timeoutMs: 10_000,
} as const;

export interface DeliveryOptions {
  queueSize?: number;
  /** Timeout of one HTTP request, answer included. */
  timeoutMs?: number;
  /** Backoff of the shared retry helper (its defaults when unset); tests pass tiny delays. */
  retry?: Pick<RetryOptions, 'retries' | 'initialMs' | 'maxMs' | 'random'>;
}

/** A notification a receiver did not take; `retriable` says whether trying again may help. */
export class DeliveryError extends Error {
  override name = 'DeliveryError';
  constructor(
    message: string,
    readonly retriable: boolean,
    readonly status?: number,
  ) {
    super(message);
  }
}

export type Verdict = 'accepted' | 'retriable' | 'refused';

/**
 * What an answer means, as one table: 2xx accepted (PagerDuty answers 202, Slack 200); 429 and
 * 5xx may pass later; any other status will not (a bad request, a revoked key, a redirect, which
 * is not followed because a POST would become a GET).
 *
 * @example classifyStatus(202) // 'accepted'; classifyStatus(429) // 'retriable'; classifyStatus(400) // 'refused'
 */
export function classifyStatus(status: number): Verdict {
  if (status >= 200 && status < 300) return 'accepted';
  if (status === 429 || status >= 500) return 'retriable';
  return 'refused';
}

function fetchFailure(err: unknown, signal: AbortSignal): string {
  if (signal.aborted) return (signal.reason as Error | undefined)?.name === 'TimeoutError' ? 'timed out' : 'stopped';
  const cause = (err as { cause?: { code?: string; message?: string } }).cause;
  return `network error: ${cause?.code ?? cause?.message ?? (err as Error).message}`;
}

/**
 * Sends one request; resolves when the receiver accepted it, throws `DeliveryError` otherwise.
 *
 * @example
 * await send(receiver.request(notification, Date.now()), AbortSignal.timeout(10_000));
 */
export async function send(req: OutgoingRequest, signal: AbortSignal): Promise<void> {
  let res: Response;
  try {
    res = await fetch(req.url, { method: 'POST', headers: req.headers, body: req.body, signal, redirect: 'manual' });
  } catch (err) {
    // fetch rejects with a TypeError on network errors, which the retry helper would take for a bug.
    throw new DeliveryError(fetchFailure(err, signal), true);
  }
  // Read the answer (bounded by the same signal) so the connection can be reused.
  const text = await res.text().catch(() => '');
  const verdict = classifyStatus(res.status);
  if (verdict === 'accepted') return;
  throw new DeliveryError(`HTTP ${res.status}${text ? `: ${truncate(text.replace(/\s+/g, ' '), 200)}` : ''}`, verdict === 'retriable', res.status);
}

export interface Delivery {
  /** Queues a notification for every receiver; never waits. */
  enqueue(n: Notification): void;
  /** Resolves once every queue is empty and nothing is being sent. */
  drain(): Promise<void>;
  /**
   * Takes no more notifications, lets the queues drain for up to `graceMs`, then aborts what is
   * in flight and drops what still waits (counted as dropped).
   */
  stop(opts?: { graceMs?: number }): Promise<void>;
}

interface Lane {
  readonly receiver: Receiver;
  queue: Notification[];
  busy: boolean;
}

export interface DeliveryDeps {
  logger: Logger;
  metrics: NotifierMetrics;
  /** The clock of webhook signatures. */
  now: () => number;
  options?: DeliveryOptions;
}

/**
 * @example
 * const delivery = createDelivery(receiversOf(config), { logger, metrics: notifierMetrics(registry), now: Date.now });
 * delivery.enqueue(notification);
 * await delivery.drain();
 */
export function createDelivery(receivers: readonly Receiver[], d: DeliveryDeps): Delivery {
  const queueSize = d.options?.queueSize ?? DELIVERY_DEFAULTS.queueSize;
  const timeoutMs = d.options?.timeoutMs ?? DELIVERY_DEFAULTS.timeoutMs;
  const lanes: Lane[] = receivers.map((receiver) => ({ receiver, queue: [], busy: false }));
  const stopping = new AbortController();
  let closed = false;
  let idleWaiters: (() => void)[] = [];

  const depth = (lane: Lane) => d.metrics.queueDepth.set({ receiver: lane.receiver.id }, lane.queue.length);
  const wake = () => {
    const w = idleWaiters;
    idleWaiters = [];
    for (const resolve of w) resolve();
  };
  // Every receiver's depth series exists from the start, at 0.
  for (const lane of lanes) depth(lane);
  const drop = (lane: Lane, n: Notification, why: string) => {
    d.metrics.outcome(lane.receiver.id, n.type, 'dropped');
    d.logger.warn({ receiver: lane.receiver.id, type: n.type, key: n.idempotencyKey, queueSize }, why);
  };

  async function deliverOne(lane: Lane, n: Notification): Promise<void> {
    const receiver = lane.receiver.id;
    const log = { receiver, type: n.type, key: n.idempotencyKey };
    try {
      await retry(
        // Built per attempt: a webhook's signature carries the time of the attempt.
        () => send(lane.receiver.request(n, d.now()), AbortSignal.any([AbortSignal.timeout(timeoutMs), stopping.signal])),
        {
          ...d.options?.retry,
          shouldRetry: (err) => !stopping.signal.aborted && err instanceof DeliveryError && err.retriable,
          onRetry: (err, attempt, delayMs) => {
            d.metrics.retries.inc({ receiver });
            d.logger.warn({ ...log, attempt, delayMs, err: (err as Error).message }, 'notification not accepted, retrying');
          },
        },
      );
      d.metrics.outcome(receiver, n.type, 'delivered');
      d.logger.debug(log, 'notification delivered');
    } catch (err) {
      d.metrics.outcome(receiver, n.type, 'failed');
      const refused = err instanceof DeliveryError && !err.retriable;
      d.logger.error({ ...log, err: (err as Error).message }, refused ? 'receiver refused the notification (not retried)' : 'notification failed');
    }
  }

  async function work(lane: Lane): Promise<void> {
    lane.busy = true;
    try {
      // The first shift happens synchronously in enqueue(): the notification in flight is no
      // longer in the queue, so the queue bound counts only waiting ones.
      for (let n = lane.queue.shift(); n !== undefined; n = lane.queue.shift()) {
        depth(lane);
        await deliverOne(lane, n);
      }
    } finally {
      lane.busy = false;
      wake();
    }
  }

  const drain = async () => {
    while (lanes.some((l) => l.busy || l.queue.length > 0)) await new Promise<void>((resolve) => idleWaiters.push(resolve));
  };

  return {
    enqueue(n) {
      if (closed) {
        for (const lane of lanes) drop(lane, n, 'notifier stopped: notification dropped');
        return;
      }
      for (const lane of lanes) {
        if (lane.queue.length >= queueSize) drop(lane, lane.queue.shift()!, 'notification queue full: dropped the oldest');
        lane.queue.push(n);
        depth(lane);
        if (!lane.busy) void work(lane);
      }
    },
    drain,
    async stop({ graceMs = 0 } = {}) {
      closed = true;
      if (graceMs > 0) {
        let timer: NodeJS.Timeout | undefined;
        await Promise.race([drain(), new Promise<void>((resolve) => (timer = setTimeout(resolve, graceMs)))]);
        clearTimeout(timer);
      }
      for (const lane of lanes) {
        for (const n of lane.queue) d.metrics.outcome(lane.receiver.id, n.type, 'dropped');
        if (lane.queue.length > 0) d.logger.warn({ receiver: lane.receiver.id, dropped: lane.queue.length }, 'notifier stopping: queued notifications dropped');
        lane.queue = [];
        depth(lane);
      }
      stopping.abort();
      await drain();
    },
  };
}

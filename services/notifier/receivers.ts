/**
 * The receivers of notifications: one file per kind builds its HTTP request from a notification
 * (`webhook.ts`, `slack.ts`, `pagerduty.ts`); this module lists them from the configuration.
 * Building a request is pure; sending it is `deliver.ts`'s job.
 */
import type { NotifierConfig } from './config.ts';
import type { Notification } from './events.ts';
import { pagerDutyReceiver } from './pagerduty.ts';
import { slackReceiver } from './slack.ts';
import { webhookReceiver } from './webhook.ts';

export type ReceiverKind = 'webhook' | 'slack' | 'pagerduty';

/** One POST: JSON body as the exact bytes to send (webhook signatures cover them). */
export interface OutgoingRequest {
  url: string;
  headers: Record<string, string>;
  body: string;
}

export interface Receiver {
  /** `<kind>-<index>`: the metric label and log field; never the URL, which may hold a token. */
  readonly id: string;
  readonly kind: ReceiverKind;
  /** Scheme and host only, for start-up logs (Slack and webhook URLs carry secrets in the path). */
  readonly origin: string;
  /** The request of one attempt; `nowMs` is the attempt's time (webhooks are signed per attempt). */
  request(n: Notification, nowMs: number): OutgoingRequest;
}

/**
 * Every configured receiver, in a stable order (webhooks as listed, then Slack, then PagerDuty).
 *
 * @example
 * receiversOf(config).map((r) => r.id) // ['webhook-0', 'webhook-1', 'slack-0', 'pagerduty-0']
 */
export function receiversOf(config: NotifierConfig): Receiver[] {
  const out: Receiver[] = config.webhooks.map((w, i) => webhookReceiver(`webhook-${i}`, w.url, config.webhookSecret!));
  if (config.slack) out.push(slackReceiver('slack-0', config.slack.url));
  if (config.pagerduty) out.push(pagerDutyReceiver('pagerduty-0', config.pagerduty.url, config.pagerduty.routingKey));
  return out;
}

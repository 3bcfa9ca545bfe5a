/**
 * What a receiver is: a kind, an id for metrics and logs, and a pure function from a notification
 * to the HTTP request of one attempt. The kinds (`webhook.ts`, `slack.ts`, `pagerduty.ts`)
 * implement it; `receivers.ts` lists the configured ones; `deliver.ts` sends.
 */
import type { Notification } from './events.ts';

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

/**
 * The receivers of notifications: one file per kind builds its HTTP request from a notification
 * (`webhook.ts`, `slack.ts`, `pagerduty.ts`); this module lists them from the configuration.
 * Building a request is pure; sending it is `deliver.ts`'s job.
 */
import type { NotifierConfig } from './config.ts';
import { pagerDutyReceiver } from './pagerduty.ts';
import type { Receiver } from './receiver.ts';
import { slackReceiver } from './slack.ts';
import { webhookReceiver } from './webhook.ts';


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

/** The notifier as its own process: incidents.v1 → signed webhooks, Slack, PagerDuty (NOTIFY_*, README "Notifications"). */
import { ConfigError } from '../../lib/config.ts';
import { kafkaBus, runService } from '../../lib/runtime.ts';
import { notifierConfig } from './config.ts';
import { runNotifier, type Notifier } from './notifier.ts';

await runService('notifier', async (rt) => {
  const config = notifierConfig(rt.env);
  if (!config) throw new ConfigError('nothing to notify: set NOTIFY_WEBHOOK_URLS (with NOTIFY_WEBHOOK_SECRET), NOTIFY_SLACK_WEBHOOK_URL or NOTIFY_PAGERDUTY_ROUTING_KEY');
  let notifier: Notifier | undefined;
  // Registered before the bus: the last registered stops first, so the bus stops handing over
  // incidents before the queues get their last seconds.
  rt.onStop(async () => notifier?.stop({ graceMs: 10_000 }));
  notifier = await runNotifier({ bus: await kafkaBus(rt, 'notifier'), config, logger: rt.logger, metrics: rt.metrics });
});

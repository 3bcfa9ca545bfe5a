/**
 * The notifier's settings from the NOTIFY_* variables (read by `lib/config.ts`), checked once at
 * start. Every problem is a `ConfigError` naming the variable.
 */
import { ConfigError, type Env } from '../../lib/config.ts';

export interface NotifierConfig {
  /** Generic webhooks, each signed with `webhookSecret`. */
  webhooks: { url: string }[];
  webhookSecret?: string;
  slack?: { url: string };
  pagerduty?: { url: string; routingKey: string };
  /** Least confidence of an incident's first hint to notify it (0: every incident). */
  minConfidence: number;
}

export type NotifyEnv = Pick<
  Env,
  | 'NOTIFY_WEBHOOK_URLS'
  | 'NOTIFY_WEBHOOK_SECRET'
  | 'NOTIFY_SLACK_WEBHOOK_URL'
  | 'NOTIFY_PAGERDUTY_ROUTING_KEY'
  | 'NOTIFY_PAGERDUTY_URL'
  | 'NOTIFY_MIN_CONFIDENCE'
>;

function httpUrl(variable: string, value: string): string {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new ConfigError(`${variable}: "${value}" is not a URL`);
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') throw new ConfigError(`${variable}: "${value}" is not an http(s) URL`);
  return url.href;
}

/**
 * The receivers to notify, or `undefined` when none is configured.
 *
 * @example
 * const config = notifierConfig(loadEnv()); // throws ConfigError('NOTIFY_WEBHOOK_SECRET is required …')
 */
export function notifierConfig(env: NotifyEnv): NotifierConfig | undefined {
  const urls = (env.NOTIFY_WEBHOOK_URLS ?? '')
    .split(',')
    .map((u) => u.trim())
    .filter((u) => u !== '')
    .map((u) => httpUrl('NOTIFY_WEBHOOK_URLS', u));
  const twice = urls.find((u, i) => urls.indexOf(u) !== i);
  if (twice) throw new ConfigError(`NOTIFY_WEBHOOK_URLS: "${twice}" is listed twice (it would get every notification twice)`);
  if (urls.length > 0 && !env.NOTIFY_WEBHOOK_SECRET) {
    throw new ConfigError(
      'NOTIFY_WEBHOOK_SECRET is required when NOTIFY_WEBHOOK_URLS is set: every webhook is signed with it (x-outage-signature) so receivers can tell our notifications from forged ones; use at least 16 random characters, e.g. `openssl rand -hex 32`',
    );
  }
  if (urls.length > 0 && env.NOTIFY_WEBHOOK_SECRET!.length < 16) {
    throw new ConfigError('NOTIFY_WEBHOOK_SECRET: too short (at least 16 characters; a guessable secret lets anyone forge notifications)');
  }
  const config: NotifierConfig = {
    webhooks: urls.map((url) => ({ url })),
    ...(urls.length > 0 ? { webhookSecret: env.NOTIFY_WEBHOOK_SECRET } : {}),
    ...(env.NOTIFY_SLACK_WEBHOOK_URL ? { slack: { url: httpUrl('NOTIFY_SLACK_WEBHOOK_URL', env.NOTIFY_SLACK_WEBHOOK_URL) } } : {}),
    ...(env.NOTIFY_PAGERDUTY_ROUTING_KEY
      ? { pagerduty: { url: httpUrl('NOTIFY_PAGERDUTY_URL', env.NOTIFY_PAGERDUTY_URL), routingKey: env.NOTIFY_PAGERDUTY_ROUTING_KEY } }
      : {}),
    minConfidence: env.NOTIFY_MIN_CONFIDENCE,
  };
  if (!Number.isFinite(config.minConfidence) || config.minConfidence < 0 || config.minConfidence > 1) {
    throw new ConfigError(`NOTIFY_MIN_CONFIDENCE: ${config.minConfidence} is not between 0 and 1`);
  }
  return config.webhooks.length > 0 || config.slack || config.pagerduty ? config : undefined;
}

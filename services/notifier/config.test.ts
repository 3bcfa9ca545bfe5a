import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ConfigError, loadEnv } from '../../lib/config.ts';
import { notifierConfig } from './config.ts';

const SECRET = 'whsec_0123456789abcdef';
const config = (vars: Record<string, string>) => notifierConfig(loadEnv(vars));

describe('notifier configuration', () => {
  it('is undefined when no receiver is configured', () => {
    assert.equal(config({}), undefined);
    assert.equal(config({ NOTIFY_WEBHOOK_SECRET: SECRET, NOTIFY_MIN_CONFIDENCE: '0.5' }), undefined);
  });

  it('lists webhooks, Slack and PagerDuty (default Events API v2 endpoint) with the minimum confidence', () => {
    assert.deepEqual(
      config({
        NOTIFY_WEBHOOK_URLS: 'https://a.example.com/hook, http://10.0.0.7:9000/outage',
        NOTIFY_WEBHOOK_SECRET: SECRET,
        NOTIFY_SLACK_WEBHOOK_URL: 'https://hooks.slack.com/services/T000/B000/XXXX',
        NOTIFY_PAGERDUTY_ROUTING_KEY: 'R0UT1NGKEY0000000000000000000000',
        NOTIFY_MIN_CONFIDENCE: '0.5',
      }),
      {
        webhooks: [{ url: 'https://a.example.com/hook' }, { url: 'http://10.0.0.7:9000/outage' }],
        webhookSecret: SECRET,
        slack: { url: 'https://hooks.slack.com/services/T000/B000/XXXX' },
        pagerduty: { url: 'https://events.pagerduty.com/v2/enqueue', routingKey: 'R0UT1NGKEY0000000000000000000000' },
        minConfidence: 0.5,
      },
    );
  });

  it('refuses webhook URLs without a secret, naming the variable', () => {
    assert.throws(
      () => config({ NOTIFY_WEBHOOK_URLS: 'https://a.example.com/hook' }),
      (err: Error) => err instanceof ConfigError && /^NOTIFY_WEBHOOK_SECRET is required when NOTIFY_WEBHOOK_URLS is set/.test(err.message),
    );
  });

  it('refuses a webhook URL that is not http(s), a URL listed twice and a short secret', () => {
    assert.throws(() => config({ NOTIFY_WEBHOOK_URLS: 'ftp://a.example.com/x', NOTIFY_WEBHOOK_SECRET: SECRET }), /^ConfigError: NOTIFY_WEBHOOK_URLS: "ftp:\/\/a.example.com\/x" is not an http\(s\) URL$/);
    assert.throws(() => config({ NOTIFY_WEBHOOK_URLS: 'a.example.com/x', NOTIFY_WEBHOOK_SECRET: SECRET }), /NOTIFY_WEBHOOK_URLS: "a.example.com\/x" is not a URL/);
    assert.throws(() => config({ NOTIFY_WEBHOOK_URLS: 'https://a.example.com/x,https://a.example.com/x', NOTIFY_WEBHOOK_SECRET: SECRET }), /NOTIFY_WEBHOOK_URLS: .* listed twice/);
    assert.throws(() => notifierConfig({ NOTIFY_WEBHOOK_URLS: 'https://a.example.com/x', NOTIFY_WEBHOOK_SECRET: 'short', NOTIFY_PAGERDUTY_URL: 'https://events.pagerduty.com/v2/enqueue', NOTIFY_MIN_CONFIDENCE: 0 }), /NOTIFY_WEBHOOK_SECRET: too short/);
  });

  it('leaves range and format checks of single values to the environment schema', () => {
    assert.throws(() => config({ NOTIFY_MIN_CONFIDENCE: '2' }), /NOTIFY_MIN_CONFIDENCE/);
    assert.throws(() => config({ NOTIFY_SLACK_WEBHOOK_URL: 'hooks.slack.com/x' }), /NOTIFY_SLACK_WEBHOOK_URL/);
    assert.throws(() => config({ NOTIFY_PAGERDUTY_ROUTING_KEY: 'k', NOTIFY_PAGERDUTY_URL: 'events.pagerduty.com' }), /NOTIFY_PAGERDUTY_URL/);
  });
});

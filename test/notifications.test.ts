/**
 * Notifications end to end: incidents published on incidents.v1 (memory bus) reach real local HTTP
 * servers standing in for a generic webhook receiver, Slack and PagerDuty (which answers 202).
 * Receivers that fail, refuse or never answer are real servers doing exactly that.
 */
import assert from 'node:assert/strict';
import { createServer, type IncomingHttpHeaders, type Server, type ServerResponse } from 'node:http';
import { afterEach, describe, it } from 'node:test';
import type { Hint, Incident } from '../schemas/contracts.ts';
import { check } from '../schemas/decode.ts';
import { topics } from '../schemas/topics.ts';
import { MemoryBus } from '../lib/bus/memory-bus.ts';
import type { ExpiryWarning } from '../lib/certs/warnings.ts';
import { ConfigError, loadEnv } from '../lib/config.ts';
import { createLogger } from '../lib/log.ts';
import { createMetrics, type Metrics } from '../lib/metrics.ts';
import { notifierConfig, type NotifierConfig } from '../services/notifier/config.ts';
import type { DeliveryOptions } from '../services/notifier/deliver.ts';
import { runNotifier, type Notifier } from '../services/notifier/notifier.ts';
import { verifySignature } from '../services/notifier/webhook.ts';

const SECRET = 'whsec_test_0123456789abcdef';
const ROUTING_KEY = 'R0UT1NGKEY0000000000000000000000';
const NOW = Date.parse('2020-02-03T13:42:00Z');
const SHA = 'bd6199b0afb0'.padEnd(64, '0');

/** What a receiver does with one request: answer normally, answer with a status, drop the connection, or never answer. */
type Behaviour = 'ok' | 'drop' | 'hang' | number;

interface Received {
  headers: IncomingHttpHeaders;
  body: string;
  json: Record<string, any>;
}

class LocalReceiver {
  /** Every request that arrived, attempts included. */
  readonly requests: Received[] = [];
  /** Those answered with the success status. */
  readonly accepted: Received[] = [];
  /** Answers for the next requests, in order; then `fallback`. */
  plan: Behaviour[] = [];
  url = '';
  private server!: Server;
  private readonly hung: ServerResponse[] = [];

  constructor(
    private readonly okStatus = 200,
    private readonly fallback: Behaviour = 'ok',
  ) {}

  async start(): Promise<this> {
    this.server = createServer(async (req, res) => {
      let body = '';
      for await (const chunk of req) body += chunk;
      const r: Received = { headers: req.headers, body, json: JSON.parse(body) };
      this.requests.push(r);
      const b = this.plan.shift() ?? this.fallback;
      if (b === 'ok') {
        this.accepted.push(r);
        res.writeHead(this.okStatus, { 'content-type': 'application/json' }).end('{"status":"success"}');
      } else if (b === 'drop') req.socket.destroy();
      else if (b === 'hang') this.hung.push(res);
      else res.writeHead(b, { 'content-type': 'application/json' }).end(`{"status":"error","message":"HTTP ${b} from the test receiver"}`);
    });
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(this.server.address() as { port: number }).port}/hook`;
    return this;
  }

  async stop(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise((resolve) => this.server.close(resolve));
  }
}

const base: Incident = {
  id: 'teams-20200203T1340Z',
  service: 'teams',
  status: 'open',
  startedAt: '2020-02-03T13:40:00Z',
  detectedAt: '2020-02-03T13:41:29Z',
  resolvedAt: null,
  peakPerMin: 20,
  baselinePerMin: 1.42,
  hints: [],
  revision: 1,
  updatedAt: '2020-02-03T13:41:29Z',
};
const certHint: Hint = {
  kind: 'cert_expired',
  confidence: 0.97,
  summary: 'certificate teams-auth-token-signing (CN=teams-auth-token-signing, sha256 bd6199b0afb0…) expired at 13:31 UTC, 9 minutes before reports rose',
  evidence: { name: 'teams-auth-token-signing', notAfter: '2020-02-03T13:31:00Z' },
  certSha256: SHA,
};
const probeHint: Hint = { kind: 'probe_failure', confidence: 0.03, summary: 'probes of https://teams.microsoft.com/ failing with HTTP_503 since 13:41 UTC', evidence: {} };
const incident = (patch: Partial<Incident>): Incident => ({ ...base, ...patch });
/** open (no hint yet) → a revision with nothing new → first hint: the expired certificate → resolved. */
const lifecycle = (id = base.id): Incident[] => [
  incident({ id }),
  incident({ id, revision: 2, peakPerMin: 45, updatedAt: '2020-02-03T13:42:00Z' }),
  incident({ id, revision: 3, peakPerMin: 188, hints: [certHint, probeHint], updatedAt: '2020-02-03T13:45:00Z' }),
  incident({ id, revision: 4, status: 'resolved', resolvedAt: '2020-02-03T17:57:00Z', hints: [certHint, probeHint], updatedAt: '2020-02-03T18:27:00Z' }),
];

async function publish(bus: MemoryBus, ...incidents: Incident[]): Promise<void> {
  for (const inc of incidents) assert.ok(check('Incident', inc).ok, `test incident ${inc.id}:${inc.revision} matches the contract`);
  await bus.publish(
    topics.incidents.name,
    incidents.map((inc) => ({ key: inc.id, value: JSON.stringify(inc) })),
  );
}

async function waitFor(what: string, cond: () => boolean | Promise<boolean>, timeoutMs = 10_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!(await cond())) {
    if (Date.now() > until) assert.fail(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

async function within<T>(what: string, p: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([p, new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`${what} did not complete within ${ms} ms`)), ms)))]);
  } finally {
    clearTimeout(timer);
  }
}

async function metric(metrics: Metrics, name: string, labels: Record<string, string>): Promise<number> {
  const m = metrics.registry.getSingleMetric(name);
  if (!m) return 0;
  const { values } = await m.get();
  return values.filter((v) => Object.entries(labels).every(([k, x]) => v.labels[k] === x)).reduce((sum, v) => sum + v.value, 0);
}

const running: { bus: MemoryBus; notifier: Notifier; receivers: LocalReceiver[] }[] = [];

async function start(opts: {
  webhook?: LocalReceiver;
  slack?: LocalReceiver;
  pagerduty?: LocalReceiver;
  delivery?: DeliveryOptions;
  minConfidence?: number;
}): Promise<{ bus: MemoryBus; notifier: Notifier; metrics: Metrics }> {
  const config: NotifierConfig = {
    webhooks: opts.webhook ? [{ url: opts.webhook.url }] : [],
    ...(opts.webhook ? { webhookSecret: SECRET } : {}),
    ...(opts.slack ? { slack: { url: opts.slack.url } } : {}),
    ...(opts.pagerduty ? { pagerduty: { url: opts.pagerduty.url, routingKey: ROUTING_KEY } } : {}),
    minConfidence: opts.minConfidence ?? 0,
  };
  const bus = new MemoryBus();
  const metrics = createMetrics();
  const notifier = await runNotifier({
    bus,
    config,
    logger: createLogger('notifier-test', 'silent'),
    metrics,
    now: () => NOW,
    delivery: { retry: { initialMs: 5, maxMs: 20 }, ...opts.delivery },
  });
  running.push({ bus, notifier, receivers: [opts.webhook, opts.slack, opts.pagerduty].filter((r) => r !== undefined) });
  return { bus, notifier, metrics };
}

afterEach(async () => {
  for (const r of running.splice(0)) {
    await r.notifier.stop();
    await r.bus.close();
    for (const receiver of r.receivers) await receiver.stop();
  }
});

describe('notifications', () => {
  it('open, first-hint change and resolve reach each receiver exactly once, signed and keyed <id>:<revision>', async () => {
    const webhook = await new LocalReceiver().start();
    const slack = await new LocalReceiver().start();
    const pagerduty = await new LocalReceiver(202).start();
    const { bus, notifier, metrics } = await start({ webhook, slack, pagerduty });

    for (const inc of lifecycle()) await publish(bus, inc);
    await bus.drain();
    await notifier.drain();

    // Generic webhook: one request per event, in order.
    assert.deepEqual(webhook.requests.map((r) => r.json.type), ['incident.opened', 'incident.hint_changed', 'incident.resolved']);
    assert.deepEqual(webhook.requests.map((r) => r.headers['idempotency-key']), ['teams-20200203T1340Z:1', 'teams-20200203T1340Z:3', 'teams-20200203T1340Z:4']);
    for (const r of webhook.requests) {
      assert.equal(r.json.idempotencyKey, r.headers['idempotency-key']);
      assert.equal(r.json.sentAt, '2020-02-03T13:42:00.000Z');
      assert.equal(r.headers['x-outage-timestamp'], String(NOW / 1000));
      assert.equal(r.headers['content-type'], 'application/json');
      assert.ok(verifySignature(SECRET, r.headers['x-outage-timestamp'], r.body, r.headers['x-outage-signature'], 300, NOW), 'the signature verifies');
      assert.equal(verifySignature(SECRET, r.headers['x-outage-timestamp'], r.body.replace('"teams"', '"zoom"'), r.headers['x-outage-signature'], 300, NOW), false, 'a tampered body does not');
      assert.equal(verifySignature(SECRET, r.headers['x-outage-timestamp'], r.body, r.headers['x-outage-signature'], 300, NOW + 600_000), false, 'nor a stale one');
    }
    const changed = webhook.requests[1]!.json;
    assert.deepEqual(changed.incident.hints[0], certHint);
    assert.equal(changed.incident.revision, 3);

    // Slack: the service, status, first hint's kind, confidence and summary, and the incident id.
    assert.equal(slack.requests.length, 3);
    assert.match(slack.requests[0]!.json.text, /teams: incident opened: no hint yet .*\(incident teams-20200203T1340Z\)/);
    assert.match(slack.requests[1]!.json.text, /teams: first hint changed: cert_expired 97% \(likely cause\): certificate teams-auth-token-signing/);
    const blocks = JSON.stringify(slack.requests[1]!.json.blocks);
    for (const part of ['*Service*\\nteams', '*Status*\\nopen', '*First hint*\\ncert_expired', '*Confidence*\\n97% (likely cause)', 'expired at 13:31 UTC', 'incident teams-20200203T1340Z']) {
      assert.ok(blocks.includes(part), `Slack blocks hold ${part}`);
    }
    assert.match(slack.requests[2]!.json.text, /teams: incident resolved/);

    // PagerDuty: trigger, trigger (now critical), resolve, all under the incident id.
    assert.deepEqual(pagerduty.requests.map((r) => [r.json.event_action, r.json.dedup_key]), [
      ['trigger', 'teams-20200203T1340Z'],
      ['trigger', 'teams-20200203T1340Z'],
      ['resolve', 'teams-20200203T1340Z'],
    ]);
    assert.ok(pagerduty.requests.every((r) => r.json.routing_key === ROUTING_KEY));
    assert.equal(pagerduty.requests[0]!.json.payload.severity, 'error');
    assert.equal(pagerduty.requests[1]!.json.payload.severity, 'critical');
    assert.equal(pagerduty.requests[1]!.json.payload.class, 'cert_expired');
    assert.equal(pagerduty.requests[1]!.json.payload.component, 'teams');
    assert.equal(pagerduty.requests[1]!.json.payload.timestamp, '2020-02-03T13:45:00Z');
    assert.ok(pagerduty.requests[1]!.json.payload.summary.length <= 1024);
    assert.deepEqual(pagerduty.requests[1]!.json.payload.custom_details.hints, [certHint, probeHint]);

    for (const receiver of ['webhook-0', 'slack-0', 'pagerduty-0']) {
      assert.equal(await metric(metrics, 'outage_notifications_total', { receiver, outcome: 'delivered' }), 3, receiver);
      assert.equal(await metric(metrics, 'outage_notification_retries_total', { receiver }), 0, receiver);
      assert.equal(await metric(metrics, 'outage_notification_queue_depth', { receiver }), 0, receiver);
    }
    assert.equal(await metric(metrics, 'outage_notifications_total', { receiver: 'pagerduty-0', type: 'incident.resolved', outcome: 'delivered' }), 1);

    // A re-open triggers the same PagerDuty alert again; a redelivered revision is not notified twice.
    await publish(bus, lifecycle()[3]!, incident({ revision: 5, hints: [certHint], updatedAt: '2020-02-03T18:40:00Z' }));
    await bus.drain();
    await notifier.drain();
    assert.deepEqual(webhook.requests.map((r) => r.json.type).slice(3), ['incident.reopened']);
    assert.deepEqual(pagerduty.requests.map((r) => r.json.event_action).slice(3), ['trigger']);
    assert.equal(slack.requests.length, 4);
  });

  it('a receiver that fails twice (500, then a dropped connection) gets exactly one accepted delivery per event; retries are counted', async () => {
    const webhook = await new LocalReceiver().start();
    const slack = await new LocalReceiver().start();
    const pagerduty = await new LocalReceiver(202).start();
    webhook.plan = [500, 'drop'];
    pagerduty.plan = [429];
    const { bus, notifier, metrics } = await start({ webhook, slack, pagerduty });

    const [opened, , changed] = lifecycle();
    await publish(bus, opened!, changed!);
    await bus.drain();
    await notifier.drain();

    assert.equal(webhook.requests.length, 4, 'three attempts for the first event, one for the second');
    assert.deepEqual(webhook.accepted.map((r) => r.headers['idempotency-key']), ['teams-20200203T1340Z:1', 'teams-20200203T1340Z:3']);
    // Every attempt of an event carries the same key and body, each signed validly.
    assert.deepEqual(webhook.requests.slice(0, 3).map((r) => r.headers['idempotency-key']), Array(3).fill('teams-20200203T1340Z:1'));
    assert.ok(webhook.requests.every((r) => verifySignature(SECRET, r.headers['x-outage-timestamp'], r.body, r.headers['x-outage-signature'], 300, NOW)));
    assert.equal(await metric(metrics, 'outage_notification_retries_total', { receiver: 'webhook-0' }), 2);
    assert.equal(await metric(metrics, 'outage_notifications_total', { receiver: 'webhook-0', outcome: 'delivered' }), 2);
    assert.equal(await metric(metrics, 'outage_notifications_total', { receiver: 'webhook-0', outcome: 'failed' }), 0);

    // 429 is retried too.
    assert.deepEqual(pagerduty.accepted.map((r) => r.json.event_action), ['trigger', 'trigger']);
    assert.equal(await metric(metrics, 'outage_notification_retries_total', { receiver: 'pagerduty-0' }), 1);
    assert.equal(slack.requests.length, 2);
    assert.equal(await metric(metrics, 'outage_notification_retries_total', { receiver: 'slack-0' }), 0);
  });

  it('a receiver that never answers blocks neither the bus nor the other receivers; its requests time out and its full queue drops the oldest', async () => {
    const hung = await new LocalReceiver(200, 'hang').start();
    const slack = await new LocalReceiver().start();
    const pagerduty = await new LocalReceiver(202).start();
    // Long enough that the others are done before the first hung request gives up; short enough for a test.
    const timeoutMs = 1000;
    const { bus, notifier, metrics } = await start({ webhook: hung, slack, pagerduty, delivery: { timeoutMs, queueSize: 2, retry: { retries: 0 } } });
    const opened = (i: number) => incident({ id: `svc${i}-20200203T1340Z`, service: `svc${i}` });

    // One at a time, each reaching Slack and PagerDuty before the next: their queues never fill.
    const publishAndDeliver = async (i: number) => {
      await publish(bus, opened(i));
      await within('bus.drain() with a hung receiver', bus.drain(), 5_000);
      await waitFor(`Slack and PagerDuty to get incident ${i}`, () => slack.accepted.length === i + 1 && pagerduty.accepted.length === i + 1);
    };
    for (let i = 0; i < 5; i++) await publishAndDeliver(i);
    assert.equal(await metric(metrics, 'outage_notifications_total', { receiver: 'webhook-0', outcome: 'failed' }), 0, 'the first hung request is still waiting');
    assert.equal(hung.requests.length, 1);
    // The bus keeps flowing while the receiver hangs.
    for (let i = 5; i < 10; i++) await publishAndDeliver(i);

    // The hung receiver's queue holds the newest two behind the one in flight: the older ones were
    // dropped, and every request it got timed out.
    await within('the hung deliveries to time out', notifier.drain(), 10 * timeoutMs + 10_000);
    const outcome = (o: string) => metric(metrics, 'outage_notifications_total', { receiver: 'webhook-0', outcome: o });
    assert.equal(await outcome('delivered'), 0);
    assert.equal(await outcome('failed'), hung.requests.length);
    assert.equal((await outcome('failed')) + (await outcome('dropped')), 10);
    assert.ok((await outcome('dropped')) >= 1, 'a full queue dropped its oldest');
    assert.equal(hung.requests[0]!.json.incident.id, 'svc0-20200203T1340Z');
    assert.equal(hung.requests.at(-1)!.json.incident.id, 'svc9-20200203T1340Z', 'the newest is never the one dropped');
    assert.equal(await metric(metrics, 'outage_notifications_total', { receiver: 'slack-0', outcome: 'delivered' }), 10);
    assert.equal(await metric(metrics, 'outage_notifications_total', { receiver: 'pagerduty-0', outcome: 'delivered' }), 10);
    assert.equal(await metric(metrics, 'outage_notification_queue_depth', { receiver: 'webhook-0' }), 0);
  });

  it('stop() gives the queues a grace period, then aborts what hangs and drops what waits', async () => {
    const hung = await new LocalReceiver(200, 'hang').start();
    const slack = await new LocalReceiver().start();
    const { bus, notifier, metrics } = await start({ webhook: hung, slack });
    const [opened, , changed, resolved] = lifecycle();
    await publish(bus, opened!, changed!, resolved!);
    await bus.drain();
    await waitFor('the first request to hang', () => hung.requests.length === 1);

    // The default 10 s request timeout would outlast the grace period: stop() does not wait for it.
    await within('stop() with a hung receiver', notifier.stop({ graceMs: 200 }), 5_000);
    assert.equal(slack.accepted.length, 3, 'the healthy receiver got everything within the grace period');
    const outcome = (o: string) => metric(metrics, 'outage_notifications_total', { receiver: 'webhook-0', outcome: o });
    assert.equal(await outcome('failed'), 1, 'the request in flight was aborted');
    assert.equal(await outcome('dropped'), 2);
    assert.equal(hung.requests.length, 1, 'an aborted request is not retried');
    assert.equal(notifier.notifyWarnings([]), 0);
  });

  it('a 400 is a refusal: logged and counted as failed, not retried, and the next event still goes out', async () => {
    const pagerduty = await new LocalReceiver(202).start();
    pagerduty.plan = [400];
    const { bus, notifier, metrics } = await start({ pagerduty, delivery: { retry: { retries: 5 } } });

    const [opened, , changed] = lifecycle();
    await publish(bus, opened!);
    await bus.drain();
    await notifier.drain();
    assert.equal(pagerduty.requests.length, 1);
    assert.equal(pagerduty.accepted.length, 0);
    assert.equal(await metric(metrics, 'outage_notifications_total', { receiver: 'pagerduty-0', type: 'incident.opened', outcome: 'failed' }), 1);
    assert.equal(await metric(metrics, 'outage_notification_retries_total', { receiver: 'pagerduty-0' }), 0);

    await publish(bus, changed!);
    await bus.drain();
    await notifier.drain();
    assert.equal(pagerduty.accepted.length, 1);
  });

  it('new early warnings are notified once per certificate and level', async () => {
    const webhook = await new LocalReceiver().start();
    const pagerduty = await new LocalReceiver(202).start();
    const { notifier } = await start({ webhook, pagerduty });
    const warning: ExpiryWarning = {
      sha256: SHA,
      name: 'teams-auth-token-signing',
      subject: 'CN=teams-auth-token-signing',
      notAfter: '2020-02-03T13:31:00Z',
      daysLeft: 2,
      level: 'high',
      reason: 'expires in 2 days (within the 7-day horizon); serves m365-auth; blast radius m365-auth, outlook, sharepoint, teams',
      services: ['m365-auth'],
      blastRadius: ['m365-auth', 'outlook', 'sharepoint', 'teams'],
      endpoints: ['file:certs/teams-auth-token-signing.pem'],
    };
    assert.equal(notifier.notifyWarnings([warning]), 1);
    assert.equal(notifier.notifyWarnings([warning]), 0);
    assert.equal(notifier.notifyWarnings([{ ...warning, level: 'critical', daysLeft: 0.9 }]), 1);
    await notifier.drain();

    assert.deepEqual(webhook.requests.map((r) => [r.json.type, r.headers['idempotency-key']]), [
      ['warning.new', `warning:${SHA}:high`],
      ['warning.new', `warning:${SHA}:critical`],
    ]);
    assert.equal(webhook.requests[0]!.json.warning.name, 'teams-auth-token-signing');
    assert.ok(verifySignature(SECRET, webhook.requests[1]!.headers['x-outage-timestamp'], webhook.requests[1]!.body, webhook.requests[1]!.headers['x-outage-signature'], 300, NOW));
    assert.deepEqual(pagerduty.requests.map((r) => [r.json.event_action, r.json.dedup_key, r.json.payload.severity]), [
      ['trigger', `warning:${SHA}`, 'error'],
      ['trigger', `warning:${SHA}`, 'critical'],
    ]);
  });

  it('with NOTIFY_MIN_CONFIDENCE, a weak incident is not notified and a notified one is followed to its resolve', async () => {
    const webhook = await new LocalReceiver().start();
    const { bus, notifier } = await start({ webhook, minConfidence: 0.5 });
    const weak = (patch: Partial<Incident>) => incident({ id: 'zoom-20200203T1336Z', service: 'zoom', hints: [probeHint], ...patch });
    await publish(bus, weak({}), weak({ revision: 2, status: 'resolved', resolvedAt: '2020-02-03T14:30:00Z' }), ...lifecycle());
    await bus.drain();
    await notifier.drain();
    assert.deepEqual(webhook.requests.map((r) => `${r.json.type} ${r.headers['idempotency-key']}`), [
      'incident.opened teams-20200203T1340Z:3',
      'incident.resolved teams-20200203T1340Z:4',
    ]);
  });

  it('a malformed message on incidents.v1 is dead-lettered once and the notifier goes on', async () => {
    const webhook = await new LocalReceiver().start();
    const { bus, notifier, metrics } = await start({ webhook });
    await bus.publish(topics.incidents.name, [{ key: 'x', value: '{"id":' }]);
    await publish(bus, lifecycle()[0]!);
    await bus.drain();
    await notifier.drain();
    assert.equal(await metric(metrics, 'outage_messages_refused_total', { group: 'notifier', topic: topics.incidents.name, reason: 'malformed_json' }), 1);
    // No sink reads this bus, so the notifier, its only reader, dead-letters it (once).
    assert.equal(await metric(metrics, 'outage_dead_letters_total', { topic: topics.incidents.name, reason: 'malformed_json' }), 1);
    assert.equal(webhook.accepted.length, 1);
  });

  it('refuses webhook URLs without a secret with a message naming both variables', () => {
    assert.throws(
      () => notifierConfig(loadEnv({ NOTIFY_WEBHOOK_URLS: 'https://hooks.example.com/outage' })),
      (err: Error) => err instanceof ConfigError && /NOTIFY_WEBHOOK_SECRET is required when NOTIFY_WEBHOOK_URLS is set/.test(err.message),
    );
  });
});

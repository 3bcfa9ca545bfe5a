import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Incident } from '../../schemas/contracts.ts';
import type { ExpiryWarning } from '../../lib/certs/warnings.ts';
import { classifyStatus } from './deliver.ts';
import type { Notification } from './events.ts';
import { pagerDutyEvent } from './pagerduty.ts';
import { receiversOf } from './receivers.ts';
import { slackMessage } from './slack.ts';
import { signature, verifySignature } from './webhook.ts';

const SHA = 'bd6199b0afb0'.padEnd(64, '0');
const incident: Incident = {
  id: 'teams-20200203T1340Z',
  service: 'teams',
  status: 'open',
  startedAt: '2020-02-03T13:40:00Z',
  detectedAt: '2020-02-03T13:41:00Z',
  resolvedAt: null,
  peakPerMin: 188,
  baselinePerMin: 1.42,
  hints: [{ kind: 'cert_expired', confidence: 0.97, summary: 'certificate <teams-auth> & co expired at 13:31 UTC', evidence: {}, certSha256: SHA }],
  revision: 3,
  updatedAt: '2020-02-03T13:45:00Z',
};
const opened: Notification = { type: 'incident.opened', idempotencyKey: 'teams-20200203T1340Z:3', incident, sentAt: '2020-02-03T13:45:01.000Z' };
const warning: ExpiryWarning = {
  sha256: SHA,
  name: 'outlook-office-com',
  subject: 'CN=outlook.office.com',
  notAfter: '2020-02-11T00:00:00Z',
  daysLeft: 8,
  level: 'warning',
  reason: 'expires in 8 days (within the 14-day horizon); serves outlook',
  services: ['outlook'],
  blastRadius: ['outlook'],
  endpoints: ['https://outlook.office.com/'],
};
const warned: Notification = { type: 'warning.new', idempotencyKey: `warning:${SHA}:warning`, warning, sentAt: '2020-02-03T00:00:00.000Z' };

describe('webhook signatures', () => {
  const secret = 'whsec_0123456789abcdef';
  const body = JSON.stringify(opened);
  const nowMs = 1_580_737_501_000;
  const ts = String(Math.floor(nowMs / 1000));

  it('verifies the HMAC of "<timestamp>.<raw body>" within the tolerance', () => {
    const header = signature(secret, ts, body);
    assert.match(header, /^v1=[0-9a-f]{64}$/);
    assert.equal(verifySignature(secret, ts, body, header, 300, nowMs), true);
    assert.equal(verifySignature(secret, ts, Buffer.from(body), header, 300, nowMs), true);
    assert.equal(verifySignature(secret, ts, body, `v1=${'0'.repeat(64)}, ${header}`, 300, nowMs), true, 'any v1 value may match (secret rotation)');
  });

  it('refuses a changed body, another secret, an old or missing timestamp and a malformed header', () => {
    const header = signature(secret, ts, body);
    assert.equal(verifySignature(secret, ts, body.replace('teams', 'zoom'), header, 300, nowMs), false);
    assert.equal(verifySignature('another-secret-0000', ts, body, header, 300, nowMs), false);
    assert.equal(verifySignature(secret, ts, body, header, 300, nowMs + 301_000), false);
    assert.equal(verifySignature(secret, String(Number(ts) + 1), body, header, 300, nowMs), false);
    assert.equal(verifySignature(secret, undefined, body, header, 300, nowMs), false);
    assert.equal(verifySignature(secret, ts, body, undefined, 300, nowMs), false);
    assert.equal(verifySignature(secret, ts, body, header.slice(3), 300, nowMs), false);
    assert.equal(verifySignature(secret, ts, body, 'v1=abc', 300, nowMs), false);
  });

  it('signs every attempt with its own time and carries the idempotency key', () => {
    const [hook] = receiversOf({ webhooks: [{ url: 'https://hooks.example.com/outage?token=t' }], webhookSecret: secret, minConfidence: 0 });
    const req = hook!.request(opened, nowMs);
    assert.equal(hook!.id, 'webhook-0');
    assert.equal(hook!.origin, 'https://hooks.example.com');
    assert.equal(req.headers['idempotency-key'], 'teams-20200203T1340Z:3');
    assert.equal(req.headers['x-outage-timestamp'], ts);
    assert.deepEqual(JSON.parse(req.body), opened);
    assert.ok(verifySignature(secret, req.headers['x-outage-timestamp'], req.body, req.headers['x-outage-signature'], 300, nowMs));
    assert.equal(hook!.request(opened, nowMs + 60_000).headers['x-outage-timestamp'], String(Number(ts) + 60));
  });
});

describe('Slack messages', () => {
  it('name the service, status, first hint, confidence, summary and incident id, escaped for mrkdwn', () => {
    const m = slackMessage(opened);
    assert.match(m.text, /teams: incident opened: cert_expired 97% \(likely cause\): certificate <teams-auth> & co .*\(incident teams-20200203T1340Z\)/);
    const json = JSON.stringify(m.blocks);
    for (const part of ['*Service*\\nteams', '*Status*\\nopen', '*First hint*\\ncert_expired', '*Confidence*\\n97% (likely cause)', 'incident teams-20200203T1340Z']) {
      assert.ok(json.includes(part), `${part} in ${json}`);
    }
    assert.ok(json.includes('certificate &lt;teams-auth&gt; &amp; co expired'));
    assert.equal((m.blocks[0] as { type: string }).type, 'header');
  });

  it('say so when there is no hint yet, and keep within the block limits', () => {
    const m = slackMessage({ ...opened, incident: { ...incident, hints: [] } });
    assert.match(m.text, /no hint yet/);
    const long = slackMessage({ ...opened, incident: { ...incident, service: 'x'.repeat(128), hints: [{ ...incident.hints[0]!, summary: 's'.repeat(5000) }] } });
    const blocks = long.blocks as { text?: { text: string } }[];
    assert.ok(blocks[0]!.text!.text.length <= 150);
    assert.ok(blocks[2]!.text!.text.length <= 3000);
  });

  it('show a warning with its level, services and reason', () => {
    const m = slackMessage(warned);
    assert.match(m.text, /certificate outlook-office-com: warning: expires in 8 days/);
    assert.ok(JSON.stringify(m.blocks).includes('*Services*\\noutlook'));
  });
});

describe('PagerDuty events', () => {
  const key = 'R0UT1NGKEY0000000000000000000000';

  it('trigger with the incident id as dedup_key, critical for a likely certificate cause', () => {
    const e = pagerDutyEvent(opened, key);
    assert.equal(e.event_action, 'trigger');
    assert.equal(e.routing_key, key);
    assert.equal(e.dedup_key, 'teams-20200203T1340Z');
    assert.equal(e.payload?.severity, 'critical');
    assert.equal(e.payload?.component, 'teams');
    assert.equal(e.payload?.class, 'cert_expired');
    assert.equal(e.payload?.timestamp, '2020-02-03T13:45:00Z');
    assert.deepEqual(e.payload?.custom_details?.hints, incident.hints);
  });

  it('page "error" for a weak or non-certificate first hint, cap the summary at 1024 characters', () => {
    const weak = { ...incident, hints: [{ ...incident.hints[0]!, confidence: 0.4 }] };
    assert.equal(pagerDutyEvent({ ...opened, incident: weak }, key).payload?.severity, 'error');
    const probe = { ...incident, hints: [{ kind: 'probe_failure' as const, confidence: 0.9, summary: 'x'.repeat(3000), evidence: {} }] };
    const e = pagerDutyEvent({ ...opened, incident: probe }, key);
    assert.equal(e.payload?.severity, 'error');
    assert.equal(e.payload?.summary.length, 1024);
    assert.equal(pagerDutyEvent({ ...opened, incident: { ...incident, hints: [] } }, key).payload?.class, undefined);
  });

  it('resolve with only the dedup_key', () => {
    const e = pagerDutyEvent({ ...opened, type: 'incident.resolved', incident: { ...incident, status: 'resolved', resolvedAt: '2020-02-03T17:57:00Z' } }, key);
    assert.deepEqual(e, { routing_key: key, event_action: 'resolve', dedup_key: 'teams-20200203T1340Z' });
  });

  it('trigger a warning under warning:<sha256> with a severity by level', () => {
    const e = pagerDutyEvent(warned, key);
    assert.equal(e.dedup_key, `warning:${SHA}`);
    assert.equal(e.payload?.severity, 'warning');
    assert.equal(pagerDutyEvent({ ...warned, warning: { ...warning, level: 'expired' } }, key).payload?.severity, 'critical');
    assert.equal(pagerDutyEvent({ ...warned, warning: { ...warning, level: 'notice' } }, key).payload?.severity, 'info');
  });
});

describe('answers', () => {
  it('2xx is accepted, 429 and 5xx are retried, other statuses are refusals', () => {
    assert.deepEqual([200, 202, 204, 429, 500, 503, 400, 403, 404, 410, 302].map(classifyStatus), [
      'accepted', 'accepted', 'accepted', 'retriable', 'retriable', 'retriable', 'refused', 'refused', 'refused', 'refused', 'refused',
    ]);
  });
});

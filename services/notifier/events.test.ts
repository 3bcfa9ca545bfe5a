import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Hint, Incident } from '../../schemas/contracts.ts';
import { check } from '../../schemas/decode.ts';
import type { ExpiryWarning } from '../../lib/certs/warnings.ts';
import { firstHintChanged, incidentNotifications, warningNotifications, type IncidentTrack, type Notification } from './events.ts';

const NOW = Date.parse('2020-02-03T13:42:00Z');
const SHA = 'bd6199b0afb0'.padEnd(64, '0');
const certHint: Hint = { kind: 'cert_expired', confidence: 0.97, summary: 'certificate teams-auth-token-signing expired at 13:31 UTC', evidence: {}, certSha256: SHA };
const probeHint: Hint = { kind: 'probe_failure', confidence: 0.3, summary: 'probes of https://teams.microsoft.com/ failing with HTTP_503', evidence: {} };

const open: Incident = {
  id: 'teams-20200203T1340Z',
  service: 'teams',
  status: 'open',
  startedAt: '2020-02-03T13:40:00Z',
  detectedAt: '2020-02-03T13:41:00Z',
  resolvedAt: null,
  peakPerMin: 20,
  baselinePerMin: 1.4,
  hints: [],
  revision: 1,
  updatedAt: '2020-02-03T13:41:00Z',
};
const rev = (n: number, patch: Partial<Incident> = {}): Incident => ({ ...open, revision: n, ...patch });
const resolved = (n: number, patch: Partial<Incident> = {}) => rev(n, { status: 'resolved', resolvedAt: '2020-02-03T17:57:00Z', ...patch });

/** Runs a sequence of states through the decision and returns the types of what it produced. */
function run(states: Incident[], minConfidence = 0, start?: IncidentTrack): { types: string[]; out: Notification[] } {
  let track = start;
  const out: Notification[] = [];
  for (const s of states) {
    assert.ok(check('Incident', s).ok, `test incident ${s.revision} is valid`);
    const r = incidentNotifications(track, s, { minConfidence, nowMs: NOW });
    track = r.track;
    out.push(...r.out);
  }
  return { types: out.map((n) => n.type), out };
}

describe('incident notifications', () => {
  it('opens, follows first-hint changes, resolves and re-opens, keyed <id>:<revision>', () => {
    const { types, out } = run([
      rev(1),
      rev(2, { peakPerMin: 40 }), // nothing a responder needs
      rev(3, { hints: [certHint] }),
      rev(4, { hints: [{ ...certHint, confidence: 0.9 }, probeHint] }), // still the same likely cause
      resolved(5, { hints: [certHint] }),
      resolved(6, { hints: [certHint], peakPerMin: 41 }),
      rev(7, { hints: [certHint] }),
    ]);
    assert.deepEqual(types, ['incident.opened', 'incident.hint_changed', 'incident.resolved', 'incident.reopened']);
    assert.deepEqual(
      out.map((n) => n.idempotencyKey),
      ['teams-20200203T1340Z:1', 'teams-20200203T1340Z:3', 'teams-20200203T1340Z:5', 'teams-20200203T1340Z:7'],
    );
    assert.ok(out.every((n) => n.sentAt === '2020-02-03T13:42:00.000Z'));
    assert.equal(out[1]!.type !== 'warning.new' && out[1]!.incident.revision, 3);
  });

  it('a first hint changes on kind, on certificate and on crossing the likely-cause line, not on small moves', () => {
    assert.equal(firstHintChanged(undefined, undefined), false);
    assert.equal(firstHintChanged(undefined, probeHint), true);
    assert.equal(firstHintChanged(certHint, undefined), true);
    assert.equal(firstHintChanged(certHint, { ...certHint, confidence: 0.6, summary: 'other words' }), false);
    assert.equal(firstHintChanged(certHint, { ...certHint, confidence: 0.49 }), true);
    assert.equal(firstHintChanged(certHint, { ...certHint, certSha256: 'c'.repeat(64) }), true);
    assert.equal(firstHintChanged(certHint, { ...certHint, kind: 'chain_expired' }), true);
    assert.equal(firstHintChanged(probeHint, { ...probeHint, confidence: 0.5 }), true);
  });

  it('a redelivered or older revision produces nothing', () => {
    const { types } = run([rev(1), rev(2, { hints: [certHint] }), rev(2, { hints: [certHint] }), rev(1), resolved(3), resolved(3)]);
    assert.deepEqual(types, ['incident.opened', 'incident.hint_changed', 'incident.resolved']);
  });

  it('with a minimum confidence, holds back weak incidents and announces one as opened when its hint gets strong', () => {
    assert.deepEqual(run([rev(1), rev(2, { hints: [probeHint] }), resolved(3, { hints: [probeHint] })], 0.5).types, []);
    const strong = run([rev(1), rev(2, { hints: [probeHint] }), rev(3, { hints: [certHint] }), rev(4, { hints: [probeHint] }), resolved(5, { hints: [probeHint] })], 0.5);
    // Once notified, the incident is followed to its end even when its hint weakens.
    assert.deepEqual(strong.types, ['incident.opened', 'incident.hint_changed', 'incident.resolved']);
    assert.equal(strong.out[0]!.idempotencyKey, 'teams-20200203T1340Z:3');
    // A weak incident that resolved unnotified and comes back strong is new to the receivers.
    assert.deepEqual(run([rev(1), resolved(2), rev(3, { hints: [certHint] })], 0.5).types, ['incident.opened']);
  });

  it('0 notifies every incident, even one without hints', () => {
    assert.deepEqual(run([rev(1)], 0).types, ['incident.opened']);
    assert.deepEqual(run([rev(1)], 0.01).types, []);
  });

  it('without a previous state (a restart), announces an open incident and sends a resolve that qualifies', () => {
    assert.deepEqual(run([rev(5, { hints: [certHint] }), rev(6, { hints: [certHint] })]).types, ['incident.opened']);
    assert.deepEqual(run([resolved(9, { hints: [certHint] })], 0.5).types, ['incident.resolved']);
    assert.deepEqual(run([resolved(9, { hints: [probeHint] })], 0.5).types, []);
  });

  it('keys an incident without revisions by its change, so two changes never share a key', () => {
    const { id, service, status, startedAt, detectedAt, resolvedAt, peakPerMin, baselinePerMin } = open;
    const bare: Incident = { id, service, status, startedAt, detectedAt, resolvedAt, peakPerMin, baselinePerMin, hints: [] };
    const { out } = run([bare, { ...bare, status: 'resolved', resolvedAt: '2020-02-03T17:57:00Z' }]);
    assert.deepEqual(
      out.map((n) => n.idempotencyKey),
      ['teams-20200203T1340Z:incident.opened@2020-02-03T13:41:00Z', 'teams-20200203T1340Z:incident.resolved@2020-02-03T13:41:00Z'],
    );
  });
});

describe('warning notifications', () => {
  const warning: ExpiryWarning = {
    sha256: SHA,
    name: 'teams-auth-token-signing',
    subject: 'CN=teams-auth-token-signing',
    notAfter: '2020-02-03T13:31:00Z',
    daysLeft: 6.5,
    level: 'high',
    reason: 'expires in 6 days (within the 7-day horizon); serves m365-auth',
    services: ['m365-auth'],
    blastRadius: ['m365-auth', 'outlook', 'sharepoint', 'teams'],
    endpoints: ['file'],
  };

  it('notifies each sha256 + level once, and again when the level escalates', () => {
    let seen: ReadonlySet<string> = new Set();
    const keys: string[] = [];
    for (const batch of [[warning], [warning], [{ ...warning, level: 'critical' as const, daysLeft: 0.8 }, warning]]) {
      const r = warningNotifications(seen, batch, NOW);
      seen = r.seen;
      keys.push(...r.out.map((n) => `${n.type} ${n.idempotencyKey}`));
    }
    assert.deepEqual(keys, [`warning.new warning:${SHA}:high`, `warning.new warning:${SHA}:critical`]);
  });
});

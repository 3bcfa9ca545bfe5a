import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { CertObservation, Incident, ProbeResult, UserReport } from '../../../schemas/contracts.ts';
import { parseCatalog } from '../../../lib/catalog.ts';
import { createRng, poisson } from '../../../lib/scenario/generate.ts';
import { CorrelatorCore, type CorrelatorEvent } from './correlator.ts';

const MIN = 60_000;
const DAY = 86_400_000;
const T0 = Date.parse('2020-01-27T00:00:00Z');
const iso = (ms: number) => new Date(ms).toISOString();

const catalog = parseCatalog(`
services:
  - id: teams
    name: Teams
    endpoints: ["https://teams.example.com/"]
    hosts: ["teams.example.com"]
    dependsOn: [auth]
  - id: auth
    name: Sign-in
    hosts: ["login.example.com"]
    certificates: [{ name: token-signing, sha256: "${'a'.repeat(64)}" }]
  - id: zoom
    name: Zoom
    hosts: ["zoom.example.com"]
  - id: big
    name: Big service
`);

/** Diurnal Poisson background, one report per event, sorted. */
function background(service: string, peakPerMin: number, fromMs: number, toMs: number, seed: number): CorrelatorEvent[] {
  const rng = createRng(seed);
  const out: CorrelatorEvent[] = [];
  for (let t = fromMs; t < toMs; t += MIN) {
    const h = new Date(t).getUTCHours();
    const rate = peakPerMin * (0.3 + 0.7 * Math.exp(-(((h - 13) / 4.5) ** 2)));
    const n = poisson(rng, rate);
    for (let k = 0; k < n; k++) out.push(report(service, t + Math.floor(rng() * MIN), `${service}-${t}-${k}`));
  }
  return out;
}

function report(service: string, ts: number, id: string, author?: string): CorrelatorEvent {
  const value: UserReport = { id, ts: iso(ts), service, channel: 'web', ...(author ? { author } : {}) };
  return { kind: 'report', value };
}

/** `perMin` extra reports per minute from `fromMs` for `minutes`. */
function spike(service: string, perMin: number, fromMs: number, minutes: number, tag = 's'): CorrelatorEvent[] {
  const out: CorrelatorEvent[] = [];
  for (let m = 0; m < minutes; m++) for (let k = 0; k < perMin; k++) out.push(report(service, fromMs + m * MIN + Math.floor((k * MIN) / perMin), `${tag}-${service}-${m}-${k}`));
  return out;
}

function cert(sha: string, notAfterMs: number, extra: Partial<CertObservation> = {}): CorrelatorEvent {
  return {
    kind: 'cert',
    value: {
      ts: iso(T0),
      source: 'file',
      sha256: sha,
      subject: `CN=${extra.name ?? sha.slice(0, 4)}`,
      issuer: 'CN=Example Root',
      serial: '01',
      notBefore: iso(notAfterMs - 365 * DAY),
      notAfter: iso(notAfterMs),
      dnsNames: [],
      isCA: false,
      ...extra,
    },
  };
}

function probe(service: string, target: string, ts: number, region: string, fail?: { code: string; httpStatus?: number }, tls?: ProbeResult['tls']): CorrelatorEvent {
  return {
    kind: 'probe',
    value: {
      id: `p-${service}-${region}-${ts}`,
      ts: iso(ts),
      probe: `https-${service}`,
      service,
      target,
      region,
      ok: !fail,
      durationMs: 100,
      ...(fail ? { error: { code: fail.code, message: fail.code }, ...(fail.httpStatus ? { httpStatus: fail.httpStatus } : {}) } : {}),
      ...(tls ? { tls } : {}),
    },
  };
}

function sortEvents(events: CorrelatorEvent[]): CorrelatorEvent[] {
  return events.map((e, i) => ({ e, i, t: Date.parse(e.value.ts) })).sort((a, b) => a.t - b.t || a.i - b.i).map((x) => x.e);
}

/** Runs events through a fresh core; returns the final state of every incident. */
function run(events: CorrelatorEvent[], endMs?: number): { incidents: Incident[]; core: CorrelatorCore; updates: Incident[] } {
  const core = new CorrelatorCore(catalog);
  const updates: Incident[] = [];
  for (const e of events) updates.push(...core.step(e));
  if (endMs) updates.push(...core.tick(endMs));
  return { incidents: core.incidents(), core, updates };
}

const OUTAGE = T0 + 7 * DAY + 13 * 3_600_000 + 40 * MIN; // Monday 13:40 after a week of history
const week = (service: string, rate: number, seed: number, days = 8) => background(service, rate, T0, T0 + days * DAY, seed);

describe('report spike detection', () => {
  it('raises no incident on a week of ordinary background, at volumes from 0.5 to 200 per minute', () => {
    const events = sortEvents([...week('teams', 0.5, 1), ...week('zoom', 10, 2), ...week('big', 200, 3)]);
    const { incidents } = run(events);
    assert.deepEqual(incidents.map((i) => i.id), []);
  });

  it('detects a spike within 3 minutes of its start, estimates the onset and resolves after a quiet period', () => {
    const events = sortEvents([...week('teams', 2, 4), ...spike('teams', 30, OUTAGE, 60)]);
    const { incidents } = run(events, T0 + 8 * DAY);
    assert.equal(incidents.length, 1);
    const inc = incidents[0]!;
    assert.equal(inc.service, 'teams');
    assert.ok(Date.parse(inc.detectedAt) - OUTAGE <= 3 * MIN, `detected at ${inc.detectedAt}`);
    assert.ok(Math.abs(Date.parse(inc.startedAt) - OUTAGE) <= 2 * MIN, `onset ${inc.startedAt}`);
    assert.equal(inc.status, 'resolved');
    const resolved = Date.parse(inc.resolvedAt!);
    assert.ok(resolved >= OUTAGE + 60 * MIN && resolved <= OUTAGE + 65 * MIN, `resolved at ${inc.resolvedAt}`);
    assert.ok(inc.peakPerMin >= 30);
  });

  it('detects from a cold start with one hour of history, without alarming in that hour', () => {
    const start = OUTAGE - 60 * MIN;
    const events = sortEvents([...background('teams', 3, start, OUTAGE + 30 * MIN, 5), ...spike('teams', 40, OUTAGE, 30)]);
    const { incidents } = run(events);
    assert.equal(incidents.length, 1);
    assert.ok(Date.parse(incidents[0]!.detectedAt) >= OUTAGE);
    assert.ok(Date.parse(incidents[0]!.detectedAt) - OUTAGE <= 3 * MIN);
  });

  it('counts one reporter once: a single author flooding a service raises nothing', () => {
    const flood: CorrelatorEvent[] = [];
    for (let k = 0; k < 500; k++) flood.push(report('teams', OUTAGE + k * 600, `flood-${k}`, 'angry-bot'));
    const { incidents, core } = run(sortEvents([...week('teams', 2, 6), ...flood]));
    assert.deepEqual(incidents, []);
    assert.equal(core.dropped.repeatReporter, 499);
  });

  it('drops redelivered report ids: every event twice gives the same incidents as once', () => {
    const events = sortEvents([...week('teams', 2, 7), ...spike('teams', 25, OUTAGE, 45)]);
    const once = run(events, T0 + 8 * DAY).incidents;
    const twice = run(events.flatMap((e) => [e, e]), T0 + 8 * DAY);
    assert.deepEqual(twice.incidents, once);
    assert.ok(twice.core.dropped.duplicateId > 0);
  });

  it('keeps one incident for one outage: a return soon after resolution re-opens the same id', () => {
    const second = OUTAGE + 60 * MIN + 45 * MIN; // 30 quiet minutes resolve it, it comes back 15 minutes later
    const events = sortEvents([...week('teams', 2, 8), ...spike('teams', 30, OUTAGE, 60, 'a'), ...spike('teams', 30, second, 30, 'b')]);
    const { incidents, updates } = run(events);
    assert.equal(incidents.length, 1);
    const states = updates.filter((u) => u.id === incidents[0]!.id).map((u) => u.status);
    const firstResolve = states.indexOf('resolved');
    assert.ok(firstResolve > 0 && states.indexOf('open', firstResolve) > firstResolve, `states: ${states.join(' ')}`);
  });

  it('detects a regional outage that hides in the service total (region slices)', () => {
    const rng = createRng(31);
    const events: CorrelatorEvent[] = [];
    const regions = ['US', 'GB', 'DE', 'BR'];
    for (let t = T0; t < T0 + 8 * DAY; t += MIN) {
      for (const region of regions) {
        const spike = region === 'BR' && t >= OUTAGE && t < OUTAGE + 40 * MIN ? 25 : 0;
        const n = poisson(rng, 10 + spike);
        for (let k = 0; k < n; k++) events.push({ kind: 'report', value: { id: `g-${region}-${t}-${k}`, ts: iso(t + Math.floor(rng() * MIN)), service: 'big', channel: 'web', region } });
      }
    }
    const { incidents } = run(sortEvents(events));
    assert.equal(incidents.length, 1, incidents.map((i) => i.id).join(', '));
    assert.ok(Date.parse(incidents[0]!.detectedAt) - OUTAGE <= 3 * MIN, incidents[0]!.detectedAt);
  });

  it('tolerates lines out of order by a minute or two', () => {
    const events = sortEvents([...week('teams', 2, 9), ...spike('teams', 30, OUTAGE, 40)]);
    const rng = createRng(99);
    const jittered = events
      .map((e) => ({ e, k: Date.parse(e.value.ts) + rng() * 2 * MIN }))
      .sort((a, b) => a.k - b.k)
      .map((x) => x.e);
    const a = run(events, T0 + 8 * DAY).incidents;
    const b = run(jittered, T0 + 8 * DAY).incidents;
    assert.equal(b.length, 1);
    assert.equal(b[0]!.id.slice(0, 'teams-20200203T13'.length), a[0]!.id.slice(0, 'teams-20200203T13'.length));
    assert.ok(Math.abs(Date.parse(b[0]!.detectedAt) - Date.parse(a[0]!.detectedAt)) <= 2 * MIN);
  });
});

describe('partitions and topics read out of step (as Kafka consumers do)', () => {
  it('reaches the same final incidents when one service and the evidence topics are read far ahead of another', () => {
    const probes: CorrelatorEvent[] = [];
    for (let m = -20; m < 90; m++) {
      for (const region of ['eu', 'us']) probes.push(probe('teams', 'https://teams.example.com/', OUTAGE + m * MIN, region, m >= 1 && m < 60 ? { code: 'HTTP_503', httpStatus: 503 } : undefined));
    }
    const teams = sortEvents([...week('teams', 2, 21), ...spike('teams', 30, OUTAGE, 45)]);
    const zoom = week('zoom', 5, 22);
    const evidence = sortEvents([cert('a'.repeat(64), OUTAGE - 9 * MIN, { name: 'token-signing' }), ...probes]);
    const inOrder = run(sortEvents([...teams, ...zoom, ...evidence]), T0 + 8 * DAY).incidents;
    // Evidence and the other service's partition first, then the spiking service's partition.
    const skewed = run([...evidence, ...zoom, ...teams], T0 + 8 * DAY).incidents;
    assert.equal(inOrder.length, 1);
    assert.deepEqual(
      skewed.map((i) => ({ ...i, revision: 0, updatedAt: '' })),
      inOrder.map((i) => ({ ...i, revision: 0, updatedAt: '' })),
    );
    assert.ok(inOrder[0]!.hints.some((h) => h.kind === 'probe_failure'));
  });
});

describe('root-cause hints', () => {
  const base = () => [...week('teams', 2, 10), ...spike('teams', 30, OUTAGE, 40)];
  const final = (extra: CorrelatorEvent[]) => {
    const { incidents } = run(sortEvents([...extra, ...base()]), OUTAGE + 30 * MIN);
    assert.equal(incidents.length, 1);
    return incidents[0]!;
  };

  it('blames the dependency certificate that expired minutes before the onset, naming it and the path', () => {
    const inc = final([cert('a'.repeat(64), OUTAGE - 9 * MIN, { name: 'token-signing' })]);
    const top = inc.hints[0]!;
    assert.equal(top.kind, 'cert_expired');
    assert.equal(top.certSha256, 'a'.repeat(64));
    assert.equal(top.relatedService, 'auth');
    assert.ok(top.confidence >= 0.5);
    assert.match(top.summary, /token-signing .* expired at 13:31 UTC, 9 minutes before reports rose; bound to auth, which teams depends on \(teams → auth\)/);
  });

  it('does not blame a bound certificate that expired months before while the service kept working', () => {
    const inc = final([cert('a'.repeat(64), OUTAGE - 90 * DAY, { name: 'token-signing' })]);
    assert.ok(inc.hints.every((h) => h.confidence < 0.5 || !h.certSha256), JSON.stringify(inc.hints));
  });

  it("does not blame another service's certificate, even one that expired closer to the onset", () => {
    const inc = final([
      cert('a'.repeat(64), OUTAGE - 9 * MIN, { name: 'token-signing' }),
      cert('b'.repeat(64), OUTAGE - 2 * MIN, { name: 'zoom-tls', dnsNames: ['zoom.example.com'], service: 'zoom' }),
    ]);
    assert.equal(inc.hints[0]!.certSha256, 'a'.repeat(64));
    assert.ok(!inc.hints.some((h) => h.certSha256 === 'b'.repeat(64)));
  });

  it('does not blame a stale copy in a file when the endpoints serve its renewal', () => {
    const inc = final([
      cert('c'.repeat(64), OUTAGE - 20 * MIN, { name: 'teams-old', dnsNames: ['teams.example.com'], endpoint: 'certs/teams-old.pem' }),
      cert('d'.repeat(64), OUTAGE + 300 * DAY, { name: 'teams-new', dnsNames: ['teams.example.com'], source: 'probe', endpoint: 'teams.example.com:443' }),
    ]);
    assert.ok(inc.hints.every((h) => h.confidence < 0.5 || !h.certSha256), JSON.stringify(inc.hints.map((h) => [h.kind, h.confidence])));
  });

  it('blames no certificate when the evidence points elsewhere (DNS failures), and names that class', () => {
    const probes: CorrelatorEvent[] = [];
    for (let m = -30; m < 30; m++) {
      for (const region of ['eu', 'us', 'ap']) {
        probes.push(probe('teams', 'https://teams.example.com/', OUTAGE + m * MIN, region, m >= 0 ? { code: 'ENOTFOUND' } : undefined));
      }
    }
    const inc = final([cert('c'.repeat(64), OUTAGE - 200 * DAY, { dnsNames: ['teams.example.com'] }), ...probes]);
    assert.equal(inc.hints[0]!.kind, 'probe_failure');
    assert.equal((inc.hints[0]!.evidence as { class: string }).class, 'dns');
    assert.ok(inc.hints[0]!.confidence >= 0.5);
    assert.ok(inc.hints.every((h) => !h.certSha256 || h.confidence < 0.5));
  });

  it('a chronically flaky check counts for less than one that only now fails', () => {
    const probes = (flaky: boolean, target: string): CorrelatorEvent[] => {
      const out: CorrelatorEvent[] = [];
      for (let m = -300; m < 20; m++) {
        const failing = m >= 0 || (flaky && m % 4 === 0);
        for (const region of ['eu', 'us']) out.push(probe('teams', target, OUTAGE + m * MIN, region, failing ? { code: 'ETIMEDOUT' } : undefined));
      }
      return out;
    };
    const steady = final(probes(false, 'https://teams.example.com/')).hints.find((h) => h.kind === 'probe_failure')!;
    const flaky = final(probes(true, 'https://teams.example.com/')).hints.find((h) => h.kind === 'probe_failure')!;
    assert.ok(flaky.confidence < steady.confidence, `${flaky.confidence} vs ${steady.confidence}`);
    assert.ok((flaky.evidence as { factors: { factor: string }[] }).factors.some((f) => /usually fails/.test(f.factor)));
  });

  it('a spike without any evidence gets no certificate blame', () => {
    const inc = final([]);
    assert.ok(inc.hints.every((h) => !h.certSha256));
  });

  it('adds probe evidence on the very certificate to an expired leaf served by the service', () => {
    const sha = 'e'.repeat(64);
    const probes: CorrelatorEvent[] = [];
    for (let m = -10; m < 20; m++) {
      for (const region of ['eu', 'us']) {
        probes.push(probe('teams', 'https://teams.example.com/', OUTAGE + m * MIN, region, m >= 0 ? { code: 'CERT_HAS_EXPIRED' } : undefined, { leafSha256: sha }));
      }
    }
    const inc = final([cert(sha, OUTAGE - 1 * MIN, { dnsNames: ['teams.example.com'], source: 'probe', endpoint: 'teams.example.com:443' }), ...probes]);
    const top = inc.hints[0]!;
    assert.equal(top.kind, 'cert_expired');
    assert.equal(top.certSha256, sha);
    assert.ok(top.confidence >= 0.9);
    assert.match(top.summary, /failing with CERT_HAS_EXPIRED since 13:40 UTC/);
    assert.equal(inc.hints.find((h) => h.kind === 'tls_probe_failure')!.confidence < 0.5, true);
  });

  it('attributes an expired intermediate in the served chain as chain_expired', () => {
    const ca = 'f'.repeat(64);
    const probes: CorrelatorEvent[] = [];
    for (let m = -5; m < 20; m++) probes.push(probe('teams', 'https://teams.example.com/', OUTAGE + m * MIN, 'eu', m >= 0 ? { code: 'CERT_HAS_EXPIRED' } : undefined, { leafSha256: '1'.repeat(64), chainSha256: ['1'.repeat(64), ca] }));
    const inc = final([cert(ca, OUTAGE - 5 * MIN, { isCA: true, subject: 'CN=Example Intermediate' }), ...probes]);
    assert.equal(inc.hints[0]!.kind, 'chain_expired');
    assert.equal(inc.hints[0]!.certSha256, ca);
  });
});

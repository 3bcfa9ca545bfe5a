import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { ProbeResult } from '../../../schemas/contracts.ts';
import { parseCatalog } from '../../../lib/catalog.ts';
import { createRng, poisson } from '../../../lib/scenario/generate.ts';
import { CorrelatorCore } from './correlator.ts';
import { ProbeTracker } from './evidence.ts';
import { defaultParams } from './params.ts';
import { betaBinomialTail, FailureRate } from './probe-rate.ts';

const MIN = 60_000;
const DAY = 86_400_000;
const T0 = Date.parse('2020-03-10T00:00:00Z');
const TARGET = 'https://shop.example.com/';

function check(ts: number, region: string, failed: boolean, code = 'ETIMEDOUT', service = 'web'): ProbeResult {
  return {
    id: `p-${region}-${ts}`,
    ts: new Date(ts).toISOString(),
    probe: `https-${service}`,
    service,
    target: TARGET,
    region,
    ok: !failed,
    durationMs: 100,
    ...(failed ? { error: { code, message: code } } : { httpStatus: 200 }),
  };
}

/** A day of one check a minute per region, failing at `rate` (independently, seeded). */
function history(tracker: ProbeTracker, regions: string[], rate: number, seed: number, fromMs = T0, minutes = 1440): number {
  const rng = createRng(seed);
  for (let m = 0; m < minutes; m++) for (const r of regions) tracker.observe(check(fromMs + m * MIN, r, rng() < rate));
  return fromMs + minutes * MIN;
}

describe('the learned probe failure rate', () => {
  it('learns a known failure rate and finds no clustering in independent failures', () => {
    const rng = createRng(7);
    const fr = new FailureRate(defaultParams.hints.probeRate);
    for (let i = 0; i < 3 * 1440; i++) fr.add(rng() < 0.05, T0 + i * MIN);
    assert.ok(Math.abs(fr.model.p - 0.05) < 0.008, `p ${fr.model.p}`);
    assert.ok(fr.model.rho < 0.02, `rho ${fr.model.rho}`);
  });

  it('learns over-dispersion when failures come in bursts', () => {
    // Each block of ten checks has its own rate: mostly clean, sometimes very flaky (mean 5 %).
    const rng = createRng(8);
    const fr = new FailureRate(defaultParams.hints.probeRate);
    for (let b = 0; b < 432; b++) {
      const rate = rng() < 0.1 ? 0.5 : 0;
      for (let i = 0; i < 10; i++) fr.add(rng() < rate, T0 + (b * 10 + i) * MIN);
    }
    assert.ok(Math.abs(fr.model.p - 0.05) < 0.015, `p ${fr.model.p}`);
    // Between-block variance of a 0/0.5 mixture: rho = Var(theta) / (p (1 - p)) ≈ 0.45.
    assert.ok(fr.model.rho > 0.3, `rho ${fr.model.rho}`);
  });

  it('starts cautious: a fresh series expects failures until its history says otherwise', () => {
    const fresh = new FailureRate(defaultParams.hints.probeRate).model;
    const fr = new FailureRate(defaultParams.hints.probeRate);
    for (let i = 0; i < 1440; i++) fr.add(false, T0 + i * MIN);
    assert.ok(fresh.p > 5 * fr.model.p && fresh.rho > 5 * fr.model.rho, JSON.stringify({ fresh, learned: fr.model }));
  });

  it('has a beta-binomial tail that sums to one and matches the binomial at low dispersion', () => {
    assert.equal(betaBinomialTail(0, 10, 1, 9), 1);
    assert.ok(Math.abs(betaBinomialTail(1, 1, 2, 8) - 0.2) < 1e-9);
    // rho → 0: Binomial(10, 0.1), P(K >= 3) ≈ 0.0702.
    assert.ok(Math.abs(betaBinomialTail(3, 10, 1e5, 9e5) - 0.0702) < 1e-3);
  });
});

describe('probe failure episodes from the rate test', () => {
  it("raises none for a flaky check's ordinary failures, two in a row included, and one for a real outage within a few checks", () => {
    const tracker = new ProbeTracker();
    let t = history(tracker, ['eu'], 0.05, 11);
    assert.deepEqual(tracker.failing('web', 1, T0, t), [], 'a day of 5 % failures is no episode');
    // Two failures in a row, as a 5 % check shows a few times a day.
    tracker.observe(check(t, 'eu', true));
    tracker.observe(check(t + MIN, 'eu', true));
    tracker.observe(check(t + 2 * MIN, 'eu', false));
    t += 3 * MIN;
    assert.deepEqual(tracker.failing('web', 1, T0, t), []);
    // The outage: every check fails from `t`.
    let n = 0;
    while (tracker.failing('web', 1, t, t + n * MIN).length === 0 && n < 20) tracker.observe(check(t + n++ * MIN, 'eu', true, 'HTTP_503'));
    assert.ok(n >= 3 && n <= 6, `episode after ${n} checks`);
    const [e] = tracker.failing('web', 1, t, t + n * MIN);
    assert.equal(e!.sinceMs, t, 'the episode starts at the first failure of the run');
    assert.ok(e!.usualFailureRate > 0.03 && e!.usualFailureRate < 0.08, `usual ${e!.usualFailureRate}`);
  });

  it('believes a check that never fails after two failures', () => {
    const tracker = new ProbeTracker();
    const t = history(tracker, ['eu', 'us'], 0, 12);
    tracker.observe(check(t, 'eu', true, 'CERT_HAS_EXPIRED'));
    assert.deepEqual(tracker.failing('web', 1, t, t), [], 'one failed check is never an episode');
    tracker.observe(check(t + MIN, 'eu', true, 'CERT_HAS_EXPIRED'));
    const eps = tracker.failing('web', 1, t, t + MIN);
    assert.equal(eps.length, 1);
    assert.equal(eps[0]!.cls, 'tls');
  });

  it('keeps a one-region blip regional', () => {
    const tracker = new ProbeTracker();
    const t = history(tracker, ['eu', 'us', 'ap'], 0.002, 13);
    for (let m = 0; m < 20; m++) for (const r of ['eu', 'us', 'ap']) tracker.observe(check(t + m * MIN, r, r === 'eu' && m >= 2 && m < 6, 'ECONNREFUSED'));
    // Closed once the window no longer shows it, ending at the first successful check.
    const eps = tracker.failing('web', 1, t, t + 20 * MIN);
    assert.deepEqual(
      eps.map((e) => [e.region, e.cls, e.sinceMs - t, e.untilMs! - t, e.failures]),
      [['eu', 'refused', 2 * MIN, 6 * MIN, 4]],
    );
  });

  it('finds an endpoint that fails every other check (the window test), not only runs', () => {
    const tracker = new ProbeTracker();
    const t = history(tracker, ['eu'], 0, 14);
    let n = 0;
    while (tracker.failing('web', 1, t, t + n * MIN).length === 0 && n < 20) {
      tracker.observe(check(t + n * MIN, 'eu', n % 2 === 0, 'HTTP_502'));
      n++;
    }
    assert.ok(n <= 7, `episode after ${n} checks`);
    assert.equal(tracker.failing('web', 1, t, t + n * MIN)[0]!.sinceMs, t);
  });

  it('keeps the checks of an episode out of the learned rate', () => {
    const tracker = new ProbeTracker();
    let t = history(tracker, ['eu'], 0, 15);
    for (let m = 0; m < 120; m++) tracker.observe(check(t + m * MIN, 'eu', true, 'HTTP_503'));
    t += 120 * MIN;
    t = history(tracker, ['eu'], 0, 16, t, 60);
    const s = [...tracker.series.values()][0]!;
    assert.ok(s.rate.model.p < 0.002, `learned ${s.rate.model.p} from an outage`);
    // And the next outage is believed as fast as the first.
    tracker.observe(check(t, 'eu', true));
    tracker.observe(check(t + MIN, 'eu', true));
    assert.equal(tracker.failing('web', 1, t, t + MIN).length, 1);
  });

  it('costs the same per check after a week as after an hour (bounded state)', () => {
    const tracker = new ProbeTracker();
    history(tracker, ['eu'], 0.01, 17, T0, 7 * 1440);
    const s = [...tracker.series.values()][0]!;
    assert.equal(s.ringFailed.length, defaultParams.hints.probeRate.windowChecks);
    assert.ok(s.closed.every((e) => e.untilMs! >= T0 + 6 * DAY));
  });
});

describe('probe evidence on an incident', () => {
  const catalog = parseCatalog(`
services:
  - id: web
    name: Shop
    endpoints: ["${TARGET}"]
    hosts: ["shop.example.com"]
`);
  const ONSET = T0 + 7 * DAY + 14 * 60 * MIN;

  /** A week of reports at 2 a minute, a spike of 30 a minute at ONSET, and a day of probes from two regions failing 5 % of the time. */
  function incident(extra: (ts: number, region: string) => string | undefined) {
    const core = new CorrelatorCore(catalog);
    const rng = createRng(21);
    const events: { ts: number; run: () => void }[] = [];
    for (let t = T0; t < ONSET + 40 * MIN; t += MIN) {
      const n = poisson(rng, 2) + (t >= ONSET ? 30 : 0);
      for (let k = 0; k < n; k++) {
        const ts = t + Math.floor(rng() * MIN);
        events.push({ ts, run: () => void core.step({ kind: 'report', value: { id: `r-${t}-${k}`, ts: new Date(ts).toISOString(), service: 'web', channel: 'web' } }) });
      }
      if (t < ONSET - DAY) continue;
      for (const region of ['eu', 'us']) {
        const code = extra(t, region) ?? (rng() < 0.05 ? 'ETIMEDOUT' : undefined);
        const p = check(t + 1000, region, code !== undefined, code);
        events.push({ ts: t + 1000, run: () => void core.step({ kind: 'probe', value: p }) });
      }
    }
    events.sort((a, b) => a.ts - b.ts);
    for (const e of events) e.run();
    core.tick(ONSET + 40 * MIN);
    const incidents = core.incidents();
    assert.equal(incidents.length, 1);
    return incidents[0]!.hints.filter((h) => h.kind === 'probe_failure' || h.kind === 'tls_probe_failure');
  }

  it('gives no probe hint for a flaky check failing twice in a row during the incident', () => {
    const hints = incident((t, region) => (region === 'eu' && (t === ONSET + 5 * MIN || t === ONSET + 6 * MIN) ? 'ETIMEDOUT' : undefined));
    assert.deepEqual(hints, []);
  });

  it('gives a regional probe hint for an outage in one region', () => {
    const hints = incident((t, region) => (region === 'eu' && t >= ONSET - MIN ? 'HTTP_503' : undefined));
    assert.equal(hints.length, 1);
    const ev = hints[0]!.evidence as { class: string; regions: number; probes: { region: string; since: string }[] };
    assert.equal(ev.class, 'http_5xx');
    assert.equal(ev.regions, 1);
    assert.deepEqual(ev.probes.map((p) => [p.region, p.since]), [['eu', new Date(ONSET - MIN + 1000).toISOString()]]);
  });
});

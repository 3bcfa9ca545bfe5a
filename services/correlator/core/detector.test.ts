import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createRng } from '../../../lib/scenario/generate.ts';
import { countSeries, negBinomial } from '../../../lib/scenario/counts.ts';
import { backtest } from './backtest.ts';
import { ReportDetector } from './detector.ts';
import { defaultParams } from './params.ts';

const MIN = 60_000;
const DAY = 86_400_000;
const T0 = Date.parse('2020-01-06T00:00:00Z');
const p = defaultParams.detector;

/** Feeds `days` of NB counts at a flat mean into a detector; `extra(minute)` adds reports. */
function feed(d: ReportDetector, seed: number, mu: number, phi: number, fromMin: number, minutes: number, extra: (m: number) => number = () => 0): void {
  const rng = createRng(seed);
  for (let m = fromMin; m < fromMin + minutes; m++) {
    d.advanceTo(m);
    const x = negBinomial(rng, mu, phi) + extra(m);
    if (x > 0) d.add(m * MIN + 30_000, x);
  }
}

describe('the learned dispersion', () => {
  for (const [mu, phi] of [
    [20, 0.05],
    [20, 0.4],
    [80, 1],
    [3, 0.5],
  ] as const) {
    it(`recovers phi = ${phi} from NB counts at ${mu} per minute within 25 % (after the prior's pull)`, () => {
      const d = new ReportDetector(p);
      feed(d, 11 + mu, mu, phi, T0 / MIN, 8 * 1440);
      const got = d.dispersion.slot;
      // The prior keeps the weight of phiPriorMinutes next to a full window of the series' own slots.
      const w = p.phiPriorMinutes / (p.phiPriorMinutes + p.dispersionWindowMinutes);
      const target = (1 - w) * phi + w * p.phiPrior;
      assert.ok(Math.abs(got - target) / target < 0.25, `learned ${got.toFixed(3)} for ${phi} (${target.toFixed(3)} with the prior)`);
    });
  }

  it('is wider on a short history than after a week of the same series', () => {
    const d = new ReportDetector(p);
    const widths: number[] = [];
    for (let day = 0; day < 8; day++) {
      feed(d, 40 + day, 20, 0.1, T0 / MIN + day * 1440, 1440);
      widths.push(d.dispersion.slotInUse);
    }
    assert.ok(widths[0]! > widths[7]! * 2, widths.map((w) => w.toFixed(3)).join(' '));
    for (let i = 1; i < widths.length; i++) assert.ok(widths[i]! <= widths[i - 1]! + 0.02, widths.map((w) => w.toFixed(3)).join(' '));
    // Before any data, it is the prior, widened for seven missing days.
    const fresh = new ReportDetector(p);
    assert.ok(Math.abs(fresh.dispersion.slotInUse - (p.phiPrior + 7 * p.phiPerMissingDay)) < 1e-9);
  });

  it('is not dragged by an outage: incident minutes teach nothing, and an undetected burst moves it little', () => {
    const start = T0 / MIN;
    const a = new ReportDetector(p);
    feed(a, 5, 20, 0.1, start, 5 * 1440);
    const before = a.dispersion.slot;
    a.suppressLearning = true; // what the correlator does while an incident is open
    feed(a, 6, 20, 0.1, start + 5 * 1440, 120, () => 300);
    a.suppressLearning = false;
    assert.equal(a.dispersion.slot, before);

    const b = new ReportDetector(p);
    feed(b, 5, 20, 0.1, start, 5 * 1440);
    feed(b, 7, 20, 0.1, start + 5 * 1440, 10, () => 200); // ten minutes at 10x, never suppressed
    assert.ok(b.dispersion.slot < before * 1.2, `${before.toFixed(3)} → ${b.dispersion.slot.toFixed(3)}`);
  });
});

describe('false alarms on over-dispersed backgrounds', () => {
  it('stay below 0.1 per series-day on heavily dispersed NB series (phi 0.3–1), install day included', () => {
    let raises = 0;
    let days = 0;
    for (let k = 0; k < 12; k++) {
      const s = countSeries({ seed: 900 + k, outage: false, historyDays: [1, 4], phi: [0.3, 1] });
      raises += backtest(s.rows, p, 1, { noScore: true }).filter((r) => r.alarm).length;
      days += s.days;
    }
    assert.ok(raises / days < 0.1, `${raises} false alarms in ${days} series-days`);
  });
});

describe('the score and the alarm of `outage detect`', () => {
  /** Flat NB background for three days, then an hour at `extra` per minute. */
  function rows(extra: number) {
    const rng = createRng(3);
    const out: { tsMs: number; value: number }[] = [];
    for (let t = T0; t < T0 + 3 * DAY; t += MIN) {
      const spike = t >= T0 + 2 * DAY + 14 * 3_600_000 && t < T0 + 2 * DAY + 15 * 3_600_000;
      out.push({ tsMs: t, value: negBinomial(rng, 5, 0.2) + (spike ? extra : 0) });
    }
    return out;
  }

  it('raises once, on the first bucket of the outage, not on every elevated bucket', () => {
    const scored = backtest(rows(60), p, 1);
    const alarms = scored.filter((r) => r.alarm);
    assert.equal(alarms.length, 1, alarms.map((a) => new Date(a.tsMs).toISOString()).join(' '));
    assert.ok(alarms[0]!.tsMs - (T0 + 2 * DAY + 14 * 3_600_000) <= 2 * MIN);
    // Its later buckets are still scored as unusual.
    const inSpike = scored.filter((r) => r.tsMs > alarms[0]!.tsMs && r.tsMs < alarms[0]!.tsMs + 50 * MIN);
    assert.ok(inSpike.every((r) => r.score > 0.5));
  });

  it('keeps ranking at the top: bigger outages score higher, strictly below 1', () => {
    const top = [30, 300, 3000, 30000].map((extra) => {
      const scored = backtest(rows(extra), p, 1);
      return Math.max(...scored.map((r) => r.score));
    });
    for (let i = 1; i < top.length; i++) assert.ok(top[i]! > top[i - 1]!, top.join(' '));
    assert.ok(top.every((s) => s < 1), top.join(' '));
  });
});

import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { createRng, poisson } from '../../../lib/scenario/generate.ts';
import { backtest, bucketMinutesOf, type CountRow } from './backtest.ts';
import { defaultParams } from './params.ts';

const T0 = Date.parse('2020-01-27T00:00:00Z');
const SPIKE = T0 + 7 * 86_400_000 + 14 * 3_600_000;

/** A diurnal Poisson series in `bucket`-minute buckets with a 10× spike for an hour on day 8. */
function series(bucket: number, peakPerMin: number, seed: number): CountRow[] {
  const rng = createRng(seed);
  const rows: CountRow[] = [];
  for (let t = T0; t < T0 + 8 * 86_400_000; t += bucket * 60_000) {
    const h = new Date(t).getUTCHours();
    let rate = peakPerMin * bucket * (0.3 + 0.7 * Math.exp(-(((h - 13) / 4.5) ** 2)));
    if (t >= SPIKE && t < SPIKE + 3_600_000) rate *= 10;
    rows.push({ tsMs: t, value: poisson(rng, rate) });
  }
  return rows;
}

describe('backtesting the detector on count series', () => {
  for (const bucket of [1, 5, 15]) {
    it(`${bucket}-minute buckets: alarms in the outage hour and nowhere else, scores in 0..1`, () => {
      const rows = series(bucket, 2, bucket);
      assert.equal(bucketMinutesOf(rows), bucket);
      const scored = backtest(rows, defaultParams.detector, bucket);
      const alarms = scored.filter((r) => r.alarm);
      assert.ok(alarms.length > 0);
      // The sliding-window test trails the end of the spike by its window.
      const end = SPIKE + 3_600_000 + defaultParams.detector.slowWindowMinutes * 60_000;
      for (const a of alarms) assert.ok(a.tsMs >= SPIKE && a.tsMs < end, `false alarm at ${new Date(a.tsMs).toISOString()}`);
      assert.ok(alarms[0]!.tsMs <= SPIKE + 5 * 60_000, `late: ${new Date(alarms[0]!.tsMs).toISOString()}`);
      assert.ok(scored.every((r) => r.score >= 0 && r.score <= 1));
    });
  }

  it('`outage detect` writes timestamp,value,anomaly_score,alarm and names bad lines', () => {
    const dir = mkdtempSync(join(tmpdir(), 'outage-detect-'));
    const rows = series(5, 2, 9);
    const lines = ['timestamp,value', ...rows.map((r) => `${new Date(r.tsMs).toISOString()},${r.value}`)];
    lines.splice(10, 0, 'yesterday,lots');
    writeFileSync(join(dir, 'in.csv'), lines.join('\n'));
    const out = execFileSync(process.execPath, ['bin/outage.js', 'detect', join(dir, 'in.csv')], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
    const outLines = out.trim().split('\n');
    assert.equal(outLines[0], 'timestamp,value,anomaly_score,alarm');
    assert.equal(outLines.length, rows.length + 1);
    assert.match(outLines[1]!, /^2020-01-27T00:00:00\.000Z,\d+,[0-9.e-]+,0$/);
    assert.ok(outLines.some((l) => l.endsWith(',1')));
  });
});

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createRng } from '../../../lib/scenario/generate.ts';
import { MINUTE_MS, ReportDetector, type Alarm } from './detector.ts';
import { defaultParams } from './params.ts';
import { Slice } from './slice.ts';

const p = defaultParams.detector;
const T0 = Date.parse('2021-03-01T00:00:00Z') / MINUTE_MS;

/**
 * Drives a slice and a detector that receives every call from the start (what the correlator
 * did before slices were logged) with the same stream, and returns what each decided.
 */
function both(seed: number, minutes: number) {
  const rng = createRng(seed);
  const eager = new ReportDetector(p);
  const slice = new Slice(p, T0, false, false);
  const seen = { eager: [] as (Alarm | undefined)[], slice: [] as (Alarm | undefined)[], closedEager: [] as unknown[], closedSlice: [] as unknown[] };
  let service = T0;
  let started = false;
  let materialised = false;
  const burstAt = T0 + Math.floor(rng() * minutes);
  for (let m = T0; m < T0 + minutes; m++) {
    if (m > service) {
      service = m;
      if (started) {
        if (slice.detector) seen.closedSlice.push(slice.detector.advanceTo(m));
        else seen.closedSlice.push([]);
        seen.closedEager.push(slice.detector ? eager.advanceTo(m) : (eager.skipTo(m), []));
      }
    }
    // A quiet slice (a report every few minutes), a burst that can alarm, and some late reports.
    const rate = m >= burstAt && m < burstAt + 20 ? 6 : 0.3;
    for (let k = 0; k < 10 && rng() < rate / (k + 1); k++) {
      const late = rng() < 0.1 ? Math.floor(rng() * 30) : 0;
      const ts = (m - late) * MINUTE_MS + Math.floor(rng() * MINUTE_MS);
      if (!started && late > 0) continue;
      started = true;
      eager.skipTo(Math.floor(ts / MINUTE_MS));
      seen.eager.push(eager.add(ts));
      seen.slice.push(slice.report(ts, service));
    }
    if (!materialised && rng() < 0.0005) {
      slice.materialise(service);
      materialised = true;
    }
  }
  return seen;
}

describe('a logged slice', () => {
  it('decides what a detector fed from the start decides, before and after it is built', () => {
    for (let seed = 1; seed <= 12; seed++) {
      const s = both(seed, 3 * 1440);
      assert.deepEqual(s.slice, s.eager, `alarms, seed ${seed}`);
      assert.deepEqual(s.closedSlice, s.closedEager, `closed minutes once built, seed ${seed}`);
      assert.ok(s.eager.some((a) => a !== undefined), `seed ${seed} raised no alarm to compare`);
    }
  });

  it('takes no detector until it could raise an alarm', () => {
    const slice = new Slice(p, T0, false, false);
    for (let m = 0; m < 600; m += 7) assert.equal(slice.report((T0 + m) * MINUTE_MS, T0 + m), undefined);
    assert.ok(slice.pending);
  });
});

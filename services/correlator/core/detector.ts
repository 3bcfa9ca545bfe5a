/**
 * Report-spike detection for one service, in event time.
 *
 * - Counts distinct reports per minute in a ring of `seasonDays + 1` days (memory and per-event
 *   cost are constant: no rescans of history).
 * - The baseline for a minute is the median, over previous days, of the rate in a window around
 *   the same time of day, rescaled by how today's recent level compares with the same profile.
 *   History is robust to past outages: minutes inside an incident enter it as their expectation,
 *   other minutes are clipped at mean + 3 sd (a one-minute burst does not teach the baseline).
 * - Two tests, both negative-binomial tails at `alpha`: this minute's count, and the sum over the
 *   last `slowWindowMinutes`. A minute's count only grows, so a test can fire mid-minute: the
 *   detection time is the event that crossed the threshold.
 * - The onset is where a CUSUM of standardised counts last left zero (where the rise began).
 */
import { sdOf, threshold, upperTail } from './count-model.ts';
import type { DetectorParams } from './params.ts';

export const MINUTE_MS = 60_000;

/**
 * Time in the detector is counted in slots: one minute for the live correlator, the bucket size
 * of the series for `outage detect` (1, 5, 15 … minutes, a divisor of a day). Every parameter is
 * given in minutes and converted here, so both read the same settings.
 */
interface Slots {
  ms: number;
  day: number;
  /** Slots per aggregation bucket of the seasonal history (about 15 minutes). */
  agg: number;
  seasonHalfAggs: number;
  level: number;
  slow: number;
  minHistory: number;
  lookback: number;
}

function slotsOf(p: DetectorParams, slotMinutes: number): Slots {
  if (!Number.isInteger(1440 / slotMinutes)) throw new RangeError(`a slot of ${slotMinutes} minutes does not divide a day`);
  const agg = Math.max(1, Math.round(15 / slotMinutes));
  return {
    ms: slotMinutes * MINUTE_MS,
    day: 1440 / slotMinutes,
    agg,
    seasonHalfAggs: Math.max(1, Math.floor(p.seasonWindowMinutes / 2 / (agg * slotMinutes))),
    level: Math.max(1, Math.ceil(p.levelWindowMinutes / slotMinutes)),
    slow: Math.max(1, Math.round(p.slowWindowMinutes / slotMinutes)),
    minHistory: Math.ceil(p.minHistoryMinutes / slotMinutes),
    lookback: Math.ceil(p.maxOnsetLookbackMinutes / slotMinutes),
  };
}

export interface Alarm {
  /** Event time (ms) at which the evidence first crossed the threshold. */
  detectedAtMs: number;
  /** Estimated onset, start of a minute (ms). */
  onsetMs: number;
  baselinePerMin: number;
  count: number;
}

export interface MinuteClosed {
  minute: number;
  count: number;
  baseline: number;
  /** Whether the minute is still clearly above baseline (for keeping an incident open). */
  elevated: boolean;
  /** Reports in the sliding window ending with this minute. */
  windowCount: number;
}

function median(xs: number[]): number {
  const s = xs.slice().sort((a, b) => a - b);
  const n = s.length;
  return n % 2 ? s[(n - 1) >> 1]! : (s[n / 2 - 1]! + s[n / 2]!) / 2;
}

export class ReportDetector {
  private readonly ring: number;
  private readonly counts: Int32Array;
  private readonly tags: Int32Array;
  /** Per 15-minute bucket sums of the robust (clipped) history. */
  private readonly buckets: Float64Array;
  private readonly bucketTags: Int32Array;
  private readonly expectedRing: Float32Array;
  private readonly robustRing: Float32Array;

  private firstMinute = -1;
  /** The open minute (counts still arriving); everything before it is closed. */
  private current = -1;
  private levelActual = 0;
  private levelExpected = 0;
  private cusum = 0;
  private cusumStart = -1;

  /** Baseline and thresholds of the open minute. */
  private mu = 0;
  private t1 = Infinity;
  private tSlow = Infinity;
  private ready = false;
  private lastDays = 0;
  private seasonBucket = -1;
  private seasonalMedian = -1;
  private thresholdKey = NaN;
  private tElevated1 = Infinity;
  private tElevatedSlow = Infinity;

  /** True while an incident holds: its minutes are kept out of the learned history. */
  suppressLearning = false;

  private readonly s: Slots;

  constructor(
    private readonly p: DetectorParams,
    slotMinutes = 1,
  ) {
    this.s = slotsOf(p, slotMinutes);
    this.ring = (p.seasonDays + 1) * this.s.day;
    this.counts = new Int32Array(this.ring);
    // Slot indexes fit 32 bits for thousands of years; 4-byte floats keep a detector near 190 KB.
    this.tags = new Int32Array(this.ring).fill(-1);
    this.expectedRing = new Float32Array(this.ring);
    this.robustRing = new Float32Array(this.ring);
    const nb = Math.ceil(this.ring / this.s.agg);
    this.buckets = new Float64Array(nb);
    this.bucketTags = new Int32Array(nb).fill(-1);
  }

  /** The baseline (expected reports per minute) of the open minute. */
  get baseline(): number {
    return this.mu;
  }

  /** The count of a minute still in the ring, else 0. */
  countAt(minute: number): number {
    const i = minute % this.ring;
    return this.tags[i] === minute ? this.counts[i]! : 0;
  }

  /** Sum of the counts of the `n` minutes ending at `minute`. */
  windowSum(minute: number, n: number): number {
    let s = 0;
    for (let m = minute - n + 1; m <= minute; m++) s += this.countAt(m);
    return s;
  }

  /**
   * Closes every minute before `minute` and opens it. Returns the closed minutes (at most a
   * ring's worth: a long silence is closed in one jump).
   */
  advanceTo(minute: number): MinuteClosed[] {
    if (this.current < 0) {
      this.firstMinute = minute;
      this.current = minute;
      this.open(minute);
      return [];
    }
    const closed: MinuteClosed[] = [];
    if (minute <= this.current) return closed;
    const from = Math.max(this.current, minute - this.ring);
    for (let m = from; m < minute; m++) {
      if (m !== this.current) this.open(m);
      closed.push(this.close(m));
    }
    this.current = minute;
    this.open(minute);
    return closed;
  }

  /**
   * Counts one (already de-duplicated) report. Returns an alarm when this report makes the open
   * minute, or the slow window ending in it, significant.
   */
  add(tsMs: number, n = 1): Alarm | undefined {
    const minute = Math.floor(tsMs / this.s.ms);
    if (minute < this.current - this.ring + 1) return undefined; // older than the ring: nothing to learn
    const i = minute % this.ring;
    if (this.tags[i] !== minute) {
      this.tags[i] = minute;
      this.counts[i] = 0;
    }
    this.counts[i]! += n;
    if (minute !== this.current || !this.ready) return undefined;
    const x1 = this.counts[i]!;
    const xs = this.windowSum(minute, this.s.slow);
    if (x1 >= this.t1 || xs >= this.tSlow) {
      return { detectedAtMs: tsMs, onsetMs: this.onsetMinute(minute) * this.s.ms, baselinePerMin: this.mu, count: x1 };
    }
    return undefined;
  }

  /**
   * How unusual the open slot's count is, in 0..1: the probability under the count model of a
   * count below it (1 − the upper tail). 0 until the detector has its minimum history.
   */
  scoreOpen(): number {
    if (!this.ready) return 0;
    const x = this.countAt(this.current);
    return x <= 0 ? 0 : 1 - upperTail(x, this.mu, this.phiNow());
  }

  /** The model's dispersion: wider while fewer days of seasonal history back the baseline. */
  private phiNow(): number {
    return this.p.phi + this.p.phiPerMissingDay * Math.max(0, this.p.seasonDays - this.lastDays);
  }

  /** Days of seasonal history behind the current baseline (0 on a cold start). */
  get historyDays(): number {
    return this.lastDays;
  }

  private onsetMinute(minute: number): number {
    const start = this.cusumStart >= 0 && this.cusum > 0 ? this.cusumStart : minute;
    return Math.max(start, minute - this.s.lookback);
  }

  /** Computes the baseline and the thresholds of a minute that is about to receive counts. */
  private open(minute: number): void {
    const i = minute % this.ring;
    if (this.tags[i] !== minute) {
      this.tags[i] = minute;
      this.counts[i] = 0;
    }
    const p = this.p;
    const history = minute - this.firstMinute;
    const { agg, seasonHalfAggs: half } = this.s;
    const b = Math.floor(minute / agg);
    // The seasonal profile only changes with its aggregation bucket: compute it once per bucket.
    if (b !== this.seasonBucket) {
      this.seasonBucket = b;
      const seasonal: number[] = [];
      for (let d = 1; d <= p.seasonDays; d++) {
        const centre = b - Math.round((d * this.s.day) / agg);
        if ((centre - half) * agg < this.firstMinute) break;
        let sum = 0;
        let n = 0;
        for (let k = centre - half; k < centre + half; k++) {
          const j = k % this.buckets.length;
          if (this.bucketTags[j] === k) sum += this.buckets[j]!;
          n++;
        }
        seasonal.push(sum / (n * agg));
      }
      this.lastDays = seasonal.length;
      this.seasonalMedian = seasonal.length > 0 ? median(seasonal) : -1;
    }
    let mu: number;
    if (this.seasonalMedian >= 0) {
      // Rescale the profile by today's level, shrunk towards 1 by a prior of 30 expected reports.
      const level = (this.levelActual + 30) / (this.levelExpected + 30);
      mu = this.seasonalMedian * Math.min(2, Math.max(0.5, level));
    } else {
      const n = Math.min(history, this.s.level);
      mu = n > 0 ? this.levelActual / n : 0;
    }
    this.mu = Math.max(mu, p.minBaselinePerMin);
    const phi = this.phiNow();
    this.ready = history >= this.s.minHistory;
    // Thresholds depend on mu only through its 0.5 % grid: reuse them while it stays put.
    const key = Math.round(Math.log(this.mu) * 200) * 100 + this.lastDays;
    if (key !== this.thresholdKey) {
      this.thresholdKey = key;
      this.t1 = Math.max(p.minCount, threshold(this.mu, phi, p.alpha));
      this.tSlow = Math.max(p.minCount, threshold(this.mu * this.s.slow, phi, p.alpha));
      this.tElevated1 = threshold(this.mu, phi, p.alphaElevated);
      this.tElevatedSlow = threshold(this.mu * this.s.slow, phi, p.alphaElevated);
    }
    this.expectedRing[i] = this.mu;
  }

  /** Closes a minute: updates the CUSUM, the robust history and the level. */
  private close(minute: number): MinuteClosed {
    const i = minute % this.ring;
    const count = this.countAt(minute);
    const mu = this.expectedRing[i]! || this.mu;
    const sd = sdOf(mu, this.phiNow());

    const z = (count - mu) / sd;
    const next = Math.max(0, this.cusum + z - 1);
    if (this.cusum === 0 && next > 0) this.cusumStart = minute;
    this.cusum = next;

    const xs = this.windowSum(minute, this.s.slow);
    // The minute being closed is the one last opened, so its elevated thresholds are at hand.
    const elevated = count >= this.tElevated1 || xs >= this.tElevatedSlow;

    const robust = this.suppressLearning ? Math.min(count, mu) : Math.min(count, mu + 3 * sd);
    this.robustRing[i] = robust;
    const bi = Math.floor(minute / this.s.agg);
    const bj = bi % this.buckets.length;
    if (this.bucketTags[bj] !== bi) {
      this.bucketTags[bj] = bi;
      this.buckets[bj] = 0;
    }
    this.buckets[bj]! += robust;

    // Level: robust actuals vs expectations over the last levelWindowMinutes closed minutes.
    this.levelActual += robust;
    this.levelExpected += mu;
    const old = minute - this.s.level;
    if (old >= this.firstMinute) {
      const oi = old % this.ring;
      if (this.tags[oi] === old) {
        this.levelActual -= this.robustRing[oi]!;
        this.levelExpected -= this.expectedRing[oi]!;
      }
    }
    return { minute, count, baseline: mu, elevated, windowCount: xs };
  }
}

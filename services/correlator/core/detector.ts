/**
 * Report-spike detection for one service, in event time.
 *
 * - Counts distinct reports per minute in a ring of `seasonDays + 1` days (memory and per-event
 *   cost are constant: no rescans of history).
 * - The baseline for a minute is the median, over previous days, of the rate in a window around
 *   the same time of day, rescaled by how today's recent level compares with the same profile.
 *   History is robust to past outages: minutes inside an incident enter it as their expectation,
 *   other minutes are clipped at mean + 3 sd (a one-minute burst does not teach the baseline).
 * - The dispersion is learned from the series' own residuals: a method-of-moments estimate
 *   sum((x - mu)^2 - mu) / sum(mu^2) over a rolling window of closed, non-incident minutes, each
 *   residual winsorised at `winsorSd` model deviations, shrunk towards a prior that weighs like
 *   `phiPriorMinutes` of the series' own slots, and widened per missing day of seasonal history.
 * - Two tests, both negative-binomial tails: this minute's count, and the sum over the last
 *   `slowWindowMinutes`. Their level splits a yearly false-alarm budget over slots, windows and
 *   the service's sliced series (Šidák). A minute's count only grows, so a test can fire
 *   mid-minute: the detection time is the event that crossed the threshold.
 * - The onset is where a CUSUM of standardised counts last left zero (where the rise began).
 */
import { log10Surprise, perTestAlpha, sdOf, threshold } from './count-model.ts';
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
  /** Slots per block of the dispersion estimate (about an hour), and blocks in its window. */
  dispBlock: number;
  dispBlocks: number;
  priorSlots: number;
  adopt: number;
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
    dispBlock: Math.max(1, Math.round(60 / slotMinutes)),
    dispBlocks: Math.max(1, Math.round(p.dispersionWindowMinutes / Math.max(60, slotMinutes))),
    priorSlots: Math.max(1, p.phiPriorMinutes / slotMinutes),
    adopt: Math.ceil(p.adoptShiftMinutes / slotMinutes),
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
  /** Slots of the seasonal horizon (the days compared plus the one being filled). */
  private readonly ring: number;
  /**
   * Per-slot values are read back only within the level window (and the slow window inside it),
   * so they live in a short ring (a power of two, indexed with `mask`); the seasonal days keep
   * only their 15-minute bucket sums.
   */
  private readonly mask: number;
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
  /**
   * Thresholds are computed when a comparison needs them (most slots of a quiet series never
   * reach `minCount`); `thresholdKey` names the grid point they are computed for.
   */
  private thresholdsFor = NaN;

  /**
   * The learned dispersions of the two tests: of one slot's count, and of the sum over the slow
   * window (a latent rate that wobbles from minute to minute averages out over the window, one that
   * drifts over several minutes does not: the window's own residuals tell which).
   */
  private readonly disp1: DispersionEstimate;
  private readonly dispSlow: DispersionEstimate;
  /** Consecutive closed slots with learning suppressed (a shift that does not end is adopted). */
  private suppressedRun = 0;
  /** −log10 of the per-test false-alarm probability. */
  readonly alarmSurprise: number;
  private readonly alpha: number;

  /** True while an incident holds: its minutes are kept out of the learned history. */
  suppressLearning = false;

  private readonly s: Slots;

  /**
   * @param slotMinutes the slot length (1 for the live correlator, the bucket size in `outage detect`)
   * @param testedSeries series tested together per service (default `testedSeriesPerService`)
   */
  constructor(
    private readonly p: DetectorParams,
    slotMinutes = 1,
    testedSeries = p.testedSeriesPerService,
  ) {
    this.s = slotsOf(p, slotMinutes);
    this.alpha = perTestAlpha(p.falseAlarmsPerYear, this.s.day, 2 * Math.max(1, testedSeries));
    this.alarmSurprise = -Math.log10(this.alpha);
    this.disp1 = new DispersionEstimate(p, this.s);
    this.dispSlow = new DispersionEstimate(p, this.s);
    this.ring = (p.seasonDays + 1) * this.s.day;
    const short = 2 ** Math.ceil(Math.log2(this.s.level + this.s.slow + 2));
    this.mask = short - 1;
    this.counts = new Int32Array(short);
    // Slot indexes fit 32 bits for thousands of years; 4-byte floats as before the ring was short.
    this.tags = new Int32Array(short).fill(-1);
    this.expectedRing = new Float32Array(short);
    this.robustRing = new Float32Array(short);
    const nb = Math.ceil(this.ring / this.s.agg);
    this.buckets = new Float64Array(nb);
    this.bucketTags = new Int32Array(nb).fill(-1);
  }

  /** The open slot (-1 before the first `advanceTo`). */
  get openSlot(): number {
    return this.current;
  }

  /** Slots of the seasonal horizon: a jump further than this closes only its last `horizonSlots`. */
  get horizonSlots(): number {
    return this.ring;
  }

  /** The baseline (expected reports per minute) of the open minute. */
  get baseline(): number {
    return this.mu;
  }

  /** The count of a minute still in the ring, else 0. */
  countAt(minute: number): number {
    const i = minute & this.mask;
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
    const closed: MinuteClosed[] = [];
    this.step(minute, closed);
    return closed;
  }

  /** `advanceTo` for a caller that does not look at the closed minutes (nothing is allocated for them). */
  skipTo(minute: number): void {
    this.step(minute, undefined);
  }

  private step(minute: number, closed: MinuteClosed[] | undefined): void {
    if (this.current < 0) {
      this.firstMinute = minute;
      this.current = minute;
      this.open(minute);
      return;
    }
    if (minute <= this.current) return;
    const from = Math.max(this.current, minute - this.ring);
    for (let m = from; m < minute; m++) {
      if (m !== this.current) this.open(m);
      this.close(m, closed);
    }
    this.current = minute;
    this.open(minute);
  }

  /**
   * Counts one (already de-duplicated) report. Returns an alarm when this report makes the open
   * minute, or the slow window ending in it, significant.
   */
  add(tsMs: number, n = 1): Alarm | undefined {
    const minute = Math.floor(tsMs / this.s.ms);
    if (minute < this.current - this.ring + 1) return undefined; // older than the ring: nothing to learn
    // A closed slot before the level window is never read again (its bucket is summed already);
    // callers open a slot before counting into it, so one far ahead would only overwrite history.
    if (minute <= this.current - this.mask || minute > this.current + this.mask - this.s.level - this.s.slow) return undefined;
    const i = minute & this.mask;
    if (this.tags[i] !== minute) {
      this.tags[i] = minute;
      this.counts[i] = 0;
    }
    this.counts[i]! += n;
    if (minute !== this.current || !this.ready) return undefined;
    const x1 = this.counts[i]!;
    const xs = this.windowSum(minute, this.s.slow);
    // Both thresholds are at least minCount, and the window holds this slot's count.
    if (xs < this.p.minCount) return undefined;
    this.alarmThresholds();
    if (x1 >= this.t1 || xs >= this.tSlow) {
      return { detectedAtMs: tsMs, onsetMs: this.onsetMinute(minute) * this.s.ms, baselinePerMin: this.mu, count: x1 };
    }
    return undefined;
  }

  /**
   * How unusual the open slot is: −log10 of the smaller tail probability of its two tests (this
   * slot's count, the sum over the slow window), under the learned model. Continuous and
   * unbounded, so it keeps ranking far into the tail; 0 until the detector has its minimum history.
   */
  surpriseOpen(): number {
    if (!this.ready) return 0;
    const x = this.countAt(this.current);
    const xs = this.windowSum(this.current, this.s.slow);
    const s1 = log10Surprise(x, this.mu, this.phiNow(this.disp1));
    return this.s.slow > 1 ? Math.max(s1, log10Surprise(xs, this.mu * this.s.slow, this.phiNow(this.dispSlow))) : s1;
  }

  /** The model's dispersion of a test: the learned one, wider while fewer days of seasonal history back the baseline. */
  private phiNow(d: DispersionEstimate = this.disp1): number {
    return d.phi + this.p.phiPerMissingDay * Math.max(0, this.p.seasonDays - this.lastDays);
  }

  /**
   * The dispersions learned from this series' residuals (prior included): one slot and the slow
   * window; `slotInUse` is the slot's with the widening for missing days of history.
   */
  get dispersion(): { slot: number; window: number; slotInUse: number } {
    return { slot: this.disp1.phi, window: this.dispSlow.phi, slotInUse: this.phiNow(this.disp1) };
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
    const i = minute & this.mask;
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
      mu = this.seasonalMedian * Math.min(p.levelClamp, Math.max(1 / p.levelClamp, level));
    } else {
      const n = Math.min(history, this.s.level);
      mu = n > 0 ? this.levelActual / n : 0;
    }
    this.mu = Math.max(mu, p.minBaselinePerMin);
    this.ready = history >= this.s.minHistory;
    // Thresholds depend on mu through its 0.5 % grid and on phi through a 4 % grid (finer than
    // phi is known): reuse them while both stay put (phi moves once an hour, mu with the level).
    const phiKey1 = Math.round(Math.log(this.phiNow(this.disp1)) * 25);
    const phiKeyS = Math.round(Math.log(this.phiNow(this.dispSlow)) * 25);
    const key = ((Math.round(Math.log(this.mu) * 200) * 1000 + phiKey1) * 1000 + phiKeyS) * 100 + this.lastDays;
    if (key !== this.thresholdKey) {
      this.thresholdKey = key;
      this.thresholdMu = this.mu;
      this.phiKey1 = phiKey1;
      this.phiKeyS = phiKeyS;
    }
    this.expectedRing[i] = this.mu;
  }

  private thresholdMu = 0;
  private phiKey1 = 0;
  private phiKeyS = 0;

  /** The alarm thresholds of the open slot's grid point, computed on first use (`threshold` is a pure, memoised function). */
  private alarmThresholds(): void {
    if (this.thresholdsFor === this.thresholdKey) return;
    this.thresholdsFor = this.thresholdKey;
    const p = this.p;
    this.t1 = Math.max(p.minCount, threshold(this.thresholdMu, Math.exp(this.phiKey1 / 25), this.alpha));
    this.tSlow = Math.max(p.minCount, threshold(this.thresholdMu * this.s.slow, Math.exp(this.phiKeyS / 25), this.alpha));
  }

  /** The thresholds of a still elevated slot, likewise (only an open incident asks). */
  private elevatedThresholds(): void {
    if (this.elevatedFor === this.thresholdKey) return;
    this.elevatedFor = this.thresholdKey;
    const p = this.p;
    this.tElevated1 = threshold(this.thresholdMu, Math.exp(this.phiKey1 / 25), p.alphaElevated);
    this.tElevatedSlow = threshold(this.thresholdMu * this.s.slow, Math.exp(this.phiKeyS / 25), p.alphaElevated);
  }
  private elevatedFor = NaN;

  /** Closes a minute: updates the CUSUM, the robust history, the level and the dispersion. */
  private close(minute: number, closed: MinuteClosed[] | undefined): void {
    const i = minute & this.mask;
    const count = this.countAt(minute);
    const mu = this.expectedRing[i]! || this.mu;
    const sd = sdOf(mu, this.phiNow());

    const z = (count - mu) / sd;
    const next = Math.max(0, this.cusum + z - 1);
    if (this.cusum === 0 && next > 0) this.cusumStart = minute;
    this.cusum = next;

    const xs = this.windowSum(minute, this.s.slow);

    // An incident's minutes teach nothing, unless the shift has held so long it is the new normal.
    this.suppressedRun = this.suppressLearning ? this.suppressedRun + 1 : 0;
    const learn = !this.suppressLearning || this.suppressedRun > this.s.adopt;
    const robust = learn ? Math.min(count, mu + 3 * sd) : Math.min(count, mu);
    if (!this.suppressLearning && this.ready && this.p.learnDispersion) {
      this.disp1.add(minute, count, mu, sd);
      if (this.s.slow > 1) {
        let muS = 0;
        for (let m = minute - this.s.slow + 1; m <= minute; m++) {
          const j = m & this.mask;
          muS += this.tags[j] === m ? this.expectedRing[j]! : mu;
        }
        this.dispSlow.add(minute, xs, muS, sdOf(muS, this.phiNow(this.dispSlow)));
      }
    }
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
      const oi = old & this.mask;
      if (this.tags[oi] === old) {
        this.levelActual -= this.robustRing[oi]!;
        this.levelExpected -= this.expectedRing[oi]!;
      }
    }
    if (closed) {
      // The minute being closed is the one last opened, so its elevated thresholds are the ones at hand.
      let elevated = false;
      if (count > 0 || xs > 0) {
        this.elevatedThresholds();
        elevated = count >= this.tElevated1 || xs >= this.tElevatedSlow;
      }
      closed.push({ minute, count, baseline: mu, elevated, windowCount: xs });
    }
  }
}

/**
 * A series' dispersion, learned by the method of moments for the NB: E[(x - mu)^2] = mu + phi mu^2,
 * so sum((x - mu)^2 - mu) / sum(mu^2) estimates phi; high-volume slots weigh most, as they carry
 * most of the information on the quadratic term. Each count is first winsorised to
 * mu ± winsorSd sd, so one burst moves the estimate by a bounded amount. The sums are kept per
 * block (about an hour); when a block completes, the estimate is re-summed over the window's
 * completed blocks, so it depends on the window's slots only (a rebuilt state learns the same
 * value), moves once an hour and costs O(1) per slot. The prior weighs like `phiPriorMinutes` of slots at the series' mean mu^2 (at
 * least one report per slot), so a short or quiet history stays near it.
 */
class DispersionEstimate {
  private readonly a: Float64Array;
  private readonly b: Float64Array;
  private readonly n: Float64Array;
  private readonly tags: Int32Array;
  private block = -1;
  phi: number;

  constructor(
    private readonly p: DetectorParams,
    private readonly s: Slots,
  ) {
    const nd = s.dispBlocks + 1;
    this.a = new Float64Array(nd);
    this.b = new Float64Array(nd);
    this.n = new Float64Array(nd);
    this.tags = new Int32Array(nd).fill(-1);
    this.phi = p.phiPrior;
  }

  add(slot: number, count: number, mu: number, sd: number): void {
    const p = this.p;
    const block = Math.floor(slot / this.s.dispBlock);
    const nd = this.tags.length;
    const j = block % nd;
    if (block !== this.block) {
      this.block = block;
      let a = 0;
      let b = 0;
      let n = 0;
      for (let k = block - this.s.dispBlocks; k < block; k++) {
        const i = k % nd;
        if (this.tags[i] !== k) continue;
        a += this.a[i]!;
        b += this.b[i]!;
        n += this.n[i]!;
      }
      // The estimate moves once per block, from the completed blocks (thresholds are recomputed
      // only when it moves, so this keeps the per-slot cost flat).
      const w0 = this.s.priorSlots * Math.max(1, n > 0 ? b / n : 0);
      this.phi = Math.min(p.phiMax, Math.max(p.phiMin, (a + p.phiPrior * w0) / (b + w0)));
      this.tags[j] = block;
      this.a[j] = 0;
      this.b[j] = 0;
      this.n[j] = 0;
    }
    const w = p.winsorSd * sd;
    const x = Math.min(mu + w, Math.max(mu - w, count));
    this.a[j]! += (x - mu) * (x - mu) - mu;
    this.b[j]! += mu * mu;
    this.n[j]! += 1;
  }
}

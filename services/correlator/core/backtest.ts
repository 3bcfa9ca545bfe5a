/**
 * Backtesting the report-spike detector on a user's own count series (`outage detect`): the same
 * detector and parameters as the live correlator, over fixed buckets of any size that divides a
 * day, and the same incident life cycle (an alarm raises an incident, it stays open while buckets
 * are elevated, resolves after `quietMinutes`, re-opens within `reopenMinutes`; its buckets are kept
 * out of the learned history). Pure: rows in, scored rows out.
 */
import { ReportDetector } from './detector.ts';
import type { DetectorParams } from './params.ts';

export interface CountRow {
  tsMs: number;
  value: number;
}

export interface ScoredRow extends CountRow {
  /**
   * 0..1, strictly increasing in the surprise S = −log10(tail probability) of the bucket:
   * S / (S + S_alarm), where S_alarm is the surprise at the per-test alarm level. 0.5 is a bucket
   * exactly at the alarm level; it approaches 1 only as the tail probability approaches 0, so it
   * keeps ranking far into the tail.
   */
  score: number;
  /** −log10 of the tail probability (the raw, unbounded surprise). */
  surprise: number;
  /** True only on the bucket where an incident would be raised (not on its later buckets). */
  alarm: boolean;
}

/** The bucket size (minutes) of a series: the most common step between timestamps. */
export function bucketMinutesOf(rows: CountRow[]): number {
  const steps = new Map<number, number>();
  for (let i = 1; i < rows.length; i++) {
    const step = (rows[i]!.tsMs - rows[i - 1]!.tsMs) / 60_000;
    if (step > 0) steps.set(step, (steps.get(step) ?? 0) + 1);
  }
  const [best] = [...steps.entries()].sort((a, b) => b[1] - a[1] || a[0] - b[0])[0] ?? [1];
  return best;
}

export interface BacktestOptions {
  /** Series tested together (default 1: the one series of the file). */
  testedSeries?: number;
  /** Skip the score (benchmarks that only need the alarms). */
  noScore?: boolean;
}

/**
 * @example
 * backtest([{ tsMs: Date.parse('2020-02-03T13:40:00Z'), value: 120 }, …], defaultParams.detector, 5)
 */
export function backtest(rows: CountRow[], params: DetectorParams, bucketMinutes: number, options: BacktestOptions = {}): ScoredRow[] {
  const detector = new ReportDetector(params, bucketMinutes, options.testedSeries ?? 1);
  const slotMs = bucketMinutes * 60_000;
  const quiet = Math.max(1, Math.ceil(params.quietMinutes / bucketMinutes));
  let open = false;
  let lastElevated = -Infinity;
  let resolvedAtMs = -Infinity;
  return rows.map((row) => {
    const slot = Math.floor(row.tsMs / slotMs);
    for (const closed of detector.advanceTo(slot)) {
      if (!open) continue;
      if (closed.elevated) lastElevated = closed.minute;
      if (closed.minute - lastElevated >= quiet) {
        open = false;
        resolvedAtMs = (lastElevated + 1) * slotMs;
        detector.suppressLearning = false;
      }
    }
    const alarm = row.value > 0 ? detector.add(row.tsMs, Math.round(row.value)) : undefined;
    let raise = false;
    if (alarm && !open) {
      // A return soon after resolution re-opens the same incident: no new page.
      raise = alarm.detectedAtMs - resolvedAtMs > params.reopenMinutes * 60_000;
      open = true;
      lastElevated = slot;
      detector.suppressLearning = true;
    }
    const surprise = options.noScore ? 0 : Math.min(1e6, detector.surpriseOpen());
    const score = surprise / (surprise + detector.alarmSurprise);
    return { ...row, score: Math.round(score * 1e9) / 1e9, surprise: Math.round(surprise * 1e6) / 1e6, alarm: raise };
  });
}

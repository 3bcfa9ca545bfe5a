/**
 * Backtesting the report-spike detector on a user's own count series (`outage detect`): the same
 * detector and parameters as the live correlator, over fixed buckets of any size that divides a
 * day. Pure: rows in, scored rows out.
 */
import { ReportDetector } from './detector.ts';
import type { DetectorParams } from './params.ts';

export interface CountRow {
  tsMs: number;
  value: number;
}

export interface ScoredRow extends CountRow {
  /** 0..1: how unlikely a count this high is under the baseline. */
  score: number;
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

/**
 * @example
 * backtest([{ tsMs: Date.parse('2020-02-03T13:40:00Z'), value: 120 }, …], defaultParams.detector, 5)
 */
export function backtest(rows: CountRow[], params: DetectorParams, bucketMinutes: number): ScoredRow[] {
  const detector = new ReportDetector(params, bucketMinutes);
  const slotMs = bucketMinutes * 60_000;
  return rows.map((row) => {
    detector.advanceTo(Math.floor(row.tsMs / slotMs));
    const alarm = row.value > 0 ? detector.add(row.tsMs, Math.round(row.value)) : undefined;
    // An alarmed bucket is kept out of the learned history, as an open incident's minutes are.
    detector.suppressLearning = alarm !== undefined;
    return { ...row, score: Math.round(detector.scoreOpen() * 1e6) / 1e6, alarm: alarm !== undefined };
  });
}

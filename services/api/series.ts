/**
 * Report series with a seasonal baseline: distinct reports per bucket, and for each bucket the
 * median of the same bucket at the same time of day on each of the previous 7 days. Days before
 * the service's first report are left out of the median (no history is not zero reports); with no
 * such day at all the baseline is null.
 */
import type { ReportSeries } from '../../schemas/api.ts';
import type { Store } from '../../lib/store/store.ts';
import { reportCounts, type BucketCount } from './queries.ts';
import { DAY_MS, floorMinute } from './time.ts';

export const SEASON_DAYS = 7;

export const BASELINE_METHOD =
  `median of the same bucket's distinct reports at the same time of day on each of the previous ${SEASON_DAYS} days; ` +
  'days before the first report of the service are left out, and the baseline is null when none is left';

/**
 * The median, or null for no values.
 *
 * @example median([3, 1, 2, 10]) // 2.5
 */
export function median(values: readonly number[]): number | null {
  if (values.length === 0) return null;
  const s = [...values].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 === 1 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

/**
 * Seasonal baselines of the buckets of one window, from `reportCounts` buckets: for bucket k, the
 * median of its counts 1..days days back, counting only days on or after `firstMs`.
 *
 * @example
 * seasonalBaseline(rows, { fromMs, stepMs: 900_000, buckets: 1, firstMs, days: 7 }) // [4]
 */
export function seasonalBaseline(rows: readonly BucketCount[], o: { fromMs: number; stepMs: number; buckets: number; firstMs: number | undefined; days: number }): (number | null)[] {
  const counts = new Map<string, number>();
  for (const r of rows) counts.set(`${r.daysBack}:${r.bucket}`, r.reports);
  return Array.from({ length: o.buckets }, (_, k) => {
    const values: number[] = [];
    for (let d = 1; d <= o.days; d++) {
      if (o.firstMs === undefined || o.fromMs + k * o.stepMs - d * DAY_MS < o.firstMs) continue;
      values.push(counts.get(`${d}:${k}`) ?? 0);
    }
    return median(values);
  });
}

/**
 * The report series of one service over [fromMs, toMs) in buckets of `stepS` seconds, starting
 * at whole minutes (the rollup's resolution). The last bucket may be shorter.
 *
 * @example
 * await reportSeries(store, 'teams', Date.parse('2020-02-03T07:40:00Z'), Date.parse('2020-02-03T19:57:00Z'), 120)
 */
export async function reportSeries(store: Store, service: string, fromMs: number, toMs: number, stepS: number): Promise<ReportSeries> {
  const from = floorMinute(fromMs);
  const stepMs = stepS * 1000;
  const buckets = Math.max(1, Math.ceil((toMs - from) / stepMs));
  const { buckets: rows, first } = await reportCounts(store, { services: [service], fromS: from / 1000, toS: Math.ceil(toMs / 1000), stepS, days: SEASON_DAYS });
  const current = new Map<number, number>();
  for (const r of rows) if (r.daysBack === 0) current.set(r.bucket, r.reports);
  const baseline = seasonalBaseline(rows, { fromMs: from, stepMs, buckets, firstMs: first.get(service), days: SEASON_DAYS });
  return {
    service,
    from: new Date(from).toISOString(),
    to: new Date(toMs).toISOString(),
    stepSeconds: stepS,
    baselineMethod: BASELINE_METHOD,
    points: baseline.map((b, k) => ({ ts: new Date(from + k * stepMs).toISOString(), reports: current.get(k) ?? 0, baseline: b })),
  };
}

/**
 * A step for about `maxPoints` points over a range: whole minutes, at least 60 s.
 *
 * @example stepFor(12 * 3_600_000, 500) // 120
 */
export function stepFor(rangeMs: number, maxPoints: number): number {
  return Math.max(1, Math.ceil(rangeMs / maxPoints / 60_000)) * 60;
}

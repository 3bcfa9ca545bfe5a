/**
 * "Now" for the query API, in event time. The pipeline runs in event time (a replay of 2020 is as
 * real as live data), so "the last hour" means the last hour of the data, not of the wall clock:
 * the latest minute with reports or probe results, plus that minute, never later than the wall
 * clock. Cached for a few seconds, since every list request needs it.
 */
import type { Store } from '../../lib/store/store.ts';
import { MINUTE_MS, msOf } from './time.ts';

export interface AsOfOptions {
  /** How long one answer is reused. */
  cacheMs?: number;
  now?: () => number;
}

/**
 * A cached event-time clock over the store's per-minute rollups.
 *
 * @example
 * const asOf = storeAsOf(store);
 * new Date(await asOf()).toISOString() // '2020-02-04T00:00:00.000Z' after replaying the Teams example
 */
export function storeAsOf(store: Store, opts: AsOfOptions = {}): () => Promise<number> {
  const cacheMs = opts.cacheMs ?? 5_000;
  const now = opts.now ?? Date.now;
  let cached: { at: number; value: Promise<number> } | undefined;
  return () => {
    const t = now();
    if (!cached || t - cached.at >= cacheMs) {
      const value = latestMinute(store).then((latest) => (latest === undefined ? t : Math.min(latest + MINUTE_MS, t)));
      // A failed read is not cached: the next request tries again.
      value.catch(() => {
        if (cached?.value === value) cached = undefined;
      });
      cached = { at: t, value };
    }
    return cached.value;
  };
}

async function latestMinute(store: Store): Promise<number | undefined> {
  const rows = await store.query<{ latest: string }>(
    `SELECT greatest((SELECT max(minute) FROM report_counts_1m), (SELECT max(minute) FROM probe_counts_1m)) AS latest`,
  );
  const ms = rows[0] ? msOf(rows[0].latest) : 0;
  // max() of an empty table is the epoch: no data yet.
  return ms > 0 ? ms : undefined;
}

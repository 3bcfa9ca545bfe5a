/**
 * Time values between ClickHouse and the API. The store returns `DateTime64(3)` as
 * `YYYY-MM-DD hh:mm:ss.sss` and `DateTime` as `YYYY-MM-DD hh:mm:ss` (UTC columns, no zone marker);
 * every API response carries ISO-8601 UTC with a `Z`. Times go into SQL as epoch numbers bound as
 * query parameters (`fromUnixTimestamp64Milli({x:Int64}, 'UTC')`), never as formatted strings.
 */

export const MINUTE_MS = 60_000;
export const HOUR_MS = 60 * MINUTE_MS;
export const DAY_MS = 24 * HOUR_MS;

/**
 * A store timestamp as ISO-8601 UTC with milliseconds and `Z`.
 *
 * @example isoOf('2020-02-03 13:40:00.000') // '2020-02-03T13:40:00.000Z'
 */
export function isoOf(value: unknown): string {
  return new Date(msOf(value)).toISOString();
}

/**
 * Like `isoOf`, but null stays null (Nullable columns).
 *
 * @example isoOrNull(null) // null
 */
export function isoOrNull(value: unknown): string | null {
  return value === null || value === undefined ? null : isoOf(value);
}

/**
 * A store timestamp as epoch milliseconds.
 *
 * @example msOf('2020-02-03 13:40:00') // 1580737200000
 */
export function msOf(value: unknown): number {
  const s = String(value);
  // Already ISO (a ClickHouse server set to another output format, or a value we produced).
  const ms = Date.parse(s.includes('T') ? s : `${s.replace(' ', 'T')}Z`);
  if (!Number.isFinite(ms)) throw new Error(`not a store timestamp: ${s.slice(0, 40)}`);
  return ms;
}

/**
 * Rounds down to a whole minute (the resolution of the per-minute rollups).
 *
 * @example new Date(floorMinute(Date.parse('2020-02-03T13:40:59Z'))).toISOString() // '2020-02-03T13:40:00.000Z'
 */
export function floorMinute(ms: number): number {
  return Math.floor(ms / MINUTE_MS) * MINUTE_MS;
}

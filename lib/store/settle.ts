/**
 * Settled report counts: the per-minute distinct counts of `report_counts_1m` (uniqExact states,
 * exact under redelivery) merged once into plain numbers in `report_counts_settled`, so that a
 * series with a week of baseline sums a few thousand numbers instead of merging thousands of
 * states of a few hundred ids each on every request.
 *
 * - A minute is *settled* once it is older than the latest stored report minute minus a lateness
 *   (`SETTLE_LATENESS_MS`, 10 minutes of event time). The watermark `settled` in
 *   `report_settle_marks` says which: every minute before it is in the settled table. Readers
 *   take those minutes from there and the later ones from the rollup (`settledBefore`).
 * - A report stored for a minute that is already settled (late, or redelivered) makes its
 *   (service, minute) settled again right after the insert: a newer row of the
 *   ReplacingMergeTree, counted from the rollup, so the settled count stays exact.
 * - Moving the watermark first records the `claimed` mark and only then reads the rollup. A sink
 *   that stores a report checks it against the claimed mark after its insert, so a report that a
 *   concurrent settle step missed is re-settled by its own sink (on a ClickHouse server the mark
 *   is read from the store after each insert; chDB's directory belongs to one process, whose
 *   settler knows its own marks).
 * - On Kafka the sink reads several report partitions, which a catch-up moves through event time
 *   at their own pace: the watermark does not pass the latest minute of a partition that still
 *   has a backlog (for `SETTLE_SOURCE_SILENCE_MS` after it was last heard from), so the slower
 *   partitions' reports are not all late and settled twice.
 * - The work is bounded: the watermark moves at most once per `minIntervalMs` of wall time, a
 *   catch-up over much history goes in chunks of days, and a batch with nothing late costs no
 *   query at all (on chDB; on a server, one read of the marks).
 *
 * Reports written to the store without the sink (a bulk `INSERT … SELECT`) are settled by
 * `settleRange` over their minutes.
 *
 * The SQL here carries no bound parameters because `Store.command` takes none: every value put in
 * it is a whole number of seconds checked here or a service id checked against the contract's
 * pattern (letters, digits, `._-`).
 */
import { timestampMs } from '../../schemas/timestamp.ts';
import type { Logger } from '../log.ts';
import type { Row, Store } from './store.ts';

const MINUTE_MS = 60_000;
const DAY_MS = 86_400_000;

/** How far behind the latest stored report a minute is still open to late reports. */
export const SETTLE_LATENESS_MS = 10 * MINUTE_MS;
/**
 * Least wall time between two moves of the watermark. Live, the watermark moves once a minute of
 * event time anyway; catching up (a replay, a backlog) it moves every 2 s, and each move costs a
 * few statements (tens of milliseconds on chDB) whatever it covers.
 */
export const SETTLE_MIN_INTERVAL_MS = 2_000;
/**
 * How long a report partition that had a backlog may hold the watermark back without being heard
 * from (it was taken by another sink, or it stalled): then it no longer does.
 */
export const SETTLE_SOURCE_SILENCE_MS = 30_000;
/** Rollup rows merged per statement when much is settled at once. */
const CHUNK_ROWS = 50_000;
/** Pairs per statement when late minutes are settled again. */
const PAIRS_PER_STATEMENT = 5_000;

const SERVICE_ID = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;

const floorMinute = (ms: number) => Math.floor(ms / MINUTE_MS) * MINUTE_MS;

/** A DateTime literal of a whole number of seconds, checked. */
function dateTime(ms: number): string {
  const s = ms / 1000;
  if (!Number.isSafeInteger(s) || s < 0 || s > 0xffff_ffff) throw new RangeError(`not a DateTime in whole seconds: ${ms} ms`);
  return `toDateTime(${s}, 'UTC')`;
}

/** The minute of a stored report's `ts` (`YYYY-MM-DDThh:mm:ss[.f]Z`, years 1970–2100), or undefined. */
function minuteOf(ts: unknown): number | undefined {
  if (typeof ts !== 'string') return undefined;
  const ms = timestampMs(`${ts.slice(0, 16)}:00Z`);
  return Number.isFinite(ms) && ms >= 0 ? ms : undefined;
}

export interface SettleMarks {
  /** Every minute before this one (epoch ms) is in `report_counts_settled`; 0: none is. */
  settled: number;
  /** A settle step up to this minute has started; at least `settled`. */
  claimed: number;
}

/**
 * The watermarks as stored.
 *
 * @example (await settleMarks(store)).settled // 1580773680000: minutes before 2020-02-03 23:48 are settled
 */
export async function settleMarks(store: Store): Promise<SettleMarks> {
  const rows = await store.query<{ kind: string; s: number | string }>('SELECT kind, toUnixTimestamp(max(minute)) AS s FROM report_settle_marks GROUP BY kind');
  const of = (kind: string) => Number(rows.find((r) => r.kind === kind)?.s ?? 0) * 1000;
  const settled = of('settled');
  return { settled, claimed: Math.max(settled, of('claimed')) };
}

const readCache = new WeakMap<Store, { at: number; value: Promise<number> }>();

/**
 * The settled watermark for readers, read once and reused for `maxAgeMs`. An older watermark is
 * never wrong (the watermark only moves forward, and the rollup holds every minute exactly); it
 * only leaves more minutes to merge.
 *
 * @example
 * const w = await settledBefore(store);
 * // minutes < w: SELECT … FROM report_counts_settled; minutes >= w: uniqExactMerge over report_counts_1m
 */
export function settledBefore(store: Store, o: { maxAgeMs?: number; now?: () => number } = {}): Promise<number> {
  const maxAgeMs = o.maxAgeMs ?? 5_000;
  const t = (o.now ?? Date.now)();
  const cached = readCache.get(store);
  if (cached && t - cached.at < maxAgeMs) return cached.value;
  const value = settleMarks(store).then((m) => m.settled);
  // A failed read is not kept: the next request tries again.
  value.catch(() => {
    if (readCache.get(store)?.value === value) readCache.delete(store);
  });
  readCache.set(store, { at: t, value });
  return value;
}

const INSERT_SETTLED = `INSERT INTO report_counts_settled (service, minute, reports, reporters, settled_at)
  SELECT service, minute, uniqExactMerge(reports), uniqExactMerge(reporters), now64(6)
  FROM report_counts_1m`;
/**
 * In the rollup's key order, states are merged as they stream by instead of all held at once; and
 * in small blocks, since a state is a few kilobytes (a default block of 65k states is ~170 MB).
 * Settling 5 days of 10 M reports peaks at ~480 MB for the whole process this way, ~815 MB without.
 */
const SETTLE_SETTINGS = 'SETTINGS optimize_aggregation_in_order = 1, max_block_size = 256';

/**
 * Settles (again) every service's minutes in [fromMs, toMs), whole minutes. Idempotent: the newest
 * row per (service, minute) is the count. Does not move the watermark.
 *
 * @example await settleRange(store, Date.parse('2020-01-27T00:00:00Z'), Date.parse('2020-02-04T00:00:00Z')) // after a bulk insert
 */
export async function settleRange(store: Store, fromMs: number, toMs: number): Promise<void> {
  if (toMs <= fromMs) return;
  await store.command(`${INSERT_SETTLED}
  WHERE minute >= ${dateTime(fromMs)} AND minute < ${dateTime(toMs)}
  GROUP BY service, minute
  ${SETTLE_SETTINGS}`);
}

/**
 * Settles again the given minutes (epoch ms) of each service: after reports for settled minutes
 * were stored.
 *
 * @example await settlePairs(store, new Map([['teams', new Set([Date.parse('2020-02-03T13:40:00Z')])]]))
 */
export async function settlePairs(store: Store, pairs: ReadonlyMap<string, ReadonlySet<number>>): Promise<void> {
  const all: [string, number][] = [];
  for (const [service, minutes] of pairs) for (const m of minutes) all.push([service, m]);
  for (let i = 0; i < all.length; i += PAIRS_PER_STATEMENT) {
    const part = all.slice(i, i + PAIRS_PER_STATEMENT);
    const minutes = part.map(([, m]) => m);
    const lo = Math.min(...minutes);
    const hi = Math.max(...minutes);
    const services = [...new Set(part.map(([s]) => s))];
    const seconds = (m: number) => String(m / 1000);
    // A service id outside the contract's pattern (never from the sink) cannot go into SQL: its
    // minutes are then settled for every service, which is more work and as exact.
    const which = services.every((s) => SERVICE_ID.test(s))
      ? `service IN (${services.map((s) => `'${s}'`).join(', ')}) AND (service, toUInt32(minute)) IN (${part.map(([s, m]) => `('${s}', ${seconds(m)})`).join(', ')})`
      : `toUInt32(minute) IN (${[...new Set(minutes)].map(seconds).join(', ')})`;
    await store.command(`${INSERT_SETTLED}
  WHERE minute >= ${dateTime(lo)} AND minute <= ${dateTime(hi)} AND ${which}
  GROUP BY service, minute
  ${SETTLE_SETTINGS}`);
  }
}

async function mark(store: Store, kind: 'claimed' | 'settled', minuteMs: number): Promise<void> {
  await store.command(`INSERT INTO report_settle_marks (kind, minute) VALUES ('${kind}', ${dateTime(minuteMs)})`);
}

/** Chunks of whole days holding about `CHUNK_ROWS` rollup rows each, covering the data in [fromMs, toMs) and ending at toMs. */
async function chunks(store: Store, fromMs: number, toMs: number): Promise<[number, number][]> {
  if (toMs - fromMs <= DAY_MS) return [[fromMs, toMs]];
  const days = await store.query<{ day: number | string; n: number | string }>(
    `SELECT toUnixTimestamp(toStartOfDay(minute)) AS day, count() AS n FROM report_counts_1m
     WHERE minute >= ${dateTime(fromMs)} AND minute < ${dateTime(toMs)}
     GROUP BY day ORDER BY day`,
  );
  const out: [number, number][] = [];
  // From the first day with data on: a first settle does not start in 1970.
  let start = days[0] ? Math.max(fromMs, Number(days[0].day) * 1000) : fromMs;
  let rows = 0;
  for (const d of days) {
    const dayMs = Number(d.day) * 1000;
    if (rows > 0 && rows + Number(d.n) > CHUNK_ROWS) {
      out.push([start, dayMs]);
      start = dayMs;
      rows = 0;
    }
    rows += Number(d.n);
  }
  out.push([start, toMs]);
  return out;
}

/** Where a batch of reports came from on a partitioned bus: its partition, and whether more of it was waiting. */
export interface ReportSource {
  key: string;
  behind: boolean;
}

export interface SettlerOptions {
  latenessMs?: number;
  minIntervalMs?: number;
  /** Wall clock: paces the work, and the watermark never passes it (a report dated in the future does not settle the present). */
  now?: () => number;
  logger?: Logger;
}

/**
 * The settle step of one writer (the sink): told about every batch of stored reports, it settles
 * late minutes again at once and moves the watermark when due. Its operations run one at a time.
 *
 * @example
 * const settler = new ReportSettler(store, { logger });
 * await settler.start(); // catches up with what is stored
 * await store.insert('reports', rows);
 * await settler.stored(rows);
 */
export class ReportSettler {
  private readonly latenessMs: number;
  private readonly minIntervalMs: number;
  private readonly now: () => number;
  private marks: SettleMarks = { settled: 0, claimed: 0 };
  /** The latest report minute stored (epoch ms), 0 for none. */
  private latest = 0;
  private loaded = false;
  private lastMoveAt = Number.NEGATIVE_INFINITY;
  /**
   * Report partitions (on a partitioned bus): the latest minute stored from each, whether it had a
   * backlog then, and when it was heard from (wall clock). Catching up, partitions move through
   * event time at their own pace; a watermark set by the fastest would leave every report of the
   * slower ones late, each minute settled twice.
   */
  private readonly sources = new Map<string, { latest: number; behind: boolean; at: number }>();
  /** Late minutes whose settling failed, tried again with the next batch. */
  private readonly pending = new Map<string, Set<number>>();
  private queue: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly store: Store,
    private readonly o: SettlerOptions = {},
  ) {
    this.latenessMs = o.latenessMs ?? SETTLE_LATENESS_MS;
    this.minIntervalMs = o.minIntervalMs ?? SETTLE_MIN_INTERVAL_MS;
    this.now = o.now ?? Date.now;
  }

  /** Reads the marks and the latest stored minute, and settles what is due. Never throws: a failure is logged and tried again with the next batch. */
  start(): Promise<void> {
    return this.serial(async () => {
      if (await this.guard('loading the settle marks', () => this.load())) await this.guard('settling report counts', () => this.move('info'));
    });
  }

  /**
   * After rows of `reports` were stored (the sink's row objects, `ts` as in the contract): settles
   * again the minutes among them that were already settled (now), and moves the watermark when
   * due. Never throws: what failed is logged and tried again with the next batch. `source`: the
   * partition the rows came from, so that one with a backlog holds the watermark back.
   */
  stored(rows: readonly Row[], source?: ReportSource): Promise<void> {
    const minutes = new Map<string, Set<number>>();
    let latest = 0;
    for (const r of rows) {
      const m = minuteOf(r.ts);
      if (m === undefined) continue;
      latest = Math.max(latest, m);
      const service = String(r.service);
      const set = minutes.get(service);
      if (set) set.add(m);
      else minutes.set(service, new Set([m]));
    }
    return this.serial(async () => {
      const wasLoaded = this.loaded;
      let marksKnown = wasLoaded || (await this.guard('loading the settle marks', () => this.load()));
      if (wasLoaded && this.store.kind === 'server') {
        // Another sink may have claimed minutes since: the check below must see its mark.
        marksKnown = await this.guard('reading the settle marks', async () => this.merge(await settleMarks(this.store)));
      }
      this.latest = Math.max(this.latest, latest);
      if (source) {
        const before = this.sources.get(source.key)?.latest ?? 0;
        this.sources.set(source.key, { latest: Math.max(before, latest), behind: source.behind, at: this.now() });
      }
      for (const [service, set] of minutes) {
        for (const m of set) {
          // Without the current marks every minute counts as late: settling one that was not is harmless.
          if (marksKnown && m >= this.marks.claimed) continue;
          const p = this.pending.get(service);
          if (p) p.add(m);
          else this.pending.set(service, new Set([m]));
        }
      }
      if (!marksKnown) return;
      if (this.pending.size > 0) {
        const late = new Map([...this.pending].map(([s, set]) => [s, new Set(set)]));
        await this.guard('settling late report minutes again', async () => {
          const t0 = performance.now();
          await settlePairs(this.store, late);
          this.o.logger?.debug({ services: late.size, ms: Math.round(performance.now() - t0) }, 'late report minutes settled again');
          for (const [s, set] of late) {
            const p = this.pending.get(s);
            for (const m of set) p?.delete(m);
            if (p?.size === 0) this.pending.delete(s);
          }
        });
      }
      if (this.due()) await this.guard('settling report counts', () => this.move());
    });
  }

  /** Moves the watermark as far as it may go now, whatever the interval or the partitions still catching up (tests, the end of a bulk load). */
  flush(): Promise<void> {
    return this.serial(async () => {
      if (!this.loaded) await this.load();
      await this.move('debug', true);
    });
  }

  /**
   * Where the watermark may go: the latest stored minute (never past the wall clock) minus the
   * lateness; and, unless `all`, not past the latest minute of a partition with a backlog, whose
   * next reports are for the minutes after it.
   */
  private target(all = false): number {
    if (this.latest === 0) return 0;
    let latest = this.latest;
    if (!all) {
      const t = this.now();
      for (const [key, s] of this.sources) {
        if (t - s.at > SETTLE_SOURCE_SILENCE_MS) this.sources.delete(key);
        else if (s.behind) latest = Math.min(latest, s.latest);
      }
    }
    return Math.min(latest, floorMinute(this.now())) - this.latenessMs;
  }

  private due(): boolean {
    const lag = this.target() - this.marks.settled;
    return lag >= MINUTE_MS && this.now() - this.lastMoveAt >= this.minIntervalMs;
  }

  private async load(): Promise<void> {
    const [marks, latest] = await Promise.all([
      settleMarks(this.store),
      this.store.query<{ s: number | string }>('SELECT toUnixTimestamp(max(minute)) AS s FROM report_counts_1m'),
    ]);
    this.merge(marks);
    this.latest = Math.max(this.latest, Number(latest[0]?.s ?? 0) * 1000);
    this.loaded = true;
  }

  private merge(m: SettleMarks): void {
    this.marks = { settled: Math.max(this.marks.settled, m.settled), claimed: Math.max(this.marks.claimed, m.claimed) };
  }

  /** Moves the watermark to its target; `level` logs it (a catch-up at start is worth a line, the routine moves are not). */
  private async move(level: 'info' | 'debug' = 'debug', all = false): Promise<void> {
    const target = this.target(all);
    if (target <= this.marks.settled) return;
    const t0 = performance.now();
    this.lastMoveAt = this.now();
    // Claimed before the rollup is read: a report stored for an earlier minute from now on is
    // settled again by whoever stored it. Other writers see the claim in the store; chDB's
    // directory has no other writer, and an insert there costs a new part on disk.
    this.marks.claimed = Math.max(this.marks.claimed, target);
    if (this.store.kind === 'server') await mark(this.store, 'claimed', target);
    const parts = await chunks(this.store, this.marks.settled, target);
    const start = parts[0]![0];
    for (const [from, to] of parts) {
      await settleRange(this.store, from, to);
      await mark(this.store, 'settled', to);
      this.marks.settled = Math.max(this.marks.settled, to);
    }
    readCache.delete(this.store);
    this.o.logger?.[level]({ from: new Date(start).toISOString(), to: new Date(target).toISOString(), ms: Math.round(performance.now() - t0) }, 'report counts settled');
  }

  /** Runs `f`; a failure is logged (it is tried again with the next batch) and returns false. */
  private async guard(what: string, f: () => Promise<void>): Promise<boolean> {
    try {
      await f();
      return true;
    } catch (err) {
      this.o.logger?.warn({ err: err instanceof Error ? err.message : String(err) }, `${what} failed; trying again with the next batch`);
      return false;
    }
  }

  private serial(f: () => Promise<void>): Promise<void> {
    const run = this.queue.then(() => f());
    this.queue = run.catch(() => undefined);
    return run;
  }
}

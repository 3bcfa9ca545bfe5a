/**
 * The ClickHouse sink: consumes every topic and writes each batch to its table before the bus may
 * commit it. Writes are idempotent (ReplacingMergeTree on natural keys), so a batch redelivered
 * after a crash leaves no duplicate rows.
 *
 * It tells a bad row from a store outage (`store-errors.ts`): an insert ClickHouse refuses for its
 * data is split in halves until the refused rows are alone, and their messages are dead-lettered
 * (`store_rejected`) while the rest is stored; an outage (connection refused, timeouts, a store
 * refusing all writes) is retried with backoff inside the batch, nothing is committed meanwhile,
 * `health()` and `outage_store_up` say so, and nothing is lost.
 *
 * The sink owns the dead letters of every topic (`deadLetteredBy` in `schemas/topics.ts`): it is
 * the one group that publishes them; the others count and skip what they cannot read.
 */
import type { CertObservation, DeadLetter, Incident, ProbeResult, StatusPost, UserReport } from '../../schemas/contracts.ts';
import { topics } from '../../schemas/topics.ts';
import type { BatchContext, Bus, BusMessage } from '../../lib/bus/bus.ts';
import { countConsumed, countRefused, deadLetter, decodeBatch, publishDeadLetters } from '../../lib/bus/dead-letters.ts';
import { HEALTHY, unhealthy, type Health } from '../../lib/health.ts';
import type { Logger } from '../../lib/log.ts';
import type { Metrics } from '../../lib/metrics.ts';
import { retry, type RetryOptions } from '../../lib/retry.ts';
import { annotationRow, certRow, deadLetterRow, incidentEvent, incidentRows, isReportRow, postRow, probeRow, reportRow } from '../../lib/store/rows.ts';
import { ReportSettler, type ReportSource, type SettlerOptions } from '../../lib/store/settle.ts';
import type { Row, Store, TableName } from '../../lib/store/store.ts';
import { classifyStoreError } from './store-errors.ts';

export interface SinkDeps {
  bus: Bus;
  store: Store;
  logger: Logger;
  metrics: Metrics;
  now?: () => number;
  /**
   * Rows per insert. 10k is ClickHouse's lower sweet spot and keeps the serialised request (and
   * chDB's parse buffers) small; a larger bus batch is written as several inserts.
   */
  insertRows?: number;
  /** Backoff of inserts during a store outage (default: forever, from 500 ms up to 5 s, until the bus closes). */
  storeRetry?: RetryOptions;
  /** Pace and lateness of the settled report counts (`lib/store/settle.ts`). */
  settle?: Omit<SettlerOptions, 'logger' | 'now'>;
}

export interface SinkHandle {
  /** Whether the store accepts writes; when not, since when and why (readiness). */
  health(): Health;
  /**
   * Settles the report counts as far as the stored reports allow now, without waiting for the
   * pace the sink keeps while input streams in (the end of a replay).
   */
  settle(): Promise<void>;
}

/** Retried while the store is out: a batch waits for it rather than being dropped. */
export const STORE_RETRY_DEFAULTS = { retries: Number.POSITIVE_INFINITY, initialMs: 500, maxMs: 5_000 } as const;

/** Rows stored between two hand-backs of chDB's freed memory: a purge after every batch cost 1.9 s of a 28 s Kafka catch-up on the bench, and purging every 50,000 rows left the replay's peak RSS within run-to-run noise (780–830 MB). */
const PURGE_EVERY_ROWS = 50_000;
const slice = (t: TableRows, from: number, to: number): TableRows => ({ rows: t.rows.slice(from, to), messages: t.messages.slice(from, to) });
const errorText = (err: unknown) => (err instanceof Error ? err.message : String(err)).replace(/\s+/g, ' ').slice(0, 300);

/** Rows for one table and, at the same index, the message each came from (a dead letter names it). */
interface TableRows {
  rows: Row[];
  messages: BusMessage[];
}

/**
 * Reports whose message is already their row as JSON (`isReportRow`): stored as the lines they
 * came in, with no row object built and encoded again per report (most of the sink's own work).
 */
interface ReportLines {
  lines: string[];
  values: UserReport[];
  messages: BusMessage[];
}

/**
 * The report partition a batch came from and whether it has a backlog, for the settler: where the
 * bus says `behind`, a batch is one partition's.
 */
function reportSource(batch: readonly BusMessage[], ctx: BatchContext): ReportSource | undefined {
  const m = batch.find((x) => x.topic === topics.reports.name);
  return ctx.behind === undefined || m?.partition === undefined ? undefined : { key: `${m.topic}|${m.partition}`, behind: ctx.behind };
}

const textOf = (v: string | Uint8Array): string => (typeof v === 'string' ? v : Buffer.from(v.buffer, v.byteOffset, v.byteLength).toString('utf8'));

export async function runSink(deps: SinkDeps): Promise<SinkHandle> {
  const { bus, store, logger, metrics } = deps;
  const now = deps.now ?? Date.now;
  const insertRows = deps.insertRows ?? 10_000;
  // The previous state of each incident, to name what a new revision changed.
  const lastSeen = new Map<string, Incident>();

  // Settled per-minute report counts: caught up with the store now, then kept up after each batch.
  const settler = new ReportSettler(store, { ...deps.settle, logger, now });
  await settler.start();

  let storeProblem: string | undefined;
  metrics.storeUp.set(1);
  const storeBack = () => {
    if (storeProblem) logger.info('the store accepts writes again');
    storeProblem = undefined;
    metrics.storeUp.set(1);
  };

  /** One insert, retried with backoff while the store is out; a bad-row error goes to the caller. */
  const insert = (table: TableName, rows: Row[], ctx: BatchContext) => retryOutage(table, rows.length, () => store.insert(table, rows), ctx);

  /** Runs a write, retried with backoff while the store is out; a bad-row error goes to the caller. */
  const retryOutage = async (table: TableName, count: number, f: () => Promise<void>, ctx: BatchContext) => {
    let lostTurn: unknown;
    await retry(f, {
      ...STORE_RETRY_DEFAULTS,
      ...deps.storeRetry,
      shouldRetry: (err) => {
        const c = classifyStoreError(err);
        if (c.kind !== 'outage') return false;
        metrics.storeWriteErrors.inc({ table, kind: 'outage' });
        storeProblem = `store refuses writes since ${new Date(now()).toISOString()} (${c.name}): ${errorText(err)}`.slice(0, 400);
        metrics.storeUp.set(0);
        // Stop waiting when the bus closes or the partitions moved to another member: the batch is
        // not committed, so it is read again (here or there).
        return !ctx.stopping && lostTurn === undefined;
      },
      onRetry: (err, attempt, delayMs) => {
        logger.warn({ table, rows: count, attempt, delayMs, err: errorText(err) }, 'store write failed, retrying');
        ctx.heartbeat().catch((e: unknown) => (lostTurn = e));
      },
    });
    storeBack();
  };

  /** Writes rows, splitting an insert the store refuses for its data until the bad rows are alone. */
  const write = async (table: TableName, part: TableRows, rejected: Map<BusMessage, string>, ctx: BatchContext): Promise<number> => {
    try {
      await insert(table, part.rows, ctx);
      return part.rows.length;
    } catch (err) {
      const c = classifyStoreError(err);
      if (c.kind !== 'bad_row') throw err;
      metrics.storeWriteErrors.inc({ table, kind: 'bad_row' });
      if (part.rows.length === 1) {
        rejected.set(part.messages[0]!, `${table}: the store refused the row: ${c.name}: ${errorText(err)}`);
        return 0;
      }
      const half = Math.ceil(part.rows.length / 2);
      const [a, b] = [slice(part, 0, half), slice(part, half, part.rows.length)];
      return (await write(table, a, rejected, ctx)) + (await write(table, b, rejected, ctx));
    }
  };

  /**
   * In-process chDB keeps the memory an insert freed (jemalloc's dirty pages) for a while; handing
   * it back keeps the replay's peak RSS lower. A purge costs a few milliseconds whatever was freed,
   * so it runs once per `PURGE_EVERY_ROWS` rows stored rather than after every (small) batch.
   * Best effort: a failure changes nothing.
   */
  let unpurgedRows = 0;
  const releaseMemory = async (rowsStored: number) => {
    if (store.kind !== 'chdb') return;
    unpurgedRows += rowsStored;
    if (unpurgedRows < PURGE_EVERY_ROWS) return;
    unpurgedRows = 0;
    await store.command('SYSTEM JEMALLOC PURGE').catch((err: unknown) => logger.debug({ err: errorText(err) }, 'releasing chDB memory failed'));
  };

  /** Stores `count` rows of a table in inserts of at most `insertRows`, counted in the metrics; returns how many were stored. */
  const inChunks = async (table: TableName, count: number, writeChunk: (from: number, to: number) => Promise<number>): Promise<number> => {
    if (count === 0) return 0;
    let stored = 0;
    for (let i = 0; i < count; i += insertRows) {
      const n = await writeChunk(i, Math.min(i + insertRows, count));
      metrics.batchRows.observe({ table }, n);
      stored += n;
    }
    metrics.storedRows.inc({ table }, stored);
    return stored;
  };

  /**
   * Writes reports as their lines. A refused insert is written again as rows, which isolates the
   * refused ones as `write` does: the outcome is that of the row path.
   */
  const writeLines = async (part: ReportLines, rejected: Map<BusMessage, string>, ctx: BatchContext): Promise<number> => {
    let refused: unknown;
    await retryOutage('reports', part.lines.length, () => store.insertLines('reports', part.lines), ctx).catch((err: unknown) => {
      if (classifyStoreError(err).kind !== 'bad_row') throw err;
      refused = err;
    });
    if (refused === undefined) return part.lines.length;
    return write('reports', { rows: part.values.map(reportRow), messages: part.messages }, rejected, ctx);
  };

  await bus.subscribe({
    group: 'sink',
    topics: [topics.reports.name, topics.posts.name, topics.probes.name, topics.certs.name, topics.incidents.name, topics.dlq.name],
    eachBatch: async (batch, ctx) => {
      const { good, dead, refused } = decodeBatch(batch, now());
      countConsumed(metrics, 'sink', good);
      countRefused(metrics, 'sink', refused);
      const rows = new Map<TableName, TableRows>();
      const lines: ReportLines = { lines: [], values: [], messages: [] };
      const reports: UserReport[] = [];
      const add = (table: TableName, row: Row, message: BusMessage) => {
        const t = rows.get(table);
        if (t) {
          t.rows.push(row);
          t.messages.push(message);
        } else rows.set(table, { rows: [row], messages: [message] });
      };
      for (const d of good) {
        switch (d.topic) {
          case 'reports': {
            const r = d.value as UserReport;
            reports.push(r);
            if (isReportRow(r)) {
              lines.lines.push(textOf(d.message.value));
              lines.values.push(r);
              lines.messages.push(d.message);
            } else add('reports', reportRow(r), d.message);
            break;
          }
          case 'posts':
            add('status_posts', postRow(d.value as StatusPost), d.message);
            break;
          case 'probes':
            add('probe_results', probeRow(d.value as ProbeResult), d.message);
            break;
          case 'certs':
            add('cert_observations', certRow(d.value as CertObservation), d.message);
            break;
          case 'incidents': {
            const inc = d.value as Incident;
            const r = incidentRows(inc, inc.revision ?? 0);
            add('incidents', r.incident, d.message);
            for (const h of r.hints) add('incident_hints', h, d.message);
            add('annotations', annotationRow(inc, incidentEvent(inc, lastSeen.get(inc.id))), d.message);
            lastSeen.set(inc.id, inc);
            break;
          }
          case 'dlq':
            add('dead_letters', deadLetterRow(d.value as DeadLetter), d.message);
            break;
        }
      }
      const rejected = new Map<BusMessage, string>();
      let batchRows = 0;
      batchRows += await inChunks('reports', lines.lines.length, (from, to) =>
        writeLines(to - from === lines.lines.length ? lines : { lines: lines.lines.slice(from, to), values: lines.values.slice(from, to), messages: lines.messages.slice(from, to) }, rejected, ctx),
      );
      for (const [table, all] of rows) {
        batchRows += await inChunks(table, all.rows.length, (from, to) => write(table, to - from === all.rows.length ? all : slice(all, from, to), rejected, ctx));
      }
      // Late minutes settled again right after their insert; the watermark moved when due.
      if (reports.length > 0) await settler.stored(reports, reportSource(batch, ctx));
      await releaseMemory(batchRows);
      // A dead letter that fails to decode as one is stored directly rather than looping back.
      const loops = dead.filter((d) => d.topic === topics.dlq.name);
      if (loops.length > 0) {
        logger.warn({ count: loops.length }, 'undecodable messages on dlq.v1 stored as dead letters');
        const part: TableRows = {
          rows: loops.map(deadLetterRow),
          messages: loops.map((d) => ({ topic: topics.dlq.name, key: d.topic, value: '', ...(d.offset !== undefined ? { offset: d.offset } : {}) })),
        };
        await write('dead_letters', part, rejected, ctx);
      }
      const storeRejected: DeadLetter[] = [];
      for (const [message, detail] of rejected) {
        const letter = deadLetter(message, 'store_rejected', detail, now());
        if (message.topic === topics.dlq.name) logger.error({ offset: message.offset, detail }, 'the store refused a dead letter; it stays on dlq.v1 only');
        else storeRejected.push(letter);
        countRefused(metrics, 'sink', [letter]);
      }
      if (storeRejected.length > 0) logger.warn({ count: storeRejected.length }, 'rows the store refused are dead-lettered');
      await publishDeadLetters(bus, [...dead.filter((d) => d.topic !== topics.dlq.name), ...storeRejected], metrics);
    },
  });

  return { health: () => (storeProblem ? unhealthy(storeProblem) : HEALTHY), settle: () => settler.flush() };
}

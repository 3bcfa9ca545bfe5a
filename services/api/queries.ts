/**
 * The query API's SQL, one function per question, against the `Store` port. Every value goes in
 * as a bound query parameter (`{name:Type}`); the only SQL assembled at run time is the choice
 * among fixed filter clauses. Incidents, observations, warnings and dead letters are read with
 * `FINAL` (ReplacingMergeTree keeps the latest row per key only after a merge).
 */
import type { Static } from '@sinclair/typebox';
import type { DeadLetterCounts, IncidentRevision, IncidentSummary, ProbeStatus, Warning } from '../../schemas/api.ts';
import type { CertObservation, Hint, HintKind } from '../../schemas/contracts.ts';
import { observationOf } from '../../lib/store/rows.ts';
import { settledBefore } from '../../lib/store/settle.ts';
import type { Store } from '../../lib/store/store.ts';
import type { Cursor } from './params.ts';
import { isoOf, isoOrNull } from './time.ts';

type Raw = Record<string, unknown>;

/** Query parameters without the absent ones (a filter that is not used binds nothing). */
function bound(params: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(params).filter(([, v]) => v !== undefined));
}

const SUMMARY_COLUMNS = `id, revision, service, status, started_at, detected_at, resolved_at,
  peak_per_min, baseline_per_min, top_hint_kind, top_hint_confidence, top_hint_summary, outage_id`;

function summaryOf(r: Raw): IncidentSummary {
  return {
    id: String(r.id),
    // Rows stored before incidents carried an outage id read as '': the incident is its own outage.
    outageId: String(r.outage_id || r.id),
    service: String(r.service),
    status: r.status === 'open' ? 'open' : 'resolved',
    revision: Number(r.revision),
    startedAt: isoOf(r.started_at),
    detectedAt: isoOf(r.detected_at),
    resolvedAt: isoOrNull(r.resolved_at),
    peakPerMin: Number(r.peak_per_min),
    baselinePerMin: Number(r.baseline_per_min),
    topHint: r.top_hint_kind ? { kind: r.top_hint_kind as HintKind, confidence: Number(r.top_hint_confidence), summary: String(r.top_hint_summary) } : null,
  };
}

export interface IncidentFilter {
  service?: string | undefined;
  status?: 'open' | 'resolved' | undefined;
  hint?: HintKind | undefined;
  /** Only the incidents of one outage (one cause). */
  outage?: string | undefined;
  /** Bounds of startedAt: from inclusive, to exclusive (epoch ms). */
  fromMs?: number | undefined;
  toMs?: number | undefined;
}

/**
 * One page of incidents, newest onset first (startedAt desc, id desc), after `cursor`.
 *
 * @example
 * const { items, next } = await listIncidents(store, { service: 'teams' }, 50);
 * if (next) await listIncidents(store, { service: 'teams' }, 50, next);
 */
export async function listIncidents(store: Store, f: IncidentFilter, limit: number, cursor?: Cursor): Promise<{ items: IncidentSummary[]; next: Cursor | null }> {
  const where: string[] = [];
  if (f.service !== undefined) where.push('service = {service:String}');
  if (f.status !== undefined) where.push('status = {status:String}');
  if (f.hint !== undefined) where.push('top_hint_kind = {hint:String}');
  if (f.outage !== undefined) where.push("if(outage_id = '', id, outage_id) = {outage:String}");
  if (f.fromMs !== undefined) where.push("started_at >= fromUnixTimestamp64Milli({from:Int64}, 'UTC')");
  if (f.toMs !== undefined) where.push("started_at < fromUnixTimestamp64Milli({to:Int64}, 'UTC')");
  if (cursor) where.push("(started_at, id) < (fromUnixTimestamp64Milli({cursorMs:Int64}, 'UTC'), {cursorId:String})");
  const rows = await store.query<Raw>(
    `SELECT ${SUMMARY_COLUMNS} FROM incidents FINAL
     ${where.length > 0 ? `WHERE ${where.join(' AND ')}` : ''}
     ORDER BY started_at DESC, id DESC
     LIMIT {limit:UInt32}`,
    bound({ service: f.service, status: f.status, hint: f.hint, outage: f.outage, from: f.fromMs, to: f.toMs, cursorMs: cursor?.ms, cursorId: cursor?.id, limit: limit + 1 }),
  );
  // One row more than asked tells whether another page exists.
  const items = rows.slice(0, limit).map(summaryOf);
  const last = items[items.length - 1];
  return { items, next: rows.length > limit && last ? { ms: Date.parse(last.startedAt), id: last.id } : null };
}

/**
 * Open incidents and those resolved in [sinceMs, untilMs], newest onset first (for the services' state).
 *
 * @example await currentIncidents(store, asOf - 3_600_000, asOf) // open ones and those resolved in the last hour
 */
export async function currentIncidents(store: Store, sinceMs: number, untilMs: number): Promise<IncidentSummary[]> {
  const rows = await store.query<Raw>(
    `SELECT ${SUMMARY_COLUMNS} FROM incidents FINAL
     WHERE status = 'open'
        OR (resolved_at >= fromUnixTimestamp64Milli({since:Int64}, 'UTC') AND resolved_at <= fromUnixTimestamp64Milli({until:Int64}, 'UTC'))
     ORDER BY started_at DESC, id DESC
     LIMIT 10000`,
    { since: sinceMs, until: untilMs },
  );
  return rows.map(summaryOf);
}

/**
 * One incident's current state with its hints, or undefined.
 *
 * @example (await getIncident(store, 'teams-20200203T1340Z'))?.hints[0]?.kind // 'cert_expired'
 */
export async function getIncident(store: Store, id: string): Promise<(IncidentSummary & { hints: Hint[] }) | undefined> {
  const rows = await store.query<Raw>(`SELECT ${SUMMARY_COLUMNS}, hints FROM incidents FINAL WHERE id = {id:String} LIMIT 1`, { id });
  const r = rows[0];
  if (!r) return undefined;
  return { ...summaryOf(r), hints: JSON.parse(String(r.hints)) as Hint[] };
}

/**
 * Every state change of an incident, oldest first (the annotations rows the sink writes).
 *
 * @example (await incidentRevisions(store, 'teams-20200203T1340Z'))[0]?.event // 'opened'
 */
export async function incidentRevisions(store: Store, id: string): Promise<Static<typeof IncidentRevision>[]> {
  const rows = await store.query<Raw>(
    `SELECT revision, event, time, title, text FROM annotations FINAL WHERE incident_id = {id:String} ORDER BY revision, time LIMIT 100000`,
    { id },
  );
  return rows.map((r) => ({ revision: Number(r.revision), event: r.event as Static<typeof IncidentRevision>['event'], at: isoOf(r.time), title: String(r.title), summary: String(r.text) }));
}

/**
 * Probe results per service × target × region in [fromMs, toMs): the last check, counts, error
 * codes (most frequent first) and the median duration. `services` undefined: every service.
 *
 * @example await probeStatuses(store, ['teams', 'm365-auth'], asOf - 3_600_000, asOf)
 */
export async function probeStatuses(store: Store, services: readonly string[] | undefined, fromMs: number, toMs: number): Promise<ProbeStatus[]> {
  const rows = await store.query<Raw>(
    `SELECT service, target, region,
       max(ts) AS last_at,
       argMax(ok, ts) AS last_ok,
       argMax(error_code, ts) AS last_error,
       count() AS checks,
       countIf(NOT ok) AS failures,
       sumMapIf([error_code], [toUInt64(1)], error_code != '') AS codes,
       quantileExact(0.5)(duration_ms) AS p50
     FROM probe_results FINAL
     WHERE ts >= fromUnixTimestamp64Milli({from:Int64}, 'UTC') AND ts < fromUnixTimestamp64Milli({to:Int64}, 'UTC')
       ${services ? 'AND service IN {services:Array(String)}' : ''}
     GROUP BY service, target, region
     ORDER BY service, target, region
     LIMIT 10000`,
    bound({ from: fromMs, to: toMs, services }),
  );
  return rows.map((r) => {
    const [codes, counts] = r.codes as [string[], (string | number)[]];
    const lastOk = Boolean(r.last_ok);
    const p50 = Number(r.p50);
    return {
      service: String(r.service),
      target: String(r.target),
      region: String(r.region),
      lastAt: isoOf(r.last_at),
      lastOk,
      lastErrorCode: lastOk || !r.last_error ? null : String(r.last_error),
      checks: Number(r.checks),
      failures: Number(r.failures),
      errorCodes: codes.map((code, i) => ({ code, count: Number(counts[i]) })).sort((a, b) => b.count - a.count || a.code.localeCompare(b.code)),
      p50Ms: Number.isFinite(p50) ? Math.round(p50 * 10) / 10 : null,
    };
  });
}

/**
 * Dead letters by source topic and reason, the largest count first.
 *
 * @example (await deadLetterCounts(store)).items[0] // { topic: 'outage.reports.v1', reason: 'malformed_json', count: 3, lastAt: '…Z' }
 */
export async function deadLetterCounts(store: Store): Promise<Static<typeof DeadLetterCounts>> {
  const rows = await store.query<Raw>(
    `SELECT topic, reason, count() AS n, max(ts) AS last_at FROM dead_letters FINAL GROUP BY topic, reason ORDER BY n DESC, topic, reason LIMIT 10000`,
  );
  return { items: rows.map((r) => ({ topic: String(r.topic), reason: String(r.reason), count: Number(r.n), lastAt: isoOf(r.last_at) })) };
}

/**
 * The stored early warnings, the latest computation per certificate: certificates on services
 * first, then by level and days left.
 *
 * @example await storedWarnings(store, { level: 'expired', service: 'teams' })
 */
export async function storedWarnings(store: Store, f: { level?: Warning['level'] | undefined; service?: string | undefined }): Promise<Warning[]> {
  const where: string[] = [];
  if (f.level !== undefined) where.push('level = {level:String}');
  if (f.service !== undefined) where.push('(has(services, {service:String}) OR has(blast_radius, {service:String}))');
  const rows = await store.query<Raw>(
    `SELECT computed_at, sha256, name, subject, not_after, days_left, level, reason, services, blast_radius, endpoints, renewal_sha256, renewal_deployed
     FROM cert_warnings FINAL
     ${where.length > 0 ? `WHERE ${where.join(' AND ')}` : ''}
     ORDER BY empty(services), indexOf(['expired', 'critical', 'high', 'warning', 'notice'], level), days_left, sha256
     LIMIT 10000`,
    bound({ level: f.level, service: f.service }),
  );
  return rows.map((r) => ({
    sha256: String(r.sha256),
    name: String(r.name),
    subject: String(r.subject),
    notAfter: isoOf(r.not_after),
    daysLeft: Number(r.days_left),
    level: r.level as Warning['level'],
    reason: String(r.reason),
    services: r.services as string[],
    blastRadius: r.blast_radius as string[],
    endpoints: r.endpoints as string[],
    renewal: r.renewal_sha256 ? { sha256: String(r.renewal_sha256), deployed: Boolean(r.renewal_deployed) } : null,
    computedAt: isoOf(r.computed_at),
  }));
}

/** A stored certificate observation with the place it was seen (the compaction key's second half). */
export type PlacedObservation = CertObservation & { place: string };

/**
 * The certificate inventory: the latest observation per certificate and place.
 *
 * @example new Set((await certObservations(store)).map((o) => o.sha256)).size // certificates known
 */
export async function certObservations(store: Store): Promise<PlacedObservation[]> {
  // Without `pem` and `extra`: nothing here needs them and they are the bulk of the rows.
  const rows = await store.query<Raw>(
    `SELECT ts, source, sha256, place, subject, issuer, serial, not_before, not_after, dns_names, is_ca, service, endpoint, name, issuer_sha256
     FROM cert_observations FINAL`,
  );
  return rows.map((r) => ({ ...observationOf(r), place: String(r.place) }));
}

export interface BucketCount {
  service: string;
  /** Days back: 0 is the window itself, d the same window d days earlier. */
  daysBack: number;
  /** Bucket index from the window's start. */
  bucket: number;
  reports: number;
}

export interface ReportCounts {
  buckets: BucketCount[];
  /** The first minute with reports (epoch ms) of each service that has any: where seasonal history starts. */
  first: Map<string, number>;
}

/**
 * Distinct reports per service and bucket of `stepS` seconds in [fromS, toS), and the same buckets
 * 1..`days` days earlier (for seasonal baselines), with each service's first report minute.
 * Minutes before the settle watermark come from the settled counts (plain numbers), the later
 * ones from the per-minute rollup (merged exact states); both are exact, so where the watermark
 * stands changes the cost, never the counts. Buckets with no report are absent. One query: each
 * costs a few milliseconds before it reads anything.
 *
 * @example
 * // the last 15 minutes and the same 15 minutes on each of the 7 days before
 * const { buckets, first } = await reportCounts(store, { services: ['teams'], fromS, toS: fromS + 900, stepS: 900, days: 7 });
 */
export async function reportCounts(store: Store, q: { services: readonly string[]; fromS: number; toS: number; stepS: number; days: number }): Promise<ReportCounts> {
  const span = q.toS - q.fromS;
  const lo = q.fromS - q.days * 86_400;
  const settled = (await settledBefore(store)) / 1000;
  // A window shorter than a day only needs the minutes at the same time of day; dropping the
  // others early matters most before the rollup's states are merged.
  const sameTimeOfDay = span < 86_400 ? "AND positiveModulo(toInt64(toUnixTimestamp(minute)) - {from:Int64}, 86400) < {span:Int64}" : '';
  const minutes: string[] = [];
  if (settled > lo) {
    minutes.push(`SELECT service, toInt64(toUnixTimestamp(minute)) AS t, toUInt64(argMax(reports, settled_at)) AS n
         FROM report_counts_settled
         WHERE service IN {services:Array(String)}
           AND minute >= toDateTime({lo:Int64}, 'UTC') AND minute < toDateTime({settledTo:Int64}, 'UTC')
           ${sameTimeOfDay}
         GROUP BY service, minute`);
  }
  if (settled < q.toS) {
    minutes.push(`SELECT service, toInt64(toUnixTimestamp(minute)) AS t, toUInt64(uniqExactMerge(reports)) AS n
         FROM report_counts_1m
         WHERE service IN {services:Array(String)}
           AND minute >= toDateTime({rollupFrom:Int64}, 'UTC') AND minute < toDateTime({to:Int64}, 'UTC')
           ${sameTimeOfDay}
         GROUP BY service, minute`);
  }
  // Rows with d = -1 carry a service's first minute (seconds) in `reports`.
  const rows = await store.query<Raw>(
    `SELECT service, toInt32(-1) AS d, toInt64(0) AS bucket, toUInt64(toUnixTimestamp(min(minute))) AS reports
     FROM report_counts_1m
     WHERE service IN {services:Array(String)}
     GROUP BY service
     ${
       minutes.length === 0
         ? ''
         : `UNION ALL
     SELECT service, toInt32(d) AS d, intDiv(t + d * 86400 - {from:Int64}, {step:Int64}) AS bucket, sum(n) AS reports
     FROM (
       ${minutes.join('\n       UNION ALL\n       ')}
     )
     ARRAY JOIN range(toUInt16({days:UInt16} + 1)) AS d
     WHERE t + d * 86400 >= {from:Int64} AND t + d * 86400 < {to:Int64}
     GROUP BY service, d, bucket`
     }`,
    bound({
      services: q.services,
      from: q.fromS,
      to: q.toS,
      lo,
      step: q.stepS,
      span: span < 86_400 ? span : undefined,
      days: q.days,
      settledTo: settled > lo ? Math.min(settled, q.toS) : undefined,
      rollupFrom: settled < q.toS ? Math.max(settled, lo) : undefined,
    }),
  );
  const buckets: BucketCount[] = [];
  const first = new Map<string, number>();
  for (const r of rows) {
    const d = Number(r.d);
    if (d < 0) first.set(String(r.service), Number(r.reports) * 1000);
    else buckets.push({ service: String(r.service), daysBack: d, bucket: Number(r.bucket), reports: Number(r.reports) });
  }
  return { buckets, first };
}

/**
 * Whether the store answers at all (readiness).
 *
 * @example await storeAnswers(store) // true
 */
export async function storeAnswers(store: Store): Promise<boolean> {
  const rows = await store.query<Raw>('SELECT 1 AS ok');
  return Number(rows[0]?.ok) === 1;
}

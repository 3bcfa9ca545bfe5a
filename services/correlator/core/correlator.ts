/**
 * The correlator's core: a deterministic state machine over the event stream, in event time.
 *
 *   const core = new CorrelatorCore(catalog);
 *   for (const e of events) publish(core.step(e));   // incident states that changed
 *   publish(core.tick(lastEventTimeMs));             // close the last minutes
 *
 * It never reads the wall clock; replay, tests and the Kafka consumer drive the same code. It does
 * not assume it sees every service, nor that topics and partitions arrive in step: each service
 * keeps its own event-time clock, moved by its own reports (one partition, in order), and the
 * evidence (probes, posts, certificates) is looked up as of that clock. A consumer that reads one
 * partition hours ahead of another therefore reaches the same decisions as a replay in global
 * event-time order. Everything a service remembers (its detectors, its report ids and reporters,
 * its incident) is kept and pruned by that service's own clock, never by another partition's.
 *
 * What it remembers is bounded in event time (`stateHorizonMinutes`), and a service's state comes
 * only from its own reports, probes and posts (plus the global certificate table), so an instance
 * that is handed a partition rebuilds the state of its services by stepping that partition again
 * from the horizon on (`services/correlator/correlator.ts`), and `forget()` drops them when the
 * partition moves away.
 */
import type { CertObservation, Hint, Incident, ProbeResult, StatusPost, UserReport } from '../../../schemas/contracts.ts';
import { timestampMs } from '../../../schemas/timestamp.ts';
import type { TopicId } from '../../../schemas/topics.ts';
import type { Catalog } from '../../../lib/catalog.ts';
import { ReportDetector, MINUTE_MS, type Alarm } from './detector.ts';
import { CertTable, PostLog, ProbeTracker } from './evidence.ts';
import { lateBirth, mustMaterialiseBefore, Slice } from './slice.ts';
import { outageIdOf, rankHints, sortHints, type HintContext, type IncidentView } from './hints.ts';
import { defaultParams, type CorrelatorParams } from './params.ts';

/** One input event; `tsMs`, when the caller has it, is `timestampMs(value.ts)` already done. */
export type CorrelatorEvent = (
  | { kind: 'report'; value: UserReport }
  | { kind: 'post'; value: StatusPost }
  | { kind: 'probe'; value: ProbeResult }
  | { kind: 'cert'; value: CertObservation }
) & { tsMs?: number };

/** The event an input topic's value is to the core; undefined for a topic the core does not read. */
export function eventOf(topic: TopicId, value: unknown): CorrelatorEvent | undefined {
  switch (topic) {
    case 'reports':
      return { kind: 'report', value: value as UserReport };
    case 'posts':
      return { kind: 'post', value: value as StatusPost };
    case 'probes':
      return { kind: 'probe', value: value as ProbeResult };
    case 'certs':
      return { kind: 'cert', value: value as CertObservation };
    default:
      return undefined;
  }
}

interface IncidentState {
  id: string;
  service: string;
  status: 'open' | 'resolved';
  onsetMs: number;
  detectedAtMs: number;
  resolvedAtMs: number | null;
  lastElevatedMinute: number;
  peakPerMin: number;
  baselinePerMin: number;
  hints: Hint[];
  revision: number;
  /** What was last published, to publish only real changes. */
  signature: string;
  /** The outage this incident belongs to: shared by the incidents of one cause (`outageIdOf`). */
  outageId: string;
  updatedAtMs: number;
}

interface ServiceState {
  service: string;
  /** All of the service's reports (a slice of everything: built as a detector once it could matter). */
  detector: Slice;
  /** Whether learning is suppressed (an incident holds), for the slices created meanwhile. */
  suppressLearning: boolean;
  /** The service's first minute (where its detector started). */
  firstMinute: number;
  /** Per region and per problem type, created as reports name them (`slice.ts`); all of them in `slices`. */
  regionSlices: Map<string, Slice>;
  problemSlices: Map<string, Slice>;
  slices: Slice[];
  /** The service's minute: its clock's, as of the last minute it opened. */
  minute: number;
  /** This service's event time: the latest of its reports (or of an explicit tick). */
  clockMs: number;
  incident?: IncidentState;
  /** Report ids seen recently, for dropping redeliveries; bucketed by minute so pruning is cheap. */
  seenIds: Set<string>;
  idsByMinute: Map<number, string[]>;
  /** Last counted report per author (one reporter counts once per window). */
  reporters: Map<string, number>;
  /** The latest report minute of this service, and the one it last pruned at. */
  latestMinute: number;
  lastPruneMinute: number;
}

const iso = (ms: number) => new Date(ms).toISOString();

/** How long a report id is remembered for dropping redeliveries (minutes of the service's clock). */
export const REPORT_ID_MEMORY_MINUTES = 180;

/**
 * How far back in event time the state of a service reaches: the detector's ring (the seasonal
 * days plus the day being filled), the level window before it, and the longest of the windows
 * that look back from a decision (onset search, resolution plus re-opening, one reporter's
 * window, report-id memory). Events older than this before a service's latest event no longer
 * change anything it decides, so a rebuild that steps a partition from its first event inside
 * the horizon reaches the state of a run that never stopped (probe episodes and status posts are
 * kept a day, inside it). An incident that is still open, or may re-open, extends it back from
 * its onset (see `neededSinceMs`).
 *
 * @example stateHorizonMinutes(defaultParams) // 8 days + 180 + 180 minutes = 11880
 */
export function stateHorizonMinutes(p: CorrelatorParams = defaultParams): number {
  const d = p.detector;
  const lookback = Math.max(d.maxOnsetLookbackMinutes, d.quietMinutes + d.reopenMinutes, d.reporterWindowMinutes, REPORT_ID_MEMORY_MINUTES);
  return (d.seasonDays + 1) * 1440 + d.levelWindowMinutes + lookback;
}

/** The inputs a service's state comes from, one per topic it is keyed by (`forget` drops one). */
export type StateSource = 'report' | 'probe' | 'post';

/** Incident ids are derived from service and onset minute, so a replay or redelivery gives the same ids. */
export function incidentId(service: string, onsetMs: number): string {
  return `${service}-${iso(onsetMs).slice(0, 16).replace(/[-:]/g, '')}Z`;
}

export class CorrelatorCore {
  private readonly services = new Map<string, ServiceState>();
  private readonly certs = new CertTable();
  private readonly probes: ProbeTracker;
  private readonly posts = new PostLog();
  /** The latest event time seen on any input (never used for decisions). */
  private latestMs = -Infinity;
  private readonly hintCtx: HintContext;
  /** Counters of what was dropped on purpose, so nothing is dropped silently. */
  readonly dropped = { duplicateId: 0, repeatReporter: 0, tooManyServices: 0 };

  constructor(
    catalog: Catalog,
    private readonly params: CorrelatorParams = defaultParams,
  ) {
    this.probes = new ProbeTracker(params.hints);
    this.hintCtx = {
      catalog,
      certs: this.certs,
      probes: this.probes,
      posts: this.posts,
      params: params.hints,
      incidentOf: (service, nowMs) => this.view(service, nowMs),
    };
    for (const s of catalog.services) this.serviceState(s.id);
  }

  /** Feeds one event; returns the incidents whose state changed. */
  step(e: CorrelatorEvent): Incident[] {
    const ts = e.tsMs ?? timestampMs(e.value.ts);
    const out: Incident[] = [];
    switch (e.kind) {
      case 'report':
        this.onReport(e.value, ts, out);
        break;
      case 'post':
        this.posts.add(e.value);
        break;
      case 'probe':
        this.probes.observe(e.value, ts);
        break;
      case 'cert':
        this.certs.upsert(e.value);
        break;
    }
    if (ts > this.latestMs) this.latestMs = ts;
    return out;
  }

  /**
   * Moves every service's clock to at least `nowMs` (the end of a replay, or a live clock):
   * closes their minutes, resolves quiet incidents, refreshes hints.
   */
  tick(nowMs: number): Incident[] {
    const out: Incident[] = [];
    for (const st of this.services.values()) this.advance(st, nowMs, out);
    return out;
  }

  /** Moves one service's clock to `nowMs`, closing the minutes in between. */
  private advance(st: ServiceState, nowMs: number, out: Incident[]): void {
    if (nowMs <= st.clockMs) return;
    const minuteChanged = Math.floor(nowMs / MINUTE_MS) !== Math.floor(st.clockMs / MINUTE_MS) || st.clockMs === -Infinity;
    st.clockMs = nowMs;
    if (!minuteChanged) return;
    let resolved = false;
    const minute = Math.floor(nowMs / MINUTE_MS);
    if (st.minute !== -Infinity && mustMaterialiseBefore(this.params.detector, st.minute, minute)) this.materialiseSlices(st);
    if (st.minute === -Infinity) st.firstMinute = minute;
    st.minute = minute;
    // The closed minutes matter only to an open incident; otherwise they are closed without a look
    // (and pending slices not at all: see `slice.ts`).
    if (st.incident?.status !== 'open') {
      for (const slice of st.slices) slice.detector?.skipTo(minute);
      st.detector.detector?.skipTo(minute);
      return;
    }
    // A minute stays elevated when the service is, or a slice is with real volume (a handful of
    // reports in a quiet region is not an outage going on). An open incident has every slice materialised.
    const sliceElevated = new Set<number>();
    for (const slice of st.slices) {
      for (const c of slice.detector!.advanceTo(minute)) if (c.windowCount >= this.params.detector.minCount && c.elevated) sliceElevated.add(c.minute);
    }
    for (const closed of st.detector.detector!.advanceTo(minute)) {
      const inc = st.incident;
      if (!inc || inc.status !== 'open') continue;
      if (closed.elevated || sliceElevated.has(closed.minute)) inc.lastElevatedMinute = closed.minute;
      inc.peakPerMin = Math.max(inc.peakPerMin, closed.count);
      if (closed.minute - inc.lastElevatedMinute >= this.params.detector.quietMinutes) {
        inc.status = 'resolved';
        inc.resolvedAtMs = (inc.lastElevatedMinute + 1) * MINUTE_MS;
        this.setLearning(st, true);
        resolved = true;
      }
    }
    if (st.incident && (st.incident.status === 'open' || resolved)) this.publishIfChanged(st, st.incident, out);
  }

  /** The latest event time seen on any input (ms), or -Infinity before the first event. */
  get latestEventMs(): number {
    return this.latestMs;
  }

  /** The latest state of every incident, in onset order. */
  incidents(): Incident[] {
    return [...this.services.values()]
      .map((s) => s.incident)
      .filter((i): i is IncidentState => !!i)
      .sort((a, b) => a.onsetMs - b.onsetMs || a.service.localeCompare(b.service))
      .map((i) => this.toIncident(i));
  }

  private serviceState(service: string): ServiceState | undefined {
    let st = this.services.get(service);
    if (!st) {
      if (this.services.size >= this.params.maxServices) return undefined;
      st = this.freshState(service);
      this.services.set(service, st);
    }
    return st;
  }

  private freshState(service: string): ServiceState {
    return {
      service,
      detector: new Slice(this.params.detector, -Infinity, false, false),
      suppressLearning: false,
      firstMinute: -Infinity,
      regionSlices: new Map(),
      problemSlices: new Map(),
      slices: [],
      minute: -Infinity,
      clockMs: -Infinity,
      seenIds: new Set(),
      idsByMinute: new Map(),
      reporters: new Map(),
      latestMinute: -Infinity,
      lastPruneMinute: -Infinity,
    };
  }

  /**
   * Drops what these services learnt from one of their inputs (their partition of it moved to
   * another instance): from reports, the detectors, report ids, reporters and the incident (the
   * service starts as if never seen); from probes, their probe series; from posts, their posts.
   */
  forget(services: Iterable<string>, source: StateSource): void {
    for (const service of services) {
      if (source === 'report') {
        if (this.services.has(service)) this.services.set(service, this.freshState(service));
      } else if (source === 'probe') this.probes.forget(service);
      else this.posts.forget(service);
    }
  }

  /**
   * The earliest event time the state of these services still needs: the horizon before the
   * latest of them, or before the onset of an incident that is open or may still re-open (an
   * outage longer than the horizon keeps its beginning).
   */
  neededSinceMs(services: Iterable<string>, latestMs: number): number {
    let from = latestMs;
    for (const service of services) {
      const inc = this.services.get(service)?.incident;
      if (inc && (inc.status === 'open' || (inc.resolvedAtMs ?? -Infinity) >= latestMs - this.params.detector.reopenMinutes * MINUTE_MS)) {
        from = Math.min(from, inc.onsetMs);
      }
    }
    return from - stateHorizonMinutes(this.params) * MINUTE_MS;
  }

  private onReport(r: UserReport, ts: number, out: Incident[]): void {
    const minute = Math.floor(ts / MINUTE_MS);
    const st = this.serviceState(r.service);
    if (!st) {
      this.dropped.tooManyServices++;
      return;
    }
    if (st.seenIds.has(r.id)) {
      this.dropped.duplicateId++;
      return;
    }
    st.seenIds.add(r.id);
    const bucket = st.idsByMinute.get(minute);
    if (bucket) bucket.push(r.id);
    else st.idsByMinute.set(minute, [r.id]);
    if (minute > st.latestMinute) {
      st.latestMinute = minute;
      if (minute - st.lastPruneMinute >= 60) this.prune(st, minute);
    }
    if (r.author) {
      const last = st.reporters.get(r.author);
      if (last !== undefined && ts - last < this.params.detector.reporterWindowMinutes * MINUTE_MS && ts >= last) {
        this.dropped.repeatReporter++;
        return;
      }
      st.reporters.set(r.author, ts);
    }
    this.advance(st, ts, out);
    const alarm = st.detector.report(ts, st.minute, st.firstMinute);
    if (alarm) this.onAlarm(r.service, st, alarm, out);
    if (r.region) this.onSlice(st, st.regionSlices, r.region, ts, out);
    if (r.problem) this.onSlice(st, st.problemSlices, r.problem, ts, out);
  }

  /** Counts a report in one region or problem slice of its service. */
  private onSlice(st: ServiceState, slices: Map<string, Slice>, value: string, ts: number, out: Incident[]): void {
    let slice = slices.get(value);
    if (!slice) {
      if (st.slices.length >= this.params.maxSlicesPerService) return;
      // While an incident is open every slice's minutes are needed; a very late first report
      // starts one that could jump (see `slice.ts`).
      const eager = st.incident?.status === 'open' || lateBirth(this.params.detector, Math.floor(ts / MINUTE_MS), st.minute);
      slice = new Slice(this.params.detector, st.minute, st.suppressLearning, eager);
      slices.set(value, slice);
      st.slices.push(slice);
    }
    const sliceAlarm = slice.report(ts, st.minute);
    if (sliceAlarm) this.onAlarm(st.service, st, sliceAlarm, out);
  }

  /** Builds the detectors of a service's pending slices (before anything the replay of their log could not repeat). */
  private materialiseSlices(st: ServiceState): void {
    this.serviceDetector(st);
    for (const slice of st.slices) slice.materialise(st.minute);
  }

  /** The service's own detector, built first if it was still a log. */
  private serviceDetector(st: ServiceState): ReportDetector {
    st.detector.materialise(st.minute, st.firstMinute);
    return st.detector.detector!;
  }

  private onAlarm(service: string, st: ServiceState, alarm: Alarm, out: Incident[]): void {
    const inc = st.incident;
    const minute = Math.floor(alarm.detectedAtMs / MINUTE_MS);
    if (inc?.status === 'open') return;
    if (inc && inc.resolvedAtMs !== null && alarm.detectedAtMs - inc.resolvedAtMs <= this.params.detector.reopenMinutes * MINUTE_MS) {
      // The outage came back: one outage is one incident.
      inc.status = 'open';
      inc.resolvedAtMs = null;
      inc.lastElevatedMinute = minute;
      this.setLearning(st, false);
      this.publishIfChanged(st, inc, out);
      return;
    }
    const fresh: IncidentState = {
      id: incidentId(service, alarm.onsetMs),
      service,
      status: 'open',
      onsetMs: alarm.onsetMs,
      detectedAtMs: alarm.detectedAtMs,
      resolvedAtMs: null,
      lastElevatedMinute: minute,
      peakPerMin: alarm.count,
      // The service's baseline, even when a region or problem slice raised the alarm (peaks are service-wide too).
      baselinePerMin: this.serviceDetector(st).baseline,
      hints: [],
      revision: 0,
      signature: '',
      outageId: incidentId(service, alarm.onsetMs),
      updatedAtMs: alarm.detectedAtMs,
    };
    st.incident = fresh;
    this.setLearning(st, false);
    this.publishIfChanged(st, fresh, out);
  }

  /** Minutes inside an incident are kept out of the learned history of the service and its slices. */
  private setLearning(st: ServiceState, learn: boolean): void {
    this.materialiseSlices(st);
    st.suppressLearning = !learn;
    this.serviceDetector(st).suppressLearning = !learn;
    for (const slice of st.slices) slice.detector!.suppressLearning = !learn;
  }

  /**
   * Re-ranks the hints with the evidence known now. Evidence seen earlier in the incident stays
   * (probes that recovered still failed when it mattered): a hint that no longer comes up keeps
   * its last version.
   */
  private refreshHints(inc: IncidentState, nowMs: number): void {
    const fresh = rankHints(this.hintCtx, inc.service, inc.onsetMs, nowMs);
    const key = (h: Hint) => `${h.kind}|${h.certSha256 ?? ''}|${h.relatedService ?? ''}|${(h.evidence as { class?: string }).class ?? ''}`;
    const seen = new Set(fresh.map(key));
    const kept = inc.hints.filter((h) => !seen.has(key(h)));
    inc.hints = kept.length === 0 ? fresh : sortHints([...fresh, ...kept]);
    inc.outageId = outageIdOf(inc.id, inc.hints);
  }

  private signature(inc: IncidentState): string {
    return JSON.stringify([inc.status, inc.resolvedAtMs, Math.round(inc.peakPerMin), inc.outageId, inc.hints.map((h) => [h.kind, h.certSha256, h.relatedService, h.confidence, h.summary])]);
  }

  private publishIfChanged(st: ServiceState, inc: IncidentState, out: Incident[]): void {
    const nowMs = Math.max(st.clockMs, inc.detectedAtMs);
    if (inc.status === 'open') this.refreshHints(inc, nowMs);
    const sig = this.signature(inc);
    if (sig === inc.signature) return;
    inc.signature = sig;
    inc.revision++;
    inc.updatedAtMs = nowMs;
    out.push(this.toIncident(inc));
  }

  private view(service: string, nowMs: number): IncidentView | undefined {
    const inc = this.services.get(service)?.incident;
    if (!inc) return undefined;
    if (inc.status === 'resolved' && (inc.resolvedAtMs ?? 0) < nowMs - this.params.detector.reopenMinutes * MINUTE_MS) return undefined;
    return { id: inc.id, service, onsetMs: inc.onsetMs, status: inc.status, outageId: inc.outageId, ...(inc.hints[0] ? { topHint: inc.hints[0] } : {}) };
  }

  private toIncident(i: IncidentState): Incident {
    return {
      id: i.id,
      service: i.service,
      status: i.status,
      startedAt: iso(i.onsetMs),
      detectedAt: iso(i.detectedAtMs),
      resolvedAt: i.resolvedAtMs === null ? null : iso(i.resolvedAtMs),
      peakPerMin: i.peakPerMin,
      baselinePerMin: Math.round(i.baselinePerMin * 100) / 100,
      hints: i.hints,
      outageId: i.outageId,
      revision: i.revision,
      updatedAt: iso(i.updatedAtMs),
    };
  }

  /** Forgets a service's report ids and reporters older than the windows that need them, by its own clock. */
  private prune(st: ServiceState, minute: number): void {
    st.lastPruneMinute = minute;
    const idHorizon = minute - REPORT_ID_MEMORY_MINUTES;
    // forEach: no [key, value] pair is allocated per entry (deleting the current entry is safe).
    st.idsByMinute.forEach((ids, m) => {
      if (m >= idHorizon) return;
      for (const id of ids) st.seenIds.delete(id);
      st.idsByMinute.delete(m);
    });
    const repHorizon = (minute - this.params.detector.reporterWindowMinutes) * MINUTE_MS;
    st.reporters.forEach((t, k) => {
      if (t < repHorizon) st.reporters.delete(k);
    });
  }
}

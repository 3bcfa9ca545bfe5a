/**
 * The evidence the correlator keeps between events: the certificate table (global, from the
 * compacted topic), per-endpoint probe state, and recent status posts. All of it is bounded by
 * the number of certificates, endpoints and a day of posts, never by the length of the stream.
 */
import type { CertObservation, ProbeResult, StatusPost } from '../../../schemas/contracts.ts';
import { timestampMs } from '../../../schemas/timestamp.ts';
import { hostOf } from '../../../lib/catalog.ts';
import { commonName } from '../../../lib/certs/facts.ts';
import { defaultParams, type HintParams, type ProbeRateParams } from './params.ts';
import { betaBinomialTail, FailureRate, probeAlpha } from './probe-rate.ts';

export interface CertPlace {
  source: CertObservation['source'];
  endpoint?: string;
  host?: string;
  service?: string;
  firstSeenMs: number;
  lastSeenMs: number;
}

export interface CertInfo {
  sha256: string;
  subject: string;
  issuer: string;
  serial: string;
  notBeforeMs: number;
  notAfterMs: number;
  dnsNames: string[];
  isCA: boolean;
  issuerSha256?: string;
  names: Set<string>;
  /** Where it was seen, one per endpoint (or per source without one), in order of first sight. */
  places: CertPlace[];
}

/** The names of a certificate that has none (most): one shared set, replaced on the first name. */
const NO_NAMES: ReadonlySet<string> = new Set();
/** Places searched in order up to this many; a certificate seen in more places gets an index. */
const PLACES_SCANNED = 8;

/** An observation's place within its certificate (`certKey` without the shared sha256). */
const keyOf = (o: { endpoint?: string | undefined; source: string }) => o.endpoint ?? o.source;
/** Places observed with an empty endpoint: their key is "" though they hold no endpoint. */
const emptyEndpoint = new WeakSet<CertPlace>();
const placeKey = (p: CertPlace) => (p.endpoint ?? (emptyEndpoint.has(p) ? '' : p.source));

/**
 * Every certificate seen, by sha256. Its footprint is per certificate (100,000 at 10,000
 * services), so a certificate holds no structure it does not need: its places as an array (one
 * or two for most), an index only for a certificate served in many places, its names and issuer
 * strings shared.
 */
export class CertTable {
  readonly bySha = new Map<string, CertInfo>();
  private readonly placeIndex = new Map<CertInfo, Map<string, CertPlace>>();
  /** Issuers, names, endpoints and services repeat across certificates (renewals, one CA): one string each. */
  private readonly strings = new Map<string, string>();
  /** The host of each endpoint, parsed once. */
  private readonly hosts = new Map<string, string | undefined>();

  private share(s: string): string {
    const kept = this.strings.get(s);
    if (kept !== undefined) return kept;
    this.strings.set(s, s);
    return s;
  }

  upsert(o: CertObservation): void {
    const ts = timestampMs(o.ts);
    let c = this.bySha.get(o.sha256);
    if (!c) {
      c = {
        sha256: o.sha256,
        subject: o.subject,
        issuer: this.share(o.issuer),
        serial: o.serial,
        notBeforeMs: timestampMs(o.notBefore),
        notAfterMs: timestampMs(o.notAfter),
        dnsNames: o.dnsNames.map((n) => this.share(n.toLowerCase())),
        isCA: o.isCA,
        names: NO_NAMES as Set<string>,
        places: [],
      };
      this.bySha.set(o.sha256, c);
    }
    if (o.issuerSha256) c.issuerSha256 = o.issuerSha256;
    if (o.name) {
      if (c.names === NO_NAMES) c.names = new Set();
      c.names.add(o.name);
    }
    const place = this.placeOf(c, keyOf(o));
    if (place) {
      place.firstSeenMs = Math.min(place.firstSeenMs, ts);
      place.lastSeenMs = Math.max(place.lastSeenMs, ts);
      if (o.service) place.service = this.share(o.service);
    } else {
      const endpoint = o.endpoint ? this.share(o.endpoint) : undefined;
      let host = endpoint ? this.hosts.get(endpoint) : undefined;
      if (endpoint && host === undefined && !this.hosts.has(endpoint)) this.hosts.set(endpoint, (host = hostOf(endpoint)));
      const added: CertPlace = {
        source: this.share(o.source) as CertPlace['source'],
        ...(endpoint ? { endpoint } : {}),
        ...(host ? { host } : {}),
        ...(o.service ? { service: this.share(o.service) } : {}),
        firstSeenMs: ts,
        lastSeenMs: ts,
      };
      if (o.endpoint === '') emptyEndpoint.add(added);
      // Most certificates have one place: an array of exactly one, not a growable one.
      if (c.places.length === 0) c.places = [added];
      else c.places.push(added);
      const index = this.placeIndex.get(c);
      if (index) index.set(keyOf(o), added);
      else if (c.places.length > PLACES_SCANNED) this.placeIndex.set(c, new Map(c.places.map((p) => [placeKey(p), p])));
    }
  }

  private placeOf(c: CertInfo, key: string): CertPlace | undefined {
    if (c.places.length > PLACES_SCANNED) return this.placeIndex.get(c)?.get(key);
    for (const p of c.places) if (placeKey(p) === key) return p;
    return undefined;
  }

  /** A human label: the catalog/inventory name, else the subject's CN. */
  static label(c: CertInfo): string {
    const first = [...c.names][0];
    if (first) return first;
    return commonName(c.subject) ?? c.sha256.slice(0, 12);
  }
}

/** TLS failures name a certificate problem; the rest are classed by what broke. */
const TLS_CODES = /^(CERT_|ERR_TLS_|DEPTH_ZERO_SELF_SIGNED_CERT|SELF_SIGNED_CERT_IN_CHAIN|UNABLE_TO_(GET|VERIFY)|ERR_SSL_|EPROTO)/;

export type ProbeClass = 'tls' | 'dns' | 'refused' | 'timeout' | 'http_5xx' | 'http_4xx' | 'other';

export function classifyProbeError(code: string | undefined, httpStatus?: number): ProbeClass {
  const c = (code ?? '').toUpperCase();
  if (TLS_CODES.test(c)) return 'tls';
  if (c === 'ENOTFOUND' || c === 'EAI_AGAIN' || c.startsWith('DNS_') || c === 'ENODATA' || c === 'SERVFAIL' || c === 'NXDOMAIN') return 'dns';
  if (c === 'ECONNREFUSED' || c === 'ECONNRESET' || c === 'EHOSTUNREACH' || c === 'ENETUNREACH') return 'refused';
  if (c === 'ETIMEDOUT' || c === 'TIMEOUT' || c === 'ESOCKETTIMEDOUT' || c === 'ABORT_ERR') return 'timeout';
  if (/^HTTP_5/.test(c) || (httpStatus !== undefined && httpStatus >= 500)) return 'http_5xx';
  if (/^HTTP_4/.test(c) || (httpStatus !== undefined && httpStatus >= 400)) return 'http_4xx';
  return 'other';
}

/**
 * A failure episode of one series (target and region): from the first failure of the run or window
 * whose failures the series' own failure rate cannot explain (`probe-rate.ts`), to the first
 * successful check after its last failure.
 */
export interface ProbeEpisode {
  service: string;
  target: string;
  region: string;
  sinceMs: number;
  /** The first successful check after the episode's last failure; absent while it goes on. */
  untilMs?: number;
  /** Failed checks since `sinceMs`. */
  failures: number;
  code: string;
  cls: ProbeClass;
  httpStatus?: number;
  leafSha256?: string;
  chainSha256?: string[];
  /** The series' learned failure rate when the episode began (a chronically flaky check counts less). */
  usualFailureRate: number;
  /** When the rate test became sure (the check that opened the episode). */
  detectedAtMs: number;
  /** The tail probability of the failures that opened it, under the series' learned rate. */
  pValue: number;
}

interface ProbeSeries {
  service: string;
  target: string;
  region: string;
  lastMs: number;
  leafSha256?: string;
  chainSha256?: string[];
  open?: ProbeEpisode;
  closed: ProbeEpisode[];
  /** The learned failure rate (rolling blocks of checks outside episodes). */
  rate: FailureRate;
  /** The last `windowChecks` checks: failed or not, and when (a ring). */
  ringFailed: Uint8Array;
  ringTs: Float64Array;
  ringPos: number;
  ringCount: number;
  windowFailures: number;
  /** The run of consecutive failures ending at the last check: length, start, ln P(all fail). */
  runLength: number;
  runSinceMs: number;
  runLnP: number;
  /** The first successful check after the open episode's last failure. */
  okAfterMs?: number;
}

const EPISODE_MEMORY_MS = 86_400_000;

/**
 * Failure episodes of every (target, region) probe series, kept for a day, so that evidence can
 * be looked up as of any event time: probes read ahead of the reports still count as what they
 * showed at the time of the outage. An episode opens when the failures of a series are beyond what
 * its own learned failure rate explains (a run of failures, or the failures in the last
 * `windowChecks` checks; `probe-rate.ts`), so a check that fails 5 % of the time needs a longer run
 * than one that never fails, and each region is tested on its own. O(1) per check.
 */
export class ProbeTracker {
  readonly series = new Map<string, ProbeSeries>();
  /** Probe series per service: the family the false-episode budget is split over. */
  private readonly perService = new Map<string, number>();
  private readonly rp: ProbeRateParams;
  private readonly minFailures: number;

  constructor(params: HintParams = defaultParams.hints) {
    this.rp = params.probeRate;
    this.minFailures = Math.max(1, params.minProbeStreak);
  }

  observe(p: ProbeResult, ts = timestampMs(p.ts)): void {
    const region = p.region ?? '';
    const key = `${p.service}\u0000${p.target}\u0000${region}`;
    let s = this.series.get(key);
    if (!s) {
      const W = this.rp.windowChecks;
      s = {
        service: p.service,
        target: p.target,
        region,
        lastMs: ts,
        closed: [],
        rate: new FailureRate(this.rp),
        ringFailed: new Uint8Array(W),
        ringTs: new Float64Array(W),
        ringPos: 0,
        ringCount: 0,
        windowFailures: 0,
        runLength: 0,
        runSinceMs: ts,
        runLnP: 0,
      };
      this.series.set(key, s);
      this.perService.set(p.service, (this.perService.get(p.service) ?? 0) + 1);
    }
    if (ts < s.lastMs) return; // a late result does not rewrite the sequence
    s.lastMs = ts;
    if (p.tls?.leafSha256) s.leafSha256 = p.tls.leafSha256;
    if (p.tls?.chainSha256) s.chainSha256 = p.tls.chainSha256;
    const failed = !p.ok;
    // The model as learned before this check; the check itself is learned after the tests.
    const m = s.rate.model;
    const W = this.rp.windowChecks;
    if (s.ringCount === W) s.windowFailures -= s.ringFailed[s.ringPos]!;
    else s.ringCount++;
    s.ringFailed[s.ringPos] = failed ? 1 : 0;
    s.ringTs[s.ringPos] = ts;
    s.ringPos = (s.ringPos + 1) % W;
    if (failed) {
      s.windowFailures++;
      if (s.runLength === 0) {
        s.runSinceMs = ts;
        s.runLnP = 0;
      }
      // P(k of k fail) = prod_{i<k} (alpha + i) / (alpha + beta + i), one factor per failure.
      s.runLnP += Math.log((m.alpha + s.runLength) / (m.alpha + m.beta + s.runLength));
      s.runLength++;
    } else s.runLength = 0;

    if (s.open) {
      const e = s.open;
      if (failed) {
        // After a successful check, a failure of another class is counted but does not rename
        // the episode (a timeout after a certificate outage ends is not what the episode was).
        const recovered = s.okAfterMs !== undefined;
        delete s.okAfterMs;
        if (!recovered || classifyProbeError(codeOf(p), p.httpStatus) === e.cls) this.extend(e, p);
        else e.failures++;
      } else {
        s.okAfterMs ??= ts;
        const stillFailing = s.windowFailures > 0 && betaBinomialTail(s.windowFailures, s.ringCount, m.alpha, m.beta) < this.rp.alphaElevated;
        if (!stillFailing) {
          e.untilMs = s.okAfterMs;
          s.closed.push(e);
          delete s.open;
          delete s.okAfterMs;
          while (s.closed.length > 0 && s.closed[0]!.untilMs! < ts - EPISODE_MEMORY_MS) s.closed.shift();
        }
      }
      if (s.open) s.rate.taintSince(e.sinceMs);
    } else if (failed) {
      const alpha = probeAlpha(this.rp, this.perService.get(p.service) ?? 1);
      let opened: { sinceMs: number; failures: number; pValue: number } | undefined;
      const pRun = Math.exp(s.runLnP);
      if (s.runLength >= this.minFailures && pRun < alpha) opened = { sinceMs: s.runSinceMs, failures: s.runLength, pValue: pRun };
      else if (s.windowFailures >= this.minFailures) {
        const pWin = betaBinomialTail(s.windowFailures, s.ringCount, m.alpha, m.beta);
        if (pWin < alpha) opened = { sinceMs: this.firstFailureInWindow(s), failures: s.windowFailures, pValue: pWin };
      }
      if (opened) {
        const code = codeOf(p);
        s.open = {
          service: p.service,
          target: p.target,
          region,
          sinceMs: opened.sinceMs,
          failures: opened.failures - 1,
          code,
          cls: classifyProbeError(code, p.httpStatus),
          usualFailureRate: m.p,
          detectedAtMs: ts,
          pValue: opened.pValue,
        };
        this.extend(s.open, p);
        s.rate.taintSince(opened.sinceMs);
      }
    }
    s.rate.add(failed, ts);
  }

  /** Adds a failed check to an open episode: its error is the latest one. */
  private extend(e: ProbeEpisode, p: ProbeResult): void {
    e.failures++;
    e.code = codeOf(p);
    e.cls = classifyProbeError(e.code, p.httpStatus);
    if (p.httpStatus !== undefined) e.httpStatus = p.httpStatus;
    if (p.tls?.leafSha256) e.leafSha256 = p.tls.leafSha256;
    if (p.tls?.chainSha256) e.chainSha256 = p.tls.chainSha256;
  }

  private firstFailureInWindow(s: ProbeSeries): number {
    const W = this.rp.windowChecks;
    for (let i = 0; i < s.ringCount; i++) {
      const j = (s.ringPos - s.ringCount + i + W) % W;
      if (s.ringFailed[j]) return s.ringTs[j]!;
    }
    return s.lastMs;
  }

  /** Drops every probe series of a service (its partition moved to another instance). */
  forget(service: string): void {
    for (const [key, s] of this.series) if (s.service === service) this.series.delete(key);
    this.perService.delete(service);
  }

  /**
   * Failure episodes of a service with at least `minFailures` failed checks that were going on at
   * some point of [fromMs, toMs] (started by `toMs`, not over before `fromMs`).
   */
  failing(service: string, minFailures: number, fromMs: number, toMs: number): ProbeEpisode[] {
    const out: ProbeEpisode[] = [];
    for (const s of this.series.values()) {
      if (s.service !== service) continue;
      for (const e of s.open ? [...s.closed, s.open] : s.closed) {
        if (e.failures >= minFailures && e.sinceMs <= toMs && (e.untilMs === undefined || e.untilMs >= fromMs)) out.push(e);
      }
    }
    return out;
  }
}

const codeOf = (p: ProbeResult) => p.error?.code ?? (p.httpStatus ? `HTTP_${p.httpStatus}` : 'UNKNOWN');

const CERT_WORDS = /\b(certificate|certificates|cert|certs|ssl|tls|expired|expiry|x\.?509)\b/i;
const INCIDENT_ID = /\b[A-Z]{2}\d{5,7}\b/g;

export interface PostInfo {
  id: string;
  tsMs: number;
  service: string;
  account: string;
  text: string;
  url?: string;
  mentionsCertificate: boolean;
  incidentIds: string[];
}

/** Status posts of the last day per service, with certificate mentions and incident ids extracted. */
export class PostLog {
  private readonly byService = new Map<string, PostInfo[]>();
  private readonly seen = new Set<string>();

  add(p: StatusPost): void {
    if (this.seen.has(p.id)) return;
    this.seen.add(p.id);
    const info: PostInfo = {
      id: p.id,
      tsMs: timestampMs(p.ts),
      service: p.service,
      account: p.account,
      text: p.text,
      ...(p.url ? { url: p.url } : {}),
      mentionsCertificate: CERT_WORDS.test(p.text),
      incidentIds: [...new Set(p.text.match(INCIDENT_ID) ?? [])],
    };
    const list = this.byService.get(p.service) ?? [];
    list.push(info);
    list.sort((a, b) => a.tsMs - b.tsMs);
    const horizon = info.tsMs - 86_400_000;
    while (list.length > 0 && list[0]!.tsMs < horizon) this.seen.delete(list.shift()!.id);
    this.byService.set(p.service, list);
  }

  /** Drops a service's posts (its partition moved to another instance). */
  forget(service: string): void {
    for (const p of this.byService.get(service) ?? []) this.seen.delete(p.id);
    this.byService.delete(service);
  }

  /** Posts of a service with fromMs <= ts <= toMs. */
  between(service: string, fromMs: number, toMs: number): PostInfo[] {
    return (this.byService.get(service) ?? []).filter((p) => p.tsMs >= fromMs && p.tsMs <= toMs);
  }
}

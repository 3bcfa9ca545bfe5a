/**
 * The evidence the correlator keeps between events: the certificate table (global, from the
 * compacted topic), per-endpoint probe state, and recent status posts. All of it is bounded by
 * the number of certificates, endpoints and a day of posts, never by the length of the stream.
 */
import type { CertObservation, ProbeResult, StatusPost } from '../../../schemas/contracts.ts';
import { certKey } from '../../../schemas/topics.ts';
import { hostOf } from '../../../lib/catalog.ts';
import { commonName } from '../../../lib/certs/facts.ts';

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
  places: Map<string, CertPlace>;
}

export class CertTable {
  readonly bySha = new Map<string, CertInfo>();

  upsert(o: CertObservation): void {
    const ts = Date.parse(o.ts);
    let c = this.bySha.get(o.sha256);
    if (!c) {
      c = {
        sha256: o.sha256,
        subject: o.subject,
        issuer: o.issuer,
        serial: o.serial,
        notBeforeMs: Date.parse(o.notBefore),
        notAfterMs: Date.parse(o.notAfter),
        dnsNames: o.dnsNames.map((n) => n.toLowerCase()),
        isCA: o.isCA,
        names: new Set(),
        places: new Map(),
      };
      this.bySha.set(o.sha256, c);
    }
    if (o.issuerSha256) c.issuerSha256 = o.issuerSha256;
    if (o.name) c.names.add(o.name);
    const key = certKey(o);
    const place = c.places.get(key);
    if (place) {
      place.firstSeenMs = Math.min(place.firstSeenMs, ts);
      place.lastSeenMs = Math.max(place.lastSeenMs, ts);
      if (o.service) place.service = o.service;
    } else {
      const host = o.endpoint ? hostOf(o.endpoint) : undefined;
      c.places.set(key, {
        source: o.source,
        ...(o.endpoint ? { endpoint: o.endpoint } : {}),
        ...(host ? { host } : {}),
        ...(o.service ? { service: o.service } : {}),
        firstSeenMs: ts,
        lastSeenMs: ts,
      });
    }
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

/** A run of consecutive failed checks of one series (target and region). */
export interface ProbeEpisode {
  service: string;
  target: string;
  region: string;
  sinceMs: number;
  /** The first successful check after the run; absent while it goes on. */
  untilMs?: number;
  failures: number;
  code: string;
  cls: ProbeClass;
  httpStatus?: number;
  leafSha256?: string;
  chainSha256?: string[];
  /** The series' usual failure rate before this episode (a chronically flaky check counts less). */
  usualFailureRate: number;
}

interface ProbeSeries {
  service: string;
  target: string;
  lastMs: number;
  leafSha256?: string;
  chainSha256?: string[];
  open?: ProbeEpisode;
  closed: ProbeEpisode[];
  /** Failure rate over roughly the last hundred checks (exponentially weighted). */
  failureRate: number;
  checks: number;
}

/** Weight of one check in the usual failure rate (about the last hundred checks). */
const RATE_WEIGHT = 0.01;

const EPISODE_MEMORY_MS = 86_400_000;

/**
 * Failure episodes of every (target, region) probe series, kept for a day, so that evidence can
 * be looked up as of any event time: probes read ahead of the reports still count as what they
 * showed at the time of the outage.
 */
export class ProbeTracker {
  readonly series = new Map<string, ProbeSeries>();

  observe(p: ProbeResult): void {
    const key = `${p.service}\u0000${p.target}\u0000${p.region ?? ''}`;
    const ts = Date.parse(p.ts);
    let s = this.series.get(key);
    if (!s) {
      s = { service: p.service, target: p.target, lastMs: ts, closed: [], failureRate: 0, checks: 0 };
      this.series.set(key, s);
    }
    if (ts < s.lastMs) return; // a late result does not rewrite the sequence
    s.lastMs = ts;
    if (p.tls?.leafSha256) s.leafSha256 = p.tls.leafSha256;
    if (p.tls?.chainSha256) s.chainSha256 = p.tls.chainSha256;
    const usual = s.checks >= 20 ? s.failureRate : 0;
    s.failureRate += RATE_WEIGHT * ((p.ok ? 0 : 1) - s.failureRate);
    s.checks++;
    if (p.ok) {
      if (s.open) {
        s.open.untilMs = ts;
        s.closed.push(s.open);
        delete s.open;
        while (s.closed.length > 0 && s.closed[0]!.untilMs! < ts - EPISODE_MEMORY_MS) s.closed.shift();
      }
      return;
    }
    const code = p.error?.code ?? (p.httpStatus ? `HTTP_${p.httpStatus}` : 'UNKNOWN');
    if (!s.open) {
      s.open = { service: p.service, target: p.target, region: p.region ?? '', sinceMs: ts, failures: 0, code, cls: classifyProbeError(code, p.httpStatus), usualFailureRate: usual };
    }
    const e = s.open;
    e.failures++;
    e.code = code;
    e.cls = classifyProbeError(code, p.httpStatus);
    if (p.httpStatus !== undefined) e.httpStatus = p.httpStatus;
    if (p.tls?.leafSha256) e.leafSha256 = p.tls.leafSha256;
    if (p.tls?.chainSha256) e.chainSha256 = p.tls.chainSha256;
  }

  /** Drops every probe series of a service (its partition moved to another instance). */
  forget(service: string): void {
    for (const [key, s] of this.series) if (s.service === service) this.series.delete(key);
  }

  /**
   * Failure episodes of a service of at least `minStreak` checks that were going on at some point
   * of [fromMs, toMs] (started by `toMs`, not over before `fromMs`).
   */
  failing(service: string, minStreak: number, fromMs: number, toMs: number): ProbeEpisode[] {
    const out: ProbeEpisode[] = [];
    for (const s of this.series.values()) {
      if (s.service !== service) continue;
      for (const e of s.open ? [...s.closed, s.open] : s.closed) {
        if (e.failures >= minStreak && e.sinceMs <= toMs && (e.untilMs === undefined || e.untilMs >= fromMs)) out.push(e);
      }
    }
    return out;
  }
}

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
      tsMs: Date.parse(p.ts),
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

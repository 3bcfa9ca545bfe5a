/**
 * Contract → table row mappings, one per table. Unknown fields of a message go to `extra` (JSON)
 * so that what a producer sent survives the trip into the store.
 */
import { createHash } from 'node:crypto';
import type { TObject } from '@sinclair/typebox';
import {
  CertObservation as CertObservationSchema,
  ProbeResult as ProbeResultSchema,
  StatusPost as StatusPostSchema,
  UserReport as UserReportSchema,
  type CertObservation,
  type DeadLetter,
  type Incident,
  type ProbeResult,
  type StatusPost,
  type UserReport,
} from '../../schemas/contracts.ts';
import { certKey } from '../../schemas/topics.ts';
import type { ExpiryWarning } from '../certs/warnings.ts';
import type { Row } from './store.ts';

function extraOf(schema: TObject): (msg: object) => string {
  const known = new Set(Object.keys(schema.properties));
  return (msg) => {
    let extra: Record<string, unknown> | undefined;
    for (const [k, v] of Object.entries(msg)) {
      if (!known.has(k)) (extra ??= {})[k] = v;
    }
    return extra ? JSON.stringify(extra) : '';
  };
}
const reportExtra = extraOf(UserReportSchema);
const postExtra = extraOf(StatusPostSchema);
const probeExtra = extraOf(ProbeResultSchema);
const certExtra = extraOf(CertObservationSchema);

export function reportRow(r: UserReport): Row {
  return {
    id: r.id,
    ts: r.ts,
    service: r.service,
    channel: r.channel,
    problem: r.problem ?? '',
    region: r.region ?? '',
    text: r.text ?? '',
    author: r.author ?? '',
    url: r.url ?? '',
    extra: reportExtra(r),
  };
}

const reportFields = new Set(Object.keys(UserReportSchema.properties));

/**
 * Whether a report's JSON is already its `reports` row: every field of the contract has the
 * column's name and type, absent ones read as the columns' defaults (''), and `extra` is only
 * needed for fields outside the contract.
 *
 * @example isReportRow({ id: 'r1', ts: '2020-02-03T13:40:00Z', service: 'teams', channel: 'web' }) // true
 */
export function isReportRow(r: UserReport): boolean {
  for (const k in r) if (!reportFields.has(k)) return false;
  return true;
}

export function postRow(p: StatusPost): Row {
  return { id: p.id, ts: p.ts, service: p.service, account: p.account, text: p.text, url: p.url ?? '', extra: postExtra(p) };
}

export function probeRow(p: ProbeResult): Row {
  return {
    id: p.id,
    ts: p.ts,
    probe: p.probe,
    service: p.service,
    target: p.target,
    region: p.region ?? '',
    ok: p.ok,
    duration_ms: p.durationMs,
    dns_ms: p.phases?.dnsMs ?? null,
    connect_ms: p.phases?.connectMs ?? null,
    tls_ms: p.phases?.tlsMs ?? null,
    ttfb_ms: p.phases?.ttfbMs ?? null,
    http_status: p.httpStatus ?? null,
    error_code: p.error?.code ?? '',
    error_message: p.error?.message ?? '',
    tls_protocol: p.tls?.protocol ?? '',
    tls_cipher: p.tls?.cipher ?? '',
    tls_leaf_sha256: p.tls?.leafSha256 ?? '',
    tls_chain_sha256: p.tls?.chainSha256 ?? [],
    tls_valid_to: p.tls?.validTo ?? null,
    extra: probeExtra(p),
  };
}

export function certRow(c: CertObservation): Row {
  return {
    ts: c.ts,
    source: c.source,
    sha256: c.sha256,
    place: certKey(c).split('|')[1],
    subject: c.subject,
    issuer: c.issuer,
    serial: c.serial,
    not_before: c.notBefore,
    not_after: c.notAfter,
    dns_names: c.dnsNames,
    is_ca: c.isCA,
    service: c.service ?? '',
    endpoint: c.endpoint ?? '',
    name: c.name ?? '',
    issuer_sha256: c.issuerSha256 ?? '',
    pem: c.pem ?? '',
    extra: certExtra(c),
  };
}

export function deadLetterRow(d: DeadLetter): Row {
  // A letter from before the digest fields holds the whole message: its digest is computed here.
  const whole = d.sha256 === undefined && !d.truncated ? Buffer.from(d.valueBase64, 'base64') : undefined;
  return {
    ts: d.ts,
    topic: d.topic,
    partition: d.partition ?? -1,
    offset: d.offset ?? '',
    source: d.source ?? '',
    reason: d.reason,
    detail: d.detail,
    value_base64: d.valueBase64,
    sha256: d.sha256 ?? (whole ? createHash('sha256').update(whole).digest('hex') : ''),
    size_bytes: d.sizeBytes ?? whole?.length ?? -1,
    truncated: d.truncated ?? false,
  };
}

/** An incident revision: one row for the incident, one per hint. */
export function incidentRows(inc: Incident, revision: number): { incident: Row; hints: Row[] } {
  const top = inc.hints[0];
  return {
    incident: {
      id: inc.id,
      revision,
      service: inc.service,
      status: inc.status,
      started_at: inc.startedAt,
      detected_at: inc.detectedAt,
      resolved_at: inc.resolvedAt,
      peak_per_min: inc.peakPerMin,
      baseline_per_min: inc.baselinePerMin,
      top_hint_kind: top?.kind ?? '',
      top_hint_confidence: top?.confidence ?? 0,
      top_hint_summary: top?.summary ?? '',
      hints: JSON.stringify(inc.hints),
      outage_id: inc.outageId ?? '',
    },
    hints: inc.hints.map((h, rank) => ({
      incident_id: inc.id,
      revision,
      rank,
      service: inc.service,
      kind: h.kind,
      confidence: h.confidence,
      summary: h.summary,
      evidence: JSON.stringify(h.evidence),
      cert_sha256: h.certSha256 ?? '',
      related_service: h.relatedService ?? '',
    })),
  };
}

export type IncidentEvent = 'opened' | 'updated' | 'resolved' | 'reopened';

/** What changed from the previous published state (undefined: none seen, e.g. after a restart). */
export function incidentEvent(inc: Incident, previous: Incident | undefined): IncidentEvent {
  if (inc.status === 'resolved') return 'resolved';
  if (!previous) return inc.revision === 1 || inc.revision === undefined ? 'opened' : 'updated';
  return previous.status === 'resolved' ? 'reopened' : 'updated';
}

/** The tags every annotation of an incident carries, for Grafana filters. */
export function annotationTags(inc: Incident): string[] {
  const top = inc.hints[0];
  return [`service:${inc.service}`, `incident:${inc.id}`, ...(top ? [`hint:${top.kind}`] : []), inc.status];
}

/** One annotation row per incident state change. */
export function annotationRow(inc: Incident, event: IncidentEvent): Row {
  const top = inc.hints[0];
  return {
    incident_id: inc.id,
    revision: inc.revision ?? 0,
    event,
    service: inc.service,
    time: event === 'opened' ? inc.startedAt : (inc.updatedAt ?? inc.detectedAt),
    timeEnd: inc.resolvedAt,
    title: `${inc.service} ${event}${top ? `: ${top.kind} ${Math.round(top.confidence * 100)}%` : ''}`,
    tags: annotationTags(inc),
    text: top ? top.summary : 'no hints: no certificate, probe, dependency or vendor evidence',
  };
}

export function warningRow(w: ExpiryWarning, computedAt: string): Row {
  return {
    computed_at: computedAt,
    sha256: w.sha256,
    name: w.name,
    subject: w.subject,
    not_after: w.notAfter,
    days_left: w.daysLeft,
    level: w.level,
    reason: w.reason,
    services: w.services,
    blast_radius: w.blastRadius,
    endpoints: w.endpoints,
    renewal_sha256: w.renewal?.sha256 ?? '',
    renewal_deployed: w.renewal?.deployed ?? false,
  };
}

/** A stored observation back as the contract (for computations over the inventory). */
export function observationOf(r: Record<string, unknown>): CertObservation {
  const iso = (v: unknown) => `${String(v).replace(' ', 'T')}Z`;
  return {
    ts: iso(r.ts),
    source: r.source as CertObservation['source'],
    sha256: String(r.sha256),
    subject: String(r.subject),
    issuer: String(r.issuer),
    serial: String(r.serial),
    notBefore: iso(r.not_before),
    notAfter: iso(r.not_after),
    dnsNames: r.dns_names as string[],
    isCA: Boolean(r.is_ca),
    ...(r.service ? { service: String(r.service) } : {}),
    ...(r.endpoint ? { endpoint: String(r.endpoint) } : {}),
    ...(r.name ? { name: String(r.name) } : {}),
    ...(r.issuer_sha256 ? { issuerSha256: String(r.issuer_sha256) } : {}),
  };
}

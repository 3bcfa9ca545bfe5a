/**
 * The query API's response contracts (v1), defined once: the API's handlers are typed by them, the
 * OpenAPI document is generated from them, and the tests validate every response against them.
 *
 * Timestamps are ISO-8601 UTC with a `Z`, as in the message contracts. Lists are newest first and
 * paged with an opaque `cursor`: pass `nextCursor` back until it is null.
 */
import { Type, type Static, type TSchema } from '@sinclair/typebox';
import { CertSource, Hint, HintKind, Timestamp } from './contracts.ts';

const Nullable = <T extends TSchema>(t: T) => Type.Union([t, Type.Null()]);
const ServiceId = Type.String({ minLength: 1, maxLength: 128 });
const Sha256 = Type.String({ pattern: '^[0-9a-f]{64}$' });

/** A page of items with the cursor of the next page (null on the last). */
export const Page = <T extends TSchema>(item: T, id: string) =>
  Type.Object({ items: Type.Array(item), nextCursor: Nullable(Type.String()) }, { $id: id, additionalProperties: false });

export const HintSummary = Type.Object(
  { kind: HintKind, confidence: Type.Number({ minimum: 0, maximum: 1 }), summary: Type.String() },
  { additionalProperties: false },
);

/** An incident's current state: what a list item and the full view share. */
const incidentState = {
  id: Type.String(),
  /** Incidents of one cause share it (the dependency's certificate, its own id when none). */
  outageId: Type.String({ minLength: 1 }),
  service: ServiceId,
  status: Type.Union([Type.Literal('open'), Type.Literal('resolved')]),
  revision: Type.Integer({ minimum: 0 }),
  startedAt: Timestamp,
  detectedAt: Timestamp,
  resolvedAt: Nullable(Timestamp),
  peakPerMin: Type.Number({ minimum: 0 }),
  baselinePerMin: Type.Number({ minimum: 0 }),
};

/** One incident in a list: its current state and its first hint. */
export const IncidentSummary = Type.Object(
  {
    ...incidentState,
    topHint: Nullable(HintSummary),
  },
  { $id: 'IncidentSummary', additionalProperties: false },
);
export type IncidentSummary = Static<typeof IncidentSummary>;

export const IncidentPage = Page(IncidentSummary, 'IncidentPage');
export type IncidentPage = Static<typeof IncidentPage>;

/** One point of a report series: distinct reports in the bucket and the seasonal baseline. */
export const SeriesPoint = Type.Object(
  { ts: Timestamp, reports: Type.Number({ minimum: 0 }), baseline: Nullable(Type.Number({ minimum: 0 })) },
  { additionalProperties: false },
);

export const ReportSeries = Type.Object(
  {
    service: ServiceId,
    from: Timestamp,
    to: Timestamp,
    stepSeconds: Type.Integer({ minimum: 60 }),
    /** How the baseline was computed, in one sentence. */
    baselineMethod: Type.String(),
    points: Type.Array(SeriesPoint),
  },
  { $id: 'ReportSeries', additionalProperties: false },
);
export type ReportSeries = Static<typeof ReportSeries>;

/** A state change of an incident (opened, updated, resolved, reopened), oldest first. */
export const IncidentRevision = Type.Object(
  {
    revision: Type.Integer({ minimum: 0 }),
    event: Type.Union(['opened', 'updated', 'resolved', 'reopened'].map((e) => Type.Literal(e))),
    at: Timestamp,
    title: Type.String(),
    summary: Type.String(),
  },
  { additionalProperties: false },
);

/** Probe results of one target and region over a time range. */
export const ProbeStatus = Type.Object(
  {
    service: ServiceId,
    target: Type.String(),
    region: Type.String(),
    lastAt: Timestamp,
    lastOk: Type.Boolean(),
    lastErrorCode: Nullable(Type.String()),
    checks: Type.Integer({ minimum: 0 }),
    failures: Type.Integer({ minimum: 0 }),
    /** Error codes seen in the range, most frequent first. */
    errorCodes: Type.Array(Type.Object({ code: Type.String(), count: Type.Integer({ minimum: 0 }) }, { additionalProperties: false })),
    p50Ms: Nullable(Type.Number({ minimum: 0 })),
  },
  { $id: 'ProbeStatus', additionalProperties: false },
);
export type ProbeStatus = Static<typeof ProbeStatus>;

export const ProbeStatusList = Type.Object(
  { asOf: Timestamp, from: Timestamp, items: Type.Array(ProbeStatus) },
  { $id: 'ProbeStatusList', additionalProperties: false },
);

/** A certificate of the inventory, with where it is, what it serves and what would break. */
export const Certificate = Type.Object(
  {
    sha256: Sha256,
    name: Type.String(),
    subject: Type.String(),
    issuer: Type.String(),
    notBefore: Timestamp,
    notAfter: Timestamp,
    /** Days from the API's `asOf` to notAfter (negative once expired). */
    daysLeft: Type.Number(),
    isCA: Type.Boolean(),
    dnsNames: Type.Array(Type.String()),
    sources: Type.Array(CertSource),
    /** Where it was seen: endpoints, files, JWKS URLs, secrets. */
    places: Type.Array(Type.String()),
    /** Services it serves directly. */
    services: Type.Array(ServiceId),
    /** Every service that would be hit, through `dependsOn`. */
    blastRadius: Type.Array(ServiceId),
    renewal: Nullable(Type.Object({ sha256: Sha256, notAfter: Timestamp, deployed: Type.Boolean() }, { additionalProperties: false })),
  },
  { $id: 'Certificate', additionalProperties: false },
);
export type Certificate = Static<typeof Certificate>;

export const CertificatePage = Page(Certificate, 'CertificatePage');

/** A full incident: the contract's fields plus its timeline, report series, probes and certificates. */
export const IncidentDetail = Type.Object(
  {
    ...incidentState,
    hints: Type.Array(Hint),
    revisions: Type.Array(IncidentRevision),
    series: ReportSeries,
    probes: Type.Array(ProbeStatus),
    certificates: Type.Array(Certificate),
  },
  { $id: 'IncidentDetail', additionalProperties: false },
);
export type IncidentDetail = Static<typeof IncidentDetail>;

/** Downdetector's three levels. */
export const ServiceStateLevel = Type.Union([Type.Literal('ok'), Type.Literal('possible_problem'), Type.Literal('problem')]);

export const ServiceState = Type.Object(
  {
    id: ServiceId,
    name: Type.String(),
    state: ServiceStateLevel,
    /** Why the state is what it is, in one sentence. */
    reason: Type.String(),
    openIncident: Nullable(IncidentSummary),
    dependsOn: Type.Array(ServiceId),
    reportsLastHour: Type.Integer({ minimum: 0 }),
    /** The certificate this service depends on that expires soonest (or expired), if any. */
    worstCertificate: Nullable(
      Type.Object(
        { sha256: Sha256, name: Type.String(), notAfter: Timestamp, daysLeft: Type.Number(), level: Type.String() },
        { additionalProperties: false },
      ),
    ),
  },
  { $id: 'ServiceState', additionalProperties: false },
);
export type ServiceState = Static<typeof ServiceState>;

export const ServiceList = Type.Object({ asOf: Timestamp, items: Type.Array(ServiceState) }, { $id: 'ServiceList', additionalProperties: false });

export const Warning = Type.Object(
  {
    sha256: Sha256,
    name: Type.String(),
    subject: Type.String(),
    notAfter: Timestamp,
    daysLeft: Type.Number(),
    level: Type.Union(['expired', 'critical', 'high', 'warning', 'notice'].map((l) => Type.Literal(l))),
    reason: Type.String(),
    services: Type.Array(ServiceId),
    blastRadius: Type.Array(ServiceId),
    endpoints: Type.Array(Type.String()),
    renewal: Nullable(Type.Object({ sha256: Sha256, deployed: Type.Boolean() }, { additionalProperties: false })),
    computedAt: Timestamp,
  },
  { $id: 'Warning', additionalProperties: false },
);
export type Warning = Static<typeof Warning>;

export const WarningList = Type.Object({ items: Type.Array(Warning) }, { $id: 'WarningList', additionalProperties: false });

export const DeadLetterCount = Type.Object(
  { topic: Type.String(), reason: Type.String(), count: Type.Integer({ minimum: 0 }), lastAt: Timestamp },
  { additionalProperties: false },
);
export const DeadLetterCounts = Type.Object({ items: Type.Array(DeadLetterCount) }, { $id: 'DeadLetterCounts', additionalProperties: false });

/** RFC 9457 problem details; `param` names the bad query or path parameter. */
export const Problem = Type.Object(
  {
    type: Type.String(),
    title: Type.String(),
    status: Type.Integer({ minimum: 400, maximum: 599 }),
    detail: Type.String(),
    param: Type.Optional(Type.String()),
  },
  { $id: 'Problem' },
);
export type Problem = Static<typeof Problem>;

/** What the event stream (`GET /api/v1/events`, server-sent events) sends: `event: incident`. */
export const IncidentEvent = Type.Object(
  { event: Type.Union(['opened', 'updated', 'resolved', 'reopened'].map((e) => Type.Literal(e))), incident: IncidentSummary },
  { $id: 'IncidentEvent', additionalProperties: false },
);
export type IncidentEvent = Static<typeof IncidentEvent>;

/** Every response schema by name, for the OpenAPI document's components. */
export const apiSchemas = {
  IncidentSummary,
  IncidentPage,
  IncidentDetail,
  ReportSeries,
  ServiceState,
  ServiceList,
  Certificate,
  CertificatePage,
  Warning,
  WarningList,
  ProbeStatus,
  ProbeStatusList,
  DeadLetterCounts,
  Problem,
  IncidentEvent,
} satisfies Record<string, TSchema>;

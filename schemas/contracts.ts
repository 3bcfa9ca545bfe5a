/**
 * The v1 message contracts (DESIGN.md §4), defined once.
 *
 * Each schema here is plain JSON Schema (TypeBox builds it) and each type is derived from its
 * schema with `Static`, so the validator and the compiler read the same source. The JSON files in
 * `schemas/json/` are generated from this module (`npm run schemas`) for non-TypeScript consumers.
 *
 * Unknown extra fields are allowed and kept (`additionalProperties` is left open): producers may
 * add fields before consumers learn about them.
 */
import { Type, type Static, type TSchema } from '@sinclair/typebox';

const TIMESTAMP_PATTERN = '^\\d{4}-\\d{2}-\\d{2}T\\d{2}:\\d{2}:\\d{2}(\\.\\d{1,9})?Z$';

/**
 * ISO-8601 UTC with a `Z`, e.g. `2020-02-03T13:40:00Z` or with milliseconds, in 1970–2100: an event
 * stamped in year 0000 or 2999 is an error (it would move a service's event-time clock, and the
 * store's `DateTime` columns cannot hold it). `formatMinimum`/`formatMaximum` are compared to the
 * second; a value outside them is refused as `out_of_range`.
 */
export const Timestamp = Type.String({
  format: 'date-time',
  pattern: TIMESTAMP_PATTERN,
  formatMinimum: '1970-01-01T00:00:00Z',
  formatMaximum: '2100-12-31T23:59:59Z',
  description: 'ISO-8601 UTC timestamp ending in Z, years 1970-2100',
});

/**
 * A certificate's validity bound: X.509 times run from 1950 (UTCTime) to 9999 (GeneralizedTime;
 * `99991231235959Z` means "no well-defined expiry", RFC 5280 §4.1.2.5), so only the start is bounded.
 */
export const CertTime = Type.String({
  format: 'date-time',
  pattern: TIMESTAMP_PATTERN,
  formatMinimum: '1950-01-01T00:00:00Z',
  description: 'ISO-8601 UTC timestamp ending in Z, years 1950-9999 (X.509 validity)',
});

const Id = Type.String({ minLength: 1, maxLength: 256 });
const ServiceId = Type.String({ minLength: 1, maxLength: 128, pattern: '^[A-Za-z0-9][A-Za-z0-9._-]*$' });
const Sha256 = Type.String({ pattern: '^[0-9a-f]{64}$', description: 'lowercase hex SHA-256 of the DER' });

export const Channel = Type.Union([Type.Literal('web'), Type.Literal('app'), Type.Literal('api'), Type.Literal('social')]);
export const Problem = Type.Union(
  ['login', 'connection', 'messaging', 'calls', 'website', 'other'].map((p) => Type.Literal(p)),
);

export const UserReport = Type.Object(
  {
    id: Id,
    ts: Timestamp,
    service: ServiceId,
    channel: Channel,
    problem: Type.Optional(Problem),
    region: Type.Optional(Type.String({ pattern: '^[A-Z]{2}$', description: 'ISO 3166-1 alpha-2' })),
    text: Type.Optional(Type.String({ maxLength: 2000 })),
    author: Type.Optional(Type.String({ maxLength: 256 })),
    url: Type.Optional(Type.String({ maxLength: 2048 })),
  },
  { $id: 'UserReport', title: 'UserReport', description: 'One user outage report (outage.reports.v1, key = service)' },
);
export type UserReport = Static<typeof UserReport>;

export const StatusPost = Type.Object(
  {
    id: Id,
    ts: Timestamp,
    service: ServiceId,
    account: Type.String({ minLength: 1, maxLength: 256 }),
    text: Type.String({ maxLength: 10000 }),
    url: Type.Optional(Type.String({ maxLength: 2048 })),
  },
  { $id: 'StatusPost', title: 'StatusPost', description: 'An official vendor statement (status.posts.v1, key = service)' },
);
export type StatusPost = Static<typeof StatusPost>;

export const ProbeError = Type.Object({
  code: Type.String({ minLength: 1, maxLength: 128 }),
  message: Type.String({ maxLength: 2000 }),
});

export const ProbeResult = Type.Object(
  {
    id: Id,
    ts: Timestamp,
    probe: Type.String({ minLength: 1, maxLength: 256 }),
    service: ServiceId,
    target: Type.String({ minLength: 1, maxLength: 2048 }),
    ok: Type.Boolean(),
    durationMs: Type.Number({ minimum: 0 }),
    region: Type.Optional(Type.String({ maxLength: 64 })),
    phases: Type.Optional(
      Type.Object({
        dnsMs: Type.Optional(Type.Number({ minimum: 0 })),
        connectMs: Type.Optional(Type.Number({ minimum: 0 })),
        tlsMs: Type.Optional(Type.Number({ minimum: 0 })),
        ttfbMs: Type.Optional(Type.Number({ minimum: 0 })),
      }),
    ),
    httpStatus: Type.Optional(Type.Integer({ minimum: 100, maximum: 599 })),
    error: Type.Optional(ProbeError),
    tls: Type.Optional(
      Type.Object({
        protocol: Type.Optional(Type.String()),
        cipher: Type.Optional(Type.String()),
        leafSha256: Type.Optional(Sha256),
        chainSha256: Type.Optional(Type.Array(Sha256, { maxItems: 16 })),
        validTo: Type.Optional(CertTime),
        /** Extension: the leaf's notBefore. */
        validFrom: Type.Optional(CertTime),
        /** Extension: the earliest notAfter of any certificate the server presented. */
        chainValidTo: Type.Optional(CertTime),
      }),
    ),
  },
  { $id: 'ProbeResult', title: 'ProbeResult', description: 'One synthetic check (probe.results.v1, key = service)' },
);
export type ProbeResult = Static<typeof ProbeResult>;

export const CertSource = Type.Union(
  ['probe', 'file', 'jwks', 'k8s', 'ct', 'manual'].map((s) => Type.Literal(s)),
);

export const CertObservation = Type.Object(
  {
    ts: Timestamp,
    source: CertSource,
    sha256: Sha256,
    subject: Type.String({ maxLength: 4096 }),
    issuer: Type.String({ maxLength: 4096 }),
    serial: Type.String({ maxLength: 256 }),
    notBefore: CertTime,
    notAfter: CertTime,
    dnsNames: Type.Array(Type.String({ maxLength: 512 }), { maxItems: 5000 }),
    isCA: Type.Boolean(),
    service: Type.Optional(ServiceId),
    endpoint: Type.Optional(Type.String({ maxLength: 2048 })),
    name: Type.Optional(Type.String({ maxLength: 256 })),
    issuerSha256: Type.Optional(Sha256),
    pem: Type.Optional(Type.String({ maxLength: 65536 })),
  },
  {
    $id: 'CertObservation',
    title: 'CertObservation',
    description: 'A certificate seen somewhere (cert.observations.v1, key = sha256 + endpoint, compacted)',
  },
);
export type CertObservation = Static<typeof CertObservation>;

export const HintKind = Type.Union(
  [
    'cert_expired',
    'chain_expired',
    'cert_not_yet_valid',
    'renewal_not_deployed',
    'cert_expiring',
    'tls_probe_failure',
    'probe_failure',
    'dependency_incident',
    'vendor_statement',
  ].map((k) => Type.Literal(k)),
);
export type HintKind = Static<typeof HintKind>;

export const Hint = Type.Object({
  kind: HintKind,
  confidence: Type.Number({ minimum: 0, maximum: 1 }),
  summary: Type.String({ minLength: 1 }),
  /** Structured facts behind the hint (certificate name, subject, sha256, notAfter, endpoints, …). */
  evidence: Type.Record(Type.String(), Type.Unknown()),
  certSha256: Type.Optional(Sha256),
  relatedService: Type.Optional(ServiceId),
});
export type Hint = Static<typeof Hint>;

export const Incident = Type.Object(
  {
    id: Id,
    service: ServiceId,
    status: Type.Union([Type.Literal('open'), Type.Literal('resolved')]),
    startedAt: Timestamp,
    detectedAt: Timestamp,
    resolvedAt: Type.Union([Timestamp, Type.Null()]),
    peakPerMin: Type.Number({ minimum: 0 }),
    baselinePerMin: Type.Number({ minimum: 0 }),
    hints: Type.Array(Hint),
    /** Extension: grows by one with every published state change, so stores keep the latest. */
    revision: Type.Optional(Type.Integer({ minimum: 1 })),
    /** Extension: the event time of this state. */
    updatedAt: Type.Optional(Timestamp),
    /**
     * Extension: the outage this incident belongs to, shared by every incident of one cause (a
     * dependency's certificate and the services it took down), deterministic from the cause:
     * `cert-<sha256 prefix>-<instant it broke clients>`, a dependency incident's outage id, or the
     * incident's own id when it has no cause of its own.
     */
    outageId: Type.Optional(Id),
  },
  { $id: 'Incident', title: 'Incident', description: 'An outage and its ranked root-cause hints (incidents.v1, key = id)' },
);
export type Incident = Static<typeof Incident>;

/**
 * Why a message was refused (a bounded set: it is a metric label):
 *
 * - `malformed_json`: not JSON; `not_an_object`: JSON, but not an object;
 * - `schema_violation`: breaks its contract (a missing field, a wrong type, a bad value);
 * - `oversized`: longer than the message limit, refused before parsing;
 * - `too_deep`: nested deeper than the JSON depth limit, refused before parsing;
 * - `invalid_utf8`: bytes that are not UTF-8, or a `\uD800`-style escape of a lone surrogate
 *   (neither can be stored without replacing characters);
 * - `out_of_range`: a timestamp outside its years, or a number literal too large for a double
 *   (`1e309`, which JSON.parse turns into Infinity);
 * - `store_rejected`: passed its contract, but the store refused the row (the contract and the
 *   table disagree; the detail names the store's error).
 */
export const DeadLetterReasons = Type.Union(
  ['malformed_json', 'not_an_object', 'schema_violation', 'oversized', 'too_deep', 'invalid_utf8', 'out_of_range', 'store_rejected'].map((r) => Type.Literal(r)),
);

/** What goes to `dlq.v1`: the original bytes and why they were refused. */
export const DeadLetter = Type.Object(
  {
    ts: Timestamp,
    topic: Type.String(),
    partition: Type.Optional(Type.Integer()),
    offset: Type.Optional(Type.String()),
    source: Type.Optional(Type.String({ description: 'file:line for replayed input' })),
    reason: DeadLetterReasons,
    detail: Type.String(),
    /** The original message, base64 so that invalid UTF-8 survives (only its first bytes when `truncated`). */
    valueBase64: Type.String(),
    /** Extension: lowercase hex SHA-256 of the complete original message. */
    sha256: Type.Optional(Type.String({ pattern: '^[0-9a-f]{64}$' })),
    /** Extension: size of the complete original message in bytes. */
    sizeBytes: Type.Optional(Type.Integer({ minimum: 0 })),
    /** Extension: true when `valueBase64` holds only the first bytes (a dead letter must fit the broker). */
    truncated: Type.Optional(Type.Boolean()),
  },
  { $id: 'DeadLetter', title: 'DeadLetter', description: 'A refused message (dlq.v1)' },
);
export type DeadLetter = Static<typeof DeadLetter>;
export type DeadLetterReason = DeadLetter['reason'];

const Offset = Type.String({ pattern: '^(0|[1-9][0-9]{0,18})$', description: 'a Kafka offset as a decimal string' });

/**
 * Where a stateful consumer group's rebuild of one input partition starts (correlator.checkpoints.v1,
 * compacted, key = `group|topic|partition`): the first offset whose event lies inside the group's
 * state horizon, as of the committed offset `coveredTo`. Any older checkpoint is safe too (it only
 * re-reads more), so a lost or late checkpoint costs time, never correctness.
 */
export const Checkpoint = Type.Object(
  {
    group: Type.String({ minLength: 1, maxLength: 256 }),
    topic: Type.String({ minLength: 1, maxLength: 256 }),
    partition: Type.Integer({ minimum: 0 }),
    /** The first offset a rebuild of this partition reads. */
    rebuildFrom: Offset,
    /** The group's committed offset of the partition when this was written. */
    coveredTo: Offset,
    /** Event time of the first minute the state still needs (the horizon's start), when known. */
    horizonStart: Type.Optional(Timestamp),
    /** Wall-clock time of writing. */
    ts: Timestamp,
  },
  { $id: 'Checkpoint', title: 'Checkpoint', description: "Where a rebuild of a stateful group's partition starts (correlator.checkpoints.v1, key = group|topic|partition)" },
);
export type Checkpoint = Static<typeof Checkpoint>;

/** Every contract by name: the generator of `schemas/json/` and the tests iterate over this. */
export const contracts = { UserReport, StatusPost, ProbeResult, CertObservation, Incident, DeadLetter, Checkpoint } satisfies Record<
  string,
  TSchema
>;
export type ContractName = keyof typeof contracts;

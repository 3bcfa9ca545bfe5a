/**
 * Which notifications an incident state or an early warning produces: a pure function of the new
 * state and what was seen before. No clock (`sentAt` is passed in), no I/O, so tests, replays and
 * the live consumer decide alike.
 *
 *   the first notification of an incident            → incident.opened
 *   first hint's kind or certificate changes, or its
 *   confidence crosses LIKELY_CAUSE (0.5)             → incident.hint_changed
 *   resolved, when the incident was notified          → incident.resolved
 *   open again after a notified resolve               → incident.reopened
 *   an ExpiryWarning whose sha256 + level is new      → warning.new
 *
 * `minConfidence` holds back incidents whose first hint is weaker (0: every incident); one that
 * was notified is followed to its end (its resolve is always sent).
 */
import type { Hint, Incident } from '../../schemas/contracts.ts';
import type { ExpiryWarning } from '../../lib/certs/warnings.ts';

/** At and above this confidence a hint is asserted as the likely cause (DESIGN.md §5). */
export const LIKELY_CAUSE = 0.5;

export type IncidentNotificationType = 'incident.opened' | 'incident.hint_changed' | 'incident.resolved' | 'incident.reopened';
export type NotificationType = IncidentNotificationType | 'warning.new';

/**
 * One notification. This object is also the JSON body of a generic webhook, so its fields are the
 * wire format: `{ type, idempotencyKey, incident | warning, sentAt }`.
 */
export type Notification =
  | { type: IncidentNotificationType; idempotencyKey: string; incident: Incident; sentAt: string }
  | { type: 'warning.new'; idempotencyKey: string; warning: ExpiryWarning; sentAt: string };

/** What is remembered of an incident between its revisions. */
export interface IncidentTrack {
  readonly last: Incident;
  /** Whether receivers have heard of it (then its resolve and re-open are always sent). */
  readonly notified: boolean;
}

export interface DecideOptions {
  /** Least confidence of the first hint for an incident to be notified; 0 notifies all. */
  minConfidence: number;
  /** Stamps `sentAt` (the caller's clock; this module never reads one). */
  nowMs: number;
}

/** `<incident id>:<revision>`: receivers drop the duplicates that at-least-once retries cause. */
export function incidentKey(inc: Incident, type: IncidentNotificationType): string {
  // Every incident of our correlator has a revision; another producer's may not, and then the
  // state change itself must keep the key unique.
  return inc.revision !== undefined ? `${inc.id}:${inc.revision}` : `${inc.id}:${type}@${inc.updatedAt ?? inc.detectedAt}`;
}

/** `warning:<sha256>:<level>`. */
export function warningKey(w: Pick<ExpiryWarning, 'sha256' | 'level'>): string {
  return `warning:${w.sha256}:${w.level}`;
}

/**
 * Whether the first hint changed in a way a responder must hear about.
 *
 * @example firstHintChanged({ ...h, confidence: 0.97 }, { ...h, confidence: 0.6 }) // false: still the likely cause
 */
export function firstHintChanged(before: Hint | undefined, after: Hint | undefined): boolean {
  if (!before || !after) return before !== after;
  return (
    before.kind !== after.kind ||
    before.certSha256 !== after.certSha256 ||
    before.confidence >= LIKELY_CAUSE !== after.confidence >= LIKELY_CAUSE
  );
}

/**
 * The notifications one incident state produces after `prev` (undefined: never seen by this
 * process, e.g. after a restart).
 *
 * Without a previous state an open incident is notified as opened (after a restart receivers may
 * hear of it twice; a re-delivered revision carries the same idempotency key) and a resolved one
 * is resolved when it qualifies, so no page is left open. A revision at or below the last one
 * seen is a redelivery and produces nothing.
 *
 * @example
 * const { track, out } = incidentNotifications(undefined, incident, { minConfidence: 0, nowMs: Date.parse('2020-02-03T13:42:00Z') });
 * // out[0].type === 'incident.opened', out[0].idempotencyKey === `${incident.id}:1`
 */
export function incidentNotifications(
  prev: IncidentTrack | undefined,
  inc: Incident,
  opts: DecideOptions,
): { track: IncidentTrack; out: Notification[] } {
  if (prev && prev.last.revision !== undefined && inc.revision !== undefined && inc.revision <= prev.last.revision) {
    return { track: prev, out: [] };
  }
  const top = inc.hints[0];
  const qualifies = opts.minConfidence <= 0 || (top !== undefined && top.confidence >= opts.minConfidence);
  const sentAt = new Date(opts.nowMs).toISOString();
  const emit = (type: IncidentNotificationType) => ({
    track: { last: inc, notified: true },
    out: [{ type, idempotencyKey: incidentKey(inc, type), incident: inc, sentAt }],
  });
  const quiet = (notified: boolean) => ({ track: { last: inc, notified }, out: [] });

  if (inc.status === 'resolved') {
    if (prev?.last.status === 'resolved') return quiet(prev.notified);
    return (prev ? prev.notified : qualifies) ? emit('incident.resolved') : quiet(false);
  }
  // Open: receivers always hear of an incident first as opened, whatever happened before.
  if (!prev?.notified) return qualifies ? emit('incident.opened') : quiet(false);
  if (prev.last.status === 'resolved') return emit('incident.reopened');
  return firstHintChanged(prev.last.hints[0], top) ? emit('incident.hint_changed') : quiet(true);
}

/**
 * The warnings not notified before (by sha256 + level, so an escalation from 14 days to 7 days
 * is new), and the keys seen after them. An expiry warning repeats at every scan; this keeps the
 * receivers from hearing it more than once per level.
 *
 * @example
 * const { seen, out } = warningNotifications(new Set(), warnings, Date.now());
 */
export function warningNotifications(
  seen: ReadonlySet<string>,
  warnings: readonly ExpiryWarning[],
  nowMs: number,
): { seen: Set<string>; out: Notification[] } {
  const next = new Set(seen);
  const sentAt = new Date(nowMs).toISOString();
  const out: Notification[] = [];
  for (const warning of warnings) {
    const idempotencyKey = warningKey(warning);
    if (next.has(idempotencyKey)) continue;
    next.add(idempotencyKey);
    out.push({ type: 'warning.new', idempotencyKey, warning, sentAt });
  }
  return { seen: next, out };
}

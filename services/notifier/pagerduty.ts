/**
 * PagerDuty Events API v2 (https://developer.pagerduty.com/docs/events-api-v2/trigger-events/):
 * an incident triggers an alert (on open, first-hint change and re-open) and resolves it, under
 * `dedup_key` = incident id, so every change lands on the one alert; an early warning triggers
 * `warning:<sha256>`, which an escalation of the same certificate updates. PagerDuty answers 202
 * when it accepted the event, 400 for an invalid one (not retried) and 429 when throttled.
 */
import type { Incident } from '../../schemas/contracts.ts';
import type { ExpiryWarning, WarningLevel } from '../../lib/certs/warnings.ts';
import { LIKELY_CAUSE, type Notification } from './events.ts';
import { confidenceText, truncate } from './format.ts';
import type { Receiver } from './receiver.ts';

export type Severity = 'critical' | 'error' | 'warning' | 'info';

export interface PagerDutyEvent {
  routing_key: string;
  event_action: 'trigger' | 'resolve';
  dedup_key: string;
  payload?: {
    summary: string;
    source: string;
    severity: Severity;
    timestamp: string;
    component?: string;
    class?: string;
    custom_details?: Record<string, unknown>;
  };
}

/** Hint kinds that blame a certificate: a likely certificate cause pages as critical. */
const CERTIFICATE_KINDS: ReadonlySet<string> = new Set(['cert_expired', 'chain_expired', 'cert_not_yet_valid', 'renewal_not_deployed', 'cert_expiring']);

const WARNING_SEVERITY = {
  expired: 'critical',
  critical: 'critical',
  high: 'error',
  warning: 'warning',
  notice: 'info',
} as const satisfies Record<WarningLevel, Severity>;

/** PagerDuty's limit on `payload.summary`. */
const SUMMARY_MAX = 1024;

/** @example incidentSeverity(incidentLedByExpiredCertAt97Percent) // 'critical' */
export function incidentSeverity(inc: Incident): Severity {
  const top = inc.hints[0];
  return top && top.confidence >= LIKELY_CAUSE && CERTIFICATE_KINDS.has(top.kind) ? 'critical' : 'error';
}

function incidentEvent(routingKey: string, n: Extract<Notification, { incident: Incident }>): PagerDutyEvent {
  const inc = n.incident;
  // A resolve needs only the key: PagerDuty ignores a payload on it.
  if (n.type === 'incident.resolved') return { routing_key: routingKey, event_action: 'resolve', dedup_key: inc.id };
  const top = inc.hints[0];
  return {
    routing_key: routingKey,
    event_action: 'trigger',
    dedup_key: inc.id,
    payload: {
      summary: truncate(`${inc.service} outage: ${top ? `${top.kind} ${confidenceText(top.confidence)}: ${top.summary}` : 'reports spiking, no hint yet'}`, SUMMARY_MAX),
      source: inc.service,
      severity: incidentSeverity(inc),
      timestamp: inc.updatedAt ?? inc.detectedAt,
      component: inc.service,
      ...(top ? { class: top.kind } : {}),
      custom_details: {
        incident_id: inc.id,
        revision: inc.revision,
        status: inc.status,
        started_at: inc.startedAt,
        detected_at: inc.detectedAt,
        peak_per_min: inc.peakPerMin,
        baseline_per_min: inc.baselinePerMin,
        hints: inc.hints,
      },
    },
  };
}

function warningEvent(routingKey: string, w: ExpiryWarning, sentAt: string): PagerDutyEvent {
  return {
    routing_key: routingKey,
    event_action: 'trigger',
    dedup_key: `warning:${w.sha256}`,
    payload: {
      summary: truncate(`certificate ${w.name}: ${w.reason}`, SUMMARY_MAX),
      source: w.services[0] ?? w.name,
      severity: WARNING_SEVERITY[w.level],
      timestamp: sentAt,
      ...(w.services[0] ? { component: w.services[0] } : {}),
      class: w.level === 'expired' ? 'cert_expired' : 'cert_expiring',
      custom_details: { ...w },
    },
  };
}

/**
 * @example
 * pagerDutyEvent(n, routingKey) // { event_action: 'trigger', dedup_key: 'teams-20200203T1340Z', payload: { severity: 'critical', … } }
 */
export function pagerDutyEvent(n: Notification, routingKey: string): PagerDutyEvent {
  return n.type === 'warning.new' ? warningEvent(routingKey, n.warning, n.sentAt) : incidentEvent(routingKey, n);
}

export function pagerDutyReceiver(id: string, url: string, routingKey: string): Receiver {
  return {
    id,
    kind: 'pagerduty',
    origin: new URL(url).origin,
    request: (n) => ({ url, headers: { 'content-type': 'application/json' }, body: JSON.stringify(pagerDutyEvent(n, routingKey)) }),
  };
}

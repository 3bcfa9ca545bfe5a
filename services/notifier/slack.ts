/**
 * Slack incoming webhooks: `{ text, blocks }` (https://api.slack.com/messaging/webhooks). `text` is
 * the fallback shown in notifications; the blocks show the service, the status, the first hint's
 * kind, confidence and summary, and the incident id. Slack answers 200 `ok`, or 400/403/404/410
 * with a reason (refused, not retried) and 429 when rate-limited (retried).
 *
 * Limits (https://api.slack.com/reference/block-kit/blocks): a header's text ≤ 150 characters,
 * a section's ≤ 3000, a field's ≤ 2000.
 */
import type { Incident } from '../../schemas/contracts.ts';
import type { ExpiryWarning } from '../../lib/certs/warnings.ts';
import type { IncidentNotificationType, Notification } from './events.ts';
import { confidenceText, truncate } from './format.ts';
import type { Receiver } from './receiver.ts';

/** Slack's mrkdwn treats these three as control characters (https://api.slack.com/reference/surfaces/formatting#escaping). */
const escape = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

const headline: Record<IncidentNotificationType, string> = {
  'incident.opened': 'incident opened',
  'incident.hint_changed': 'first hint changed',
  'incident.resolved': 'incident resolved',
  'incident.reopened': 'incident re-opened',
};
const icon: Record<IncidentNotificationType, string> = {
  'incident.opened': ':red_circle:',
  'incident.hint_changed': ':large_orange_circle:',
  'incident.resolved': ':large_green_circle:',
  'incident.reopened': ':red_circle:',
};

export interface SlackMessage {
  text: string;
  blocks: Record<string, unknown>[];
}

const field = (label: string, value: string) => ({ type: 'mrkdwn', text: truncate(`*${label}*\n${escape(value)}`, 2000) });

function incidentMessage(type: IncidentNotificationType, inc: Incident): SlackMessage {
  const top = inc.hints[0];
  const title = `${inc.service}: ${headline[type]}`;
  const cause = top ? `${top.kind} ${confidenceText(top.confidence)}: ${top.summary}` : 'no hint yet (no certificate, probe, dependency or vendor evidence)';
  return {
    text: truncate(`${icon[type]} ${title}: ${cause} (incident ${inc.id})`, 3000),
    blocks: [
      { type: 'header', text: { type: 'plain_text', text: truncate(title, 150) } },
      {
        type: 'section',
        fields: [
          field('Service', inc.service),
          field('Status', inc.status),
          field('First hint', top?.kind ?? 'none'),
          field('Confidence', top ? confidenceText(top.confidence) : '–'),
        ],
      },
      { type: 'section', text: { type: 'mrkdwn', text: truncate(escape(top?.summary ?? cause), 3000) } },
      {
        type: 'context',
        elements: [
          {
            type: 'mrkdwn',
            text: truncate(
              escape(`incident ${inc.id} · revision ${inc.revision ?? '–'} · started ${inc.startedAt}${inc.resolvedAt ? ` · resolved ${inc.resolvedAt}` : ''}`),
              3000,
            ),
          },
        ],
      },
    ],
  };
}

function warningMessage(w: ExpiryWarning): SlackMessage {
  const title = `certificate ${w.name}: ${w.level}`;
  return {
    text: truncate(`:warning: ${title}: ${w.reason}`, 3000),
    blocks: [
      { type: 'header', text: { type: 'plain_text', text: truncate(title, 150) } },
      {
        type: 'section',
        fields: [
          field('Services', w.services.join(', ') || 'none'),
          field('Level', w.level),
          field('Expires', w.notAfter),
          field('Blast radius', w.blastRadius.join(', ') || 'none'),
        ],
      },
      { type: 'section', text: { type: 'mrkdwn', text: truncate(escape(w.reason), 3000) } },
      { type: 'context', elements: [{ type: 'mrkdwn', text: truncate(escape(`${w.subject} · sha256 ${w.sha256}`), 3000) }] },
    ],
  };
}

/**
 * @example
 * slackMessage(n).text // ':red_circle: teams: incident opened: cert_expired 97% (likely cause): certificate … (incident teams-20200203T1340Z)'
 */
export function slackMessage(n: Notification): SlackMessage {
  return n.type === 'warning.new' ? warningMessage(n.warning) : incidentMessage(n.type, n.incident);
}

export function slackReceiver(id: string, url: string): Receiver {
  return {
    id,
    kind: 'slack',
    origin: new URL(url).origin,
    request: (n) => ({ url, headers: { 'content-type': 'application/json' }, body: JSON.stringify(slackMessage(n)) }),
  };
}

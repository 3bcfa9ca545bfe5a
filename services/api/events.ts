/**
 * The live incident stream, `GET /api/v1/events`, as server-sent events:
 *
 *   event: incident
 *   data: {"event":"opened","incident":{…IncidentSummary…}}
 *
 * plus a `: keep-alive` comment every 15 s so proxies and browsers keep an idle stream open.
 * https://html.spec.whatwg.org/multipage/server-sent-events.html
 */
import type { Request, Response } from 'express';
import type { IncidentEvent, IncidentSummary } from '../../schemas/api.ts';
import type { Incident } from '../../schemas/contracts.ts';
import type { IncidentFeed } from './feed.ts';

/**
 * An incident message as the list shows it.
 *
 * @example incidentSummary(incident).topHint?.kind // 'cert_expired'
 */
export function incidentSummary(inc: Incident): IncidentSummary {
  const top = inc.hints[0];
  return {
    id: inc.id,
    outageId: inc.outageId ?? inc.id,
    service: inc.service,
    status: inc.status,
    revision: inc.revision ?? 0,
    startedAt: inc.startedAt,
    detectedAt: inc.detectedAt,
    resolvedAt: inc.resolvedAt,
    peakPerMin: inc.peakPerMin,
    baselinePerMin: inc.baselinePerMin,
    topHint: top ? { kind: top.kind, confidence: top.confidence, summary: top.summary } : null,
  };
}

/**
 * Streams the feed's changes to one client until it goes away.
 *
 * @example app.get('/api/v1/events', (req, res) => streamIncidents(feed, req, res))
 */
export function streamIncidents(feed: IncidentFeed, _req: Request, res: Response, o: { keepAliveMs?: number; onOpen?: () => void; onClose?: () => void } = {}): void {
  res.status(200).set({
    'content-type': 'text/event-stream; charset=utf-8',
    'cache-control': 'no-cache, no-transform',
    connection: 'keep-alive',
    // nginx buffers responses by default, which would hold events back.
    'x-accel-buffering': 'no',
  });
  res.flushHeaders();
  // Tells EventSource how long to wait before reconnecting, and gets the first bytes out.
  res.write('retry: 5000\n\n');
  o.onOpen?.();
  const unsubscribe = feed.subscribe((incident, event) => {
    const body: IncidentEvent = { event, incident: incidentSummary(incident) };
    // JSON escapes newlines, so one `data:` line always holds the whole object.
    res.write(`event: incident\ndata: ${JSON.stringify(body)}\n\n`);
  });
  const timer = setInterval(() => res.write(': keep-alive\n\n'), o.keepAliveMs ?? 15_000);
  // `close` on the response fires when the client goes away (the request's fires too early).
  res.once('close', () => {
    clearInterval(timer);
    unsubscribe();
    o.onClose?.();
  });
}

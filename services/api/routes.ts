/**
 * The route table: every endpoint of the query API as data — path, parameters, response schema,
 * who may call it — with its handler. The app registers routes from it, parameters are parsed and
 * checked from it, and the OpenAPI document is generated from it, so none of them can drift.
 */
import type { Request, Response } from 'express';
import type { Static } from '@sinclair/typebox';
import type { CertificatePage, DeadLetterCounts, IncidentDetail, IncidentPage, ProbeStatusList, ReportSeries, ServiceList, WarningList, apiSchemas } from '../../schemas/api.ts';
import { CertSource, HintKind } from '../../schemas/contracts.ts';
import { dependencyPaths, type Catalog } from '../../lib/catalog.ts';
import { combineHealth, HEALTHY, unhealthy, type Health } from '../../lib/health.ts';
import type { Metrics } from '../../lib/metrics.ts';
import type { Store } from '../../lib/store/store.ts';
import type { Inventory } from './certificates.ts';
import { streamIncidents } from './events.ts';
import type { IncidentFeed } from './feed.ts';
import type { ApiMetrics } from './metrics.ts';
import { encodeCursor, path, query, type ParamSpecs, type ParsedParams } from './params.ts';
import { HttpError } from './problem.ts';
import { deadLetterCounts, getIncident, incidentRevisions, listIncidents, probeStatuses, storeAnswers, storedWarnings } from './queries.ts';
import { reportSeries, stepFor } from './series.ts';
import { serviceStates } from './service-state.ts';
import { DAY_MS, HOUR_MS, MINUTE_MS } from './time.ts';

/** What the handlers work with. */
export interface RouteDeps {
  store: Store;
  catalog: Catalog;
  metrics: Metrics;
  apiMetrics: ApiMetrics;
  feed: IncidentFeed;
  asOf: () => Promise<number>;
  /** The certificate inventory as of an instant (cached by the app). */
  inventory: (asOfMs: number) => Promise<Inventory>;
  ready: () => Health;
  eventKeepAliveMs: number;
  /** The generated OpenAPI document (built from this same table). */
  openApi: () => object;
}

export type SchemaName = keyof typeof apiSchemas;

export interface Route<P extends ParamSpecs = ParamSpecs> {
  /** OpenAPI form, e.g. `/api/v1/incidents/{id}`. */
  path: string;
  operationId: string;
  summary: string;
  description?: string;
  tag: 'incidents' | 'services' | 'certificates' | 'probes' | 'pipeline' | 'meta' | 'operations';
  /** `read`: behind the read tokens (unless anonymous read is on); `none`: open to everyone. */
  auth: 'read' | 'none';
  params: P;
  response:
    | { kind: 'json'; schema: SchemaName | 'OpenApi'; description: string }
    | { kind: 'text' | 'event-stream'; contentType: string; description: string };
  /** Problem statuses this route may answer besides 400 (bad or unknown parameter), 401 and 429. */
  problems?: (404 | 503)[];
  /** The JSON body (for `json` routes); other kinds write the response themselves. */
  handle(p: ParsedParams<P>, req: Request, res: Response): Promise<unknown>;
}

/** Declares a route with its parameters' types inferred for the handler. */
function route<P extends ParamSpecs>(r: Route<P>): Route {
  return r as unknown as Route;
}

const LIST_LIMIT = { description: 'Page size', min: 1, max: 200, default: 50 };
const MAX_RANGE_MS = 31 * DAY_MS;
const MAX_POINTS = 5000;
const DETAIL_POINTS = 500;

const iso = (ms: number) => new Date(ms).toISOString();

/**
 * The table itself.
 *
 * @example for (const r of apiRoutes(deps)) console.log(r.path, r.operationId)
 */
export function apiRoutes(d: RouteDeps): Route[] {
  const knownService = (id: string) => d.catalog.services.some((s) => s.id === id);
  const withDependencies = (id: string) => [id, ...dependencyPaths(d.catalog, id).keys()];

  return [
    route({
      path: '/api/v1/incidents',
      operationId: 'listIncidents',
      summary: 'Incidents, newest onset first',
      description: 'Their current state and first hint, paged: pass `nextCursor` back as `cursor` until it is null.',
      tag: 'incidents',
      auth: 'read',
      params: {
        service: query.serviceId({ description: 'Only incidents of this service' }),
        status: query.oneOf(['open', 'resolved'] as const, { description: 'Only open or only resolved incidents' }),
        hint: query.oneOf(HintKind.anyOf.map((k) => k.const), { description: "Only incidents whose first hint is of this kind" }),
        outage: query.outageId({ description: 'Only the incidents of this outage (`outageId`: one cause across services)' }),
        from: query.time({ description: 'Onset at or after this time' }),
        to: query.time({ description: 'Onset before this time' }),
        limit: query.int(LIST_LIMIT),
        cursor: query.cursor({ description: 'The `nextCursor` of the previous page' }),
      },
      response: { kind: 'json', schema: 'IncidentPage', description: 'One page of incidents' },
      async handle(p): Promise<IncidentPage> {
        if (p.from !== undefined && p.to !== undefined && p.from >= p.to) throw HttpError.badParam('from', 'must be before to');
        const page = await listIncidents(d.store, { service: p.service, status: p.status, hint: p.hint, outage: p.outage, fromMs: p.from, toMs: p.to }, p.limit, p.cursor);
        return { items: page.items, nextCursor: page.next ? encodeCursor(page.next) : null };
      },
    }),
    route({
      path: '/api/v1/incidents/{id}',
      operationId: 'getIncident',
      summary: 'One incident with hints, evidence, revisions, report series, probes and certificates',
      description:
        'The series runs from 6 h before the onset to 2 h after the resolution (or to now, in event time, while open), in at most about 500 points; ' +
        'probes are those of the service and of the services it depends on from 1 h before the onset; certificates are those the hints name and those bound to the service.',
      tag: 'incidents',
      auth: 'read',
      params: { id: path.id({ description: 'Incident id: the service id and the onset minute, e.g. checkout-20240105T0930Z', maxLength: 256 }) },
      response: { kind: 'json', schema: 'IncidentDetail', description: 'The incident' },
      problems: [404],
      async handle(p): Promise<IncidentDetail> {
        const inc = await getIncident(d.store, p.id);
        if (!inc) throw new HttpError(404, 'not-found', `no incident with id "${p.id.slice(0, 256)}"`, 'id');
        const asOf = await d.asOf();
        const started = Date.parse(inc.startedAt);
        const from = started - 6 * HOUR_MS;
        const end = inc.resolvedAt ? Date.parse(inc.resolvedAt) + 2 * HOUR_MS : Math.max(asOf, started + MINUTE_MS);
        const services = knownService(inc.service) ? withDependencies(inc.service) : [inc.service];
        const hinted = inc.hints.map((h) => h.certSha256).filter((s): s is string => !!s);
        const [revisions, series, probes, inventory] = await Promise.all([
          incidentRevisions(d.store, inc.id),
          reportSeries(d.store, inc.service, from, end, stepFor(end - from, DETAIL_POINTS)),
          probeStatuses(d.store, services, started - HOUR_MS, end),
          d.inventory(asOf),
        ]);
        const named = inventory.bySha(hinted);
        const bound = inventory.servingAny([inc.service]).filter((c) => !named.some((n) => n.sha256 === c.sha256));
        const { topHint: _top, ...summary } = inc;
        return { ...summary, revisions, series, probes, certificates: [...named, ...bound] };
      },
    }),
    route({
      path: '/api/v1/services',
      operationId: 'listServices',
      summary: "Every catalog service with its state: ok, possible_problem or problem",
      description:
        '`problem`: an incident is open. `possible_problem`: an incident resolved within the last hour, more than 3× the seasonal baseline of reports in the last 15 minutes, ' +
        'or a probe whose latest check in the last 5 minutes failed. All as of the latest data (event time).',
      tag: 'services',
      auth: 'read',
      params: {},
      response: { kind: 'json', schema: 'ServiceList', description: 'The services' },
      async handle(): Promise<Static<typeof ServiceList>> {
        const asOf = await d.asOf();
        const items = await serviceStates(d.store, d.catalog, await d.inventory(asOf), asOf);
        return { asOf: iso(asOf), items };
      },
    }),
    route({
      path: '/api/v1/services/{id}/series',
      operationId: 'getReportSeries',
      summary: 'Distinct reports of one service per bucket, with the seasonal baseline',
      description: 'Defaults: the 24 hours before now (event time), 300 s buckets. At most 31 days and 5000 points.',
      tag: 'services',
      auth: 'read',
      params: {
        id: path.serviceId({ description: 'Service id from the catalog' }),
        from: query.time({ description: 'Start (rounded down to a whole minute); default `to` − 24 h' }),
        to: query.time({ description: 'End (exclusive); default now, in event time' }),
        step: query.int({ description: 'Bucket size in seconds (whole minutes)', min: 60, max: MAX_RANGE_MS / 1000, default: 300, multipleOf: 60 }),
      },
      response: { kind: 'json', schema: 'ReportSeries', description: 'The series' },
      problems: [404],
      async handle(p): Promise<ReportSeries> {
        if (!knownService(p.id)) throw new HttpError(404, 'not-found', `no service "${p.id}" in the catalog`, 'id');
        const to = p.to ?? (await d.asOf());
        const from = p.from ?? to - DAY_MS;
        if (from >= to) throw HttpError.badParam('from', 'must be before to');
        if (to - from > MAX_RANGE_MS) throw HttpError.badParam('from', 'the range from..to may span at most 31 days');
        if (Math.ceil((to - from) / (p.step * 1000)) > MAX_POINTS) throw HttpError.badParam('step', `too small for the range: at most ${MAX_POINTS} points`);
        return reportSeries(d.store, p.id, from, to, p.step);
      },
    }),
    route({
      path: '/api/v1/certificates',
      operationId: 'listCertificates',
      summary: 'The certificate inventory, soonest expiry first',
      description: 'One item per certificate (sha256) with every place and source it was seen at, the services it serves, its blast radius and any renewal.',
      tag: 'certificates',
      auth: 'read',
      params: {
        expiringWithinDays: query.number({ description: 'Only certificates that expire within this many days of now (expired ones included)', min: 0, max: 36500 }),
        service: query.serviceId({ description: 'Only certificates whose blast radius includes this service' }),
        source: query.oneOf(CertSource.anyOf.map((s) => s.const), { description: 'Only certificates seen by this source' }),
        limit: query.int(LIST_LIMIT),
        cursor: query.cursor({ description: 'The `nextCursor` of the previous page' }),
      },
      response: { kind: 'json', schema: 'CertificatePage', description: 'One page of certificates' },
      async handle(p): Promise<Static<typeof CertificatePage>> {
        const inventory = await d.inventory(await d.asOf());
        const page = inventory.page({ expiringWithinDays: p.expiringWithinDays, service: p.service, source: p.source }, p.limit, p.cursor);
        return { items: page.items, nextCursor: page.next ? encodeCursor(page.next) : null };
      },
    }),
    route({
      path: '/api/v1/warnings',
      operationId: 'listWarnings',
      summary: 'Early warnings of expiring certificates (the latest computation per certificate)',
      tag: 'certificates',
      auth: 'read',
      params: {
        level: query.oneOf(['expired', 'critical', 'high', 'warning', 'notice'] as const, { description: 'Only warnings of this level' }),
        service: query.serviceId({ description: 'Only warnings whose certificate serves this service or has it in its blast radius' }),
      },
      response: { kind: 'json', schema: 'WarningList', description: 'The warnings: certificates on services first, then by level and days left' },
      async handle(p): Promise<Static<typeof WarningList>> {
        return { items: await storedWarnings(d.store, { level: p.level, service: p.service }) };
      },
    }),
    route({
      path: '/api/v1/probes',
      operationId: 'listProbes',
      summary: 'Probe results per service, target and region since `from`',
      tag: 'probes',
      auth: 'read',
      params: {
        service: query.serviceId({ description: 'Only probes of this service' }),
        from: query.time({ description: 'Start; default 1 h before now (event time); at most 31 days back' }),
      },
      response: { kind: 'json', schema: 'ProbeStatusList', description: 'One item per service × target × region' },
      async handle(p): Promise<Static<typeof ProbeStatusList>> {
        const asOf = await d.asOf();
        const from = p.from ?? asOf - HOUR_MS;
        if (asOf - from > MAX_RANGE_MS) throw HttpError.badParam('from', 'may be at most 31 days before now (event time)');
        const items = from < asOf ? await probeStatuses(d.store, p.service === undefined ? undefined : [p.service], from, asOf) : [];
        return { asOf: iso(asOf), from: iso(from), items };
      },
    }),
    route({
      path: '/api/v1/dead-letters',
      operationId: 'countDeadLetters',
      summary: 'Refused messages (dlq.v1) by source topic and reason',
      tag: 'pipeline',
      auth: 'read',
      params: {},
      response: { kind: 'json', schema: 'DeadLetterCounts', description: 'Counts, the largest first' },
      async handle(): Promise<Static<typeof DeadLetterCounts>> {
        return deadLetterCounts(d.store);
      },
    }),
    route({
      path: '/api/v1/events',
      operationId: 'streamIncidentEvents',
      summary: 'Live incident changes as server-sent events',
      description:
        'Each change is `event: incident` with `data:` an IncidentEvent JSON object (see components); a `: keep-alive` comment comes every 15 s. ' +
        'EventSource cannot set headers, so the read token may also be given as `access_token`.',
      tag: 'incidents',
      auth: 'read',
      params: { access_token: query.text({ description: 'The read token, for clients that cannot send an Authorization header', maxLength: 4096 }) },
      response: { kind: 'event-stream', contentType: 'text/event-stream', description: 'A stream of `event: incident` messages (data: IncidentEvent)' },
      async handle(_p, req, res) {
        streamIncidents(d.feed, req, res, { keepAliveMs: d.eventKeepAliveMs, onOpen: () => d.apiMetrics.streams.inc(), onClose: () => d.apiMetrics.streams.dec() });
      },
    }),
    route({
      path: '/api/v1/openapi.json',
      operationId: 'getOpenApi',
      summary: 'This document (OpenAPI 3.1)',
      tag: 'meta',
      auth: 'none',
      params: {},
      response: { kind: 'json', schema: 'OpenApi', description: 'The OpenAPI document' },
      async handle() {
        return d.openApi();
      },
    }),
    route({
      path: '/healthz',
      operationId: 'health',
      summary: 'Alive',
      tag: 'operations',
      auth: 'none',
      params: {},
      response: { kind: 'text', contentType: 'text/plain', description: 'The process is alive' },
      async handle(_p, _req, res) {
        res.type('text/plain').send('ok\n');
      },
    }),
    route({
      path: '/readyz',
      operationId: 'ready',
      summary: 'Ready: started and the store answers',
      tag: 'operations',
      auth: 'none',
      params: {},
      response: { kind: 'text', contentType: 'text/plain', description: 'Ready to answer queries' },
      problems: [503],
      async handle(_p, _req, res) {
        const own = d.ready();
        const store = await storeAnswers(d.store).catch(() => false);
        const health = combineHealth([own, store ? HEALTHY : unhealthy('the store does not answer')]);
        res.status(health.ok ? 200 : 503).type('text/plain').send(health.ok ? 'ready\n' : `not ready: ${health.reason}\n`);
      },
    }),
    route({
      path: '/metrics',
      operationId: 'metrics',
      summary: 'Prometheus metrics',
      tag: 'operations',
      auth: 'none',
      params: {},
      response: { kind: 'text', contentType: 'text/plain', description: 'Metrics in the Prometheus text format' },
      async handle(_p, _req, res) {
        res.type(d.metrics.registry.contentType).send(await d.metrics.registry.metrics());
      },
    }),
  ];
}

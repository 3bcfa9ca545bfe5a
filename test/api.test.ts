/**
 * The query API over real HTTP: the Express app listening on a free port, reading a real chDB
 * store filled by `replay()` from the bundled Teams example and several scenarios. Every 200 body
 * is validated against its contract in schemas/api.ts; every error must be a problem document
 * naming the bad parameter; hostile input must change nothing and leak nothing.
 */
import { unhealthy } from '../lib/health.ts';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import type { ValidateFunction } from 'ajv';
import { pino } from 'pino';
import {
  apiSchemas,
  type Certificate,
  type IncidentDetail,
  type IncidentEvent,
  type IncidentPage,
  type IncidentSummary,
  type Problem,
  type ReportSeries,
  type ServiceState,
  type Warning,
} from '../schemas/api.ts';
import type { Incident } from '../schemas/contracts.ts';
import { compileSchema, describe as describeErrors } from '../schemas/decode.ts';
import { createLogger } from '../lib/log.ts';
import { createMetrics } from '../lib/metrics.ts';
import type { Store } from '../lib/store/store.ts';
import { createApiApp, type ApiOptions } from '../services/api/app.ts';
import { createIncidentFeed, type IncidentFeed } from '../services/api/feed.ts';
import { encodeCursor } from '../services/api/params.ts';
import { CDN_DOWN_AT, OPEN_INCIDENT, replayedStore, type ApiFixture } from './helpers/api-fixture.ts';

const TOKEN = 'read-token-0123456789abcdef';
const TEAMS_INCIDENT = 'teams-20200203T1340Z';
const TEAMS_SIGNING = 'bd6199b0afb09af1801413595c4adeccfe86c29d5d8a4837d2c057e4138a60da';
/** The latest report minute of the replayed data is 2020-03-10 23:59. */
const AS_OF = '2020-03-11T00:00:00.000Z';

// Leaves first: a schema that another embeds (by the same $id) must be compiled on its own before.
const validators = new Map<string, ValidateFunction>();
for (const name of ['IncidentSummary', 'ReportSeries', 'ProbeStatus', 'Certificate', 'ServiceState', 'Warning', 'Problem', ...Object.keys(apiSchemas)]) {
  if (!validators.has(name)) validators.set(name, compileSchema(apiSchemas[name as keyof typeof apiSchemas]));
}
function assertValid(name: keyof typeof apiSchemas, body: unknown, what: string): void {
  const v = validators.get(name)!;
  assert.ok(v(body), `${what}: not a valid ${name}: ${describeErrors(v.errors)} ${JSON.stringify(v.errors?.[0])}`);
}

interface Answer<T = unknown> {
  status: number;
  headers: Headers;
  body: T;
  text: string;
}

interface RunningApp {
  base: string;
  server: Server;
  feed: IncidentFeed;
  close(): Promise<void>;
}

async function startApp(store: Store, fx: ApiFixture, o: Partial<ApiOptions> = {}): Promise<RunningApp> {
  const feed = o.feed ?? createIncidentFeed();
  const app = createApiApp({
    store,
    catalog: fx.catalog,
    logger: createLogger('api-test', 'silent'),
    metrics: createMetrics(),
    feed,
    readTokens: [TOKEN, 'another-read-token-xyz'],
    anonymousRead: true,
    ratePerMin: 100_000,
    ...o,
  });
  const server = app.listen(0, '127.0.0.1');
  await new Promise((r) => server.once('listening', r));
  return {
    base: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    server,
    feed,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

async function get<T = unknown>(base: string, path: string, headers: Record<string, string> = {}): Promise<Answer<T>> {
  const res = await fetch(base + path, { headers });
  const text = await res.text();
  let body: unknown = text;
  if (/json/.test(res.headers.get('content-type') ?? '')) body = JSON.parse(text);
  return { status: res.status, headers: res.headers, body: body as T, text };
}

describe('query API', () => {
  let fx: ApiFixture;
  let api: RunningApp;
  let base: string;

  /** GET, expect 200 and a body valid against the named schema. */
  async function ok<T>(path: string, schema: keyof typeof apiSchemas, headers: Record<string, string> = {}): Promise<T> {
    const r = await get<T>(base, path, headers);
    assert.equal(r.status, 200, `${path} → ${r.status} ${r.text.slice(0, 300)}`);
    assert.match(r.headers.get('content-type') ?? '', /^application\/json/);
    assertValid(schema, r.body, path);
    return r.body;
  }

  /** GET, expect a problem document with this status naming `param`. */
  async function problem(path: string, status: number, param?: string, headers: Record<string, string> = {}, at = base): Promise<Problem> {
    const r = await get<Problem>(at, path, headers);
    assert.equal(r.status, status, `${path} → ${r.status} ${r.text.slice(0, 300)}`);
    assert.match(r.headers.get('content-type') ?? '', /^application\/problem\+json/, path);
    assertValid('Problem', r.body, path);
    assert.equal(r.body.status, status);
    if (param !== undefined) assert.equal(r.body.param, param, `${path}: ${r.body.detail}`);
    return r.body;
  }

  async function allIncidents(query = ''): Promise<IncidentSummary[]> {
    return (await ok<IncidentPage>(`/api/v1/incidents?limit=200${query}`, 'IncidentPage')).items;
  }

  before(async () => {
    fx = await replayedStore();
    api = await startApp(fx.store, fx);
    base = api.base;
  });
  after(async () => {
    await api?.close();
    await fx?.close();
  });

  describe('incidents', () => {
    it('lists every incident, newest onset first, each with its first hint', async () => {
      const items = await allIncidents();
      assert.deepEqual(
        items.map((i) => i.id),
        ['web-20200310T1400Z', 'api-20200310T1400Z', 'web-20200310T1359Z', 'api-20200310T1358Z', 'web-20200310T1357Z', TEAMS_INCIDENT],
      );
      const teams = items.find((i) => i.id === TEAMS_INCIDENT)!;
      assert.equal(teams.status, 'resolved');
      assert.equal(teams.startedAt, '2020-02-03T13:40:00.000Z');
      assert.equal(teams.topHint?.kind, 'cert_expired');
      assert.match(teams.topHint!.summary, /certificate teams-auth-token-signing .* expired at 13:31 UTC/);
      assert.ok(teams.revision > 1);
      const stored = await fx.store.query<{ n: string }>('SELECT count() AS n FROM incidents FINAL');
      assert.equal(items.length, Number(stored[0]!.n));
    });

    it('pages to the end with the cursor: no duplicates, no gaps, null at the end', async () => {
      const everything = (await allIncidents()).map((i) => i.id);
      for (const limit of [1, 2, 4]) {
        const seen: string[] = [];
        let cursor: string | null = null;
        let pages = 0;
        do {
          const page: IncidentPage = await ok<IncidentPage>(`/api/v1/incidents?limit=${limit}${cursor ? `&cursor=${cursor}` : ''}`, 'IncidentPage');
          assert.ok(page.items.length <= limit);
          seen.push(...page.items.map((i) => i.id));
          cursor = page.nextCursor;
          pages++;
        } while (cursor !== null && pages < 20);
        assert.deepEqual(seen, everything, `limit ${limit}`);
        assert.equal(pages, Math.ceil(everything.length / limit));
      }
    });

    it('filters by service, status, first hint and onset time', async () => {
      const web = await allIncidents('&service=web');
      assert.deepEqual(web.map((i) => i.id), ['web-20200310T1400Z', 'web-20200310T1359Z', OPEN_INCIDENT]);
      // Older revisions of every incident were open: FINAL must leave only the current state.
      const open = await allIncidents('&status=open');
      assert.deepEqual(open.map((i) => i.id), [OPEN_INCIDENT]);
      assert.equal(open[0]!.resolvedAt, null);
      assert.ok((await allIncidents('&status=resolved')).every((i) => i.status === 'resolved' && i.resolvedAt !== null));
      const cert = await allIncidents('&hint=cert_expired');
      assert.deepEqual(cert.map((i) => i.id).sort(), ['api-20200310T1358Z', OPEN_INCIDENT, TEAMS_INCIDENT].sort());
      assert.deepEqual((await allIncidents('&hint=chain_expired')).map((i) => i.id), ['web-20200310T1400Z']);
      assert.deepEqual((await allIncidents('&hint=vendor_statement')).map((i) => i.id), []);
      const window = await allIncidents('&from=2020-03-10T13:58:00Z&to=2020-03-10T14:00:00Z');
      assert.deepEqual(window.map((i) => i.id), ['web-20200310T1359Z', 'api-20200310T1358Z']);
      assert.deepEqual((await allIncidents('&to=2020-03-01T00:00:00Z')).map((i) => i.id), [TEAMS_INCIDENT]);
      assert.deepEqual((await allIncidents('&service=api&status=resolved&from=2020-03-10T14:00:00Z')).map((i) => i.id), ['api-20200310T1400Z']);
      assert.deepEqual(await allIncidents('&service=nosuch'), []);
    });

    it('groups the incidents of one cause under one outage id, and filters by it', async () => {
      const byOutage = new Map<string, string[]>();
      for (const i of await allIncidents()) byOutage.set(i.outageId, [...(byOutage.get(i.outageId) ?? []), i.id]);
      for (const [outage, ids] of byOutage) assert.deepEqual((await allIncidents(`&outage=${outage}`)).map((i) => i.id).sort(), [...ids].sort(), outage);
      // A certificate cause names the outage after the certificate; an incident without one is its own outage.
      for (const i of await allIncidents()) {
        if (i.topHint?.kind === 'cert_expired' && i.topHint.confidence >= 0.5) assert.match(i.outageId, /^cert-[0-9a-f]{16}-\d{8}T\d{4}Z$/, i.id);
        if (!i.topHint || i.topHint.kind === 'probe_failure') assert.equal(i.outageId, i.id);
      }
      await problem(`/api/v1/incidents?outage=${encodeURIComponent("x' OR 1=1")}`, 400, 'outage');
    });

    it('refuses bad parameters with a problem naming the parameter', async () => {
      await problem('/api/v1/incidents?limit=0', 400, 'limit');
      await problem('/api/v1/incidents?limit=201', 400, 'limit');
      await problem('/api/v1/incidents?limit=ten', 400, 'limit');
      await problem('/api/v1/incidents?status=closed', 400, 'status');
      await problem('/api/v1/incidents?hint=cert', 400, 'hint');
      await problem('/api/v1/incidents?from=yesterday', 400, 'from');
      await problem('/api/v1/incidents?from=2020-02-30T00:00:00Z', 400, 'from');
      await problem('/api/v1/incidents?to=2020-02-03T13:40:00', 400, 'to');
      await problem('/api/v1/incidents?from=0001-01-01T00:00:00Z', 400, 'from');
      await problem('/api/v1/incidents?from=2020-03-02T00:00:00Z&to=2020-03-01T00:00:00Z', 400, 'from');
      await problem('/api/v1/incidents?service=web%20api', 400, 'service');
      for (const cursor of ['abc', '!!!', Buffer.from('{"a":1}').toString('base64url'), Buffer.from('[1,2]').toString('base64url'), 'x'.repeat(2000)]) {
        await problem(`/api/v1/incidents?cursor=${encodeURIComponent(cursor)}`, 400, 'cursor');
      }
      const unknown = await problem('/api/v1/incidents?page=2', 400, 'page');
      assert.match(unknown.detail, /unknown query parameter "page"/);
      await problem('/api/v1/incidents?limit=1&limit=2', 400, 'limit');
      await problem('/api/v1/incidents?a[b]=1', 400, 'a[b]');
      await problem('/api/v1/incidents?service=', 400, 'service');
    });

    it('shows the Teams incident in full: hints with evidence, revisions, series, probes, certificates', async () => {
      const d = await ok<IncidentDetail>(`/api/v1/incidents/${TEAMS_INCIDENT}`, 'IncidentDetail');
      assert.equal(d.id, TEAMS_INCIDENT);
      const first = d.hints[0]!;
      assert.equal(first.kind, 'cert_expired');
      assert.equal(first.certSha256, TEAMS_SIGNING);
      assert.equal(first.relatedService, 'm365-auth');
      assert.equal(first.evidence.certName, 'teams-auth-token-signing');
      assert.deepEqual(first.evidence.dependencyPath, ['teams', 'm365-auth']);
      assert.ok(first.confidence >= 0.5);
      assert.ok(d.hints.some((h) => h.kind === 'vendor_statement'));

      assert.equal(d.revisions.length, d.revision);
      assert.deepEqual(d.revisions.map((r) => r.revision), Array.from({ length: d.revision }, (_, i) => i + 1));
      assert.equal(d.revisions[0]!.event, 'opened');
      assert.equal(d.revisions[0]!.at, d.startedAt);
      assert.equal(d.revisions.at(-1)!.event, 'resolved');
      assert.ok(d.revisions.every((r, i) => i === 0 || r.at >= d.revisions[i - 1]!.at));

      // 6 h before the onset to 2 h after the resolution, at most ~500 points of whole minutes.
      assert.equal(d.series.from, '2020-02-03T07:40:00.000Z');
      assert.equal(d.series.to, '2020-02-03T19:57:00.000Z');
      assert.ok(d.series.stepSeconds >= 60 && d.series.stepSeconds % 60 === 0);
      assert.ok(d.series.points.length <= 500 && d.series.points.length >= 300, `${d.series.points.length} points`);
      const peak = d.series.points.reduce((a, b) => (b.reports > a.reports ? b : a));
      assert.ok(peak.ts > d.startedAt && peak.ts < d.resolvedAt!, `peak at ${peak.ts}`);
      assert.ok(peak.baseline !== null && peak.reports > 20 * Math.max(1, peak.baseline), `peak ${peak.reports} vs baseline ${peak.baseline}`);

      const probed = new Set(d.probes.map((p) => p.service));
      assert.deepEqual([...probed].sort(), ['m365-auth', 'teams']);
      const teamsProbe = d.probes.find((p) => p.service === 'teams')!;
      assert.ok(teamsProbe.failures > 0 && teamsProbe.errorCodes[0]!.code.startsWith('HTTP_5'), JSON.stringify(teamsProbe.errorCodes));
      assert.equal(d.certificates[0]!.sha256, TEAMS_SIGNING, 'the certificate the first hint names comes first');
      assert.deepEqual(d.certificates[0]!.blastRadius, ['m365-auth', 'outlook', 'sharepoint', 'teams']);
      assert.ok(d.certificates.some((c) => c.services.includes('teams') && c.places.includes('teams.microsoft.com:443')), 'and the certificate served at the service');
    });

    it('an open incident runs its series to now (event time)', async () => {
      const d = await ok<IncidentDetail>(`/api/v1/incidents/${OPEN_INCIDENT}`, 'IncidentDetail');
      assert.equal(d.status, 'open');
      assert.equal(d.resolvedAt, null);
      assert.equal(d.series.to, AS_OF);
      assert.ok(d.revisions.length >= 1 && d.revisions.every((r) => r.event === 'opened' || r.event === 'updated'));
      assert.ok(d.probes.some((p) => p.service === 'web' && p.errorCodes.some((c) => c.code === 'CERT_HAS_EXPIRED')));
      // From an hour before the onset on; the dependencies' probes too.
      assert.ok(d.probes.every((p) => p.lastAt >= '2020-03-10T12:57:00.000Z' && p.lastAt < AS_OF));
      assert.deepEqual([...new Set(d.probes.map((p) => p.service))].sort(), ['api', 'auth', 'cdn', 'payments', 'web']);
    });

    it('an unknown incident is a 404 problem', async () => {
      const p = await problem('/api/v1/incidents/no-such-incident', 404, 'id');
      assert.match(p.detail, /no incident with id "no-such-incident"/);
      await problem(`/api/v1/incidents/${'x'.repeat(300)}`, 400, 'id');
      await problem(`/api/v1/incidents/${TEAMS_INCIDENT}?full=1`, 400, 'full');
    });
  });

  describe('services', () => {
    it('lists every catalog service with its state, as of the latest minute of data', async () => {
      const list = await ok<{ asOf: string; items: ServiceState[] }>('/api/v1/services', 'ServiceList');
      assert.equal(list.asOf, AS_OF);
      assert.deepEqual(list.items.map((s) => s.id), fx.catalog.services.map((s) => s.id));
      const web = list.items.find((s) => s.id === 'web')!;
      assert.equal(web.state, 'problem');
      assert.equal(web.openIncident?.id, OPEN_INCIDENT);
      assert.match(web.reason, new RegExp(`^Incident ${OPEN_INCIDENT} open since 2020-03-10 13:57 UTC; likely cause: cert_expired`));
      assert.deepEqual(web.dependsOn, ['api', 'cdn']);
      assert.ok(web.reportsLastHour > 0);
      const teams = list.items.find((s) => s.id === 'teams')!;
      assert.equal(teams.state, 'ok');
      assert.equal(teams.openIncident, null);
      assert.equal(teams.reportsLastHour, 0, 'the Teams example ended a month before');
      // The token-signing certificate of m365-auth, which teams depends on; the stale Zoom copy
      // (its renewal is served) is nobody's worst certificate.
      assert.equal(teams.worstCertificate?.sha256, TEAMS_SIGNING);
      assert.equal(teams.worstCertificate?.level, 'expired');
      assert.ok(teams.worstCertificate!.daysLeft < -30);
      const zoom = list.items.find((s) => s.id === 'zoom')!;
      assert.notEqual(zoom.worstCertificate?.name, 'api-zoom-us-2019');
      for (const s of list.items) assert.ok(s.reason.length > 10 && s.reason.endsWith('.'), s.reason);
    });

    it('possible_problem: a report spike, failing probes, an incident resolved within the hour', async () => {
      const stateAt = async (iso: string) => {
        const app = await startApp(fx.store, fx, { asOf: async () => Date.parse(iso) });
        try {
          const r = await get<{ asOf: string; items: ServiceState[] }>(app.base, '/api/v1/services');
          assert.equal(r.status, 200);
          assertValid('ServiceList', r.body, iso);
          assert.equal(r.body.asOf, new Date(iso).toISOString());
          return new Map(r.body.items.map((s) => [s.id, s]));
        } finally {
          await app.close();
        }
      };
      // Only the probes say so: cdn refused connections in one region.
      const refused = await stateAt(new Date(Date.parse(CDN_DOWN_AT) + 10 * 60_000).toISOString());
      assert.equal(refused.get('cdn')!.state, 'possible_problem');
      assert.equal(refused.get('cdn')!.reason, 'Probes failing in the last 5 minutes: https://static.shop.example.com/ (eu) (ECONNREFUSED).');
      assert.equal(refused.get('auth')!.state, 'ok');
      // The API's incidents resolve after this, so at 14:10 only the reports say so.
      const spike = await stateAt('2020-03-10T14:10:00Z');
      assert.equal(spike.get('api')!.state, 'possible_problem');
      assert.match(spike.get('api')!.reason, /^\d+ reports in the last 15 minutes, more than 3× the usual [\d.]+ at this time of day\.$/);
      const later = await stateAt('2020-03-10T16:00:00Z');
      assert.equal(later.get('api')!.state, 'possible_problem');
      assert.match(later.get('api')!.reason, /^Incident api-20200310T1400Z resolved 25 min ago\.$/);
      assert.equal(later.get('cdn')!.state, 'ok');
    });

    it('gives a report series with a seasonal baseline, defaults and custom ranges', async () => {
      const def = await ok<ReportSeries>('/api/v1/services/web/series', 'ReportSeries');
      assert.equal(def.to, AS_OF);
      assert.equal(def.from, '2020-03-10T00:00:00.000Z');
      assert.equal(def.stepSeconds, 300);
      assert.equal(def.points.length, 288);
      assert.match(def.baselineMethod, /median .* same time of day .* previous 7 days/);
      assert.ok(def.points.every((p, i) => p.ts === new Date(Date.parse(def.from) + i * 300_000).toISOString()));
      assert.ok(def.points.every((p) => p.baseline !== null), 'the scenarios hold three days of history');

      const s = await ok<ReportSeries>('/api/v1/services/teams/series?from=2020-02-03T13:00:00Z&to=2020-02-03T15:00:00Z&step=600', 'ReportSeries');
      assert.equal(s.points.length, 12);
      const at = (ts: string) => s.points.find((p) => p.ts === ts)!;
      assert.ok(at('2020-02-03T13:20:00.000Z').reports < 40, 'before the outage');
      assert.ok(at('2020-02-03T14:00:00.000Z').reports > 10 * at('2020-02-03T14:00:00.000Z').baseline!, 'during it');
      // The sum of the buckets equals the distinct reports stored in the range.
      const stored = await fx.store.query<{ n: string }>(
        "SELECT uniqExact(id) AS n FROM reports FINAL WHERE service = 'teams' AND ts >= '2020-02-03 13:00:00' AND ts < '2020-02-03 15:00:00'",
      );
      assert.equal(s.points.reduce((a, p) => a + p.reports, 0), Number(stored[0]!.n));

      // No day before the first report: no baseline.
      const firstDay = await ok<ReportSeries>('/api/v1/services/teams/series?from=2020-01-20T00:00:00Z&to=2020-01-20T01:00:00Z&step=3600', 'ReportSeries');
      assert.deepEqual(firstDay.points, [{ ts: '2020-01-20T00:00:00.000Z', reports: 0, baseline: null }]);
    });

    it('refuses series beyond the caps and unknown services', async () => {
      await problem('/api/v1/services/teams/series?step=59', 400, 'step');
      await problem('/api/v1/services/teams/series?step=90', 400, 'step');
      await problem('/api/v1/services/teams/series?from=2020-02-01T00:00:00Z&to=2020-02-08T00:00:00Z&step=60', 400, 'step');
      await problem('/api/v1/services/teams/series?from=2020-01-01T00:00:00Z&to=2020-02-08T00:00:00Z&step=3600', 400, 'from');
      await problem('/api/v1/services/teams/series?from=2020-02-08T00:00:00Z&to=2020-02-01T00:00:00Z', 400, 'from');
      await problem('/api/v1/services/teams/series?bucket=60', 400, 'bucket');
      await problem('/api/v1/services/myspace/series', 404, 'id');
      await problem('/api/v1/services/my%20space/series', 400, 'id');
    });
  });

  describe('certificates, warnings, probes, dead letters', () => {
    it('pages the inventory soonest expiry first, one item per certificate, to the end', async () => {
      const stored = await fx.store.query<{ n: string }>('SELECT uniqExact(sha256) AS n FROM cert_observations FINAL');
      const seen: Certificate[] = [];
      let cursor: string | null = null;
      let pages = 0;
      do {
        const page: { items: Certificate[]; nextCursor: string | null } = await ok(`/api/v1/certificates?limit=3${cursor ? `&cursor=${cursor}` : ''}`, 'CertificatePage');
        seen.push(...page.items);
        cursor = page.nextCursor;
        pages++;
      } while (cursor !== null && pages < 50);
      assert.equal(seen.length, Number(stored[0]!.n));
      assert.equal(new Set(seen.map((c) => c.sha256)).size, seen.length, 'no duplicates');
      assert.ok(seen.every((c, i) => i === 0 || c.notAfter >= seen[i - 1]!.notAfter), 'soonest notAfter first');
      assert.equal(pages, Math.ceil(seen.length / 3));
      const all = await ok<{ items: Certificate[] }>('/api/v1/certificates?limit=200', 'CertificatePage');
      assert.deepEqual(all.items, seen);

      const signing = seen.find((c) => c.sha256 === TEAMS_SIGNING)!;
      assert.equal(signing.name, 'teams-auth-token-signing');
      assert.deepEqual(signing.services, ['m365-auth']);
      assert.deepEqual(signing.blastRadius, ['m365-auth', 'outlook', 'sharepoint', 'teams']);
      assert.equal(signing.daysLeft, Math.round(((Date.parse(signing.notAfter) - Date.parse(AS_OF)) / 86_400_000) * 10) / 10);
      const zoom2019 = seen.find((c) => c.name === 'api-zoom-us-2019')!;
      assert.equal(zoom2019.renewal?.deployed, true, 'its renewal is what the endpoint serves');
      assert.ok(seen.some((c) => c.sources.includes('probe') && c.places.some((p) => p.endsWith(':443'))));
    });

    it('filters certificates by expiry, service and source', async () => {
      const soon = await ok<{ items: Certificate[] }>('/api/v1/certificates?limit=200&expiringWithinDays=0', 'CertificatePage');
      assert.ok(soon.items.length > 0 && soon.items.every((c) => c.notAfter <= AS_OF && c.daysLeft <= 0));
      const teams = await ok<{ items: Certificate[] }>('/api/v1/certificates?limit=200&service=teams', 'CertificatePage');
      assert.ok(teams.items.some((c) => c.sha256 === TEAMS_SIGNING));
      assert.ok(teams.items.every((c) => c.blastRadius.includes('teams')));
      const probe = await ok<{ items: Certificate[] }>('/api/v1/certificates?limit=200&source=probe', 'CertificatePage');
      assert.ok(probe.items.length > 0 && probe.items.every((c) => c.sources.includes('probe')));
      await problem('/api/v1/certificates?expiringWithinDays=-1', 400, 'expiringWithinDays');
      await problem('/api/v1/certificates?source=ftp', 400, 'source');
      await problem('/api/v1/certificates?cursor=zzz', 400, 'cursor');
    });

    it('lists the stored warnings, filtered by level and service', async () => {
      const all = await ok<{ items: Warning[] }>('/api/v1/warnings', 'WarningList');
      const stored = await fx.store.query<{ n: string }>('SELECT count() AS n FROM cert_warnings FINAL');
      assert.equal(all.items.length, Number(stored[0]!.n));
      const signing = all.items.find((w) => w.sha256 === TEAMS_SIGNING)!;
      assert.equal(signing.level, 'expired');
      assert.deepEqual(signing.services, ['m365-auth']);
      assert.match(signing.reason, /serves m365-auth; blast radius m365-auth, outlook, sharepoint, teams/);
      // Computed by the example's replay as of its last event.
      assert.ok(signing.computedAt.startsWith('2020-02-0'));
      const expired = await ok<{ items: Warning[] }>('/api/v1/warnings?level=expired', 'WarningList');
      assert.ok(expired.items.length > 0 && expired.items.every((w) => w.level === 'expired'));
      const teams = await ok<{ items: Warning[] }>('/api/v1/warnings?service=teams', 'WarningList');
      assert.ok(teams.items.some((w) => w.sha256 === TEAMS_SIGNING) && teams.items.every((w) => w.blastRadius.includes('teams') || w.services.includes('teams')));
      await problem('/api/v1/warnings?level=urgent', 400, 'level');
    });

    it('summarises probes per service, target and region', async () => {
      type List = { asOf: string; from: string; items: { service: string; target: string; region: string; checks: number; failures: number; lastAt: string; errorCodes: { code: string; count: number }[] }[] };
      const recent = await ok<List>('/api/v1/probes', 'ProbeStatusList');
      assert.equal(recent.asOf, AS_OF);
      assert.equal(recent.from, '2020-03-10T23:00:00.000Z');
      assert.deepEqual(recent.items, [], 'the scenarios probe until 17:00');
      const day = await ok<List>('/api/v1/probes?from=2020-03-10T13:00:00Z', 'ProbeStatusList');
      const keys = day.items.map((p) => `${p.service}|${p.target}|${p.region}`);
      assert.equal(new Set(keys).size, keys.length, 'one item per service × target × region');
      assert.ok(day.items.every((p) => p.failures <= p.checks && p.lastAt >= '2020-03-10T13:00:00.000Z' && p.errorCodes.reduce((a, c) => a + c.count, 0) <= p.failures));
      const api = day.items.filter((p) => p.service === 'api');
      assert.ok(api.length > 0 && api.some((p) => p.errorCodes.some((c) => c.code.startsWith('HTTP_5'))));
      const onlyWeb = await ok<List>('/api/v1/probes?service=web&from=2020-03-10T13:00:00Z', 'ProbeStatusList');
      assert.ok(onlyWeb.items.length > 0 && onlyWeb.items.every((p) => p.service === 'web'));
      await problem('/api/v1/probes?from=2020-01-01T00:00:00Z', 400, 'from');
      await problem('/api/v1/probes?to=2020-03-11T00:00:00Z', 400, 'to');
    });

    it('counts dead letters by topic and reason', async () => {
      const d = await ok<{ items: { topic: string; reason: string; count: number }[] }>('/api/v1/dead-letters', 'DeadLetterCounts');
      const reasons = new Map(d.items.map((i) => [`${i.topic}|${i.reason}`, i.count]));
      assert.equal(reasons.get('outage.reports.v1|malformed_json'), 1);
      assert.equal(reasons.get('outage.reports.v1|schema_violation'), 1);
    });
  });

  describe('the incident event stream', () => {
    const incident = (status: 'open' | 'resolved', revision: number): Incident => ({
      id: 'acme-20260101T0000Z',
      service: 'web',
      status,
      startedAt: '2026-01-01T00:00:00.000Z',
      detectedAt: '2026-01-01T00:01:00.000Z',
      resolvedAt: status === 'resolved' ? '2026-01-01T01:00:00.000Z' : null,
      peakPerMin: 50,
      baselinePerMin: 2,
      hints: [{ kind: 'probe_failure', confidence: 0.9, summary: 'probes failing', evidence: {} }],
      revision,
    });

    /** Reads server-sent events from a fetch body until `count` events or comments arrived. */
    async function readEvents(res: Response, count: number, what: (block: string) => boolean): Promise<string[]> {
      const reader = res.body!.getReader();
      const decoder = new TextDecoder();
      let buffer = '';
      const blocks: string[] = [];
      while (blocks.length < count) {
        const { value, done } = await reader.read();
        if (done) break;
        buffer += decoder.decode(value, { stream: true });
        let end: number;
        while ((end = buffer.indexOf('\n\n')) >= 0) {
          const block = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          if (what(block)) blocks.push(block);
        }
      }
      reader.releaseLock();
      return blocks;
    }

    it('sends each published incident change as `event: incident` with an IncidentEvent', async () => {
      const controller = new AbortController();
      const res = await fetch(`${base}/api/v1/events`, { signal: controller.signal });
      assert.equal(res.status, 200);
      assert.match(res.headers.get('content-type') ?? '', /^text\/event-stream/);
      await eventually(async () => /outage_api_event_streams 1/.test(await (await fetch(`${base}/metrics`)).text()));
      const received = readEvents(res, 3, (b) => b.startsWith('event: incident'));
      api.feed.publish(incident('open', 1));
      api.feed.publish(incident('open', 2));
      api.feed.publish(incident('resolved', 3));
      const events = (await received).map((b) => {
        const data = b.split('\n').find((l) => l.startsWith('data: '))!.slice(6);
        const body = JSON.parse(data) as IncidentEvent;
        assertValid('IncidentEvent', body, 'event');
        return body;
      });
      assert.deepEqual(events.map((e) => [e.event, e.incident.revision, e.incident.status]), [
        ['opened', 1, 'open'],
        ['updated', 2, 'open'],
        ['resolved', 3, 'resolved'],
      ]);
      assert.equal(events[0]!.incident.topHint?.kind, 'probe_failure');
      controller.abort();
      // The server notices the client leaving and lets go of the subscription.
      await eventually(async () => /outage_api_event_streams 0/.test(await (await fetch(`${base}/metrics`)).text()));
    });

    it('sends a keep-alive comment on an idle stream', async () => {
      const app = await startApp(fx.store, fx, { eventKeepAliveMs: 50 });
      try {
        const controller = new AbortController();
        const res = await fetch(`${app.base}/api/v1/events`, { signal: controller.signal });
        const comments = await readEvents(res, 2, (b) => b === ': keep-alive');
        assert.equal(comments.length, 2);
        controller.abort();
      } finally {
        await app.close();
      }
    });
  });

  describe('authentication and limits', () => {
    it('with anonymous read off: 401 without a token or with a wrong one, 200 with a right one', async () => {
      const locked = await startApp(fx.store, fx, { anonymousRead: false });
      try {
        for (const path of ['/api/v1/incidents', `/api/v1/incidents/${TEAMS_INCIDENT}`, '/api/v1/services', '/api/v1/services/teams/series', '/api/v1/certificates', '/api/v1/warnings', '/api/v1/probes', '/api/v1/dead-letters', '/api/v1/events']) {
          const p = await problem(path, 401, undefined, {}, locked.base);
          assert.match(p.detail, /a read token is required/);
          await problem(path, 401, undefined, { authorization: 'Bearer wrong-token-0000000000000' }, locked.base);
          await problem(path, 401, undefined, { authorization: `Basic ${TOKEN}` }, locked.base);
        }
        const r = await get(locked.base, '/api/v1/incidents', { authorization: `Bearer ${TOKEN}` });
        assert.equal(r.status, 200);
        assertValid('IncidentPage', r.body, 'with a token');
        assert.equal((await get(locked.base, '/api/v1/services', { authorization: 'Bearer another-read-token-xyz' })).status, 200);
        const noToken = await get(locked.base, '/api/v1/incidents');
        assert.equal(noToken.headers.get('www-authenticate'), 'Bearer');
        // EventSource cannot send headers: the stream (and only the stream) takes ?access_token=.
        const controller = new AbortController();
        const stream = await fetch(`${locked.base}/api/v1/events?access_token=${TOKEN}`, { signal: controller.signal });
        assert.equal(stream.status, 200);
        controller.abort();
        await problem('/api/v1/events?access_token=wrong', 401, undefined, {}, locked.base);
        await problem(`/api/v1/incidents?access_token=${TOKEN}`, 401, undefined, {}, locked.base);
        // The document and the operations endpoints stay open.
        for (const path of ['/api/v1/openapi.json', '/healthz', '/readyz', '/metrics']) assert.equal((await get(locked.base, path)).status, 200, path);
      } finally {
        await locked.close();
      }
    });

    it('with anonymous read on: no token needed, but a wrong token is still refused', async () => {
      assert.equal((await get(base, '/api/v1/incidents')).status, 200);
      assert.equal((await get(base, '/api/v1/incidents', { authorization: `Bearer ${TOKEN}` })).status, 200);
      await problem('/api/v1/incidents', 401, undefined, { authorization: 'Bearer wrong-token-0000000000000' });
    });

    it('limits requests per client, by token or else by address', async () => {
      const limited = await startApp(fx.store, fx, { ratePerMin: 3 });
      try {
        for (let i = 0; i < 3; i++) assert.equal((await get(limited.base, '/api/v1/dead-letters')).status, 200);
        const p = await problem('/api/v1/dead-letters', 429, undefined, {}, limited.base);
        assert.match(p.detail, /more than 3 requests a minute/);
        // A token is a client of its own.
        assert.equal((await get(limited.base, '/api/v1/dead-letters', { authorization: `Bearer ${TOKEN}` })).status, 200);
        // Operations endpoints are not limited (scrapers and probes call them often).
        for (let i = 0; i < 5; i++) assert.equal((await get(limited.base, '/healthz')).status, 200);
      } finally {
        await limited.close();
      }
    });
  });

  describe('hostile input', () => {
    const payloads = ["x' OR 1=1 --", "'; DROP TABLE incidents; --", "web') OR ('1'='1", '1; SELECT * FROM system.tables', '{service:String}', '\\x27 UNION SELECT 1'];
    const leaks = /DB::Exception|Code: \d+|ClickHouse|clickhouse|chdb|SELECT|stack|at .*\.ts:\d+|Syntax error/;

    it('changes nothing and leaks nothing, whatever string parameter carries SQL', async () => {
      const counts = async () =>
        Object.fromEntries(
          await Promise.all(
            ['incidents', 'incident_hints', 'annotations', 'reports', 'probe_results', 'cert_observations', 'cert_warnings', 'dead_letters'].map(async (t) => [
              t,
              Number((await fx.store.query<{ n: string }>(`SELECT count() AS n FROM ${t}`))[0]!.n),
            ]),
          ),
        ) as Record<string, number>;
      const before = await counts();
      const everything = await allIncidents();
      const targets: [string, string[]][] = [
        ['/api/v1/incidents', ['service', 'status', 'hint', 'outage', 'from', 'to', 'limit', 'cursor']],
        ['/api/v1/services/teams/series', ['from', 'to', 'step']],
        ['/api/v1/certificates', ['expiringWithinDays', 'service', 'source', 'limit', 'cursor']],
        ['/api/v1/warnings', ['level', 'service']],
        ['/api/v1/probes', ['service', 'from']],
      ];
      let requests = 0;
      for (const payload of payloads) {
        const paths = [
          ...targets.flatMap(([path, params]) => params.map((p) => `${path}?${p}=${encodeURIComponent(payload)}`)),
          `/api/v1/incidents/${encodeURIComponent(payload)}`,
          `/api/v1/services/${encodeURIComponent(payload)}/series`,
          `/api/v1/incidents?${encodeURIComponent(payload)}=1`,
          // A token that is no token: refused before any stream starts.
          `/api/v1/events?access_token=${encodeURIComponent(payload)}`,
          // A well-formed cursor whose id is the payload: bound as a value, it only positions the page.
          `/api/v1/incidents?cursor=${encodeCursor({ ms: Date.parse('2020-03-10T14:00:00Z'), id: payload })}`,
        ];
        for (const path of paths) {
          const r = await get(base, path);
          requests++;
          assert.ok([200, 400, 401, 404].includes(r.status), `${path} → ${r.status} ${r.text.slice(0, 200)}`);
          // Echoing the bad value back in the problem is fine; anything else of the engine is not.
          assert.doesNotMatch(r.text.replaceAll(JSON.stringify(payload).slice(1, -1), ''), leaks, `${path} leaks: ${r.text.slice(0, 300)}`);
          if (r.status === 200 && path.includes('cursor=')) {
            // Exactly the incidents that sort after (14:00, payload): the payload was compared, not run.
            const expected = everything.filter((i) => Date.parse(i.startedAt) < Date.parse('2020-03-10T14:00:00Z') || (i.startedAt === '2020-03-10T14:00:00.000Z' && i.id < payload));
            assert.deepEqual((r.body as IncidentPage).items.map((i) => i.id), expected.map((i) => i.id), path);
          } else if (r.status === 200) {
            assert.fail(`${path} was accepted`);
          } else {
            assertValid('Problem', r.body, path);
          }
        }
      }
      assert.ok(requests > 100);
      assert.deepEqual(await counts(), before, 'no table changed');
      assert.deepEqual(await allIncidents(), everything);
    });

    it('answers an unexpected failure with a generic 500 and logs the details', async () => {
      const logged: string[] = [];
      const logger = pino({ level: 'error' }, new Writable({ write: (chunk, _enc, cb) => void (logged.push(String(chunk)), cb()) }));
      const failing: Store = { ...fx.store, query: async () => Promise.reject(new Error('Code: 62. DB::Exception: Syntax error near secret_column (SYNTAX_ERROR)')) };
      const broken = await startApp(failing, fx, { logger, asOf: async () => Date.parse(AS_OF) });
      try {
        const p = await problem('/api/v1/incidents', 500, undefined, {}, broken.base);
        assert.equal(p.detail, 'the request failed on the server; it has been logged');
        const r = await get(broken.base, '/api/v1/services');
        assert.equal(r.status, 500);
        assert.doesNotMatch(r.text, /secret_column|DB::Exception/);
        assert.ok(logged.some((l) => l.includes('secret_column')), 'the cause is in the log');
        assert.equal((await get(broken.base, '/readyz')).status, 503, 'not ready while the store fails');
      } finally {
        await broken.close();
      }
    });
  });

  describe('the document, the page and the operations endpoints', () => {
    it('serves an OpenAPI 3.1 document with every route, parameter and response, and resolvable refs', async () => {
      const doc = (await get<Record<string, any>>(base, '/api/v1/openapi.json')).body;
      assert.equal(doc.openapi, '3.1.0');
      const paths = Object.keys(doc.paths);
      for (const p of ['/api/v1/incidents', '/api/v1/incidents/{id}', '/api/v1/services', '/api/v1/services/{id}/series', '/api/v1/certificates', '/api/v1/warnings', '/api/v1/probes', '/api/v1/dead-letters', '/api/v1/events', '/api/v1/openapi.json', '/healthz', '/readyz', '/metrics']) {
        assert.ok(paths.includes(p), `${p} in the document`);
      }
      const refs: string[] = [];
      const walk = (node: unknown, where: string): void => {
        if (Array.isArray(node)) return node.forEach((n, i) => walk(n, `${where}/${i}`));
        if (!node || typeof node !== 'object') return;
        for (const [k, v] of Object.entries(node)) {
          if (k === '$ref') refs.push(v as string);
          else if (k === '$id') assert.fail(`${where} keeps an $id`);
          else walk(v, `${where}/${k}`);
        }
      };
      walk(doc, '#');
      assert.ok(refs.length > 20);
      for (const ref of new Set(refs)) {
        assert.match(ref, /^#\/components\/schemas\//);
        assert.ok(doc.components.schemas[ref.split('/').at(-1)!], `${ref} resolves`);
      }
      for (const name of Object.keys(apiSchemas)) assert.ok(doc.components.schemas[name], `components.schemas.${name}`);
      assert.ok(doc.components.schemas.Incident && doc.components.schemas.UserReport, 'the message contracts too');
      assert.deepEqual(doc.components.securitySchemes.bearer, { type: 'http', scheme: 'bearer', description: 'Optional: reading is open to everyone' });

      const list = doc.paths['/api/v1/incidents'].get;
      assert.deepEqual(list.security, [{}, { bearer: [] }]);
      assert.deepEqual(list.parameters.map((p: { name: string }) => p.name), ['service', 'status', 'hint', 'outage', 'from', 'to', 'limit', 'cursor']);
      for (const p of list.parameters) assert.ok(p.in === 'query' && p.required === false && p.schema && p.description, p.name);
      assert.deepEqual(list.parameters.find((p: { name: string }) => p.name === 'limit').schema, { type: 'integer', minimum: 1, maximum: 200, default: 50 });
      assert.deepEqual(Object.keys(list.responses), ['200', '400', '401', '429', '500']);
      assert.deepEqual(list.responses['400'].content, { 'application/problem+json': { schema: { $ref: '#/components/schemas/Problem' } } });
      assert.deepEqual(list.responses['200'].content, { 'application/json': { schema: { $ref: '#/components/schemas/IncidentPage' } } });
      const detail = doc.paths['/api/v1/incidents/{id}'].get;
      assert.deepEqual(detail.parameters[0], { name: 'id', in: 'path', required: true, description: detail.parameters[0].description, schema: { type: 'string', minLength: 1, maxLength: 256 } });
      assert.ok(detail.responses['404']);
      assert.ok(doc.paths['/api/v1/services/{id}/series'].get.responses['404']);
      assert.deepEqual(doc.paths['/healthz'].get.security, []);
      // Nested contracts become references, e.g. the incidents in a page.
      assert.deepEqual(doc.components.schemas.IncidentPage.properties.items.items, { $ref: '#/components/schemas/IncidentSummary' });
      assert.deepEqual(doc.components.schemas.IncidentDetail.properties.hints.items, { $ref: '#/components/schemas/Hint' });

      const locked = await startApp(fx.store, fx, { anonymousRead: false });
      try {
        const lockedDoc = (await get<Record<string, any>>(locked.base, '/api/v1/openapi.json')).body;
        assert.deepEqual(lockedDoc.paths['/api/v1/incidents'].get.security, [{ bearer: [] }]);
      } finally {
        await locked.close();
      }
    });

    it('serves the status page directory with a strict CSP and no framework banner', async () => {
      const pageDir = mkdtempSync(join(tmpdir(), 'outage-page-'));
      writeFileSync(join(pageDir, 'index.html'), '<!doctype html><title>status</title><script src="page.js"></script>');
      writeFileSync(join(pageDir, 'page.js'), 'console.log(1);');
      const app = await startApp(fx.store, fx, { pageDir });
      try {
        const page = await get(app.base, '/');
        assert.equal(page.status, 200);
        assert.match(page.headers.get('content-type') ?? '', /^text\/html/);
        assert.match(page.text, /<title>status<\/title>/);
        const csp = page.headers.get('content-security-policy') ?? '';
        assert.match(csp, /default-src 'self'/);
        assert.match(csp, /img-src 'self' data:/);
        assert.match(csp, /script-src 'self'(;|$)/);
        assert.doesNotMatch(csp, /unsafe-inline|unsafe-eval/);
        assert.equal(page.headers.get('x-powered-by'), null);
        assert.equal((await get(app.base, '/page.js')).status, 200);
        await problem('/no-such-file.js', 404, undefined, {}, app.base);
      } finally {
        await app.close();
        rmSync(pageDir, { recursive: true, force: true });
      }
    });

    it('answers /healthz, /readyz (with the store), /metrics, and 405 for other methods', async () => {
      assert.equal((await get(base, '/healthz')).text, 'ok\n');
      assert.equal((await get(base, '/readyz')).status, 200);
      const notReady = await startApp(fx.store, fx, { ready: () => unhealthy('consumer group "api" restarting: crashed') });
      try {
        const res = await get(notReady.base, '/readyz');
        assert.equal(res.status, 503);
        assert.equal(res.text, 'not ready: consumer group "api" restarting: crashed\n', 'the reason reaches the operator');
      } finally {
        await notReady.close();
      }
      const metrics = await get(base, '/metrics');
      assert.match(metrics.text, /^outage_api_requests_total\{route="\/api\/v1\/incidents",code="200"\} \d+/m);
      assert.match(metrics.text, /^outage_api_request_duration_seconds_bucket\{le="0.5",route="\/api\/v1\/incidents\/\{id\}"\} \d+/m);
      const post = await fetch(`${base}/api/v1/incidents`, { method: 'POST' });
      assert.equal(post.status, 405);
      assert.equal(post.headers.get('allow'), 'GET, HEAD');
      assert.equal(((await post.json()) as Problem).status, 405);
      await problem('/api/v2/incidents', 404);
    });
  });
});

async function eventually(check: () => Promise<boolean>, timeoutMs = 5000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > end) assert.fail('condition not reached in time');
    await new Promise((r) => setTimeout(r, 20));
  }
}

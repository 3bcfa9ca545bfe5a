/**
 * The status page in a real browser against a real server: `outage serve` replays the bundled
 * Teams example as a child process, and Debian's Chromium (driven by playwright-core, no browser
 * download) opens the page the server serves at `/`.
 *
 * What a responder must see: the Teams incident with its certificate hint on the overview, the
 * incident view with its report chart, hints and evidence; and what an attacker must not get:
 * strings from the API (here a catalog service name and a posted report text that carry an HTML
 * and script payload) are shown as text and never run. Screenshots land in test-output/.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { chromium, type Browser, type Page } from 'playwright-core';
import type { Static } from '@sinclair/typebox';
import type { IncidentDetail, IncidentPage, ServiceList as ServiceListSchema, WarningList as WarningListSchema } from '../schemas/api.ts';
import { eventually, startServe, type ServeProcess } from './helpers/serve.ts';

type ServiceList = Static<typeof ServiceListSchema>;
type WarningList = Static<typeof WarningListSchema>;

const CHROMIUM = '/usr/bin/chromium';
const EXAMPLE = 'examples/teams-2020-02-03';
const INCIDENT = 'teams-20200203T1340Z';
const CERT = 'teams-auth-token-signing';
const PAYLOAD = '<img src=x onerror="window.__xss=1"><script>window.__xss=1</script>';
const XSS_SERVICE = 'xss-check';
const TOKEN = 'status-page-test-token-0123456789';
const OUT = 'test-output';

const chromiumMissing = !existsSync(CHROMIUM);
const skip = chromiumMissing && process.env.CI !== 'true' ? `${CHROMIUM} is not installed (apt-get install chromium); the status page test needs it` : false;

describe('status page (Chromium against outage serve --replay)', { skip }, () => {
  const tmp = mkdtempSync(join(tmpdir(), 'outage-status-page-'));
  let serve: ServeProcess | undefined;
  let base = '';
  let browser: Browser | undefined;
  let page: Page;
  const consoleErrors: string[] = [];
  const dialogs: string[] = [];

  const getJson = async <T>(path: string): Promise<T> => {
    const res = await fetch(new URL(path, base));
    if (!res.ok) throw new Error(`GET ${path}: HTTP ${res.status}`);
    return (await res.json()) as T;
  };

  before(async () => {
    assert.ok(!chromiumMissing, `${CHROMIUM} is not installed (CI=true: the status page test must run)`);
    mkdirSync(OUT, { recursive: true });

    // The example's catalog plus one service whose display name is the payload; it depends on
    // m365-auth, so it also shows up in the blast radius of the expired signing certificate.
    const catalog = join(tmp, 'catalog.yaml');
    writeFileSync(
      catalog,
      `${readFileSync(join(EXAMPLE, 'catalog.yaml'), 'utf8').trimEnd()}\n  - id: ${XSS_SERVICE}\n    name: ${JSON.stringify(PAYLOAD)}\n    dependsOn:\n      - m365-auth\n`,
    );

    serve = await startServe(['--replay', EXAMPLE, '--speed', 'max', '--catalog', catalog], {
      OUTAGE_DATA_DIR: join(tmp, 'chdb'),
      REPORT_API_TOKENS: TOKEN,
      REPORT_SALT: 'status-page-test-salt-0123456789',
    });
    base = serve.url;
    // Fail at once, with its stderr, if the process ends while the test waits for it.
    const proc = serve.proc;
    const exited = new Promise<never>((_, reject) => proc.once('exit', (code) => reject(new Error(`outage serve exited with ${code}:\n${serve!.stderr()}`))));
    exited.catch(() => undefined);

    // The replay has run when the incident is listed with its certificate hint and the early
    // warnings (computed at the end of the input) are stored.
    const listed = async () => {
      const list = await getJson<IncidentPage>('api/v1/incidents?limit=50');
      const inc = list.items.find((i) => i.id === INCIDENT);
      return inc?.status === 'resolved' && inc.topHint?.kind === 'cert_expired' ? inc : undefined;
    };
    const warned = async () => ((await getJson<WarningList>('api/v1/warnings')).items.length > 0 ? true : undefined);
    await Promise.race([eventually(listed, 180_000, `the API to list ${INCIDENT} (resolved, first hint cert_expired)`), exited]);
    await Promise.race([eventually(warned, 60_000, 'the early warnings'), exited]);

    // A report whose text is the payload, through the report API of the same process.
    const res = await fetch(new URL('api/v1/reports', base), {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${TOKEN}` },
      body: JSON.stringify({ id: 'xss-report-1', ts: '2020-02-03T23:59:00.000Z', service: XSS_SERVICE, channel: 'api', problem: 'other', text: PAYLOAD }),
    });
    assert.equal(res.status, 202, `the report API refused the report: ${await res.text()}`);

    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run', '--disable-quic'],
    });
    page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    page.on('console', (m) => {
      if (m.type() === 'error') consoleErrors.push(m.text());
    });
    page.on('pageerror', (e) => consoleErrors.push(`uncaught: ${e.message}`));
    page.on('dialog', (d) => {
      dialogs.push(`${d.type()}: ${d.message()}`);
      void d.dismiss();
    });
  });

  after(async () => {
    await browser?.close().catch(() => undefined);
    await serve?.stop();
    rmSync(tmp, { recursive: true, force: true });
  });

  it('serves the page with a CSP that allows no inline code', async () => {
    const res = await fetch(base);
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type') ?? '', /text\/html/);
    const csp = res.headers.get('content-security-policy') ?? '';
    assert.match(csp, /default-src 'self'/);
    assert.doesNotMatch(csp, /unsafe-inline|unsafe-eval/);
    const html = await res.text();
    assert.doesNotMatch(html, /\son[a-z]+=|style=|<script>(?!<\/script>)/i, 'no inline handlers, styles or scripts in index.html');
  });

  it('overview: every service with its state, the Teams incident with its certificate hint, certificates and warnings', async () => {
    await page.goto(base);
    await page.locator('[data-view="overview"]').waitFor();
    const services = await getJson<ServiceList>('api/v1/services');
    assert.ok(services.items.length >= 7);
    for (const sv of services.items) {
      const card = page.locator(`li.service[data-service="${sv.id}"]`);
      assert.equal(await card.getAttribute('data-state'), sv.state, sv.id);
      const label = { ok: 'No problems', possible_problem: 'Possible problems', problem: 'Problems' }[sv.state];
      assert.equal((await card.locator('.state').textContent())?.replace(/^\W+/, ''), label, sv.id);
    }
    assert.match((await page.locator('#as-of').textContent()) ?? '', /^as of 2020-02-0\d \d\d:\d\d UTC$/, 'the as-of time is the data\'s, not the browser\'s');

    const item = page.locator(`li.incident[data-incident="${INCIDENT}"]`);
    await item.waitFor();
    const hint = item.locator('.top-hint[data-kind="cert_expired"]');
    const text = (await hint.textContent()) ?? '';
    assert.ok(text.includes(`certificate ${CERT}`), text);
    assert.match(text, /\d+%\s*likely cause/);
    assert.equal(await item.locator('.incident-link').getAttribute('href'), `#/incidents/${encodeURIComponent(INCIDENT)}`);
    assert.match((await item.locator('.incident-times').textContent()) ?? '', /started 2020-02-03 13:40 UTC · resolved 2020-02-03 17:57 UTC/);

    // The expired signing certificate with the services it takes down.
    const cert = page.locator('#section-certificates tr', { has: page.locator('.cert-name', { hasText: new RegExp(`^${CERT}$`) }) });
    assert.equal(await cert.count(), 1);
    const blast = (await cert.locator('.blast .chip').allTextContents()).sort();
    for (const name of ['Microsoft Teams', 'Outlook on the web', 'SharePoint Online']) assert.ok(blast.includes(name), `blast radius shows ${name}: ${blast.join(', ')}`);
    assert.match((await cert.locator('.days').textContent()) ?? '', /^expired /);
    assert.ok((await page.locator('#section-warnings li.warning').count()) > 0);
    await page.locator('#live[data-state="on"]').waitFor({ timeout: 10_000 });

    await page.screenshot({ path: join(OUT, 'status-page-overview.png'), fullPage: true });
  });

  it('incident view: header in UTC, the report chart against the baseline, every hint with its evidence, the timeline', async () => {
    await page.locator(`li.incident[data-incident="${INCIDENT}"] .incident-link`).click();
    await page.waitForURL(`**/#/incidents/${encodeURIComponent(INCIDENT)}`);
    const view = page.locator(`[data-view="incident"][data-incident="${INCIDENT}"]`);
    await view.waitFor();
    const detail = await getJson<IncidentDetail>(`api/v1/incidents/${encodeURIComponent(INCIDENT)}`);

    const header = (await view.locator('.incident-header').textContent()) ?? '';
    for (const t of ['Started2020-02-03 13:40 UTC', 'Resolved2020-02-03 17:57 UTC', 'resolved']) assert.ok(header.includes(t), `${t} in ${header}`);
    // The peak and the baseline as the API has them (the baseline is the detector's estimate).
    assert.equal(detail.peakPerMin, 188);
    assert.ok(header.includes(`${detail.peakPerMin} reports/min vs baseline ${detail.baselinePerMin}/min`), header);

    // The chart: one point per bucket of the series, a baseline line, markers, UTC axis labels.
    const points = await view.locator('svg.series circle.point').count();
    assert.ok(points > 10, `${points} points`);
    assert.equal(points, detail.series.points.length);
    const line = (await view.locator('svg.series polyline.reports').getAttribute('points')) ?? '';
    assert.equal(line.trim().split(/\s+/).length, points);
    assert.ok((await view.locator('svg.series polyline.baseline').count()) >= 1);
    assert.equal(await view.locator('svg.series .marker.started').count(), 1);
    assert.match((await view.locator('svg.series .axis-label').allTextContents()).join(' '), /UTC/);
    assert.ok((await view.locator('svg.series text.tick.x').allTextContents()).every((t) => /^\d\d:\d\d$|^[A-Z][a-z]{2} \d+$/.test(t)));

    // Every hint, in order, with kind, confidence and the evidence as a definition list.
    const hints = view.locator('li.hint');
    assert.equal(await hints.count(), detail.hints.length);
    const first = hints.first();
    assert.equal(await first.getAttribute('data-kind'), 'cert_expired');
    assert.match((await first.locator('.confidence').textContent()) ?? '', /^\d+%\s*likely cause$/);
    assert.ok(((await first.locator('.hint-summary').textContent()) ?? '').includes(`certificate ${CERT}`));
    const keys = await first.locator('dl.evidence-list > dt').allTextContents();
    assert.ok(keys.includes('certName') && keys.includes('notAfter'), keys.join(', '));
    const certName = first.locator('dl.evidence-list > dt', { hasText: /^certName$/ }).locator('xpath=following-sibling::dd[1]');
    assert.equal(await certName.textContent(), CERT);
    // Every revision is on the timeline (runs of identical updates share a row).
    const rows = await view.locator('ol.timeline > li').evaluateAll((lis) => lis.map((li) => Number(li.getAttribute('data-revisions'))));
    assert.ok(rows.length >= 2);
    assert.equal(rows.reduce((a, b) => a + b, 0), detail.revisions.length);
    assert.equal(await view.locator('ol.timeline > li').first().getAttribute('data-event'), 'opened');

    await page.screenshot({ path: join(OUT, 'status-page-incident.png'), fullPage: true });
  });

  it('shows strings from the API as text: the payload is visible and never runs', async () => {
    await page.goto(`${base}#/`);
    await page.locator('[data-view="overview"]').waitFor();
    // The service name from the catalog, in its card and in the certificate's blast radius.
    const name = page.locator(`li.service[data-service="${XSS_SERVICE}"] .service-name`);
    assert.equal(await name.textContent(), PAYLOAD);
    assert.ok(await name.isVisible());
    assert.ok((await page.locator('.chip', { hasText: PAYLOAD }).count()) >= 1);
    // Nothing of it became markup: no image, no script element in the page's content. (The CSP
    // would also stop the inline handler; this checks the page itself never parses data as HTML.)
    assert.equal(await page.locator('main img, main script, main iframe').count(), 0);
    assert.equal(await page.evaluate('typeof window.__xss'), 'undefined');
    assert.deepEqual(dialogs, []);
  });

  it('shows the payload as text in every field of the incident view (the real answer, with the payload put into its strings)', async () => {
    // The replayed scenario has no hostile hint, so the real IncidentDetail gets the payload in
    // its summary, evidence, timeline, probes and certificates on its way to the page.
    const other = await browser!.newPage();
    const errors: string[] = [];
    other.on('console', (m) => m.type() === 'error' && errors.push(m.text()));
    other.on('pageerror', (e) => errors.push(`uncaught: ${e.message}`));
    other.on('dialog', (d) => {
      errors.push(`dialog ${d.message()}`);
      void d.dismiss();
    });
    try {
      await other.route(`**/api/v1/incidents/${encodeURIComponent(INCIDENT)}`, async (route) => {
        const res = await route.fetch();
        const d = (await res.json()) as IncidentDetail;
        const [hint] = d.hints;
        assert.ok(hint);
        hint.summary = `${hint.summary} ${PAYLOAD}`;
        hint.evidence = { ...hint.evidence, payload: PAYLOAD, nested: { text: PAYLOAD }, list: [PAYLOAD] };
        d.revisions[0]!.title = PAYLOAD;
        if (d.probes[0]) d.probes[0].target = PAYLOAD;
        d.certificates.push({ ...(d.certificates[0] ?? fakeCertificate()), name: PAYLOAD, subject: `CN=${PAYLOAD}` });
        await route.fulfill({ response: res, json: d });
      });
      await other.goto(`${base}#/incidents/${encodeURIComponent(INCIDENT)}`);
      const view = other.locator(`[data-view="incident"][data-incident="${INCIDENT}"]`);
      await view.waitFor();
      const hint = view.locator('li.hint').first();
      assert.ok(((await hint.locator('.hint-summary').textContent()) ?? '').endsWith(PAYLOAD));
      const ev = hint.locator('dl.evidence-list');
      assert.equal(await ev.locator('dt', { hasText: /^payload$/ }).locator('xpath=following-sibling::dd[1]').textContent(), PAYLOAD);
      assert.equal(await ev.locator('dt', { hasText: /^list$/ }).locator('xpath=following-sibling::dd[1]').textContent(), PAYLOAD);
      assert.equal(await ev.locator('dt', { hasText: /^nested$/ }).locator('xpath=following-sibling::dd[1]').textContent(), JSON.stringify({ text: PAYLOAD }, null, 2));
      assert.equal(await view.locator('ol.timeline .tl-title').first().textContent(), PAYLOAD);
      assert.equal(await view.locator('table.certs .cert-subject', { hasText: PAYLOAD }).count(), 1);
      assert.equal(await other.locator('main img, main script, main iframe').count(), 0);
      assert.equal(await other.evaluate('typeof window.__xss'), 'undefined');
      assert.deepEqual(errors, []);
    } finally {
      await other.close();
    }
  });

  it('an unknown incident id and an unreachable API are said so', async () => {
    // A page of its own: the 404 and the refused requests are console errors by design.
    const other = await browser!.newPage();
    try {
      const bad = '../x?<b>"';
      await other.goto(`${base}#/incidents/${encodeURIComponent(bad)}`);
      const err = other.locator('[data-view="incident"] .error');
      await err.waitFor();
      assert.match((await err.textContent()) ?? '', /No incident with the id/);
      assert.equal(await err.locator('code').textContent(), bad);
      await other.route('**/api/v1/**', (route) => route.abort('connectionrefused'));
      await other.goto(`${base}#/`);
      await other.reload();
      await other.locator('main .error', { hasText: 'The status API is unreachable.' }).waitFor();
    } finally {
      await other.close();
    }
  });

  it('live: an incident opened by reports posted now appears on the open overview without a reload', async () => {
    await page.goto(`${base}#/`);
    await page.locator('[data-view="overview"]').waitFor();
    await page.locator('#live[data-state="on"]').waitFor({ timeout: 10_000 });
    assert.equal(await page.locator('li.incident[data-service="slack"]').count(), 0);
    const marker = await page.evaluate('(window.__loadMarker = Math.random())');

    // Right after the scenario's last minute: Slack gets 60 reports a minute for 6 minutes, then
    // its usual trickle, so the minutes of the spike close.
    const t0 = Date.parse('2020-02-04T00:02:00Z');
    const reports: object[] = [];
    const add = (minute: number, count: number) => {
      for (let i = 0; i < count; i++) {
        const n = reports.length;
        const ts = new Date(t0 + minute * 60_000 + Math.floor((i * 60_000) / count)).toISOString();
        reports.push({ id: `live-${n}`, ts, service: 'slack', channel: 'api', problem: 'messaging', author: `live-user-${n}`, text: 'slack is down' });
      }
    };
    for (let m = 0; m < 6; m++) add(m, 60);
    for (let m = 6; m < 25; m++) add(m, 1);
    const res = await fetch(new URL('api/v1/reports', base), {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${TOKEN}` },
      body: JSON.stringify(reports),
    });
    assert.equal(res.status, 202, await res.text());

    const item = page.locator('li.incident[data-service="slack"]');
    await item.first().waitFor({ timeout: 60_000 });
    // Shown once, in the list its status belongs to, also while the lists and the events disagree.
    await page.waitForTimeout(4000);
    assert.equal(await item.count(), 1);
    const status = await item.getAttribute('data-status');
    assert.equal(await page.locator(`ol.${status === 'open' ? 'open' : 'recent'}-incidents li[data-service="slack"]`).count(), 1, `a ${status} incident in its list`);
    assert.equal(await page.evaluate('window.__loadMarker'), marker, 'the page was refreshed in place, not reloaded');
    assert.match((await page.locator('#announce').textContent()) ?? '', /^Incident Slack (opened|updated|resolved|reopened)\.$/);
    await page.screenshot({ path: join(OUT, 'status-page-live.png'), fullPage: true });
  });

  it('logged no console errors and opened no dialogs', () => {
    assert.deepEqual(consoleErrors, []);
    assert.deepEqual(dialogs, []);
  });
});

/** A certificate for the payload test when the incident involves none. */
function fakeCertificate(): IncidentDetail['certificates'][number] {
  return {
    sha256: 'ab'.repeat(32),
    name: 'placeholder',
    subject: 'CN=placeholder',
    issuer: 'CN=placeholder',
    notBefore: '2019-01-01T00:00:00Z',
    notAfter: '2021-01-01T00:00:00Z',
    daysLeft: 300,
    isCA: false,
    dnsNames: [],
    sources: ['file'],
    places: [],
    services: [],
    blastRadius: [],
    renewal: null,
  };
}

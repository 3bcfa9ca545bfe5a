/**
 * Grafana cannot run here, so the dashboards and alert rules are checked by shape and by running
 * every panel, variable, annotation and alert query on chDB against the replayed Teams example,
 * with the plugin's macros and Grafana's template variables expanded as they expand them
 * (`dashboards/macros.ts`). Time range: 2020-02-03 00:00–24:00 UTC.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { parse } from 'yaml';
import { ALERT_SQL, DATASOURCE_UID, alertRulesFile, type AlertRule } from '../dashboards/alerting.ts';
import { DASHBOARDS_DIR, dashboards, generatedFiles } from '../dashboards/build.ts';
import { UID } from '../dashboards/defaults.ts';
import { expandQuery, variablesOf, type MacroContext, type VariableValue } from '../dashboards/macros.ts';
import { replay } from '../cli/replay.ts';
import { createLogger } from '../lib/log.ts';
import { openStore, type Store } from '../lib/store/store.ts';

const tmp = mkdtempSync(join(tmpdir(), 'outage-dash-'));
const FROM_MS = Date.parse('2020-02-03T00:00:00Z');
const TO_MS = Date.parse('2020-02-04T00:00:00Z');
const INCIDENT = 'teams-20200203T1340Z';

interface Target {
  refId: string;
  rawSql: string;
  queryType: string;
  editorType: string;
  datasource: { type: string; uid: string };
}
interface Variable {
  name: string;
  type: string;
  query?: string;
  multi?: boolean;
  includeAll?: boolean;
  datasource?: { type: string; uid: string };
  current?: { value: string | string[] };
}
type Row = Record<string, unknown>;
type Dash = ReturnType<typeof dashboards>[string];

const variablesOfDash = (d: Dash) => (d.templating?.list ?? []) as unknown as Variable[];
const panelsOf = (d: Dash) => (d.panels ?? []) as unknown as { title: string; type: string; targets: Target[]; fieldConfig?: { overrides?: { matcher: { options: string }; properties: { id: string; value: unknown }[] }[] }; links?: { url: string }[] }[];
const annotationsOf = (d: Dash) => (d.annotations?.list ?? []).map((a) => ({ name: a.name, target: a.target as unknown as Target }));

/**
 * The selections a user makes: `pick` per variable name (absent: "All", or the default of a
 * text box). Variables are resolved in dashboard order, each from its own query on the store,
 * so a variable that depends on another (incident on service) sees its selection.
 */
async function resolveVariables(store: Store, d: Dash, pick: Record<string, string[] | string>): Promise<{ ctx: MacroContext; options: Record<string, string[]> }> {
  const ctx: MacroContext = { fromMs: FROM_MS, toMs: TO_MS, intervalS: 60, vars: {} };
  const options: Record<string, string[]> = {};
  for (const v of variablesOfDash(d)) {
    if (v.type === 'datasource') continue;
    if (v.type === 'textbox') {
      ctx.vars[v.name] = { value: (pick[v.name] as string | undefined) ?? String(v.current?.value ?? '') };
      continue;
    }
    assert.equal(v.type, 'query', `${d.title}: variable ${v.name}`);
    assert.deepEqual(v.datasource, { type: 'grafana-clickhouse-datasource', uid: '${datasource}' });
    const rows = await store.query<Row>(expandQuery(v.query!, ctx));
    const opts = rows.map((r) => String(Object.values(r)[0]));
    options[v.name] = opts;
    const chosen = pick[v.name];
    let value: VariableValue['value'];
    if (chosen !== undefined) {
      for (const c of [chosen].flat()) assert.ok(opts.includes(c), `${d.title}: ${v.name} offers ${c} (${opts.join(', ')})`);
      value = v.multi ? [chosen].flat() : [chosen].flat()[0]!;
    } else if (v.includeAll) value = v.multi ? ['$__all'] : '$__all';
    else value = opts[0] ?? '';
    ctx.vars[v.name] = { value, options: opts };
  }
  return { ctx, options };
}

/** The selections each dashboard is run with: the outage, and everything on "All". */
const SELECTIONS: Record<string, Record<string, string[] | string>> = {
  outage: { service: ['teams'], incident: INCIDENT },
  all: { incident: INCIDENT },
};

/** Panels the example has nothing for, and why; every other panel must show the outage day. */
const MAY_BE_EMPTY: Record<string, string> = {
  'Chain problems': 'every chain of the example is complete and its CAs outlive their leaves',
  'Renewals not deployed': 'with teams selected; the one renewal not deployed renews a leftover copy bound to no service (checked under "All")',
};

describe('dashboards on the replayed example', () => {
  let store: Store;
  /** Rows per dashboard uid, selection and panel title. */
  const results = new Map<string, Row[]>();
  const key = (uid: string, sel: string, title: string) => `${uid}|${sel}|${title}`;

  before(async () => {
    await replay({ dir: 'examples/teams-2020-02-03', store: { kind: 'chdb', dataDir: join(tmp, 'chdb') }, logger: createLogger('test', 'silent') });
    store = await openStore({ kind: 'chdb', dataDir: join(tmp, 'chdb') });
  });
  after(async () => {
    await store?.close();
    rmSync(tmp, { recursive: true, force: true });
  });

  it('the generated files are current (run `npm run dashboards` after a change)', () => {
    for (const [path, text] of Object.entries(generatedFiles())) {
      let committed = '';
      try {
        committed = readFileSync(DASHBOARDS_DIR + path, 'utf8');
      } catch {
        assert.fail(`dashboards/${path} is missing`);
      }
      assert.equal(committed, text, `dashboards/${path} is out of date`);
    }
  });

  it('four dashboards: unique uids, every query raw SQL on the data source variable, root-cause annotations filtered by service', () => {
    const all = Object.values(dashboards());
    assert.deepEqual(all.map((d) => d.uid).sort(), Object.values(UID).sort());
    for (const d of all) {
      assert.equal(d.schemaVersion, 42);
      const names = variablesOfDash(d).map((v) => v.name);
      assert.ok(names.includes('datasource') && names.includes('service'), `${d.title}: ${names.join(', ')}`);
      const targets = [...panelsOf(d).flatMap((p) => p.targets), ...annotationsOf(d).map((a) => a.target)];
      for (const t of targets) {
        assert.equal(t.editorType, 'sql');
        assert.deepEqual(t.datasource, { type: 'grafana-clickhouse-datasource', uid: '${datasource}' });
        for (const v of variablesOf(t.rawSql)) assert.ok(names.includes(v), `${d.title}: $${v} is not a variable of the dashboard`);
      }
      const rootCause = annotationsOf(d).find((a) => a.name === 'Root cause');
      assert.ok(rootCause, `${d.title} has the root-cause annotations`);
      assert.match(rootCause.target.rawSql, /FROM annotations FINAL/);
      assert.match(rootCause.target.rawSql, /\$__conditionalAll\(service IN \(\$\{service:singlequote\}\), \$service\)/);
      // Time series panels are queried as time series (annotations show on them).
      for (const p of panelsOf(d)) if (p.type === 'timeseries') assert.equal(p.targets[0]!.queryType, 'timeSeries', p.title);
    }
  });

  it('every variable, panel and annotation query runs, with the outage selected and with "All"', async () => {
    for (const d of Object.values(dashboards())) {
      for (const [sel, pick] of Object.entries(SELECTIONS)) {
        const { ctx } = await resolveVariables(store, d, pick);
        const queries = [...panelsOf(d).map((p) => ({ title: p.title, sql: p.targets[0]!.rawSql })), ...annotationsOf(d).map((a) => ({ title: `annotation ${a.name}`, sql: a.target.rawSql }))];
        for (const q of queries) {
          const sql = expandQuery(q.sql, ctx);
          let rows: Row[];
          try {
            rows = await store.query<Row>(sql);
          } catch (err) {
            assert.fail(`${d.title} / ${q.title} (${sel}): ${(err as Error).message}\n${sql}`);
          }
          results.set(key(d.uid!, sel, q.title), rows);
        }
      }
    }
    assert.ok(results.size > 30);
  });

  it('every panel shows the outage day (but those the example has nothing for)', () => {
    for (const d of Object.values(dashboards())) {
      for (const p of panelsOf(d)) {
        const rows = results.get(key(d.uid!, 'outage', p.title));
        assert.ok(rows, `${d.title} / ${p.title} ran`);
        if (p.title in MAY_BE_EMPTY) continue;
        assert.ok(rows.length > 0, `${d.title} / ${p.title} returns rows for the outage`);
      }
      assert.ok(results.get(key(d.uid!, 'outage', 'annotation Root cause'))!.length >= 2, `${d.title}: root-cause annotations`);
    }
  });

  it('variables offer the outage: service teams, the incident, probe regions and sources', async () => {
    const overview = await resolveVariables(store, dashboards()['outage-overview.json']!, SELECTIONS.outage!);
    assert.ok(overview.options.service!.includes('teams') && overview.options.service!.includes('m365-auth'));
    assert.deepEqual(overview.options.region, ['ap-south', 'eu-west', 'us-east']);
    const incident = await resolveVariables(store, dashboards()['outage-incident.json']!, SELECTIONS.outage!);
    assert.deepEqual(incident.options.incident, [INCIDENT]);
    const certs = await resolveVariables(store, dashboards()['outage-certificates.json']!, {});
    assert.deepEqual(certs.options.source, ['file', 'probe']);
  });

  it('overview: the spike against its baseline, the incident with its first hint and a link to the drill-down', () => {
    const r = (title: string) => results.get(key(UID.overview, 'outage', title))!;
    const series = r('User reports per minute vs baseline');
    const peak = series.reduce((best, x) => (Number(x.reports) > Number(best.reports) ? x : best));
    assert.ok(Number(peak.reports) >= 150, `teams peak ${peak.reports}`);
    assert.ok(Number(peak.baseline) < 10, `baseline at the peak ${peak.baseline}`);
    assert.match(String(peak.time), /^2020-02-03 1[3-7]:/);
    const incidents = r('Incidents in the time range');
    assert.deepEqual(incidents.map((x) => [x.id, x.service, x.first_hint]), [[INCIDENT, 'teams', 'cert_expired']]);
    assert.match(String(incidents[0]!.first_hint_summary), /teams-auth-token-signing/);
    const link = panelsOf(dashboards()['outage-overview.json']!)
      .find((p) => p.title === 'Incidents in the time range')!
      .fieldConfig!.overrides!.find((o) => o.matcher.options === 'id')!.properties[0]!.value as { url: string }[];
    assert.match(link[0]!.url, new RegExp(`^/d/${UID.incident}/.*var-service=\\$\\{__data.fields.service\\}&var-incident=\\$\\{__data.fields.id\\}`));
    const probes = r('Probe success by endpoint and region');
    assert.ok(probes.some((x) => x.endpoint === 'https://teams.microsoft.com/ · eu-west' && Number(x.success) === 0), 'teams probes failing');
    const soonest = r('Certificates expiring soonest');
    assert.ok(soonest.some((x) => x.name === 'teams-auth-token-signing' && (x.blast_radius as string[]).includes('teams')));
    // Filtered by the service variable: only certificates teams depends on.
    assert.ok(!soonest.some((x) => x.name === 'api-zoom-us-2019'));
  });

  it('incident drill-down: timeline, every hint with its evidence, probe errors by class and region, certificates with chains, status page links', () => {
    const r = (title: string) => results.get(key(UID.incident, 'outage', title))!;
    assert.equal(r('Incident')[0]!.id, INCIDENT);
    const timeline = r('Timeline');
    assert.equal(timeline[0]!.event, 'opened');
    assert.equal(timeline.at(-1)!.event, 'resolved');
    const hints = r('Hints with their evidence');
    assert.deepEqual(hints.map((h) => Number(h.rank)), hints.map((_, i) => i + 1));
    assert.equal(hints[0]!.kind, 'cert_expired');
    assert.equal(JSON.parse(String(hints[0]!.evidence)).certName, 'teams-auth-token-signing');
    const errors = r('Probe errors by class and region');
    assert.deepEqual([...new Set(errors.map((e) => e.class_region))].filter((c) => String(c).startsWith('http_5xx')).sort(), ['http_5xx · ap-south', 'http_5xx · eu-west', 'http_5xx · us-east']);
    const certs = r('Certificates involved, with their chains');
    const signing = certs.find((c) => c.certificate === 'teams-auth-token-signing')!;
    assert.ok(signing, JSON.stringify(certs.map((c) => c.certificate)));
    assert.match((signing.chain as string[]).at(-1)!, /Example Global Root CA|example-ca-bundle/);
    assert.ok((signing.why as string[]).includes('hint 1: cert_expired'));
    assert.ok(certs.some((c) => (c.why as string[]).some((w) => w === 'served to probes of teams')));
    const d = dashboards()['outage-incident.json']!;
    assert.ok(d.links!.some((l) => l.url === '${status_url}/#/incidents/${incident}'));
    assert.ok(variablesOfDash(d).some((v) => v.name === 'status_url' && v.type === 'textbox'));
  });

  it('certificates and probes: horizons, blast radius, renewals not deployed, per source; phases, failures, TLS versions', () => {
    const c = (title: string) => results.get(key(UID.certificates, 'all', title))!;
    assert.ok(c('Expiry by horizon').some((x) => x.horizon === '1 expired' && Number(x.certificates) >= 2));
    const radius = c('Blast radius per certificate');
    assert.equal(radius[0]!.name, 'teams-auth-token-signing');
    assert.equal(Number(radius[0]!.radius), 4);
    const renewals = c('Renewals not deployed');
    assert.deepEqual(renewals.map((x) => [x.name, x.renewal]), [['teams-auth-token-signing-2017', 'teams-auth-token-signing']]);
    assert.deepEqual(c('Inventory per source').map((x) => x.source), ['file', 'probe']);
    const p = (title: string) => results.get(key(UID.probes, 'outage', title))!;
    assert.ok(p('Failures by code and region').some((x) => String(x.code_region).startsWith('HTTP_503')));
    assert.ok(p('Latency by phase').every((x) => Number(x.total_p50) > 0));
    assert.deepEqual(p('TLS versions and ciphers').map((x) => x.version), ['TLSv1.2']);
  });

  it('alert rules: provisioning shape, and every ClickHouse query runs (a certificate within its horizon fires on the example)', async () => {
    const file = parse(readFileSync(join(DASHBOARDS_DIR, 'provisioning/alerting/outage-rules.yaml'), 'utf8')) as ReturnType<typeof alertRulesFile>;
    assert.equal(file.apiVersion, 1);
    const rules = (file.groups as { rules: AlertRule[]; folder: string; interval: string }[])[0]!.rules;
    assert.deepEqual(rules.map((r) => r.uid).sort(), ['outage-cert-within-horizon', 'outage-consumer-lag-growing', 'outage-dead-letters', 'outage-incident-cert-hint']);
    for (const rule of rules) {
      assert.ok(rule.data.some((q) => q.refId === rule.condition), `${rule.title}: condition ${rule.condition}`);
      for (const q of rule.data) {
        assert.ok(['__expr__', DATASOURCE_UID.clickhouse, DATASOURCE_UID.prometheus].includes(q.datasourceUid), q.datasourceUid);
        if (q.datasourceUid !== '__expr__') assert.ok(q.relativeTimeRange && q.relativeTimeRange.from > 0);
      }
    }
    const contact = parse(readFileSync(join(DASHBOARDS_DIR, 'provisioning/alerting/contact-points.yaml'), 'utf8')) as { contactPoints: { name: string; receivers: { type: string }[] }[]; policies: { receiver: string }[] };
    assert.equal(contact.contactPoints[0]!.receivers[0]!.type, 'webhook');
    assert.equal(contact.policies[0]!.receiver, contact.contactPoints[0]!.name);

    // Alerting has no dashboard: only backend macros, over the rule's relative time range (here the outage day).
    const ctx: MacroContext = { fromMs: FROM_MS, toMs: TO_MS, intervalS: 60, vars: {} };
    const run = (sql: string) => store.query<Row>(expandQuery(sql, ctx));
    const horizon = await run(ALERT_SQL.certWithinHorizon);
    assert.deepEqual(horizon.map((x) => x.name).sort(), ['api-zoom-us-2019', 'outlook-office-com', 'teams-auth-token-signing']);
    assert.deepEqual(await run(ALERT_SQL.openIncidentWithCertHint), [], 'the example incident is resolved');
    // While it was open (the latest revision, status set back to open): it fires.
    const wasOpen = ALERT_SQL.openIncidentWithCertHint.replace("i.status != 'resolved'", "i.status != 'never'");
    assert.deepEqual((await run(wasOpen)).map((x) => [x.incident, x.hint]), [[INCIDENT, 'cert_expired']]);
    assert.ok(Array.isArray(await run(ALERT_SQL.deadLetters)));
  });
});

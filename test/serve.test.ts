/**
 * `outage serve` as a new user runs it: a real process on real ports, the embedded default (the
 * in-process bus and chDB). Reports go in through the report API; the incident they cause comes
 * back out of the query API. Start-up problems (a port in use, a data directory another process
 * holds) end the process with one clear line.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { IncidentDetail, IncidentPage } from '../schemas/api.ts';
import { eventually, startServe, type ServeProcess } from './helpers/serve.ts';

const TOKEN = 'serve-test-token-0123456789';
const MIN = 60_000;

/** A small deterministic generator, so the background is the same on every run. */
function lcg(seed: number): () => number {
  let s = seed >>> 0;
  return () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32);
}
function poisson(mean: number, rnd: () => number): number {
  let k = 0;
  for (let p = Math.exp(-mean), s = p, u = rnd(); u > s; k++) {
    p *= mean / (k + 1);
    s += p;
  }
  return k;
}

describe('outage serve (real process, embedded default)', () => {
  let serve: ServeProcess;
  const dir = mkdtempSync(join(tmpdir(), 'outage-serve-test-'));
  const catalog = join(dir, 'catalog.yaml');
  // Three hours back, so every report is in the past of the wall clock.
  const t0 = Math.floor((Date.now() - 3 * 3_600_000) / MIN) * MIN;

  before(async () => {
    writeFileSync(catalog, 'services:\n  - id: acme-chat\n    name: Acme Chat\n    dependsOn: [acme-auth]\n  - id: acme-auth\n    name: Acme sign-in\n');
    serve = await startServe([], { CATALOG: catalog, REPORT_API_TOKENS: TOKEN, REPORT_SALT: 'salt-0123456789abcdef' });
  });
  after(async () => {
    await serve?.stop();
  });

  it('turns reports posted to the report API into an incident that the query API returns', async () => {
    const rnd = lcg(7);
    const reports: object[] = [];
    let n = 0;
    const add = (minute: number, count: number) => {
      for (let i = 0; i < count; i++) {
        const ts = new Date(t0 + minute * MIN + Math.floor(rnd() * MIN)).toISOString();
        reports.push({ id: `r-${n}`, ts, service: 'acme-chat', channel: 'api', problem: 'login', author: `user-${n}`, text: 'cannot sign in' });
        n++;
      }
    };
    for (let m = -24 * 60; m < 0; m++) add(m, poisson(3, rnd)); // a day of ordinary background
    for (let m = 0; m < 6; m++) add(m, 80); // the outage
    for (let m = 6; m < 20; m++) add(m, poisson(3, rnd)); // and after it, so its minutes close
    for (let i = 0; i < reports.length; i += 1000) {
      const res = await fetch(`${serve.url}api/v1/reports`, {
        method: 'POST',
        headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
        body: JSON.stringify(reports.slice(i, i + 1000)),
      });
      const text = await res.text();
      assert.equal(res.status, 202, text);
      const body = JSON.parse(text) as { accepted: string[]; refused: unknown[] };
      assert.deepEqual(body.refused, []);
      assert.equal(body.accepted.length, Math.min(1000, reports.length - i));
    }

    const page = await eventually(
      async () => {
        const res = await fetch(`${serve.url}api/v1/incidents?service=acme-chat`);
        const p = (await res.json()) as IncidentPage;
        return p.items.length > 0 ? p : undefined;
      },
      60_000,
      'the incident in GET /api/v1/incidents',
    );
    assert.equal(page.items.length, 1, 'one outage, one incident');
    const inc = page.items[0]!;
    assert.equal(inc.service, 'acme-chat');
    assert.equal(inc.status, 'open');
    const started = Date.parse(inc.startedAt);
    const detected = Date.parse(inc.detectedAt);
    assert.ok(Math.abs(started - t0) <= 2 * MIN, `onset ${inc.startedAt} near ${new Date(t0).toISOString()}`);
    assert.ok(detected >= started && detected <= t0 + 5 * MIN, `detected ${inc.detectedAt} within the outage's first minutes`);
    assert.ok(inc.peakPerMin >= 50 && inc.baselinePerMin < 10, `peak ${inc.peakPerMin} vs baseline ${inc.baselinePerMin}`);

    const res = await fetch(`${serve.url}api/v1/incidents/${encodeURIComponent(inc.id)}`);
    assert.equal(res.status, 200);
    const detail = (await res.json()) as IncidentDetail;
    const peak = Math.max(...detail.series.points.map((p) => p.reports));
    assert.ok(peak >= 50, `the report series shows the spike (max ${peak} per bucket)`);
    assert.ok(detail.revisions.length >= 1 && detail.revisions[0]!.event === 'opened');

    const metrics = await (await fetch(`${serve.url}metrics`)).text();
    assert.match(metrics, /^outage_incidents_open 1$/m);
    assert.match(metrics, /^outage_store_rows_total\{table="reports"\} \d+/m);
  });

  it('refuses a second process on the same data directory, naming the one that holds it', async () => {
    await assert.rejects(
      startServe([], { CATALOG: catalog, OUTAGE_DATA_DIR: serve.dataDir, REPORT_ANONYMOUS: 'true' }, 60_000),
      (err: Error) => {
        assert.match(err.message, /exited with 1/);
        assert.match(err.message, new RegExp(`error: cannot open the chDB data directory .*held by process ${serve.proc.pid}`));
        return true;
      },
    );
  });

  it('refuses a port that is already in use, saying which and what to do', async () => {
    const port = new URL(serve.url).port;
    await assert.rejects(startServe([], { CATALOG: catalog, API_PORT: port, REPORT_ANONYMOUS: 'true' }, 60_000), (err: Error) => {
      assert.match(err.message, new RegExp(`error: port ${port} on 127.0.0.1 is already in use.*set API_PORT`));
      return true;
    });
  });

  it('says what is missing when there is no catalog', async () => {
    await assert.rejects(startServe([], { CATALOG: join(dir, 'nope.yaml') }, 60_000), /error: no catalog: .*nope\.yaml does not exist/);
  });
});

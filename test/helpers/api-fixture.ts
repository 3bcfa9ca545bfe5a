/**
 * A real store for the query API suites: the bundled Teams example and several scenarios of the
 * corpus replayed with `replay()` into one chDB data directory, one after the other (replay closes
 * its store; chDB lets a process open one directory), then opened once for the app.
 *
 * Two small scenarios are made here: leaf-expired cut short (its incident stays open, plus a few
 * broken lines for dead letters) and a few failing probes of cdn on the day before.
 *
 * The scenarios share one catalog (web, api, auth, payments, cdn, blog) and the example has its
 * own (teams, m365-auth, outlook, sharepoint, slack, zoom); the ids do not overlap, so the app
 * gets the union. The example goes last: each replay stores early warnings computed with its own
 * catalog, as of its last event, over the inventory observed by then.
 */
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { replay } from '../../cli/replay.ts';
import { loadCatalog, type Catalog } from '../../lib/catalog.ts';
import { createLogger } from '../../lib/log.ts';
import { openStore, type Store } from '../../lib/store/store.ts';

export const EXAMPLE = 'examples/teams-2020-02-03';
/** Scenarios whose incidents have distinct ids (several web ones share an onset minute). */
export const SCENARIOS = ['control-http-5xx', 'intermediate-expired', 'dependency-cert-expired', 'control-old-expired-unrelated', 'control-expired-no-spike'].map((s) => `test/scenarios/${s}`);
/** leaf-expired cut at this time: its incident is still open at the end of the input. */
export const OPEN_CUT = '2020-03-10T14:20:00.000Z';
export const OPEN_INCIDENT = 'web-20200310T1357Z';
/** A probe of cdn that fails from here on (before any scenario's own probes start). */
export const CDN_DOWN_AT = '2020-03-09T11:50:00.000Z';

export interface ApiFixture {
  tmp: string;
  dataDir: string;
  store: Store;
  catalog: Catalog;
  close(): Promise<void>;
}

const lines = (file: string) => {
  const raw = readFileSync(file);
  return (file.endsWith('.gz') ? gunzipSync(raw) : raw).toString('utf8').split('\n').filter((l) => l.trim() !== '');
};

/**
 * leaf-expired with every line after `OPEN_CUT` dropped (so its incident stays open) and a few
 * broken lines added (so there are dead letters).
 */
function openScenario(tmp: string): string {
  const src = 'test/scenarios/leaf-expired';
  const dir = join(tmp, 'leaf-expired-open');
  cpSync(src, dir, { recursive: true });
  const cut = Date.parse(OPEN_CUT);
  for (const name of ['reports', 'probes']) {
    const kept = lines(join(src, `${name}.ndjson.gz`)).filter((l) => Date.parse((JSON.parse(l) as { ts: string }).ts) < cut);
    rmSync(join(dir, `${name}.ndjson.gz`));
    writeFileSync(join(dir, `${name}.ndjson`), `${kept.join('\n')}\n`);
  }
  rmSync(join(dir, 'expected.yaml'));
  writeFileSync(join(dir, 'reports.ndjson'), '{"id": "broken\n{"id":"r-bad","ts":"2020-03-10T14:00:00Z","service":"web","channel":"fax"}\n', { flag: 'a' });
  return dir;
}

/** Probes only: cdn refuses connections in one region for ten minutes, one check a minute. */
function probeScenario(tmp: string): string {
  const dir = join(tmp, 'cdn-refused');
  mkdirSync(dir);
  cpSync(join(SCENARIOS[0]!, 'catalog.yaml'), join(dir, 'catalog.yaml'));
  const start = Date.parse(CDN_DOWN_AT);
  const probes = Array.from({ length: 10 }, (_, i) => ({
    id: `p-cdn-refused-${i}`,
    ts: new Date(start + i * 60_000 + 1_000).toISOString(),
    probe: 'https-cdn',
    service: 'cdn',
    target: 'https://static.shop.example.com/',
    region: 'eu',
    ok: false,
    durationMs: 3,
    error: { code: 'ECONNREFUSED', message: 'connect ECONNREFUSED 192.0.2.10:443' },
  }));
  writeFileSync(join(dir, 'probes.ndjson'), probes.map((p) => JSON.stringify(p)).join('\n') + '\n');
  return dir;
}

/**
 * @example
 * const fx = await replayedStore();
 * await fx.store.query('SELECT count() FROM incidents FINAL');
 * await fx.close();
 */
export async function replayedStore(): Promise<ApiFixture> {
  const tmp = mkdtempSync(join(tmpdir(), 'outage-api-'));
  const dataDir = join(tmp, 'chdb');
  const logger = createLogger('api-fixture', 'warn');
  for (const dir of [...SCENARIOS, openScenario(tmp), probeScenario(tmp), EXAMPLE]) await replay({ dir, store: { kind: 'chdb', dataDir }, logger });
  const store = await openStore({ kind: 'chdb', dataDir });
  const catalog: Catalog = { services: [...loadCatalog(join(EXAMPLE, 'catalog.yaml')).services, ...loadCatalog(join(SCENARIOS[0]!, 'catalog.yaml')).services] };
  return {
    tmp,
    dataDir,
    store,
    catalog,
    async close() {
      await store.close();
      rmSync(tmp, { recursive: true, force: true });
    },
  };
}

/**
 * Query API latency at scale: 10 M report rows stored on chDB (a week of six services before the
 * bundled example's outage, plus the example itself), `outage serve` holding them in its own
 * process, and sequential HTTP requests from this one. Prints p50/p99 per endpoint and the serve
 * process's RSS. The prepared data directory is cached in `.cache/bench/` (about 1 GB).
 */
import { spawn } from 'node:child_process';
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createLogger } from '../lib/log.ts';
import { openStore } from '../lib/store/store.ts';
import { migrate } from '../lib/store/migrate.ts';
import { settleRange } from '../lib/store/settle.ts';
import { replay } from '../cli/replay.ts';
import { freePort } from '../test/kafka/broker.ts';

export interface ApiRow {
  endpoint: string;
  requests: number;
  p50Ms: number;
  p99Ms: number;
}

const EXAMPLE = 'examples/teams-2020-02-03';
const SERVICES = ['teams', 'outlook', 'm365-auth', 'sharepoint', 'slack', 'zoom'];
/** The week of bulk rows below starts here. */
const WEEK_START = '2020-01-27T00:00:00Z';

async function prepare(dataDir: string, rows: number, log: (s: string) => void): Promise<void> {
  const marker = join(dataDir, `bench-${rows}.done`);
  if (existsSync(marker)) return;
  rmSync(dataDir, { recursive: true, force: true });
  log(`api: replaying ${EXAMPLE} into ${dataDir} …`);
  await replay({ dir: EXAMPLE, store: { kind: 'chdb', dataDir }, logger: createLogger('bench', 'warn') });
  log(`api: inserting ${rows.toLocaleString('en-US')} report rows (a week of ${SERVICES.length} services) …`);
  const store = await openStore({ kind: 'chdb', dataDir });
  try {
    await migrate(store);
    const t0 = performance.now();
    // In slices of 1 M rows so the insert (and the rollup view behind it) stays within memory.
    for (let start = 0; start < rows; start += 1_000_000) {
      await store.command(`
        INSERT INTO reports (id, ts, service, channel, problem, region, text, author, url, extra)
        SELECT concat('bench-', toString(number)),
               toDateTime64('2020-01-27 00:00:00', 3, 'UTC') + toIntervalMillisecond(intDiv(number * 604800000, ${rows})),
               arrayElement([${SERVICES.map((s) => `'${s}'`).join(',')}], (number % ${SERVICES.length}) + 1),
               'web', 'other', 'US', '', concat('a', toString(number % 200000)), '', ''
        FROM numbers(${start}, ${Math.min(1_000_000, rows - start)})`);
    }
    // Written past the sink, below the watermark the example's replay left: settled here.
    await settleRange(store, Date.parse(WEEK_START), Date.parse(WEEK_START) + 7 * 86_400_000);
    log(`api: inserted and settled in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  } finally {
    await store.close();
  }
  writeFileSync(marker, new Date().toISOString());
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

export async function apiBench(cacheDir: string, log: (s: string) => void, rows = 10_000_000): Promise<{ rows: ApiRow[]; rssMb: number; peakRssMb: number; storedRows: number }> {
  const dataDir = join(cacheDir, `api-chdb-${rows}`);
  await prepare(dataDir, rows, log);
  const port = await freePort();
  const proc = spawn(process.execPath, ['bin/outage.js', 'serve', '--no-live'], {
    env: { ...process.env, LOG_LEVEL: 'warn', OUTAGE_DATA_DIR: dataDir, CATALOG: join(EXAMPLE, 'catalog.yaml'), API_PORT: String(port), API_RATE_PER_MIN: '1000000' },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  const base = `http://127.0.0.1:${port}`;
  try {
    for (let i = 0; ; i++) {
      if (await fetch(`${base}/readyz`).then((r) => r.ok, () => false)) break;
      if (i > 600 || proc.exitCode !== null) throw new Error('outage serve did not become ready');
      await new Promise((r) => setTimeout(r, 200));
    }
    const endpoints: [string, string][] = [
      ['incident list', '/api/v1/incidents?limit=50'],
      ['one incident (hints, timeline, series, probes, certificates)', '/api/v1/incidents/teams-20200203T1340Z'],
      ['report series, 24 h at 5 min, with baseline', '/api/v1/services/teams/series?from=2020-02-02T14:00:00Z&to=2020-02-03T14:00:00Z&step=300'],
      ['services with state', '/api/v1/services'],
    ];
    const out: ApiRow[] = [];
    for (const [endpoint, path] of endpoints) {
      const first = await fetch(base + path);
      if (!first.ok) throw new Error(`${path}: ${first.status} ${await first.text()}`);
      await first.arrayBuffer();
      for (let i = 0; i < 10; i++) await (await fetch(base + path)).arrayBuffer();
      const times: number[] = [];
      for (let i = 0; i < 200; i++) {
        const t0 = performance.now();
        const res = await fetch(base + path);
        await res.arrayBuffer();
        times.push(performance.now() - t0);
      }
      times.sort((a, b) => a - b);
      out.push({ endpoint: `${endpoint}: \`GET ${path}\``, requests: times.length, p50Ms: percentile(times, 50), p99Ms: percentile(times, 99) });
      log(`api: ${path}: p50 ${percentile(times, 50).toFixed(1)} ms, p99 ${percentile(times, 99).toFixed(1)} ms`);
    }
    const status = readFileSync(`/proc/${proc.pid}/status`, 'utf8');
    const kb = (field: string) => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? NaN);
    return { rows: out, rssMb: kb('VmRSS') / 1024, peakRssMb: kb('VmHWM') / 1024, storedRows: rows };
  } finally {
    proc.kill('SIGTERM');
    await new Promise((r) => proc.once('exit', r));
  }
}

/**
 * One benchmark measurement in its own process (see bench/run.ts); prints one JSON line:
 * `{ events, seconds, cpuSeconds, maxRssMb, bytes? }` (CPU time too: wall time on a shared machine moves with
 * what else runs).
 *
 *   raw <dir>              read every NDJSON file and JSON.parse each line, nothing else
 *   correlator <dir>       the scenario reader (parse + validate) driving the correlator core
 *   replay <dir> <chdb>    the whole embedded pipeline into chDB, as `outage replay` runs it
 *   raw-store <dir> <chdb> the replay's reference: `raw`, plus each event's row (the sink's row
 *                          builders of lib/store/rows.ts) inserted into chDB with its own
 *                          zero-copy insert (`chdb/connection`'s `rawInsert`, as the embedded store
 *                          inserts), JSONEachRow in inserts of 10,000 rows, into the project's own
 *                          tables (the migrations' statements, rollup views included); no bus,
 *                          correlator, validation or settling
 *   chdb-floor <dir> <chdb> a floor under any replay into chDB: every line of the files handed to
 *                          chDB as it is (zero-copy, JSONEachRow, inserts of 10,000 lines) into the
 *                          project's tables, nothing parsed or built in JavaScript; columns a line
 *                          does not name as the table does (the probes' camelCase) are skipped, so
 *                          chDB does less than for the real rows
 *   scale <dir>            as `correlator`, also timing the reports after the certificate table
 *                          is loaded on their own (`reports`, `reportSeconds`, `reportCpuSeconds`)
 */
import { join } from 'node:path';
import { scenarioInputs } from '../lib/scenario/read.ts';
import { rawLines } from './raw-lines.ts';

// Each mode imports only what it runs, so peak RSS does not count modules it never uses
// (the chDB engine alone maps a few hundred MB).

/** The part of chDB's own connection API the references use (chdb/connection's `.chdb`). */
interface ChdbExtension {
  queryAsync(sql: string): Promise<unknown>;
  rawInsert(p: { table: string; values: Buffer; format: 'JSONEachRow'; settings: Record<string, string | number> }): Promise<unknown>;
}

const [mode, dir, dataDir] = process.argv.slice(2) as [string, string, string | undefined];
const cpuSecondsNow = () => {
  const u = process.resourceUsage();
  return (u.userCPUTime + u.systemCPUTime) / 1e6;
};
/** When the first report was stepped (scale mode): time, CPU and events before it. */
let reportsFrom: { at: number; cpu: number; events: number } | undefined;
const started = performance.now();
let events = 0;
const bytes = scenarioInputs(dir).reduce((s, i) => s + i.bytes, 0);

if (mode === 'raw') {
  for (const input of scenarioInputs(dir)) {
    for await (const lines of rawLines(input.path)) {
      for (const line of lines) JSON.parse(line);
      events += lines.length;
    }
  }
} else if (mode === 'correlator' || mode === 'scale') {
  const { loadCatalog } = await import('../lib/catalog.ts');
  const { readScenario } = await import('../lib/scenario/read.ts');
  const { CorrelatorCore, eventOf } = await import('../services/correlator/core/correlator.ts');
  const core = new CorrelatorCore(loadCatalog(join(dir, 'catalog.yaml')));
  for await (const chunk of readScenario(dir)) {
    for (const e of chunk) {
      const event = eventOf(e.topic, e.value)!;
      if (event.kind === 'report' && reportsFrom === undefined) reportsFrom = { at: performance.now(), cpu: cpuSecondsNow(), events };
      event.tsMs = e.tsMs;
      core.step(event);
      events++;
    }
  }
} else if (mode === 'raw-store' || mode === 'chdb-floor') {
  const { mkdirSync } = await import('node:fs');
  const { createChdbConnection } = await import('chdb/connection');
  const { MIGRATIONS_TABLE } = await import('../lib/store/migrate.ts');
  const { loadMigrations } = await import('../lib/store/migrations.ts');
  const { certRow, postRow, probeRow, reportRow } = await import('../lib/store/rows.ts');
  type Row = Record<string, unknown>;
  // As lib/store/store.ts opens chDB and inserts on it (ISO timestamps need best_effort).
  mkdirSync(dataDir!, { recursive: true });
  const chdb = (createChdbConnection({ path: dataDir! }) as unknown as { chdb: ChdbExtension }).chdb;
  for (const sql of [MIGRATIONS_TABLE, ...loadMigrations().flatMap((m) => m.statements)]) await chdb.queryAsync(sql);
  const tables = {
    reports: { table: 'reports', row: reportRow as (v: never) => Row },
    posts: { table: 'status_posts', row: postRow as (v: never) => Row },
    probes: { table: 'probe_results', row: probeRow as (v: never) => Row },
    certs: { table: 'cert_observations', row: certRow as (v: never) => Row },
  } as const;
  // The reference stores each event's row; the floor, the line as it is (skipping what no column is named).
  const floor = mode === 'chdb-floor';
  const settings = { date_time_input_format: 'best_effort', ...(floor ? { input_format_skip_unknown_fields: 1 } : {}) };
  const INSERT_ROWS = 10_000;
  for (const input of scenarioInputs(dir)) {
    const { table, row } = tables[input.topic as keyof typeof tables];
    let values: string[] = [];
    const flush = async () => {
      if (values.length === 0) return;
      await chdb.rawInsert({ table, values: Buffer.from(values.join('\n')), format: 'JSONEachRow', settings });
      events += values.length;
      values = [];
    };
    for await (const lines of rawLines(input.path)) {
      for (const line of lines) {
        values.push(floor ? line : JSON.stringify(row(JSON.parse(line) as never)));
        if (values.length === INSERT_ROWS) await flush();
      }
    }
    await flush();
  }
} else if (mode === 'replay') {
  const { replay } = await import('../cli/replay.ts');
  const { createLogger } = await import('../lib/log.ts');
  const r = await replay({ dir, store: { kind: 'chdb', dataDir: dataDir! }, logger: createLogger('bench', 'warn') });
  events = r.events.reports + r.events.posts + r.events.probes + r.events.certs;
} else {
  throw new Error(`unknown mode ${mode}`);
}

const seconds = (performance.now() - started) / 1000;
const usage = process.resourceUsage();
const cpuSeconds = (usage.userCPUTime + usage.systemCPUTime) / 1e6;
const reports =
  mode === 'scale' && reportsFrom
    ? { reports: events - reportsFrom.events, reportSeconds: (performance.now() - reportsFrom.at) / 1000, reportCpuSeconds: cpuSeconds - reportsFrom.cpu }
    : {};
process.stdout.write(`${JSON.stringify({ events, seconds, cpuSeconds, maxRssMb: usage.maxRSS / 1024, bytes, ...reports })}\n`);

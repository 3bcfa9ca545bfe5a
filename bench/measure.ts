/**
 * One benchmark measurement in its own process (see bench/run.ts); prints one JSON line:
 * `{ events, seconds, cpuSeconds, maxRssMb, bytes? }` (CPU time too: wall time on a shared machine moves with
 * what else runs).
 *
 *   raw <dir>              read every NDJSON file and JSON.parse each line, nothing else
 *   correlator <dir>       the scenario reader (parse + validate) driving the correlator core
 *   replay <dir> <chdb>    the whole embedded pipeline into chDB, as `outage replay` runs it
 *   scale <dir>            as `correlator`, also timing the reports after the certificate table
 *                          is loaded on their own (`reports`, `reportSeconds`, `reportCpuSeconds`)
 */
import { createReadStream } from 'node:fs';
import { join } from 'node:path';
import { createGunzip } from 'node:zlib';
import { scenarioInputs } from '../lib/scenario/read.ts';
import type { CorrelatorEvent } from '../services/correlator/core/correlator.ts';

// Each mode imports only what it runs, so peak RSS does not count modules it never uses
// (the chDB engine alone maps a few hundred MB).

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
    const raw = createReadStream(input.path, { highWaterMark: 1 << 20 });
    const stream = input.path.endsWith('.gz') ? raw.pipe(createGunzip()) : raw;
    let rest = '';
    for await (const chunk of stream) {
      const lines = (rest + chunk.toString('utf8')).split('\n');
      rest = lines.pop()!;
      for (const line of lines) if (line) {
        JSON.parse(line);
        events++;
      }
    }
    if (rest) {
      JSON.parse(rest);
      events++;
    }
  }
} else if (mode === 'correlator' || mode === 'scale') {
  const { loadCatalog } = await import('../lib/catalog.ts');
  const { readScenario } = await import('../lib/scenario/read.ts');
  const { CorrelatorCore } = await import('../services/correlator/core/correlator.ts');
  const core = new CorrelatorCore(loadCatalog(join(dir, 'catalog.yaml')));
  const kinds = { reports: 'report', posts: 'post', probes: 'probe', certs: 'cert' } as const;
  for await (const chunk of readScenario(dir)) {
    for (const e of chunk) {
      const kind = kinds[e.topic as keyof typeof kinds];
      if (kind === 'report' && reportsFrom === undefined) reportsFrom = { at: performance.now(), cpu: cpuSecondsNow(), events };
      core.step({ kind, value: e.value, tsMs: e.tsMs } as CorrelatorEvent);
      events++;
    }
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

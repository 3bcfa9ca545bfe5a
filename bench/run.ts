/**
 * `npm run bench`: replay throughput at the scale of DESIGN.md §8, next to the raw rate of
 * reading and parsing the same NDJSON, measured in one run, with peak memory.
 *
 *   npm run bench                 # 12 services, 7 days, ~1 M reports (generated once, cached)
 *   npm run bench -- --quick      # 6 services, 2 days: a smoke run
 *   npm run bench -- --only api   # query API latency over 10 M stored reports
 *   npm run bench -- --only detector   # false alarms and detection delay on generated count series
 *   npm run bench -- --only faults  # recovery times and throughput through a broker restart
 *   npm run bench -- --only calibration   # reliability and Brier score of the hints on generated incidents
 *   npm run bench -- --only correlator    # raw read + JSON.parse and the correlator alone (of `embedded`)
 *   npm run bench -- --only scale  # the correlator holding 1,000 and 10,000 services (10 certificates each)
 *
 * Each measurement runs in its own process so peak RSS belongs to it alone, from the JavaScript
 * build (tsconfig.bench.json: the image's build plus bench/measure.ts, compiled once per run into
 * .cache/bench/dist), as the image runs the services: no TypeScript loader in the figures, the
 * raw reference included.
 */
import { execFileSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { cpus, totalmem } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Command } from 'commander';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const opts = new Command()
  .option('--quick', 'small scenario (6 services, 2 days)')
  .option('--services <n>', 'services', (v) => Number(v), 12)
  .option('--days <n>', 'days', (v) => Number(v), 7)
  .option('--rate <n>', 'peak reports per minute of the busiest service', (v) => Number(v), 62)
  .option('--only <part>', 'embedded | correlator | scale | kafka | faults | api | detector | calibration (default: all)')
  .option('--detector-series <n>', 'background and outage series of the detector part (each)', (v) => Number(v), 150)
  .option('--calibration-scenarios <n>', 'generated incident scenarios of the calibration part', (v) => Number(v), 200)
  .option('--seed <n>', 'seed of the calibration part', (v) => Number(v), 1)
  .parse()
  .opts<{ quick?: boolean; services: number; days: number; rate: number; only?: 'embedded' | 'correlator' | 'scale' | 'kafka' | 'faults' | 'api' | 'detector' | 'calibration'; detectorSeries: number; calibrationScenarios: number; seed: number }>();
if (opts.quick) Object.assign(opts, { services: 6, days: 2, rate: 40, detectorSeries: 30, calibrationScenarios: 40 });

interface Measurement {
  events: number;
  seconds: number;
  cpuSeconds: number;
  maxRssMb: number;
  bytes?: number;
  reports?: number;
  reportSeconds?: number;
  reportCpuSeconds?: number;
}

const DIST = join(ROOT, '.cache/bench/dist');
let built = false;
/** `nodeFlags`: V8 options for the measured process (a deployment choice measured beside the default). */
function measure(mode: string, dir: string, extra: string[] = [], nodeFlags: string[] = []): Measurement {
  if (!built) {
    // Inside the checkout, so that the build resolves node_modules as the sources do.
    rmSync(DIST, { recursive: true, force: true });
    execFileSync(process.execPath, [createRequire(import.meta.url).resolve('typescript/bin/tsc'), '-p', join(ROOT, 'tsconfig.bench.json'), '--outDir', DIST], { cwd: ROOT, stdio: 'inherit' });
    // What the code reads at run time, as bin/build.js copies it (the replay's DDL).
    cpSync(join(ROOT, 'schemas/clickhouse'), join(DIST, 'schemas/clickhouse'), { recursive: true });
    built = true;
  }
  const out = execFileSync(process.execPath, [...nodeFlags, join(DIST, 'bench/measure.js'), mode, dir, ...extra], {
    cwd: ROOT,
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'inherit'],
    maxBuffer: 1 << 24,
  });
  return JSON.parse(out.trim().split('\n').pop()!) as Measurement;
}

const dir = join(ROOT, '.cache/bench', `s${opts.services}-d${opts.days}-r${opts.rate}`);
if (opts.only !== 'api' && opts.only !== 'detector' && opts.only !== 'faults' && opts.only !== 'calibration' && opts.only !== 'scale' && !existsSync(join(dir, 'catalog.yaml'))) {
  process.stderr.write(`generating the benchmark scenario in ${dir} …\n`);
  mkdirSync(dir, { recursive: true });
  execFileSync(process.execPath, ['bin/outage.js', 'generate', dir, '--services', String(opts.services), '--days', String(opts.days), '--rate', String(opts.rate), '--seed', '8'], {
    cwd: ROOT,
    stdio: ['ignore', 'ignore', 'inherit'],
  });
}

const rate = (m: { events: number; seconds: number }) => m.events / m.seconds;
const fmt = (n: number) => Math.round(n).toLocaleString('en-US');
const cpu = cpus()[0]?.model ?? 'unknown CPU';
const log = (s: string) => process.stderr.write(`${s}\n`);
const out: string[] = [];

// V8 lets the heap grow up to 4× what is live between full collections; a smaller growth step is
// the deployment's way to trade CPU for peak memory on a small node, measured beside the default.
const HEAP_GROWTH = '--heap-growing-percent=30';

if (opts.only === undefined || opts.only === 'embedded' || opts.only === 'correlator') {
  const dataDir = join(ROOT, '.cache/bench/chdb');
  log('raw read + JSON.parse …');
  const raw = measure('raw', dir);
  log('correlator (read, validate, correlate; no store) …');
  const core = measure('correlator', dir);
  log(`correlator, node ${HEAP_GROWTH} …`);
  const coreSmallHeap = measure('correlator', dir, [], [HEAP_GROWTH]);
  let full: Measurement | undefined;
  let rawStore: Measurement | undefined;
  let floor: Measurement | undefined;
  if (opts.only !== 'correlator') {
    // The replay's own reference: the same rows into the same tables by plain @clickhouse/client.
    log('raw read + parse + chDB insert of the same rows (reference) …');
    rmSync(dataDir, { recursive: true, force: true });
    rawStore = measure('raw-store', dir, [dataDir]);
    rmSync(dataDir, { recursive: true, force: true });
    // The storage engine's own floor: the lines as they are, nothing done in JavaScript.
    log("chDB alone: the files' lines inserted as they are (floor) …");
    floor = measure('chdb-floor', dir, [dataDir]);
    rmSync(dataDir, { recursive: true, force: true });
    log('full replay (embedded bus, correlator, sink into chDB) …');
    full = measure('replay', dir, [dataDir]);
    rmSync(dataDir, { recursive: true, force: true });
  }
  const row = (name: string, m: Measurement, toStore?: Measurement) =>
    `| ${name} | ${fmt(m.events)} | ${m.seconds.toFixed(1)} s | ${m.cpuSeconds.toFixed(1)} s | ${fmt(rate(m))} | ${(rate(m) / rate(raw)).toFixed(2)} | ${toStore ? (rate(m) / rate(toStore)).toFixed(2) : '—'} | ${fmt(m.maxRssMb)} MB |`;
  out.push(
    `Scenario: ${opts.services} services, ${opts.days} days, ${(raw.bytes! / 1e6).toFixed(0)} MB of NDJSON; ${cpus().length} cores (${cpu}), ${(totalmem() / 2 ** 30).toFixed(0)} GiB, Node ${process.version}`,
    '',
    'Embedded (one process, in-process bus):',
    '',
    '| stage | events | time | CPU time | events/s | ratio to raw | ratio to raw + chDB insert | peak RSS |',
    '|---|---|---|---|---|---|---|---|',
    row('raw read + JSON.parse (baseline)', raw),
    row('correlator replay, no store', core),
    row(`correlator replay, no store (\`node ${HEAP_GROWTH}\`)`, coreSmallHeap),
    ...(rawStore ? [row('raw read + parse + chDB insert of the same rows (reference)', rawStore, rawStore)] : []),
    ...(floor && rawStore ? [row("chDB alone, the files' lines as they are (floor of any replay into chDB)", floor, rawStore)] : []),
    ...(full ? [row('full replay into chDB', full, rawStore)] : []),
    '',
  );
}

if (opts.only === undefined || opts.only === 'scale') {
  // One day at the default rate and no probes (10,000 services probed each minute would be 14 M
  // probe results a day); ten certificates per service, all loaded before the first report.
  const { writeCertificates } = await import('../lib/scenario/generate.ts');
  const rows: string[] = [];
  for (const services of [1_000, 10_000]) {
    const certs = 10 * services;
    const sdir = join(ROOT, '.cache/bench', `scale-s${services}-d1-r20-c${certs}`);
    if (!existsSync(join(sdir, 'certs.ndjson'))) {
      log(`generating ${services} services, ${certs} certificates in ${sdir} …`);
      mkdirSync(sdir, { recursive: true });
      execFileSync(process.execPath, ['bin/outage.js', 'generate', sdir, '--services', String(services), '--days', '1', '--rate', '20', '--probe-regions', '0', '--no-outage', '--seed', '8'], {
        cwd: ROOT,
        stdio: ['ignore', 'ignore', 'inherit'],
      });
      await writeCertificates(sdir, { services, certificates: certs, seed: 9, startIso: '2020-01-27T00:00:00Z' });
    }
    for (const flags of services === 10_000 ? [[], [HEAP_GROWTH]] : [[]]) {
      log(`correlator holding ${services} services${flags.length ? ` (node ${flags.join(' ')})` : ''} …`);
      const m = measure('scale', sdir, [], flags);
      const perReport = (m.reportCpuSeconds! * 1e6) / m.reports!;
      rows.push(
        `| ${fmt(services)}${flags.length ? ` (\`${flags.join(' ')}\`)` : ''} | ${fmt(certs)} | ${fmt(m.events)} | ${m.seconds.toFixed(1)} s | ${m.cpuSeconds.toFixed(1)} s | ${fmt(rate(m))} | ${fmt(m.reports!)} | ${perReport.toFixed(2)} µs | ${fmt(m.maxRssMb)} MB |`,
      );
    }
  }
  out.push(
    'Correlator at scale (scenario reader with validation driving the core, no store; `outage generate` one day at `--rate 20`, no probes, plus ten certificates per service):',
    '',
    '| services | certificates | events | time | CPU time | events/s | reports | CPU per report | peak RSS |',
    '|---|---|---|---|---|---|---|---|---|',
    ...rows,
    '',
  );
}

if (opts.only === undefined || opts.only === 'kafka') {
  const { kafkaBench } = await import('./kafka.ts');
  const rows = await kafkaBench(dir, join(ROOT, '.cache/bench'), log);
  const base = (r: (typeof rows)[number]) => rows.find((b) => b.baseline && b.reference === r.reference)!;
  out.push(
    `Kafka ${(await import('../test/kafka/broker.ts')).KAFKA_VERSION} (single broker on this machine), services as separate processes:`,
    '',
    '| stage | events | time | events/s | ratio to raw kafkajs (producer or consumer) | peak RSS |',
    '|---|---|---|---|---|---|',
    ...rows.map((r) => `| ${r.stage} | ${fmt(r.events)} | ${r.seconds.toFixed(1)} s | ${fmt(rate(r))} | ${(rate(r) / rate(base(r))).toFixed(2)} | ${r.maxRssMb ? `${fmt(r.maxRssMb)} MB` : '—'} |`),
    '',
  );
}
if (opts.only === undefined || opts.only === 'kafka' || opts.only === 'faults') {
  const { faultBench } = await import('./faults.ts');
  const r = await faultBench(log);
  const undisturbed = r.rows[0]!;
  out.push(
    `Faults on Kafka (a broker of its own, correlator and sink processes; ${r.scenario}, published with \`outage publish\` while both run; time from the first message sent to both groups caught up):`,
    '',
    '| run | events | time | events/s | ratio to undisturbed | recovery (kill → caught up) |',
    '|---|---|---|---|---|---|',
    ...r.rows.map(
      (f) =>
        `| ${f.fault} | ${fmt(f.events)} | ${f.seconds.toFixed(1)} s | ${fmt(rate(f))} | ${(rate(f) / rate(undisturbed)).toFixed(2)} | ${f.recoverySeconds !== undefined ? `${f.recoverySeconds.toFixed(1)} s` : '—'} |`,
    ),
    '',
  );
}
if (opts.only === undefined || opts.only === 'api') {
  const { apiBench } = await import('./api.ts');
  const rows = opts.quick ? 1_000_000 : 10_000_000;
  const r = await apiBench(join(ROOT, '.cache/bench'), log, rows);
  out.push(
    `Query API of \`outage serve\` (chDB, ${fmt(r.storedRows)} generated report rows plus the bundled example; sequential requests over loopback from another process); serve RSS ${fmt(r.rssMb)} MB after the run, peak ${fmt(r.peakRssMb)} MB:`,
    '',
    '| endpoint | requests | p50 | p99 |',
    '|---|---|---|---|',
    ...r.rows.map((a) => `| ${a.endpoint} | ${a.requests} | ${a.p50Ms.toFixed(1)} ms | ${a.p99Ms.toFixed(1)} ms |`),
    '',
  );
}
if (opts.only === undefined || opts.only === 'detector') {
  const { detectorBench } = await import('./detector.ts');
  out.push(...detectorBench({ series: opts.detectorSeries, seed: 1, log }));
}
if (opts.only === undefined || opts.only === 'calibration') {
  const { calibrationBench } = await import('./calibration.ts');
  out.push(...calibrationBench({ scenarios: opts.calibrationScenarios, seed: opts.seed, log }));
}
process.stdout.write(`${out.join('\n')}\n`);

/**
 * The `outage` command line. Each subcommand reads its configuration (flags, then environment via
 * `lib/config.ts`), wires adapters and calls into the services; `--help` works everywhere.
 */
import { readFileSync } from 'node:fs';
import { Command, Option } from 'commander';
import type { LevelWithSilent } from 'pino';
import cliProgress from 'cli-progress';
import { loadCatalog, CatalogError } from '../lib/catalog.ts';
import { ConfigError, loadEnv, p12Passwords as p12PasswordsOf, storeConfig } from '../lib/config.ts';
import { createLogger } from '../lib/log.ts';
import { migrate } from '../lib/store/migrate.ts';
import { openStore } from '../lib/store/store.ts';
import { replay } from './replay.ts';
import { formatSummary } from './summary.ts';
import { generateScenario } from '../lib/scenario/generate.ts';
import { feedScenario } from '../lib/scenario/feed.ts';
import { KafkaBus } from '../lib/bus/kafka-bus.ts';

const program = new Command()
  .name('outage')
  .description('Outage detection and correlation: user reports, probes and certificates joined into incidents with ranked root-cause hints')
  .showHelpAfterError();

program
  .command('replay')
  .description('replay a scenario directory through the whole pipeline (embedded bus; chDB unless CLICKHOUSE_URL is set) and print every incident')
  .argument('<dir>', 'scenario directory: catalog.yaml and any of reports/posts/probes/certs .ndjson(.gz), certs/')
  .addOption(new Option('--format <format>', 'output format').choices(['summary', 'ndjson']).default('summary'))
  .option('--data-dir <dir>', 'chDB data directory (default: OUTAGE_DATA_DIR or ./data/chdb)')
  .option('--quiet', 'no progress output')
  .action(async (dir: string, opts: { format: 'summary' | 'ndjson'; dataDir?: string; quiet?: boolean }) => {
    const env = loadEnv();
    const logger = createLogger('replay', env.LOG_LEVEL === 'info' ? 'warn' : (env.LOG_LEVEL as LevelWithSilent));
    const store = opts.dataDir ? { kind: 'chdb' as const, dataDir: opts.dataDir } : storeConfig(env);
    const bar =
      !opts.quiet && process.stderr.isTTY
        ? new cliProgress.SingleBar(
            { stream: process.stderr, format: 'replay [{bar}] {percentage}% | {value}/{total} MB | {duration}s', hideCursor: true },
            cliProgress.Presets.shades_classic,
          )
        : undefined;
    let barStarted = false;
    let lastTenth = 0;
    const started = performance.now();
    const result = await replay({
      dir,
      store,
      logger,
      onInputError: (e) => process.stderr.write(`${e.file}:${e.line}: skipped (${e.reason}): ${e.detail}\n`),
      onProgress: (read, total) => {
        if (opts.quiet) return;
        if (!bar) {
          // Not a terminal (CI logs, pipes): a line per tenth of a large input instead of a bar.
          const tenth = Math.floor((read / total) * 10);
          if (total >= 50e6 && tenth > lastTenth) process.stderr.write(`replay: ${tenth * 10}% of ${Math.round(total / 1e6)} MB read\n`);
          lastTenth = Math.max(lastTenth, tenth);
          return;
        }
        if (total < 5e6) return;
        if (!barStarted) {
          bar.start(Math.round(total / 1e6), 0);
          barStarted = true;
        }
        bar.update(Math.round(read / 1e6));
      },
    });
    if (barStarted) bar!.stop();
    const seconds = (performance.now() - started) / 1000;
    if (opts.format === 'ndjson') {
      for (const i of result.incidents) process.stdout.write(`${JSON.stringify(i)}\n`);
    } else {
      process.stdout.write(`${formatSummary(result, seconds)}\n`);
    }
  });

program
  .command('publish')
  .description('publish a scenario directory to Kafka (KAFKA_BROKERS) in event-time order, for the services running as their own processes')
  .argument('<dir>', 'scenario directory (as for replay)')
  .action(async (dir: string) => {
    const env = loadEnv();
    if (!env.KAFKA_BROKERS) throw new ConfigError('KAFKA_BROKERS is not set: publish sends the scenario to a Kafka cluster');
    const logger = createLogger('publish', env.LOG_LEVEL as LevelWithSilent);
    const bus = new KafkaBus({ brokers: env.KAFKA_BROKERS.split(','), clientId: `${env.KAFKA_CLIENT_ID}-publish`, logger, topicPrefix: env.KAFKA_TOPIC_PREFIX });
    try {
      await bus.ensureTopics();
      const started = performance.now();
      const r = await feedScenario({ dir, bus, onInputError: (e) => process.stderr.write(`${e.file}:${e.line}: skipped (${e.reason}): ${e.detail}\n`) });
      const e = r.events;
      process.stdout.write(
        `published ${e.reports} reports, ${e.posts} status posts, ${e.probes} probe results, ${e.certs} certificate observations to ${env.KAFKA_BROKERS} in ${((performance.now() - started) / 1000).toFixed(1)} s\n`,
      );
    } finally {
      await bus.close();
    }
  });

program
  .command('probe')
  .description('run one check (https://, tls://host:port, tcp://host:port, dns://host) and print the result and the presented certificate chain')
  .argument('<target>', 'e.g. https://teams.microsoft.com/ or tls://login.microsoftonline.com:443')
  .option('--ca <file>', 'PEM file of extra trusted roots')
  .option('--ip <address>', 'connect to this address instead of resolving the host')
  .option('--servername <name>', 'TLS SNI name, when it differs from the host')
  .option('--timeout <ms>', 'timeout', (v) => Number(v), 10_000)
  .option('--json', 'print the ProbeResult and chain as JSON')
  .action(async (target: string, opts: { ca?: string; ip?: string; servername?: string; timeout: number; json?: boolean }) => {
    const { runProbe, specFor } = await import('../services/prober/probes/index.ts');
    const { formatProbe } = await import('./probe.ts');
    let spec;
    try {
      spec = specFor(target, 'adhoc', {
        timeoutMs: opts.timeout,
        ...(opts.ca ? { ca: readFileSync(opts.ca, 'utf8') } : {}),
        ...(opts.ip ? { ipOverride: opts.ip } : {}),
        ...(opts.servername ? { servername: opts.servername } : {}),
      });
    } catch (err) {
      throw new ConfigError((err as Error).message);
    }
    const outcome = await runProbe(spec);
    process.stdout.write(opts.json ? `${JSON.stringify(outcome, null, 2)}\n` : `${formatProbe(outcome, Date.now())}\n`);
    if (!outcome.result.ok) process.exitCode = 2;
  });

const certs = program.command('certs').description('certificate inventory and early warnings');
certs
  .command('scan')
  .description('scan files, directories and URLs (PEM, DER, PKCS#7, PKCS#12, JWKS, Kubernetes secrets and kubeconfig, CT search results) and print the inventory sorted by expiry, with the services each certificate serves')
  .argument('<paths...>', 'files, directories or http(s):// URLs')
  .option('--catalog <file>', 'catalog to map certificates to services (default: CATALOG when that file exists)')
  .option('--p12-password <file=password>', 'PKCS#12 password for a file name, or *=password for any (repeatable)', (v: string, prev: string[]) => [...prev, v], [] as string[])
  .option('--json', 'one JSON object per certificate (observation, daysLeft, services) instead of the table')
  .action(async (paths: string[], opts: { catalog?: string; p12Password: string[]; json?: boolean }) => {
    const { scanCertDir, scanUrls } = await import('../lib/certs/scan.ts');
    const { serviceLinks } = await import('../lib/certs/services.ts');
    const { formatInventory, inventoryRows } = await import('./certs.ts');
    const { existsSync, statSync } = await import('node:fs');
    const { dirname } = await import('node:path');
    const env = loadEnv();
    const p12Passwords = p12PasswordsOf({ ...env, CERT_P12_PASSWORDS: [env.CERT_P12_PASSWORDS, ...opts.p12Password].filter(Boolean).join(',') || undefined });
    const ts = new Date().toISOString();
    const results = [];
    for (const p of paths) {
      if (/^https?:\/\//.test(p)) results.push(await scanUrls([p], ts, { p12Passwords }));
      else if (!existsSync(p)) throw new ConfigError(`${p}: no such file or directory`);
      else results.push(await scanCertDir(p, ts, statSync(p).isDirectory() ? p : dirname(p), { p12Passwords }));
    }
    const observations = results.flatMap((r) => r.observations);
    for (const e of results.flatMap((r) => r.errors)) process.stderr.write(`${e.file}:${e.line}: ${e.message}\n`);
    const catalogFile = opts.catalog ?? (existsSync(env.CATALOG) ? env.CATALOG : undefined);
    const links = catalogFile ? serviceLinks(loadCatalog(catalogFile), observations) : new Map();
    const rows = inventoryRows(observations, links, Date.now());
    if (opts.json) for (const r of rows) process.stdout.write(`${JSON.stringify(r)}\n`);
    else process.stdout.write(`${formatInventory(rows, Date.now())}\n${rows.length} certificate(s)${catalogFile ? ` mapped with ${catalogFile}` : ''}\n`);
    if (results.some((r) => r.errors.length > 0)) process.exitCode = 2;
  });

program
  .command('detect')
  .description('backtest the report-spike detector on a count series: reads timestamp,value CSV (fixed buckets: 1, 5, 15 … minutes), writes timestamp,value,anomaly_score,alarm')
  .argument('<file.csv>', 'CSV with a timestamp (ISO-8601, or epoch seconds or milliseconds) and a count per row; a header line is allowed')
  .option('--bucket <minutes>', 'bucket size (default: the most common step in the file)', (v) => Number(v))
  .option('--out <file>', 'write the CSV here instead of stdout')
  .action(async (file: string, opts: { bucket?: number; out?: string }) => {
    const { backtest, bucketMinutesOf } = await import('../services/correlator/core/backtest.ts');
    const { defaultParams } = await import('../services/correlator/core/params.ts');
    const { writeFileSync } = await import('node:fs');
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch (err) {
      throw new ConfigError(`${file}: cannot read (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
    }
    const rows: { tsMs: number; value: number }[] = [];
    text.split(/\r?\n/).forEach((line, i) => {
      if (line.trim() === '') return;
      const [t, v] = line.split(',').map((x) => x.trim().replace(/^"|"$/g, ''));
      const tsMs = /^\d{13}$/.test(t ?? '') ? Number(t) : /^\d{9,10}$/.test(t ?? '') ? Number(t) * 1000 : Date.parse(t ?? '');
      const value = Number(v);
      if (Number.isNaN(tsMs) || v === undefined || v === '' || !Number.isFinite(value) || value < 0) {
        if (i > 0 || !Number.isNaN(Number(v))) process.stderr.write(`${file}:${i + 1}: skipped: expected timestamp,count, got "${line.slice(0, 80)}"\n`);
        return;
      }
      rows.push({ tsMs, value });
    });
    rows.sort((a, b) => a.tsMs - b.tsMs);
    if (rows.length === 0) throw new ConfigError(`${file}: no timestamp,count rows`);
    const bucket = opts.bucket ?? bucketMinutesOf(rows);
    if (!Number.isFinite(bucket) || bucket <= 0 || !Number.isInteger(1440 / bucket)) throw new ConfigError(`bucket of ${bucket} minutes: it must divide a day (1, 5, 15, 60 …)`);
    const scored = backtest(rows, defaultParams.detector, bucket);
    const csv = ['timestamp,value,anomaly_score,alarm', ...scored.map((r) => `${new Date(r.tsMs).toISOString()},${r.value},${r.score},${r.alarm ? 1 : 0}`)].join('\n') + '\n';
    if (opts.out) writeFileSync(opts.out, csv);
    else process.stdout.write(csv);
    const alarms = scored.filter((r) => r.alarm).length;
    process.stderr.write(`${rows.length} buckets of ${bucket} min, ${alarms} alarmed (parameters: services/correlator/core/params.ts)\n`);
  });

certs
  .command('warnings')
  .description('early warnings from the stored inventory: certificates expiring within their horizons (or expired), with blast radius and undeployed renewals; stores them in cert_warnings')
  .option('--at <iso>', 'as of this time (default: now)')
  .option('--data-dir <dir>', 'chDB data directory (default: OUTAGE_DATA_DIR or ./data/chdb)')
  .option('--json', 'one JSON object per warning')
  .action(async (opts: { at?: string; dataDir?: string; json?: boolean }) => {
    const { storeWarnings } = await import('./replay.ts');
    const env = loadEnv();
    const atMs = opts.at ? Date.parse(opts.at) : Date.now();
    if (Number.isNaN(atMs)) throw new ConfigError(`--at ${opts.at}: not an ISO-8601 time`);
    const store = await openStore(opts.dataDir ? { kind: 'chdb', dataDir: opts.dataDir } : storeConfig(env));
    try {
      await migrate(store);
      const warnings = await storeWarnings(store, loadCatalog(env.CATALOG), atMs);
      for (const w of warnings) process.stdout.write(opts.json ? `${JSON.stringify(w)}\n` : `${w.level.padEnd(8)} ${w.notAfter.slice(0, 16).replace('T', ' ')}  ${w.name}: ${w.reason}\n`);
      if (!opts.json) process.stdout.write(`${warnings.length} warning(s) as of ${new Date(atMs).toISOString()}\n`);
    } finally {
      await store.close();
    }
  });

program
  .command('migrate')
  .description('create or update the ClickHouse tables (idempotent)')
  .option('--data-dir <dir>', 'chDB data directory (default: OUTAGE_DATA_DIR or ./data/chdb)')
  .action(async (opts: { dataDir?: string }) => {
    const env = loadEnv();
    const store = await openStore(opts.dataDir ? { kind: 'chdb', dataDir: opts.dataDir } : storeConfig(env));
    try {
      const applied = await migrate(store);
      process.stdout.write(applied.length > 0 ? `applied migrations ${applied.join(', ')} to ${store.location}\n` : `${store.location} is up to date\n`);
    } finally {
      await store.close();
    }
  });

program
  .command('sql')
  .description('run one SQL query against the store and print the rows as JSON lines')
  .argument('<query>', 'SQL, e.g. "SELECT count() FROM reports FINAL"')
  .option('--data-dir <dir>', 'chDB data directory (default: OUTAGE_DATA_DIR or ./data/chdb)')
  .action(async (query: string, opts: { dataDir?: string }) => {
    const env = loadEnv();
    const store = await openStore(opts.dataDir ? { kind: 'chdb', dataDir: opts.dataDir } : storeConfig(env));
    try {
      for (const row of await store.query(query)) process.stdout.write(`${JSON.stringify(row)}\n`);
    } finally {
      await store.close();
    }
  });

program
  .command('catalog')
  .description('check a catalog file')
  .command('check')
  .description('validate catalog.yaml and list its services; exits non-zero with file:line on the first problem')
  .argument('[file]', 'catalog file (default: CATALOG or ./catalog.yaml)')
  .action((file: string | undefined) => {
    const path = file ?? loadEnv().CATALOG;
    const catalog = loadCatalog(path);
    process.stdout.write(`${path}: ${catalog.services.length} services: ${catalog.services.map((s) => s.id).join(', ')}\n`);
  });

program
  .command('generate')
  .description('write a synthetic scenario directory: seasonal background reports and probes for any number of services and days, optionally with an outage')
  .argument('<dir>', 'output directory (created)')
  .option('--services <n>', 'number of services', (v) => Number(v), 12)
  .option('--days <n>', 'days of history', (v) => Number(v), 7)
  .option('--seed <n>', 'random seed (same seed, same files)', (v) => Number(v), 1)
  .option('--rate <n>', 'mean reports per minute of the busiest service', (v) => Number(v), 20)
  .option('--probe-regions <n>', 'probe regions (0 = no probes)', (v) => Number(v), 3)
  .option('--start <iso>', 'first day (UTC midnight)', '2020-01-27T00:00:00Z')
  .option('--no-outage', 'background only')
  .action(async (dir: string, opts: { services: number; days: number; seed: number; rate: number; probeRegions: number; start: string; outage: boolean }) => {
    for (const [k, v] of Object.entries({ services: opts.services, days: opts.days, rate: opts.rate })) {
      if (!Number.isFinite(v) || v <= 0) throw new ConfigError(`--${k} must be a positive number, got ${v}`);
    }
    const r = await generateScenario({
      dir,
      services: opts.services,
      days: opts.days,
      seed: opts.seed,
      peakRatePerMin: opts.rate,
      probeRegions: opts.probeRegions,
      startIso: opts.start,
      outage: opts.outage,
      onProgress: (day, days) => process.stderr.write(`\rgenerated day ${day}/${days}`),
    });
    process.stderr.write('\n');
    process.stdout.write(`wrote ${r.reports} reports and ${r.probes} probe results to ${dir}\n`);
  });

try {
  await program.parseAsync();
} catch (err) {
  if (err instanceof CatalogError || err instanceof ConfigError) {
    process.stderr.write(`error: ${err.message}\n`);
  } else {
    process.stderr.write(`error: ${(err as Error).message}\n`);
    if (process.env.LOG_LEVEL === 'debug') process.stderr.write(`${(err as Error).stack}\n`);
  }
  process.exitCode = 1;
}

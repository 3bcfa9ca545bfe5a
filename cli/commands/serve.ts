/** `outage serve`: the live pipeline in one process, with the status page and the APIs. */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { InvalidArgumentError, type Command } from 'commander';
import { loadCatalog } from '../../lib/catalog.ts';
import { ConfigError, loadEnv } from '../../lib/config.ts';
import { createLogger } from '../../lib/log.ts';
import { createMetrics } from '../../lib/metrics.ts';
import { printInputError } from '../output.ts';
import { startServe } from '../serve.ts';

function speedOf(v: string): number | 'max' {
  if (v === 'max') return 'max';
  const n = Number(v);
  if (!Number.isFinite(n) || n <= 0) throw new InvalidArgumentError('a positive number (event-time seconds per wall second) or "max"');
  return n;
}

export function register(program: Command): void {
  program
    .command('serve')
    .description(
      'run every service in one process (report API, prober, certificate inventory, correlator, sink, query API, status page, notifications) on the embedded default (in-process bus, chDB), or on KAFKA_BROKERS / CLICKHOUSE_URL when set',
    )
    .option('--catalog <file>', 'service catalog (default: CATALOG when that file exists, else the replayed directory\'s catalog.yaml)')
    .option('--replay <dir>', 'feed this scenario directory into the running pipeline (event times kept)')
    .option('--speed <n|max>', 'replay pace: event-time seconds per wall-clock second, or max', speedOf, 'max' as number | 'max')
    .option('--live', 'also run the wall-clock inputs (prober, certificate inventory, social ingest) while replaying')
    .option('--no-live', 'run without them (only the report API takes input): to look at stored data')
    .addHelpText(
      'after',
      '\nOne port (API_PORT, default 8080, on API_HOST 127.0.0.1) serves the status page at /, the query API under /api/v1/,\nthe report API at POST /api/v1/reports, and /metrics, /healthz, /readyz. Stop with Ctrl-C (SIGINT) or SIGTERM.',
    )
    .action(async (opts: { catalog?: string; replay?: string; speed: number | 'max'; live?: boolean }) => {
      const env = loadEnv();
      const catalogFile = opts.catalog ?? (existsSync(env.CATALOG) ? env.CATALOG : opts.replay ? join(opts.replay, 'catalog.yaml') : undefined);
      if (!catalogFile) throw new ConfigError(`no catalog: ${env.CATALOG} does not exist; set CATALOG, pass --catalog, or --replay a scenario directory`);
      if (opts.replay && !existsSync(opts.replay)) throw new ConfigError(`--replay ${opts.replay}: no such directory`);
      const logger = createLogger('serve', env.LOG_LEVEL);
      const handle = await startServe({
        env,
        catalog: loadCatalog(catalogFile),
        logger,
        metrics: createMetrics({ defaultMetrics: true }),
        ...(opts.replay ? { replay: { dir: opts.replay, speed: opts.speed, onInputError: printInputError } } : {}),
        ...(opts.live !== undefined ? { live: opts.live } : {}),
      });
      process.stderr.write(`outage serve: status page and APIs at ${handle.url} (catalog ${catalogFile})\n`);
      void handle.replayed.then(
        (r) => r && process.stderr.write(`outage serve: replayed ${r.events} events from ${opts.replay} in ${r.seconds.toFixed(1)} s: ${r.incidents} incident(s), ${r.inputErrors} input error(s); open ${handle.url}\n`),
        (err: unknown) => process.stderr.write(`outage serve: the replay of ${opts.replay} failed: ${(err as Error).message}\n`),
      );
      await new Promise<void>((resolve) => {
        const onSignal = (signal: string) => {
          logger.info({ signal }, 'stopping');
          resolve();
        };
        process.once('SIGINT', onSignal);
        process.once('SIGTERM', onSignal);
      });
      await handle.stop();
    });
}

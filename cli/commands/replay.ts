/** `outage replay <dir>`: the whole pipeline over one scenario directory, incidents printed at the end. */
import { Option, type Command } from 'commander';
import type { LevelWithSilent } from 'pino';
import cliProgress from 'cli-progress';
import { loadEnv } from '../../lib/config.ts';
import { createLogger } from '../../lib/log.ts';
import { replay } from '../replay.ts';
import { formatSummary } from '../summary.ts';
import { storeOf, withDataDir, type DataDirOption } from '../store-option.ts';
import { printInputError } from '../output.ts';

/** Progress on stderr: a bar on a terminal, a line per tenth of a large input elsewhere (CI logs). */
export function progressReporter(label: string, quiet: boolean): { update: (read: number, total: number) => void; stop: () => void } {
  if (quiet) return { update: () => undefined, stop: () => undefined };
  if (!process.stderr.isTTY) {
    let lastTenth = 0;
    return {
      update: (read, total) => {
        const tenth = Math.floor((read / total) * 10);
        if (total >= 50e6 && tenth > lastTenth) process.stderr.write(`${label}: ${tenth * 10}% of ${Math.round(total / 1e6)} MB read\n`);
        lastTenth = Math.max(lastTenth, tenth);
      },
      stop: () => undefined,
    };
  }
  const bar = new cliProgress.SingleBar(
    { stream: process.stderr, format: `${label} [{bar}] {percentage}% | {value}/{total} MB | {duration}s`, hideCursor: true },
    cliProgress.Presets.shades_classic,
  );
  let started = false;
  return {
    update: (read, total) => {
      if (total < 5e6) return;
      if (!started) bar.start(Math.round(total / 1e6), 0);
      started = true;
      bar.update(Math.round(read / 1e6));
    },
    stop: () => {
      if (started) bar.stop();
    },
  };
}

export function register(program: Command): void {
  withDataDir(
    program
      .command('replay')
      .description('replay a scenario directory through the whole pipeline (embedded bus; chDB unless CLICKHOUSE_URL is set) and print every incident')
      .argument('<dir>', 'scenario directory: catalog.yaml and any of reports/posts/probes/certs .ndjson(.gz), certs/')
      .addOption(new Option('--format <format>', 'output format').choices(['summary', 'ndjson']).default('summary')),
  )
    .option('--quiet', 'no progress output')
    .action(async (dir: string, opts: DataDirOption & { format: 'summary' | 'ndjson'; quiet?: boolean }) => {
      const env = loadEnv();
      const logger = createLogger('replay', env.LOG_LEVEL === 'info' ? 'warn' : (env.LOG_LEVEL as LevelWithSilent));
      const progress = progressReporter('replay', Boolean(opts.quiet));
      const started = performance.now();
      const result = await replay({ dir, store: storeOf(opts, env), logger, onInputError: printInputError, onProgress: progress.update });
      progress.stop();
      const seconds = (performance.now() - started) / 1000;
      if (opts.format === 'ndjson') {
        for (const i of result.incidents) process.stdout.write(`${JSON.stringify(i)}\n`);
      } else {
        process.stdout.write(`${formatSummary(result, seconds)}\n`);
      }
      // Every line refused: whatever the summary says, the input was not replayed.
      if (result.lines.accepted === 0 && result.lines.refused > 0) {
        process.stderr.write(`error: ${dir}: every input line was refused (${result.lines.refused}, listed above): nothing was replayed\n`);
        process.exitCode = 1;
      }
    });
}

/**
 * The `outage` command line. Each command lives in its own module under `cli/commands/` and
 * registers itself here; `--help` works everywhere. Expected problems (bad configuration, a bad
 * catalog) end with one line on stderr and exit 1; anything else also prints the stack at debug.
 * Output cut off by its reader (a closed pipe) ends the command quietly with exit 0.
 */
import { Command } from 'commander';
import { CatalogError } from '../lib/catalog.ts';
import { ConfigError } from '../lib/config.ts';
import * as catalog from './commands/catalog.ts';
import * as certs from './commands/certs.ts';
import * as detect from './commands/detect.ts';
import * as generate from './commands/generate.ts';
import * as probe from './commands/probe.ts';
import * as publish from './commands/publish.ts';
import * as replay from './commands/replay.ts';
import * as serve from './commands/serve.ts';
import * as store from './commands/store.ts';

// Output piped into a reader that stops early (`| head -1`) is not an error: end quietly, with
// success. Writes to a closed pipe fail with EPIPE on the stream (or ERR_STREAM_DESTROYED after it).
for (const stream of [process.stdout, process.stderr]) {
  stream.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code === 'EPIPE' || err.code === 'ERR_STREAM_DESTROYED') process.exit(0);
    throw err;
  });
}

const program = new Command()
  .name('outage')
  .description('Outage detection and correlation: user reports, probes and certificates joined into incidents with ranked root-cause hints')
  .showHelpAfterError();

for (const command of [serve, replay, publish, probe, certs, detect, store, catalog, generate]) command.register(program);

try {
  await program.parseAsync();
} catch (err) {
  process.stderr.write(`error: ${(err as Error).message}\n`);
  const expected = err instanceof CatalogError || err instanceof ConfigError;
  if (!expected && process.env.LOG_LEVEL === 'debug') process.stderr.write(`${(err as Error).stack}\n`);
  process.exitCode = 1;
}

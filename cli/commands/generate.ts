/** `outage generate <dir>`: a seeded synthetic scenario at any scale. */
import type { Command } from 'commander';
import { ConfigError } from '../../lib/config.ts';
import { generateScenario } from '../../lib/scenario/generate.ts';

export function register(program: Command): void {
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
}

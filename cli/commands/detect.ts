/** `outage detect <file.csv>`: backtest the report-spike detector on a count series of your own. */
import { readFileSync, writeFileSync } from 'node:fs';
import type { Command } from 'commander';
import { parse } from 'csv-parse/sync';
import { ConfigError } from '../../lib/config.ts';

interface Row {
  tsMs: number;
  value: number;
}

/** ISO-8601, or epoch seconds or milliseconds. */
function timeOf(t: string): number {
  if (/^\d{13}$/.test(t)) return Number(t);
  if (/^\d{9,10}$/.test(t)) return Number(t) * 1000;
  return Date.parse(t);
}

/** `timestamp,count` rows (a header line is allowed; bad rows are named on stderr and skipped). */
export function readCountSeries(file: string, text: string): Row[] {
  let records: { record: string[]; info: { lines: number } }[];
  try {
    records = parse(text, { skip_empty_lines: true, trim: true, relax_column_count: true, relax_quotes: true, info: true }) as unknown as typeof records;
  } catch (err) {
    throw new ConfigError(`${file}: not CSV (${(err as Error).message})`);
  }
  const rows: Row[] = [];
  records.forEach(({ record, info }, i) => {
    const [t = '', v = ''] = record;
    const tsMs = timeOf(t);
    const value = v === '' ? NaN : Number(v);
    if (Number.isNaN(tsMs) || !Number.isFinite(value) || value < 0) {
      const header = i === 0 && Number.isNaN(Number(v));
      if (!header) process.stderr.write(`${file}:${info.lines}: skipped: expected timestamp,count, got "${record.join(',').slice(0, 80)}"\n`);
      return;
    }
    rows.push({ tsMs, value });
  });
  return rows.sort((a, b) => a.tsMs - b.tsMs);
}

export function register(program: Command): void {
  program
    .command('detect')
    .description('backtest the report-spike detector on a count series: reads timestamp,value CSV (fixed buckets: 1, 5, 15 … minutes), writes timestamp,value,anomaly_score,alarm; anomaly_score is S/(S+S_alarm) with S = -log10 of the tail probability (0.5 = the alarm level, strictly increasing, never flat at 1), alarm is 1 on the bucket where an incident would be raised')
    .argument('<file.csv>', 'CSV with a timestamp (ISO-8601, or epoch seconds or milliseconds) and a count per row; a header line is allowed')
    .option('--bucket <minutes>', 'bucket size (default: the most common step in the file)', (v) => Number(v))
    .option('--out <file>', 'write the CSV here instead of stdout')
    .action(async (file: string, opts: { bucket?: number; out?: string }) => {
      const { backtest, bucketMinutesOf } = await import('../../services/correlator/core/backtest.ts');
      const { defaultParams } = await import('../../services/correlator/core/params.ts');
      let text: string;
      try {
        text = readFileSync(file, 'utf8');
      } catch (err) {
        throw new ConfigError(`${file}: cannot read (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
      }
      const rows = readCountSeries(file, text);
      if (rows.length === 0) throw new ConfigError(`${file}: no timestamp,count rows`);
      const bucket = opts.bucket ?? bucketMinutesOf(rows);
      if (!Number.isFinite(bucket) || bucket <= 0 || !Number.isInteger(1440 / bucket)) throw new ConfigError(`bucket of ${bucket} minutes: it must divide a day (1, 5, 15, 60 …)`);
      const scored = backtest(rows, defaultParams.detector, bucket);
      const csv = ['timestamp,value,anomaly_score,alarm', ...scored.map((r) => `${new Date(r.tsMs).toISOString()},${r.value},${r.score},${r.alarm ? 1 : 0}`)].join('\n') + '\n';
      if (opts.out) writeFileSync(opts.out, csv);
      else process.stdout.write(csv);
      const alarms = scored.filter((r) => r.alarm).length;
      process.stderr.write(`${rows.length} buckets of ${bucket} min, ${alarms} incident(s) raised (parameters: services/correlator/core/params.ts)\n`);
    });
}

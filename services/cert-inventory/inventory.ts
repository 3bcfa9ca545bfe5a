/**
 * The certificate inventory service: scans its directories and URLs on an interval and publishes
 * one CertObservation per certificate and place to the compacted `cert.observations.v1` topic.
 * Unreadable or broken files are logged with file and line and counted; the scan goes on.
 */
import { topics, certKey } from '../../schemas/topics.ts';
import type { Bus } from '../../lib/bus/bus.ts';
import type { Logger } from '../../lib/log.ts';
import type { Metrics } from '../../lib/metrics.ts';
import { scanCertDir, scanUrls, type ScanResult } from '../../lib/certs/scan.ts';
import type { SourceOptions } from '../../lib/certs/sources.ts';

export interface InventoryDeps {
  bus: Bus;
  logger: Logger;
  metrics: Metrics;
  dirs: string[];
  urls?: string[];
  sourceOptions?: SourceOptions;
  /** The observation time: a scan sees the files as they are now. */
  now?: () => number;
}

/** One scan of every directory and URL, published. */
export async function scanOnce(deps: InventoryDeps): Promise<ScanResult[]> {
  const ts = new Date((deps.now ?? Date.now)()).toISOString();
  const scans: { where: string; run: () => Promise<ScanResult> }[] = [
    ...deps.dirs.map((dir) => ({ where: dir, run: () => scanCertDir(dir, ts, dir, deps.sourceOptions) })),
    ...(deps.urls?.length ? [{ where: deps.urls.join(', '), run: () => scanUrls(deps.urls!, ts, deps.sourceOptions) }] : []),
  ];
  const results: ScanResult[] = [];
  for (const { where, run } of scans) {
    let result: ScanResult;
    try {
      result = await run();
    } catch (err) {
      deps.logger.error({ where, err: (err as Error).message }, 'cannot scan');
      deps.metrics.inputErrors.inc({ kind: 'unreadable' });
      continue;
    }
    for (const e of result.errors) {
      deps.logger.warn({ file: e.file, line: e.line, where }, e.message);
      deps.metrics.inputErrors.inc({ kind: 'bad_certificate' });
    }
    await deps.bus.publish(topics.certs.name, result.observations.map((o) => ({ key: certKey(o), value: JSON.stringify(o) })));
    deps.logger.info({ where, files: result.files, certificates: result.observations.length, errors: result.errors.length }, 'scanned');
    results.push(result);
  }
  return results;
}

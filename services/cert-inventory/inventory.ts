/**
 * The certificate inventory service: scans its directories on an interval and publishes one
 * CertObservation per certificate and file to the compacted `cert.observations.v1` topic.
 * Unreadable or broken files are logged with file and line and counted; the scan goes on.
 */
import { topics, certKey } from '../../schemas/topics.ts';
import type { Bus } from '../../lib/bus/bus.ts';
import type { Logger } from '../../lib/log.ts';
import type { Metrics } from '../../lib/metrics.ts';
import { scanCertDir, type ScanResult } from '../../lib/certs/scan.ts';

export interface InventoryDeps {
  bus: Bus;
  logger: Logger;
  metrics: Metrics;
  dirs: string[];
  /** The observation time: a scan sees the files as they are now. */
  now?: () => number;
}

/** One scan of every directory, published. */
export async function scanOnce(deps: InventoryDeps): Promise<ScanResult[]> {
  const ts = new Date((deps.now ?? Date.now)()).toISOString();
  const results: ScanResult[] = [];
  for (const dir of deps.dirs) {
    let result: ScanResult;
    try {
      result = scanCertDir(dir, ts);
    } catch (err) {
      deps.logger.error({ dir, err: (err as Error).message }, 'cannot scan directory');
      deps.metrics.inputErrors.inc({ kind: 'unreadable' });
      continue;
    }
    for (const e of result.errors) {
      deps.logger.warn({ file: `${dir}/${e.file}`, line: e.line }, e.message);
      deps.metrics.inputErrors.inc({ kind: 'bad_certificate' });
    }
    await deps.bus.publish(topics.certs.name, result.observations.map((o) => ({ key: certKey(o), value: JSON.stringify(o) })));
    deps.logger.info({ dir, files: result.files, certificates: result.observations.length, errors: result.errors.length }, 'scanned');
    results.push(result);
  }
  return results;
}

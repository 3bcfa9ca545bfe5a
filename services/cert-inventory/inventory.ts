/**
 * The certificate inventory service: scans its directories and URLs on an interval and publishes
 * one CertObservation per certificate and place to the compacted `cert.observations.v1` topic.
 * Unreadable or broken files are logged with file and line and counted; the scan goes on. Every
 * certificate found is exported as metrics (`metrics.ts`: validity per certificate and place,
 * errors by reason).
 */
import { topics, certKey } from '../../schemas/topics.ts';
import type { Bus } from '../../lib/bus/bus.ts';
import type { Catalog } from '../../lib/catalog.ts';
import { serviceLinks } from '../../lib/certs/services.ts';
import type { Logger } from '../../lib/log.ts';
import type { Metrics } from '../../lib/metrics.ts';
import { scanCertDir, scanUrls, type ScanResult } from '../../lib/certs/scan.ts';
import type { SourceOptions } from '../../lib/certs/sources.ts';
import { inventoryMetrics, scanErrorReason, type InventoryMetrics } from './metrics.ts';

export interface InventoryDeps {
  bus: Bus;
  logger: Logger;
  metrics: Metrics;
  dirs: string[];
  urls?: string[];
  sourceOptions?: SourceOptions;
  /** The observation time: a scan sees the files as they are now. */
  now?: () => number;
  /** When given, the `service` label of the certificate metrics names the services each certificate serves. */
  catalog?: Catalog;
  /** The inventory's own metrics (default: those of `metrics.registry`). */
  inventoryMetrics?: InventoryMetrics;
}

/** One scan of every directory and URL, published. */
export async function scanOnce(deps: InventoryDeps): Promise<ScanResult[]> {
  const ts = new Date((deps.now ?? Date.now)()).toISOString();
  const scans: { where: string; run: () => Promise<ScanResult> }[] = [
    ...deps.dirs.map((dir) => ({ where: dir, run: () => scanCertDir(dir, ts, dir, deps.sourceOptions) })),
    ...(deps.urls?.length ? [{ where: deps.urls.join(', '), run: () => scanUrls(deps.urls!, ts, deps.sourceOptions) }] : []),
  ];
  const certMetrics = deps.inventoryMetrics ?? inventoryMetrics(deps.metrics.registry, deps.now ? { now: deps.now } : {});
  const results: ScanResult[] = [];
  for (const { where, run } of scans) {
    let result: ScanResult;
    try {
      result = await run();
    } catch (err) {
      deps.logger.error({ where, err: (err as Error).message }, 'cannot scan');
      deps.metrics.inputErrors.inc({ kind: 'unreadable' });
      certMetrics.scanError('scan_failed');
      continue;
    }
    for (const e of result.errors) {
      deps.logger.warn({ file: e.file, line: e.line, where }, e.message);
      deps.metrics.inputErrors.inc({ kind: 'bad_certificate' });
      certMetrics.scanError(scanErrorReason(e.message));
    }
    // Nothing but errors (a missing mount, URLs down): keep the series of the last good scan.
    if (result.observations.length > 0 || result.errors.length === 0) {
      const links = deps.catalog ? serviceLinks(deps.catalog, result.observations) : undefined;
      certMetrics.observed(where, result.observations, links ? (o) => (links.get(o.sha256) ?? []).map((l) => l.service) : undefined);
    }
    await deps.bus.publish(topics.certs.name, result.observations.map((o) => ({ key: certKey(o), value: JSON.stringify(o) })));
    deps.logger.info({ where, files: result.files, certificates: result.observations.length, errors: result.errors.length }, 'scanned');
    results.push(result);
  }
  return results;
}

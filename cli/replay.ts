/**
 * `outage replay <dir>`: the whole pipeline in one process over the embedded bus and a store,
 * fed from a scenario directory in event-time order. The same service code runs here as in the
 * distributed deployment; only the adapters differ.
 */
import { join } from 'node:path';
import type { Incident } from '../schemas/contracts.ts';
import type { Bus } from '../lib/bus/bus.ts';
import { MemoryBus } from '../lib/bus/memory-bus.ts';
import { loadCatalog, type Catalog } from '../lib/catalog.ts';
import { expiryWarnings, type ExpiryWarning } from '../lib/certs/warnings.ts';
import { observationOf, warningRow } from '../lib/store/rows.ts';
import type { Logger } from '../lib/log.ts';
import { createMetrics, type Metrics } from '../lib/metrics.ts';
import { feedScenario, type FeedOptions, type FeedResult } from '../lib/scenario/feed.ts';
import { scenarioInputs, type InputError } from '../lib/scenario/read.ts';
import { migrate } from '../lib/store/migrate.ts';
import { openStore, type Store, type StoreConfig } from '../lib/store/store.ts';
import { runCorrelator } from '../services/correlator/correlator.ts';
import type { CorrelatorCore } from '../services/correlator/core/correlator.ts';
import { runSink, type SinkHandle } from '../services/sink/sink.ts';
import { recordWarnings } from '../services/cert-inventory/metrics.ts';

export interface ReplayOptions {
  dir: string;
  store: StoreConfig;
  logger: Logger;
  metrics?: Metrics;
  /** Every input problem, as it is found (file, line, reason). */
  onInputError?: (e: InputError) => void;
  /** Progress in bytes of input read, of `total`. */
  onProgress?: (read: number, total: number) => void;
}

export interface ReplayResult {
  incidents: Incident[];
  inputErrors: InputError[];
  events: FeedResult['events'];
  lines: FeedResult['lines'];
  warnings: ExpiryWarning[];
  store: { kind: Store['kind']; location: string };
  /** What the correlator dropped on purpose (redelivered ids, repeat reporters, too many services). */
  dropped: CorrelatorCore['dropped'];
}

/**
 * Computes the early warnings at `atMs` from the stored inventory and stores them; with `metrics`,
 * also sets that process's `outage_cert_warnings{level}` gauges.
 */
export async function storeWarnings(store: Store, catalog: Catalog, atMs: number, metrics?: Metrics): Promise<ExpiryWarning[]> {
  const rows = await store.query("SELECT * FROM cert_observations FINAL WHERE ts <= fromUnixTimestamp64Milli({at:Int64}, 'UTC')", { at: atMs });
  const warnings = expiryWarnings(rows.map(observationOf), catalog, atMs);
  const at = new Date(atMs).toISOString();
  await store.insert('cert_warnings', warnings.map((w) => warningRow(w, at)));
  if (metrics) recordWarnings(metrics.registry, warnings);
  return warnings;
}

/**
 * Feeds a scenario directory into a running pipeline and brings it to the end of the input: the
 * correlator closes the last minutes of every service, the bus is drained (every group has
 * handled what was published, on Kafka as in process), and the sink
 * settles the last minutes' counts (it paces its settling while input streams in). Shared by
 * `outage replay` and `outage serve --replay`.
 */
export async function feedToEnd(
  o: Omit<FeedOptions, 'bus'> & { bus: Bus; correlator: { flush(atMs: number): Promise<void> }; sink: Pick<SinkHandle, 'settle'> },
): Promise<FeedResult> {
  const { correlator, sink, ...feed } = o;
  const fed = await feedScenario(feed);
  if (Number.isFinite(fed.lastTsMs)) await correlator.flush(fed.lastTsMs);
  await o.bus.drain();
  await sink.settle();
  return fed;
}

export async function replay(opts: ReplayOptions): Promise<ReplayResult> {
  const { dir, logger } = opts;
  const metrics = opts.metrics ?? createMetrics();
  const catalog = loadCatalog(join(dir, 'catalog.yaml'));
  const store = await openStore(opts.store);
  try {
    await migrate(store);
    const bus = new MemoryBus();
    const latest = new Map<string, Incident>();
    const sink = await runSink({ bus, store, logger, metrics });
    const correlator = await runCorrelator({ bus, catalog, logger, metrics, onIncident: (i) => latest.set(i.id, i) });
    const total = scenarioInputs(dir).reduce((s, i) => s + i.bytes, 0);
    const fed = await feedToEnd({
      dir,
      bus,
      metrics,
      correlator,
      sink,
      ...(opts.onInputError ? { onInputError: opts.onInputError } : {}),
      onBytes: (b) => opts.onProgress?.(b, total),
    });
    await bus.close();
    // Early warnings as of the end of the input, from everything the inventory holds now.
    const warnings = Number.isFinite(fed.lastTsMs) ? await storeWarnings(store, catalog, fed.lastTsMs, metrics) : [];
    logger.debug({ dropped: correlator.core.dropped }, 'replay done');
    return {
      incidents: [...latest.values()].sort((a, b) => a.startedAt.localeCompare(b.startedAt) || a.service.localeCompare(b.service)),
      inputErrors: fed.inputErrors,
      events: fed.events,
      lines: fed.lines,
      warnings,
      store: { kind: store.kind, location: store.location },
      dropped: { ...correlator.core.dropped },
    };
  } finally {
    await store.close();
  }
}

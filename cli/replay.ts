/**
 * `outage replay <dir>`: the whole pipeline in one process over the embedded bus and a store,
 * fed from a scenario directory in event-time order. The same service code runs here as in the
 * distributed deployment; only the adapters differ.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { Incident } from '../schemas/contracts.ts';
import { topics, type TopicId, certKey } from '../schemas/topics.ts';
import type { OutgoingMessage } from '../lib/bus/bus.ts';
import { MemoryBus } from '../lib/bus/memory-bus.ts';
import { deadLetter, publishDeadLetters } from '../lib/bus/dead-letters.ts';
import { loadCatalog } from '../lib/catalog.ts';
import type { Logger } from '../lib/log.ts';
import { createMetrics, type Metrics } from '../lib/metrics.ts';
import { readScenario, scenarioInputs, type InputError, type ScenarioEvent } from '../lib/scenario/read.ts';
import { migrate } from '../lib/store/migrate.ts';
import { openStore, type Store, type StoreConfig } from '../lib/store/store.ts';
import { scanCertDir } from '../services/cert-inventory/scan.ts';
import { runCorrelator } from '../services/correlator/correlator.ts';
import { runSink } from '../services/sink/sink.ts';

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
  events: Record<TopicId, number>;
  store: { kind: Store['kind']; location: string };
}

const keyOf = (e: ScenarioEvent): string => {
  if (e.topic === 'certs') return certKey(e.value as { sha256: string; endpoint?: string; source: string });
  return e.value.service ?? '';
};

export async function replay(opts: ReplayOptions): Promise<ReplayResult> {
  const { dir, logger } = opts;
  const metrics = opts.metrics ?? createMetrics();
  const catalog = loadCatalog(join(dir, 'catalog.yaml'));
  const inputs = scenarioInputs(dir);
  const total = inputs.reduce((s, i) => s + i.bytes, 0);
  const events = { reports: 0, posts: 0, probes: 0, certs: 0, incidents: 0, dlq: 0 } satisfies Record<TopicId, number>;
  const inputErrors: InputError[] = [];
  const onError = (e: InputError) => {
    inputErrors.push(e);
    metrics.inputErrors.inc({ kind: e.reason });
    opts.onInputError?.(e);
  };

  const store = await openStore(opts.store);
  try {
    await migrate(store);
    const bus = new MemoryBus();
    const latest = new Map<string, Incident>();
    await runSink({ bus, store, logger, metrics });
    const correlator = await runCorrelator({
      bus,
      catalog,
      logger,
      metrics,
      onIncident: (i) => latest.set(i.id, i),
    });

    let pending: OutgoingMessage[] = [];
    let pendingTopic: TopicId | undefined;
    const flushPending = async () => {
      if (pendingTopic && pending.length > 0) {
        await bus.publish(topics[pendingTopic].name, pending);
        await bus.backpressure();
      }
      pending = [];
    };
    const dead: InputError[] = [];
    let certsScanned = false;
    let lastTs = -Infinity;

    for await (const chunk of readScenario(dir, { onError: (e) => (onError(e), dead.push(e)), onBytes: (b) => opts.onProgress?.(b, total) })) {
      if (!certsScanned) {
        // Certificate files are observed at the time of the first event (DESIGN.md §4).
        certsScanned = true;
        await publishCertDir(dir, chunk[0]!.value.ts);
      }
      for (const e of chunk) {
        if (e.topic !== pendingTopic || pending.length >= 10_000) {
          await flushPending();
          pendingTopic = e.topic;
        }
        pending.push({ key: keyOf(e), value: e.line, source: e.source, decoded: e.value });
        events[e.topic]++;
        if (e.tsMs > lastTs) lastTs = e.tsMs;
      }
      if (dead.length > 0) {
        await publishDeadLetters(
          bus,
          dead.splice(0).map((d) =>
            deadLetter({ topic: topics[d.topic ?? 'dlq'].name, value: d.raw ?? '', source: `${d.file}:${d.line}` }, d.reason === 'unreadable' || d.reason === 'bad_certificate' ? 'malformed_json' : d.reason, d.detail, Date.now()),
          ),
          metrics,
        );
      }
    }
    await flushPending();
    if (!certsScanned) await publishCertDir(dir, new Date(0).toISOString());
    if (Number.isFinite(lastTs)) await correlator.flush(lastTs);
    await bus.drain();
    await bus.close();
    logger.debug({ dropped: correlator.core.dropped }, 'replay done');
    return {
      incidents: [...latest.values()].sort((a, b) => a.startedAt.localeCompare(b.startedAt) || a.service.localeCompare(b.service)),
      inputErrors,
      events,
      store: { kind: store.kind, location: store.location },
    };

    async function publishCertDir(scenarioDir: string, ts: string): Promise<void> {
      const certDir = join(scenarioDir, 'certs');
      if (!existsSync(certDir)) return;
      const scan = scanCertDir(certDir, ts, scenarioDir);
      for (const e of scan.errors) onError({ file: join(scenarioDir, e.file), line: e.line, reason: 'bad_certificate', detail: e.message });
      events.certs += scan.observations.length;
      await bus.publish(
        topics.certs.name,
        scan.observations.map((o) => ({ key: certKey(o), value: JSON.stringify(o) })),
      );
    }
  } finally {
    await store.close();
  }
}

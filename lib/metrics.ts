/**
 * Prometheus metrics shared by every service. One naming rule: `outage_` prefix, base units,
 * counters end in `_total`, label values are bounded enums (never raw error text).
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

export interface Metrics {
  readonly registry: Registry;
  readonly consumed: Counter<'topic' | 'group'>;
  readonly produced: Counter<'topic'>;
  readonly deadLettered: Counter<'topic' | 'reason'>;
  readonly storedRows: Counter<'table'>;
  readonly batchRows: Histogram<'table'>;
  /** Open incidents of this process's correlator (the total; per service below). */
  readonly incidentsOpen: Gauge;
  readonly incidentsOpenByService: Gauge<'service'>;
  readonly inputErrors: Counter<'kind'>;
  readonly produceRetries: Counter<'topic'>;
  /** High watermark minus the group's committed offset, read from the broker (a dead consumer's lag still grows). */
  readonly consumerLag: Gauge<'group' | 'topic' | 'partition'>;
  /** 1 while a consumer group of this process runs and its handler succeeds, 0 while it fails, restarts or is stopped. */
  readonly consumerUp: Gauge<'group'>;
  readonly consumerRestarts: Counter<'group'>;
  /** Messages a consumer group could not decode; only the topic's dead-letter owner also publishes them to dlq.v1. */
  readonly refused: Counter<'group' | 'topic' | 'reason'>;
  /** 1 while the store accepts writes, 0 while writes fail with an outage (connection refused, timeouts, …). */
  readonly storeUp: Gauge;
  readonly storeWriteErrors: Counter<'table' | 'kind'>;
  /** Messages the correlator stepped again to rebuild the state of partitions it was assigned (published before). */
  readonly stateReplayed: Counter<'topic'>;
  /** Partitions of the correlator whose state is being rebuilt now (0 once caught up). */
  readonly stateRebuilding: Gauge;
  /** Checkpoints (where a partition's rebuild would start) the correlator has written. */
  readonly stateCheckpoints: Counter;
  /**
   * Registers a refresh run before every scrape of the lag gauge (the Kafka bus asks the broker);
   * returns the function that removes it.
   */
  onScrape(refresh: () => Promise<void>): () => void;
}

export function createMetrics(opts: { defaultMetrics?: boolean } = {}): Metrics {
  const registry = new Registry();
  if (opts.defaultMetrics) collectDefaultMetrics({ register: registry, prefix: 'outage_' });
  const registers = [registry];
  const refreshers = new Set<() => Promise<void>>();
  return {
    registry,
    consumed: new Counter({ name: 'outage_messages_consumed_total', help: 'Messages consumed', labelNames: ['topic', 'group'], registers }),
    produced: new Counter({ name: 'outage_messages_produced_total', help: 'Messages produced to Kafka', labelNames: ['topic'], registers }),
    deadLettered: new Counter({
      name: 'outage_dead_letters_total',
      help: 'Messages sent to dlq.v1, by source topic and reason',
      labelNames: ['topic', 'reason'],
      registers,
    }),
    storedRows: new Counter({ name: 'outage_store_rows_total', help: 'Rows written to the store', labelNames: ['table'], registers }),
    batchRows: new Histogram({
      name: 'outage_store_batch_rows',
      help: 'Rows per store insert',
      labelNames: ['table'],
      buckets: [1, 10, 100, 1_000, 10_000, 50_000, 100_000],
      registers,
    }),
    incidentsOpen: new Gauge({ name: 'outage_incidents_open', help: 'Incidents currently open', registers }),
    incidentsOpenByService: new Gauge({
      name: 'outage_incidents_open_by_service',
      help: 'Incidents currently open, per service',
      labelNames: ['service'],
      registers,
    }),
    produceRetries: new Counter({
      name: 'outage_produce_retries_total',
      help: 'Publishes retried after a failure (broker unreachable, leader moving)',
      labelNames: ['topic'],
      registers,
    }),
    consumerLag: new Gauge({
      name: 'outage_consumer_lag_messages',
      help: "Messages between the group's committed offset and the end of the partition (read from the broker)",
      labelNames: ['group', 'topic', 'partition'],
      registers,
      async collect() {
        await Promise.allSettled([...refreshers].map((refresh) => refresh()));
      },
    }),
    consumerUp: new Gauge({
      name: 'outage_consumer_up',
      help: 'Whether a consumer group of this process is running with a succeeding handler (1) or failing, restarting or stopped (0)',
      labelNames: ['group'],
      registers,
    }),
    consumerRestarts: new Counter({
      name: 'outage_consumer_restarts_total',
      help: 'Consumers restarted after a crash (a handler that kept failing, a lost broker)',
      labelNames: ['group'],
      registers,
    }),
    refused: new Counter({
      name: 'outage_messages_refused_total',
      help: 'Messages a consumer group could not decode, by source topic and reason (dead-lettered once, by the topic owner)',
      labelNames: ['group', 'topic', 'reason'],
      registers,
    }),
    storeUp: new Gauge({ name: 'outage_store_up', help: 'Whether the store accepts writes (1) or refuses them (0)', registers }),
    storeWriteErrors: new Counter({
      name: 'outage_store_write_errors_total',
      help: 'Failed store inserts, by table and kind (outage: retried; bad_row: the row is dead-lettered)',
      labelNames: ['table', 'kind'],
      registers,
    }),
    stateReplayed: new Counter({
      name: 'outage_state_replayed_messages_total',
      help: 'Messages stepped again to rebuild the state of partitions this instance was assigned (their results were published before)',
      labelNames: ['topic'],
      registers,
    }),
    stateRebuilding: new Gauge({ name: 'outage_state_rebuilding_partitions', help: 'Partitions whose state is being rebuilt now', registers }),
    stateCheckpoints: new Counter({ name: 'outage_state_checkpoints_total', help: 'Checkpoints written (where a rebuild of a partition would start)', registers }),
    inputErrors: new Counter({
      name: 'outage_input_errors_total',
      help: 'Input files or lines that could not be read (replay, certificate scans)',
      labelNames: ['kind'],
      registers,
    }),
    onScrape(refresh) {
      refreshers.add(refresh);
      return () => void refreshers.delete(refresh);
    },
  };
}

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
  readonly incidentsOpen: Gauge;
  readonly inputErrors: Counter<'kind'>;
  readonly produceRetries: Counter<'topic'>;
  readonly consumerLag: Gauge<'group' | 'topic' | 'partition'>;
}

export function createMetrics(opts: { defaultMetrics?: boolean } = {}): Metrics {
  const registry = new Registry();
  if (opts.defaultMetrics) collectDefaultMetrics({ register: registry, prefix: 'outage_' });
  const registers = [registry];
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
    produceRetries: new Counter({
      name: 'outage_produce_retries_total',
      help: 'Publishes retried after a failure (broker unreachable, leader moving)',
      labelNames: ['topic'],
      registers,
    }),
    consumerLag: new Gauge({
      name: 'outage_consumer_lag_messages',
      help: 'Messages between the last batch read and the end of the partition',
      labelNames: ['group', 'topic', 'partition'],
      registers,
    }),
    inputErrors: new Counter({
      name: 'outage_input_errors_total',
      help: 'Input files or lines that could not be read (replay, certificate scans)',
      labelNames: ['kind'],
      registers,
    }),
  };
}

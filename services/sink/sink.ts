/**
 * The ClickHouse sink: consumes every topic and writes each batch to its table before the bus may
 * commit it. Writes are idempotent (ReplacingMergeTree on natural keys), so a batch redelivered
 * after a crash leaves no duplicate rows.
 */
import type { CertObservation, DeadLetter, Incident, ProbeResult, StatusPost, UserReport } from '../../schemas/contracts.ts';
import { topics } from '../../schemas/topics.ts';
import type { Bus } from '../../lib/bus/bus.ts';
import { countConsumed, decodeBatch, publishDeadLetters } from '../../lib/bus/dead-letters.ts';
import type { Logger } from '../../lib/log.ts';
import type { Metrics } from '../../lib/metrics.ts';
import { annotationRow, certRow, deadLetterRow, incidentEvent, incidentRows, postRow, probeRow, reportRow } from '../../lib/store/rows.ts';
import type { Row, Store, TableName } from '../../lib/store/store.ts';

export interface SinkDeps {
  bus: Bus;
  store: Store;
  logger: Logger;
  metrics: Metrics;
  now?: () => number;
  /**
   * Rows per insert. 10k is ClickHouse's lower sweet spot and keeps the serialised request (and
   * chDB's parse buffers) small; a larger bus batch is written as several inserts.
   */
  insertRows?: number;
}

export async function runSink(deps: SinkDeps): Promise<void> {
  const { bus, store, logger, metrics } = deps;
  const now = deps.now ?? Date.now;
  const insertRows = deps.insertRows ?? 10_000;
  // The previous state of each incident, to name what a new revision changed.
  const lastSeen = new Map<string, Incident>();

  await bus.subscribe({
    group: 'sink',
    topics: [topics.reports.name, topics.posts.name, topics.probes.name, topics.certs.name, topics.incidents.name, topics.dlq.name],
    eachBatch: async (batch) => {
      const { good, dead } = decodeBatch(batch, now());
      countConsumed(metrics, 'sink', good);
      const rows = new Map<TableName, Row[]>();
      const add = (table: TableName, row: Row) => {
        const list = rows.get(table);
        if (list) list.push(row);
        else rows.set(table, [row]);
      };
      for (const d of good) {
        switch (d.topic) {
          case 'reports':
            add('reports', reportRow(d.value as UserReport));
            break;
          case 'posts':
            add('status_posts', postRow(d.value as StatusPost));
            break;
          case 'probes':
            add('probe_results', probeRow(d.value as ProbeResult));
            break;
          case 'certs':
            add('cert_observations', certRow(d.value as CertObservation));
            break;
          case 'incidents': {
            const inc = d.value as Incident;
            const r = incidentRows(inc, inc.revision ?? 0);
            add('incidents', r.incident);
            for (const h of r.hints) add('incident_hints', h);
            add('annotations', annotationRow(inc, incidentEvent(inc, lastSeen.get(inc.id))));
            lastSeen.set(inc.id, inc);
            break;
          }
          case 'dlq':
            add('dead_letters', deadLetterRow(d.value as DeadLetter));
            break;
        }
      }
      for (const [table, list] of rows) {
        for (let i = 0; i < list.length; i += insertRows) {
          const chunk = list.slice(i, i + insertRows);
          await store.insert(table, chunk);
          metrics.batchRows.observe({ table }, chunk.length);
        }
        metrics.storedRows.inc({ table }, list.length);
      }
      // A dead letter that fails to decode as one is stored directly rather than looping back.
      const loops = dead.filter((d) => d.topic === topics.dlq.name);
      if (loops.length > 0) {
        logger.warn({ count: loops.length }, 'undecodable messages on dlq.v1 stored as dead letters');
        await store.insert('dead_letters', loops.map(deadLetterRow));
      }
      await publishDeadLetters(bus, dead.filter((d) => d.topic !== topics.dlq.name), metrics);
    },
  });
}

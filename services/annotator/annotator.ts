/**
 * The annotator: every incident state change becomes one Grafana annotation per incident (a region
 * from onset to resolution, or to the latest change while open), tagged with the service, the top
 * hint's kind and the incident id, and updated rather than duplicated as the incident changes.
 * The annotation of an incident is found again by its `incident:<id>` tag after a restart.
 */
import type { Incident } from '../../schemas/contracts.ts';
import { topics } from '../../schemas/topics.ts';
import type { Bus } from '../../lib/bus/bus.ts';
import { countRefused, decodeBatch, publishDeadLetters } from '../../lib/bus/dead-letters.ts';
import type { Logger } from '../../lib/log.ts';
import type { Metrics } from '../../lib/metrics.ts';
import { retry } from '../../lib/retry.ts';
import { annotationTags } from '../../lib/store/rows.ts';
import { GrafanaError, type GrafanaAnnotation, type GrafanaClient } from './grafana.ts';

export interface AnnotatorDeps {
  bus: Bus;
  grafana: GrafanaClient;
  logger: Logger;
  metrics: Metrics;
  dashboardUID?: string;
  retryInitialMs?: number;
}

export function annotationOf(inc: Incident, dashboardUID?: string): GrafanaAnnotation {
  const top = inc.hints[0];
  const lines = [
    `<b>${inc.service}: ${inc.status}</b> (incident ${inc.id})`,
    ...inc.hints.slice(0, 3).map((h) => `${h.kind} ${Math.round(h.confidence * 100)}%: ${h.summary}`),
  ];
  return {
    ...(dashboardUID ? { dashboardUID } : {}),
    time: Date.parse(inc.startedAt),
    timeEnd: Date.parse(inc.resolvedAt ?? inc.updatedAt ?? inc.detectedAt),
    tags: annotationTags(inc).concat(top ? [] : ['no-hint']),
    text: lines.join('\n'),
  };
}

export async function runAnnotator(d: AnnotatorDeps): Promise<void> {
  const ids = new Map<string, number>();
  const upsert = async (inc: Incident) => {
    const a = annotationOf(inc, d.dashboardUID);
    let id = ids.get(inc.id);
    if (id === undefined) id = (await d.grafana.find([`incident:${inc.id}`]))[0]?.id;
    if (id === undefined) ids.set(inc.id, await d.grafana.create(a));
    else {
      await d.grafana.update(id, a);
      ids.set(inc.id, id);
    }
  };
  await d.bus.subscribe({
    group: 'annotator',
    topics: [topics.incidents.name],
    eachBatch: async (batch) => {
      const { good, dead, refused } = decodeBatch(batch, Date.now());
      countRefused(d.metrics, 'annotator', refused);
      await publishDeadLetters(d.bus, dead, d.metrics);
      // Only the latest state of each incident in the batch matters.
      const latest = new Map<string, Incident>();
      for (const g of good) latest.set((g.value as Incident).id, g.value as Incident);
      for (const inc of latest.values()) {
        await retry(() => upsert(inc), {
          initialMs: d.retryInitialMs ?? 500,
          retries: 6,
          shouldRetry: (err) => !(err instanceof GrafanaError) || err.retriable,
          onRetry: (err, attempt) => d.logger.warn({ incident: inc.id, attempt, err: (err as Error).message }, 'Grafana annotation failed, retrying'),
        }).catch((err: unknown) => {
          // A refusal that will not pass (bad token, bad request) is logged, not retried forever.
          if (err instanceof GrafanaError && !err.retriable) d.logger.error({ incident: inc.id, err: err.message }, 'Grafana refused the annotation');
          else throw err;
        });
      }
    },
  });
}

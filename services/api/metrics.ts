/**
 * The query API's own metrics, declared in one place (the shared ones are in lib/metrics.ts).
 * Labels are bounded: `route` is a route template of the route table (or `other`), never a raw
 * path.
 */
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';

export interface ApiMetrics {
  readonly requests: Counter<'route' | 'code'>;
  readonly duration: Histogram<'route'>;
  readonly streams: Gauge;
}

/**
 * The API metrics on `registry`, created once per registry (several apps may share one).
 *
 * @example apiMetrics(metrics.registry).requests.inc({ route: '/api/v1/incidents', code: '200' })
 */
export function apiMetrics(registry: Registry): ApiMetrics {
  const registers = [registry];
  const existing = <T>(name: string) => registry.getSingleMetric(name) as T | undefined;
  return {
    requests:
      existing<Counter<'route' | 'code'>>('outage_api_requests_total') ??
      new Counter({ name: 'outage_api_requests_total', help: 'Query API requests by route template and status code', labelNames: ['route', 'code'], registers }),
    duration:
      existing<Histogram<'route'>>('outage_api_request_duration_seconds') ??
      new Histogram({
        name: 'outage_api_request_duration_seconds',
        help: 'Query API response time by route template',
        labelNames: ['route'],
        buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
        registers,
      }),
    streams: existing<Gauge>('outage_api_event_streams') ?? new Gauge({ name: 'outage_api_event_streams', help: 'Open incident event streams', registers }),
  };
}

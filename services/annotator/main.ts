/** The Grafana annotator as its own process: incidents.v1 → Grafana annotations (GRAFANA_URL, GRAFANA_TOKEN). */
import { ConfigError } from '../../lib/config.ts';
import { kafkaBus, runService } from '../../lib/runtime.ts';
import { runAnnotator } from './annotator.ts';
import { GrafanaClient } from './grafana.ts';

await runService('annotator', async (rt) => {
  if (!rt.env.GRAFANA_URL || !rt.env.GRAFANA_TOKEN) throw new ConfigError('GRAFANA_URL and GRAFANA_TOKEN are needed to write Grafana annotations (the annotations table in ClickHouse is written by the sink either way)');
  await runAnnotator({
    bus: await kafkaBus(rt, 'annotator'),
    grafana: new GrafanaClient(rt.env.GRAFANA_URL, rt.env.GRAFANA_TOKEN),
    logger: rt.logger,
    metrics: rt.metrics,
    ...(rt.env.GRAFANA_DASHBOARD_UID ? { dashboardUID: rt.env.GRAFANA_DASHBOARD_UID } : {}),
  });
});

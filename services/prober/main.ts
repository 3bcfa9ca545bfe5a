/** The prober as its own process: checks the catalog's endpoints from PROBE_REGION. */
import { readFileSync } from 'node:fs';
import { loadCatalog } from '../../lib/catalog.ts';
import { kafkaBus, runService } from '../../lib/runtime.ts';
import { createProberMetrics } from './metrics.ts';
import { Prober, scheduleOf } from './prober.ts';

await runService('prober', async (rt) => {
  const catalog = loadCatalog(rt.env.CATALOG);
  const ca = rt.env.PROBE_CA_FILE ? readFileSync(rt.env.PROBE_CA_FILE, 'utf8') : undefined;
  const schedule = scheduleOf(catalog, { region: rt.env.PROBE_REGION, intervalS: rt.env.PROBE_INTERVAL_S, timeoutMs: rt.env.PROBE_TIMEOUT_MS, ...(ca ? { ca } : {}) });
  const prober = new Prober({ bus: await kafkaBus(rt, 'prober'), logger: rt.logger, metrics: createProberMetrics(rt.metrics.registry) });
  prober.start(schedule);
  rt.onStop(async () => prober.stop());
  rt.logger.info({ checks: schedule.length, region: rt.env.PROBE_REGION }, 'probing');
});

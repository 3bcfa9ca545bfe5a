/** The correlator as its own process: Kafka in, incidents out. Configuration: README "Configuration". */
import { loadCatalog } from '../../lib/catalog.ts';
import { kafkaBus, runService } from '../../lib/runtime.ts';
import { runCorrelator } from './correlator.ts';

await runService('correlator', async (rt) => {
  const catalog = loadCatalog(rt.env.CATALOG);
  const bus = await kafkaBus(rt, 'correlator');
  // Live traffic: quiet services still move on in event time (5 minutes allowed for late events).
  const handle = await runCorrelator({ bus, catalog, logger: rt.logger, metrics: rt.metrics, idleTickLatenessMs: 5 * 60_000 });
  rt.onStop(async () => handle.stop());
});

/** The correlator as its own process: Kafka in, incidents out. Configuration: README "Configuration". */
import { loadCatalog } from '../../lib/catalog.ts';
import { kafkaBus, runService } from '../../lib/runtime.ts';
import { runCorrelator } from './correlator.ts';

await runService('correlator', async (rt) => {
  const catalog = loadCatalog(rt.env.CATALOG);
  const bus = await kafkaBus(rt, 'correlator');
  await runCorrelator({ bus, catalog, logger: rt.logger, metrics: rt.metrics });
});

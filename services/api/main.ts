/**
 * The query API as its own process: API_PORT/API_HOST for the API and the status page, PORT for
 * the shared /metrics, /healthz, /readyz. Reads the store (CLICKHOUSE_URL, or the chDB directory
 * another process is not holding) and follows incidents.v1 on Kafka for the event stream.
 */
import { randomUUID } from 'node:crypto';
import { loadCatalog } from '../../lib/catalog.ts';
import { ConfigError } from '../../lib/config.ts';
import { unhealthy } from '../../lib/health.ts';
import { kafkaBus, migratedStore, runService } from '../../lib/runtime.ts';
import { createApiApp } from './app.ts';
import { attachIncidentFeed } from './feed.ts';

await runService('api', async (rt) => {
  const readTokens = rt.env.API_READ_TOKENS?.split(',').filter(Boolean) ?? [];
  const anonymousRead = rt.env.API_ANONYMOUS_READ === 'true';
  if (readTokens.length === 0 && !anonymousRead) throw new ConfigError('set API_READ_TOKENS, API_ANONYMOUS_READ=true, or both: otherwise no one can read');
  const catalog = loadCatalog(rt.env.CATALOG);
  // The bus first: without KAFKA_BROKERS the process stops before it opens (and holds) the store.
  const bus = await kafkaBus(rt, 'api');
  const store = await migratedStore(rt);
  // A group of its own per process: every instance streams every incident change to its clients.
  const feed = await attachIncidentFeed(bus, `api-feed-${randomUUID()}`);
  let listening = false;
  const app = createApiApp({
    store,
    catalog,
    logger: rt.logger,
    metrics: rt.metrics,
    feed,
    readTokens,
    anonymousRead,
    ratePerMin: rt.env.API_RATE_PER_MIN,
    // The event stream needs the consumer of incidents.v1; the store is checked by the app itself.
    ready: () => (listening ? bus.health() : unhealthy('starting')),
  });
  const server = app.listen(rt.env.API_PORT, rt.env.API_HOST);
  await new Promise<void>((resolve, reject) => server.once('listening', resolve).once('error', reject));
  listening = true;
  rt.onStop(
    () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections(); // event streams never end by themselves
      }),
  );
  rt.logger.info({ host: rt.env.API_HOST, port: rt.env.API_PORT, readTokens: readTokens.length, anonymousRead }, 'serving the query API');
});

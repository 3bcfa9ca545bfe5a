/** The ClickHouse sink as its own process: every topic into the store (chDB dir or CLICKHOUSE_URL). */
import { kafkaBus, migratedStore, runService } from '../../lib/runtime.ts';
import { runSink } from './sink.ts';

await runService('sink', async (rt) => {
  const store = await migratedStore(rt);
  const bus = await kafkaBus(rt, 'sink');
  const sink = await runSink({ bus, store, logger: rt.logger, metrics: rt.metrics });
  rt.addHealth(() => sink.health());
});

/**
 * Start-up wiring shared by the services' `main.ts` files: configuration, logger, metrics, the
 * Kafka bus, the store, the ops endpoints, and a clean stop on SIGTERM/SIGINT.
 */
import type { Server } from 'node:http';
import { KafkaBus } from './bus/kafka-bus.ts';
import { ConfigError, kafkaSecurity, loadEnv, storeConfig, type Env } from './config.ts';
import { createLogger, type Logger } from './log.ts';
import { combineHealth, unhealthy, type Health } from './health.ts';
import { createMetrics, type Metrics } from './metrics.ts';
import { startOpsServer } from './ops-server.ts';
import type { Store } from './store/store.ts';

export interface Runtime {
  env: Env;
  logger: Logger;
  metrics: Metrics;
  /** Registers something to close on stop (last registered closes first). */
  onStop(close: () => Promise<unknown>): void;
  /** Adds a readiness check to `/readyz` (the Kafka bus adds its own; the sink adds its store's). */
  addHealth(check: () => Health): void;
}

/**
 * Runs a service: builds the runtime, calls `start`, serves the ops endpoints, and exits non-zero
 * with a clear message when start-up fails.
 */
export async function runService(name: string, start: (rt: Runtime) => Promise<void>): Promise<void> {
  let logger: Logger | undefined;
  const closers: (() => Promise<unknown>)[] = [];
  const checks: (() => Health)[] = [];
  let phase: 'starting' | 'started' | 'stopping' = 'starting';
  let server: Server | undefined;
  try {
    const env = loadEnv();
    logger = createLogger(name, env.LOG_LEVEL);
    const metrics = createMetrics({ defaultMetrics: true });
    const ready = () => (phase === 'started' ? combineHealth(checks.map((check) => check())) : unhealthy(phase));
    server = await startOpsServer({ port: env.PORT, metrics, ready });
    await start({ env, logger, metrics, onStop: (c) => closers.push(c), addHealth: (c) => checks.push(c) });
    phase = 'started';
    logger.info({ port: env.PORT }, `${name} running`);
  } catch (err) {
    const message = err instanceof ConfigError ? err.message : (err as Error).stack ?? String(err);
    if (logger) logger.fatal({ err }, `${name} failed to start`);
    else process.stderr.write(`${name}: ${message}\n`);
    process.exit(1);
  }
  const stop = async (signal: string) => {
    logger?.info({ signal }, 'stopping');
    phase = 'stopping';
    for (const close of closers.reverse()) await close().catch((err: unknown) => logger?.error({ err }, 'error while stopping'));
    server?.close();
    process.exit(0);
  };
  process.once('SIGTERM', () => void stop('SIGTERM'));
  process.once('SIGINT', () => void stop('SIGINT'));
}

/** The Kafka bus a standalone service needs; one process with every service is `outage serve`. */
export async function kafkaBus(rt: Runtime, clientId: string): Promise<KafkaBus> {
  if (!rt.env.KAFKA_BROKERS) {
    throw new ConfigError('KAFKA_BROKERS is not set: a service running as its own process talks to the others through Kafka (for everything in one process, use `outage serve`)');
  }
  const bus = new KafkaBus({
    brokers: rt.env.KAFKA_BROKERS.split(','),
    clientId: `${rt.env.KAFKA_CLIENT_ID}-${clientId}`,
    logger: rt.logger,
    metrics: rt.metrics,
    topicPrefix: rt.env.KAFKA_TOPIC_PREFIX,
    replicationFactor: rt.env.KAFKA_REPLICATION_FACTOR,
    ...kafkaSecurity(rt.env),
  });
  await bus.ensureTopics();
  rt.onStop(() => bus.close());
  rt.addHealth(() => bus.health());
  return bus;
}

/** Opens and migrates the store; imported lazily so services without one do not load chDB. */
export async function migratedStore(rt: Runtime): Promise<Store> {
  const { openStore } = await import('./store/store.ts');
  const { migrate } = await import('./store/migrate.ts');
  const store = await openStore(storeConfig(rt.env));
  const applied = await migrate(store);
  if (applied.length > 0) rt.logger.info({ applied, store: store.location }, 'applied migrations');
  rt.onStop(() => store.close());
  return store;
}

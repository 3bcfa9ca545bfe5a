/**
 * `outage serve`: every service in one process — report API, prober, certificate inventory,
 * correlator, sink, query API and status page, notifications, and (when configured) the social
 * ingest and the Grafana annotator. Embedded default: the in-process bus and chDB; with
 * `KAFKA_BROKERS` / `CLICKHOUSE_URL` the same wiring uses them.
 *
 * One HTTP port answers everything: `/api/v1/reports` goes to the report API, the rest to the
 * query API (status page at `/`, `/metrics`, `/healthz`, `/readyz`).
 *
 * `replay` feeds a scenario directory into the running pipeline with its event times, so a new
 * user sees a real incident on the page at once. Inputs that stamp the wall clock (prober,
 * inventory, social ingest) stay off during a replay unless asked for: a 2026 probe result next to
 * a 2020 scenario would move the services' event-time clocks past the scenario.
 */
import { randomBytes } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { Incident } from '../schemas/contracts.ts';
import type { Bus } from '../lib/bus/bus.ts';
import { KafkaBus } from '../lib/bus/kafka-bus.ts';
import { MemoryBus } from '../lib/bus/memory-bus.ts';
import type { Catalog } from '../lib/catalog.ts';
import { ConfigError, p12Passwords, storeConfig, type Env } from '../lib/config.ts';
import { combineHealth, unhealthy } from '../lib/health.ts';
import { hardenServer } from '../lib/http-server.ts';
import type { Logger } from '../lib/log.ts';
import type { Metrics } from '../lib/metrics.ts';
import type { InputError } from '../lib/scenario/read.ts';
import { migrate } from '../lib/store/migrate.ts';
import { openStore, type Store } from '../lib/store/store.ts';
import { createApiApp } from '../services/api/app.ts';
import { attachIncidentFeed } from '../services/api/feed.ts';
import { scanOnce } from '../services/cert-inventory/inventory.ts';
import { runCorrelator } from '../services/correlator/correlator.ts';
import { notifierConfig } from '../services/notifier/config.ts';
import { runNotifier } from '../services/notifier/notifier.ts';
import { createProberMetrics } from '../services/prober/metrics.ts';
import { Prober, scheduleOf } from '../services/prober/prober.ts';
import { createReportApp } from '../services/report-ingest/app.ts';
import { runSink } from '../services/sink/sink.ts';
import { feedToEnd, storeWarnings } from './replay.ts';

export interface ServeOptions {
  env: Env;
  catalog: Catalog;
  logger: Logger;
  metrics: Metrics;
  /** A scenario directory fed into the running pipeline, at `speed` × event time or as fast as it goes. */
  replay?: { dir: string; speed: number | 'max'; onInputError?: (e: InputError) => void };
  /** Run the wall-clock inputs (prober, inventory, social ingest) even while replaying. */
  live?: boolean;
}

export interface ReplayOutcome {
  events: number;
  inputErrors: number;
  incidents: number;
  seconds: number;
}

export interface ServeHandle {
  /** Base URL of the status page and the APIs. */
  readonly url: string;
  /** Settles when the replay (if any) has been fed, closed and stored. */
  readonly replayed: Promise<ReplayOutcome | undefined>;
  stop(): Promise<void>;
}

/** Starts everything; throws `ConfigError` with a clear message when a port or the store is taken. */
export async function startServe(o: ServeOptions): Promise<ServeHandle> {
  const { env, catalog, logger, metrics } = o;
  const closers: (() => Promise<unknown>)[] = [];
  const stop = async () => {
    for (const close of closers.splice(0).reverse()) await close().catch((err: unknown) => logger.error({ err }, 'error while stopping'));
  };
  try {
    return await start(o, (c) => closers.push(c), stop);
  } catch (err) {
    await stop();
    throw err;
  }

  async function start(o: ServeOptions, onStop: (c: () => Promise<unknown>) => void, stopAll: () => Promise<void>): Promise<ServeHandle> {
    let store: Store;
    try {
      store = await openStore(storeConfig(env));
    } catch (err) {
      throw new ConfigError((err as Error).message);
    }
    onStop(() => store.close());
    const applied = await migrate(store);
    if (applied.length > 0) logger.info({ applied, store: store.location }, 'applied migrations');

    const bus: Bus = env.KAFKA_BROKERS
      ? new KafkaBus({ brokers: env.KAFKA_BROKERS.split(','), clientId: `${env.KAFKA_CLIENT_ID}-serve`, logger, metrics, topicPrefix: env.KAFKA_TOPIC_PREFIX })
      : new MemoryBus();
    if (bus instanceof KafkaBus) await bus.ensureTopics();
    onStop(() => bus.close());

    const sink = await runSink({ bus, store, logger, metrics });
    const correlator = await runCorrelator({ bus, catalog, logger, metrics, idleTickLatenessMs: 5 * 60_000 });
    onStop(async () => correlator.stop());

    const feed = await attachIncidentFeed(bus, 'api');

    const notify = notifierConfig(env);
    const notifier = notify ? await runNotifier({ bus, config: notify, logger, metrics }) : undefined;
    if (notifier) onStop(() => notifier.stop());

    const readTokens = env.API_READ_TOKENS?.split(',').filter(Boolean) ?? [];
    const reportTokens = env.REPORT_API_TOKENS?.split(',').filter(Boolean) ?? [];
    const allowAnonymous = env.REPORT_ANONYMOUS === 'true';
    if (reportTokens.length === 0 && !allowAnonymous) logger.warn('the report API refuses every report: set REPORT_API_TOKENS, REPORT_ANONYMOUS=true, or both');
    let started = false;
    const reportApp = createReportApp({
      bus,
      catalog,
      logger,
      metrics,
      tokens: reportTokens,
      allowAnonymous,
      salt: env.REPORT_SALT ?? randomBytes(32).toString('hex'),
      maxBodyBytes: env.REPORT_MAX_BODY_BYTES,
    });
    const apiApp = createApiApp({
      store,
      catalog,
      logger,
      metrics,
      feed,
      readTokens,
      anonymousRead: env.API_ANONYMOUS_READ === 'true',
      ratePerMin: env.API_RATE_PER_MIN,
      ready: () => (started ? combineHealth([bus.health(), sink.health()]) : unhealthy('starting')),
    });
    const server = createServer((req, res) => {
      if (req.url === '/api/v1/reports' || req.url?.startsWith('/api/v1/reports?') || req.url?.startsWith('/api/v1/reports/')) reportApp(req, res);
      else apiApp(req, res);
    });
    hardenServer(server);
    await listen(server, env.API_PORT, env.API_HOST);
    onStop(
      () =>
        new Promise<void>((resolve) => {
          server.close(() => resolve());
          server.closeAllConnections(); // event streams never end by themselves
        }),
    );
    const address = server.address();
    const port = typeof address === 'object' && address ? address.port : env.API_PORT;
    const url = `http://${env.API_HOST.includes(':') ? `[${env.API_HOST}]` : env.API_HOST}:${port}/`;

    const live = o.live ?? !o.replay;
    if (live) startLiveInputs(bus, onStop);
    if (env.GRAFANA_URL && env.GRAFANA_TOKEN) await startAnnotator(bus);

    // Early warnings from the stored inventory, on the inventory's schedule, pushed to receivers.
    const warn = async (atMs: number) => {
      const warnings = await storeWarnings(store, catalog, atMs, metrics);
      notifier?.notifyWarnings(warnings);
    };
    if (live) {
      const timer = setInterval(() => void warn(Date.now()).catch((err: unknown) => logger.error({ err }, 'early warnings failed')), env.CERT_SCAN_INTERVAL_S * 1000);
      onStop(async () => clearInterval(timer));
    }

    started = true;
    logger.info({ url, store: store.location, bus: bus.kind, live, notifications: Boolean(notifier) }, 'serving');
    const replayed = o.replay ? replayInto(o.replay, bus, correlator, sink, warn) : Promise.resolve(undefined);
    replayed.catch((err: unknown) => logger.error({ err }, 'replay failed'));
    return { url, replayed, stop: stopAll };
  }

  async function replayInto(
    r: NonNullable<ServeOptions['replay']>,
    bus: Bus,
    correlator: Awaited<ReturnType<typeof runCorrelator>>,
    sink: Awaited<ReturnType<typeof runSink>>,
    warn: (atMs: number) => Promise<void>,
  ): Promise<ReplayOutcome> {
    const t0 = performance.now();
    let firstTs: number | undefined;
    const pace =
      r.speed === 'max'
        ? undefined
        : (tsMs: number) => {
            firstTs ??= tsMs;
            return (tsMs - firstTs) / (r.speed as number) - (performance.now() - t0);
          };
    const incidents = new Set<string>();
    const counted = await attachIncidentFeed(bus, 'serve-replay');
    counted.subscribe((inc: Incident) => incidents.add(inc.id));
    const fed = await feedToEnd({ dir: r.dir, bus, metrics, correlator, sink, ...(r.onInputError ? { onInputError: r.onInputError } : {}), ...(pace ? { pace } : {}) });
    // Its early warnings as of its end.
    if (Number.isFinite(fed.lastTsMs)) await warn(fed.lastTsMs);
    const e = fed.events;
    const outcome = { events: e.reports + e.posts + e.probes + e.certs, inputErrors: fed.inputErrors.length, incidents: incidents.size, seconds: (performance.now() - t0) / 1000 };
    logger.info({ dir: r.dir, ...outcome }, 'replay fed');
    return outcome;
  }

  function startLiveInputs(bus: Bus, onStop: (c: () => Promise<unknown>) => void): void {
    const schedule = scheduleOf(catalog, { region: env.PROBE_REGION, intervalS: env.PROBE_INTERVAL_S, timeoutMs: env.PROBE_TIMEOUT_MS });
    if (schedule.length > 0) {
      const prober = new Prober({ bus, logger, metrics: createProberMetrics(metrics.registry) });
      prober.start(schedule);
      onStop(async () => prober.stop());
      logger.info({ checks: schedule.length, region: env.PROBE_REGION }, 'probing');
    }
    if (env.CERT_DIRS || env.CERT_URLS) {
      const deps = { bus, logger, metrics, dirs: env.CERT_DIRS?.split(',') ?? [], urls: env.CERT_URLS?.split(',') ?? [], sourceOptions: { p12Passwords: p12Passwords(env) } };
      const scan = () => scanOnce(deps).catch((err: unknown) => logger.error({ err }, 'certificate scan failed'));
      void scan();
      const timer = setInterval(() => void scan(), env.CERT_SCAN_INTERVAL_S * 1000);
      onStop(async () => clearInterval(timer));
    }
    if (env.X_BEARER_TOKEN) void startSocial(bus, onStop);
  }

  // Loaded only when configured: the X client and the Grafana client are not needed otherwise.
  async function startSocial(bus: Bus, onStop: (c: () => Promise<unknown>) => void): Promise<void> {
    const { FileCursor, SocialIngest } = await import('../services/social-ingest/ingest.ts');
    const { xClient } = await import('../services/social-ingest/x-client.ts');
    const ingest = new SocialIngest({
      v2: xClient(env.X_BEARER_TOKEN!, env.X_API_PREFIX),
      bus,
      catalog,
      logger,
      metrics,
      cursor: new FileCursor(env.X_CURSOR_FILE),
      tagPrefix: env.X_RULE_TAG_PREFIX,
      leaveOtherRules: env.X_LEAVE_OTHER_RULES === 'true',
    });
    onStop(() => ingest.stop());
    await ingest.start().catch((err: unknown) => logger.error({ err }, 'social ingest failed to start'));
  }

  async function startAnnotator(bus: Bus): Promise<void> {
    const { runAnnotator } = await import('../services/annotator/annotator.ts');
    const { GrafanaClient } = await import('../services/annotator/grafana.ts');
    await runAnnotator({
      bus,
      grafana: new GrafanaClient(env.GRAFANA_URL!, env.GRAFANA_TOKEN!),
      logger,
      metrics,
      ...(env.GRAFANA_DASHBOARD_UID ? { dashboardUID: env.GRAFANA_DASHBOARD_UID } : {}),
    });
  }
}

/** Listens, turning "port in use" and "no such address" into one clear line. */
function listen(server: Server, port: number, host: string): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once('error', (err: NodeJS.ErrnoException) => {
      if (err.code === 'EADDRINUSE') reject(new ConfigError(`port ${port} on ${host} is already in use (another outage serve?): stop it or set API_PORT to a free port`));
      else if (err.code === 'EADDRNOTAVAIL' || err.code === 'ENOTFOUND') reject(new ConfigError(`API_HOST=${host}: no such local address`));
      else if (err.code === 'EACCES') reject(new ConfigError(`port ${port}: permission denied (ports below 1024 need privileges): set API_PORT`));
      else reject(err);
    });
    server.listen(port, host, () => resolve());
  });
}

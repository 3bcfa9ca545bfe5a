/**
 * The query API (Express 5), built by a factory so tests run the real app over HTTP. Every route
 * comes from the route table (`routes.ts`): incidents with hints, evidence and revisions; services
 * and their state; report series with seasonal baselines; the certificate inventory; early
 * warnings; probes; dead letters; a live incident stream (SSE); its own OpenAPI 3.1 document;
 * `/healthz`, `/readyz`, `/metrics`; and the status page's static files at `/`.
 *
 * Cross-cutting rules: read tokens compared in constant time (or anonymous read), a rate limit
 * per client (token, else address), unknown or repeated query parameters refused, every error a
 * problem document naming the bad parameter, security headers with a strict CSP (the page uses
 * external scripts and styles only), and only bound parameters in SQL.
 */
import { fileURLToPath } from 'node:url';
import express, { type NextFunction, type Request, type RequestHandler, type Response } from 'express';
import { ipKeyGenerator, rateLimit } from 'express-rate-limit';
import helmet from 'helmet';
import { bearerToken, tokenLabel, tokenMatches } from '../../lib/bearer-tokens.ts';
import type { Catalog } from '../../lib/catalog.ts';
import { HEALTHY, type Health } from '../../lib/health.ts';
import type { Logger } from '../../lib/log.ts';
import type { Metrics } from '../../lib/metrics.ts';
import type { Store } from '../../lib/store/store.ts';
import { storeAsOf } from './as-of.ts';
import { inventoryLoader } from './certificates.ts';
import type { IncidentFeed } from './feed.ts';
import { apiMetrics } from './metrics.ts';
import { openApiDocument, type OpenApiDocument } from './openapi.ts';
import { parseParams } from './params.ts';
import { HttpError, notFound, problemHandler } from './problem.ts';
import { apiRoutes, type Route } from './routes.ts';

export interface ApiOptions {
  store: Store;
  catalog: Catalog;
  logger: Logger;
  metrics: Metrics;
  /** Live incident changes for the event stream. */
  feed: IncidentFeed;
  /** Bearer tokens allowed to read (separate from the report API's write tokens). */
  readTokens: string[];
  /** True: reading needs no token (a public status page). A wrong token is still refused. */
  anonymousRead: boolean;
  /** Requests per minute per client (token, else address); default 1200. */
  ratePerMin?: number;
  /**
   * "Now" in event time (ms). Default: the latest minute in report_counts_1m / probe_counts_1m
   * plus one minute, cached ~5 s, never later than the wall clock.
   */
  asOf?: () => Promise<number>;
  /** For `/readyz` (which also needs the store to answer), with the reason when not; default ready. */
  ready?: () => Health;
  /** The status page's directory, served at `/` (default services/api/page). */
  pageDir?: string;
  /** Interval of the event stream's keep-alive comments; default 15 000 ms. */
  eventKeepAliveMs?: number;
}

interface Client {
  /** Rate-limit key: a label of the token, or the (IPv6 /56-grouped) address. */
  key: string;
  token: 'valid' | 'invalid' | 'none';
}

const DEFAULT_PAGE_DIR = fileURLToPath(new URL('./page/', import.meta.url));

/**
 * Builds the query API.
 *
 * @example
 * const app = createApiApp({ store, catalog, logger, metrics, feed, readTokens: [], anonymousRead: true });
 * app.listen(8080);
 */
export function createApiApp(o: ApiOptions): express.Express {
  const asOf = o.asOf ?? storeAsOf(o.store);
  const metrics = apiMetrics(o.metrics.registry);
  let document: OpenApiDocument | undefined;
  const routes: Route[] = apiRoutes({
    store: o.store,
    catalog: o.catalog,
    metrics: o.metrics,
    apiMetrics: metrics,
    feed: o.feed,
    asOf,
    inventory: inventoryLoader(o.store, o.catalog),
    ready: o.ready ?? (() => HEALTHY),
    eventKeepAliveMs: o.eventKeepAliveMs ?? 15_000,
    openApi: () => (document ??= openApiDocument(routes, { anonymousRead: o.anonymousRead })),
  });

  const app = express();
  app.disable('x-powered-by');
  app.set('trust proxy', false);
  // node:querystring: a repeated name becomes an array (refused), `a[b]=` stays a plain name (unknown).
  app.set('query parser', 'simple');
  app.use(
    helmet({
      contentSecurityPolicy: {
        useDefaults: false,
        directives: {
          defaultSrc: ["'self'"],
          imgSrc: ["'self'", 'data:'],
          scriptSrc: ["'self'"],
          styleSrc: ["'self'"],
          connectSrc: ["'self'"],
          objectSrc: ["'none'"],
          baseUri: ["'self'"],
          formAction: ["'self'"],
          frameAncestors: ["'none'"],
        },
      },
    }),
  );

  // Who is asking, before the rate limit (its key) and the routes (their auth rule).
  app.use('/api', (req: Request, res: Response, next: NextFunction) => {
    const header = req.get('authorization');
    // EventSource cannot set headers: the event stream alone also takes the token as a parameter.
    const param = req.path === '/v1/events' && typeof req.query.access_token === 'string' ? req.query.access_token : undefined;
    const given = header !== undefined ? bearerToken(header) ?? '' : param;
    const token = given ? tokenMatches(given, o.readTokens) : undefined;
    const address = ipKeyGenerator(req.socket.remoteAddress ?? '?');
    res.locals.client = (
      token ? { key: tokenLabel(token), token: 'valid' } : { key: `ip:${address}`, token: given !== undefined ? 'invalid' : 'none' }
    ) satisfies Client;
    next();
  });
  const limit = o.ratePerMin ?? 1200;
  app.use(
    '/api',
    rateLimit({
      windowMs: 60_000,
      limit,
      standardHeaders: 'draft-8',
      legacyHeaders: false,
      keyGenerator: (_req, res) => (res.locals.client as Client).key,
      handler: (_req, _res, next) => next(new HttpError(429, 'rate-limited', `more than ${limit} requests a minute from this client; retry later`)),
    }),
  );

  const authorize =
    (r: Route): RequestHandler =>
    (_req, res, next) => {
      const client = res.locals.client as Client | undefined;
      if (r.auth === 'none' || client?.token === 'valid' || (client?.token === 'none' && o.anonymousRead)) return next();
      res.setHeader('www-authenticate', 'Bearer');
      next(new HttpError(401, 'unauthorized', client?.token === 'invalid' ? 'the read token is not valid' : 'a read token is required (Authorization: Bearer <token>)'));
    };
  const measure =
    (r: Route): RequestHandler =>
    (_req, res, next) => {
      const stop = r.response.kind === 'event-stream' ? undefined : metrics.duration.startTimer({ route: r.path });
      res.once('finish', () => {
        stop?.();
        metrics.requests.inc({ route: r.path, code: String(res.statusCode) });
      });
      next();
    };

  for (const r of routes) {
    const at = r.path.replace(/\{(\w+)\}/g, ':$1');
    app.get(at, measure(r), authorize(r), async (req: Request, res: Response) => {
      // Operations endpoints ignore query strings (probes and scrapers add their own).
      const params = r.path.startsWith('/api/') ? parseParams(r.params, req) : {};
      const body = await r.handle(params, req, res);
      if (r.response.kind === 'json') res.json(body);
    });
    app.all(at, (req: Request, res: Response, next: NextFunction) => {
      res.setHeader('allow', 'GET, HEAD');
      next(new HttpError(405, 'method-not-allowed', `${req.method} is not allowed here; use GET`));
    });
  }

  app.use(express.static(o.pageDir ?? DEFAULT_PAGE_DIR, { index: 'index.html', redirect: false }));
  app.use(notFound());
  app.use(problemHandler(o.logger));
  return app;
}

/**
 * The report API (Express), built by a factory so tests run the real app over HTTP:
 *
 *   POST /api/v1/reports   one UserReport (JSON), or a batch (JSON array, or NDJSON with
 *                          `content-type: application/x-ndjson`)
 *
 * The server fills `id` and `ts` when absent, checks every item against the contract and the
 * catalog, publishes the accepted ones to `outage.reports.v1` before answering `202`, and names
 * each refused item with its index and reason. Abuse resistance: a body size limit, per-client
 * rate limits (stricter for anonymous web reports), bearer tokens compared in constant time,
 * security headers, idempotent ids, and a reporter identity on every report (the author, or a
 * salted hash of client address and token) so that the correlator counts one reporter once per
 * service and window while every raw submission is still kept.
 */
import { createHmac, randomUUID } from 'node:crypto';
import express, { type NextFunction, type Request, type Response } from 'express';
import { rateLimit } from 'express-rate-limit';
import helmet from 'helmet';
import type { UserReport } from '../../schemas/contracts.ts';
import { topics } from '../../schemas/topics.ts';
import { bearerToken, tokenMatches } from '../../lib/bearer-tokens.ts';
import type { Bus } from '../../lib/bus/bus.ts';
import type { Catalog } from '../../lib/catalog.ts';
import type { Logger } from '../../lib/log.ts';
import type { Metrics } from '../../lib/metrics.ts';
import { checkReport, readReportBody, type Refused } from './items.ts';

export interface ReportApiOptions {
  bus: Bus;
  catalog: Catalog;
  logger: Logger;
  metrics: Metrics;
  /** Accepted bearer tokens (API clients). */
  tokens: string[];
  /** Accept reports without a token on the web and app channels, with the stricter limit. */
  allowAnonymous: boolean;
  /** Salt of the reporter hash (keep it secret and stable: it makes the hashes unlinkable). */
  salt: string;
  maxBodyBytes?: number;
  maxBatch?: number;
  /** Requests per minute per client. */
  tokenRatePerMin?: number;
  anonymousRatePerMin?: number;
  /** How many recent ids are remembered to drop duplicates. */
  dedupIds?: number;
  now?: () => number;
}

/** One HTTP error type; one handler turns it (and body-parser errors) into JSON. */
export class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

const JSON_TYPES = ['application/json', 'application/*+json'];
const NDJSON_TYPES = ['application/x-ndjson', 'application/ndjson'];

/** Remembers the last `capacity` ids (insertion order), for idempotent retries. */
class RecentIds {
  private readonly ids = new Set<string>();
  constructor(private readonly capacity: number) {}
  has(id: string): boolean {
    return this.ids.has(id);
  }
  add(id: string): void {
    this.ids.add(id);
    if (this.ids.size > this.capacity) this.ids.delete(this.ids.values().next().value!);
  }
}

export function createReportApp(o: ReportApiOptions): express.Express {
  const now = o.now ?? Date.now;
  const known = new Set(o.catalog.services.map((s) => s.id));
  const recent = new RecentIds(o.dedupIds ?? 100_000);
  const maxBatch = o.maxBatch ?? 1000;
  const reporterOf = (clientKey: string) => `anon:${createHmac('sha256', o.salt).update(clientKey).digest('hex').slice(0, 20)}`;

  const app = express();
  app.disable('x-powered-by');
  app.set('trust proxy', false);
  app.use(helmet());

  // Authentication first: the rate limit key and limit depend on who is asking.
  app.use('/api/v1/reports', (req: Request, res: Response, next: NextFunction) => {
    const header = req.get('authorization');
    if (header) {
      const given = bearerToken(header);
      const token = given ? tokenMatches(given, o.tokens) : undefined;
      if (!token) return next(new HttpError(401, 'unauthorized', 'the bearer token is not valid'));
      res.locals.client = { kind: 'token', key: `token:${createHmac('sha256', o.salt).update(token).digest('hex').slice(0, 12)}` };
    } else if (o.allowAnonymous) {
      res.locals.client = { kind: 'anonymous', key: `ip:${req.socket.remoteAddress ?? '?'}` };
    } else {
      res.setHeader('www-authenticate', 'Bearer');
      return next(new HttpError(401, 'unauthorized', 'a bearer token is required (Authorization: Bearer <token>)'));
    }
    next();
  });
  const limiter = (limit: number) =>
    rateLimit({
      windowMs: 60_000,
      limit,
      standardHeaders: 'draft-8',
      legacyHeaders: false,
      keyGenerator: (_req, res) => (res.locals.client as { key: string }).key,
      handler: (_req, _res, next) => next(new HttpError(429, 'rate_limited', `more than ${limit} requests a minute from this client`)),
    });
  const tokenLimit = limiter(o.tokenRatePerMin ?? 600);
  const anonLimit = limiter(o.anonymousRatePerMin ?? 10);
  app.use('/api/v1/reports', (req, res, next) => ((res.locals.client as { kind: string }).kind === 'token' ? tokenLimit : anonLimit)(req, res, next));

  const limit = o.maxBodyBytes ?? 256 * 1024;
  app.post(
    '/api/v1/reports',
    // The bytes as sent: UTF-8, depth and numbers are checked by readReportBody before and after parsing.
    express.raw({ limit, type: [...JSON_TYPES, ...NDJSON_TYPES] }),
    async (req: Request, res: Response, next: NextFunction) => {
      try {
        const client = res.locals.client as { kind: 'token' | 'anonymous'; key: string };
        const raw: unknown = req.body;
        const read = Buffer.isBuffer(raw)
          ? readReportBody(raw, { ndjson: Boolean(req.is(NDJSON_TYPES)), maxBatch })
          : ({ ok: false, status: 400, code: 'empty_body', message: 'send one report as a JSON object, or a JSON array or NDJSON of reports' } as const);
        if (!read.ok) throw new HttpError(read.status, read.code, read.message);
        const { items, single } = read;

        const accepted: UserReport[] = [];
        const duplicates: string[] = [];
        const refused: Refused[] = [...read.refused];
        const received = new Date(now()).toISOString();
        items.forEach((item, index) => {
          const r = checkReport(item, index, { id: randomUUID, ts: received });
          if (!r.ok) return void refused.push(r.refused);
          const report = r.report;
          if (!known.has(report.service)) return void refused.push({ index, reason: 'unknown_service', detail: `unknown service "${report.service}"; known services: ${[...known].join(', ')}` });
          if (client.kind === 'anonymous' && report.channel !== 'web' && report.channel !== 'app') {
            return void refused.push({ index, reason: 'forbidden_channel', detail: `anonymous reports may use the web or app channel, not "${report.channel}"` });
          }
          if (recent.has(report.id) || accepted.some((a) => a.id === report.id)) return void duplicates.push(report.id);
          accepted.push(report.author ? report : { ...report, author: reporterOf(client.key) });
        });
        refused.sort((a, b) => a.index - b.index);

        if (accepted.length > 0) {
          await o.bus.publish(topics.reports.name, accepted.map((r) => ({ key: r.service, value: JSON.stringify(r) })));
          for (const r of accepted) recent.add(r.id);
        }
        for (const r of refused) o.metrics.inputErrors.inc({ kind: r.reason });
        const body = { accepted: accepted.map((r) => r.id), duplicates, refused };
        if (accepted.length === 0 && duplicates.length === 0) {
          const first = refused[0];
          res.status(single && first?.reason === 'unknown_service' ? 422 : 400).json({ error: single ? first?.reason : 'no_valid_reports', message: single ? first?.detail : 'no report in the batch was valid', ...body });
          return;
        }
        res.status(202).json(body);
      } catch (err) {
        next(err);
      }
    },
  );

  app.use((_req: Request, _res: Response, next: NextFunction) => next(new HttpError(404, 'not_found', 'no such endpoint')));
  // body-parser errors carry `status` and `type`; everything else unexpected is a 500 without details.
  app.use((err: unknown, _req: Request, res: Response, _next: NextFunction) => {
    const e = err as { status?: number; type?: string; message?: string };
    if (err instanceof HttpError) return void res.status(err.status).json({ error: err.code, message: err.message });
    if (e.type === 'entity.too.large') return void res.status(413).json({ error: 'body_too_large', message: `the body is larger than ${limit} bytes` });
    if (e.status && e.status >= 400 && e.status < 500) return void res.status(e.status).json({ error: e.type ?? 'bad_request', message: e.message });
    o.logger.error({ err }, 'report API failure');
    res.status(500).json({ error: 'internal', message: 'the report could not be stored; retry later' });
  });
  return app;
}

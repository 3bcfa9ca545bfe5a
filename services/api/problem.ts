/**
 * The query API's one error type and one error handler. Every error answer is an RFC 9457
 * problem document (`application/problem+json`): `{ type, title, status, detail, param? }`, where
 * `param` names the query or path parameter at fault. A failure we did not expect is logged with
 * its details and answered with a generic 500 that says nothing about the internals.
 *
 * https://www.rfc-editor.org/rfc/rfc9457
 */
import type { ErrorRequestHandler, RequestHandler } from 'express';
import type { Problem } from '../../schemas/api.ts';
import type { Logger } from '../../lib/log.ts';

export const PROBLEM_TYPE = 'application/problem+json';

/** The problems the API answers with; `type` is `urn:outage:problem:<kind>`. */
const titles = {
  'bad-parameter': 'Bad request parameter',
  'unknown-parameter': 'Unknown request parameter',
  unauthorized: 'Unauthorized',
  'not-found': 'Not found',
  'rate-limited': 'Too many requests',
  'method-not-allowed': 'Method not allowed',
  internal: 'Internal error',
  unavailable: 'Service unavailable',
} as const;
export type ProblemKind = keyof typeof titles;

/**
 * An answer other than success, with the parameter at fault.
 *
 * @example throw new HttpError(404, 'not-found', 'no incident with id "x"', 'id')
 */
export class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly kind: ProblemKind,
    readonly detail: string,
    /** The query or path parameter at fault. */
    readonly param?: string,
  ) {
    super(detail);
    this.name = 'HttpError';
  }

  /**
   * A 400 naming the parameter.
   *
   * @example throw HttpError.badParam('limit', 'must be an integer from 1 to 200')
   */
  static badParam(param: string, detail: string): HttpError {
    return new HttpError(400, 'bad-parameter', `${param}: ${detail}`, param);
  }

  toProblem(): Problem {
    return { type: `urn:outage:problem:${this.kind}`, title: titles[this.kind], status: this.status, detail: this.detail, ...(this.param !== undefined ? { param: this.param } : {}) };
  }
}

/**
 * Answers unmatched requests with a 404 problem.
 *
 * @example app.use(notFound()) // after every route
 */
export function notFound(): RequestHandler {
  return (req, _res, next) => next(new HttpError(404, 'not-found', `no such endpoint: ${req.method} ${req.path.slice(0, 200)}`));
}

/**
 * The one error handler: HttpErrors as they are, a few known framework errors mapped, anything
 * else logged and answered as a generic 500.
 *
 * @example app.use(problemHandler(logger))
 */
export function problemHandler(logger: Logger): ErrorRequestHandler {
  return (err: unknown, req, res, next) => {
    // An event stream that already sent its headers cannot turn into a problem document.
    if (res.headersSent) return next(err);
    let e: HttpError;
    if (err instanceof HttpError) e = err;
    else if (clientStatus(err) === 404) e = new HttpError(404, 'not-found', `no such resource: ${req.path.slice(0, 200)}`);
    else if (clientStatus(err) !== undefined) e = new HttpError(400, 'bad-parameter', 'the request could not be read (a malformed path or parameter)');
    else {
      logger.error({ err, method: req.method, path: req.path }, 'query API failure');
      e = new HttpError(500, 'internal', 'the request failed on the server; it has been logged');
    }
    res.status(e.status).type(PROBLEM_TYPE).send(JSON.stringify(e.toProblem()));
  };
}

/** The 4xx status of an error raised by Express or the static files for a bad request (e.g. a bad %-escape). */
function clientStatus(err: unknown): number | undefined {
  const status = (err as { status?: unknown } | null)?.status;
  return typeof status === 'number' && status >= 400 && status < 500 ? status : undefined;
}

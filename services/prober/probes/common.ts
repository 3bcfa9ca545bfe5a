/** Shared pieces of the protocol probes: target parsing, name resolution, and the result shape. */
import { lookup } from 'node:dns/promises';
import type { ClientRequest } from 'node:http';
import { isIP } from 'node:net';
import { rootCertificates } from 'node:tls';
import type { ProbeResult } from '../../../schemas/contracts.ts';
import type { CertFacts } from '../../../lib/certs/x509.ts';
import type { ProbeContext, ProbeOutcome, ProbeSpec } from './types.ts';

export interface Target {
  host: string;
  port: number;
  /** `host:port` as it appears in certificate observations' `endpoint`. */
  endpoint: string;
}

const DEFAULT_PORTS: Record<string, number> = { 'http:': 80, 'https:': 443, 'tls:': 443, 'tcp:': 0, 'dns:': 53 };

export function parseTarget(target: string): Target {
  const url = new URL(target);
  const host = url.hostname.replace(/^\[|\]$/g, '');
  const port = Number(url.port || DEFAULT_PORTS[url.protocol] || 0);
  return { host, port, endpoint: `${host}:${port}` };
}

/** Resolves a host (or takes the override), timing it. */
export async function resolveHost(host: string, override: string | undefined): Promise<{ address: string; family: 4 | 6; ms: number }> {
  if (override) return { address: override, family: isIP(override) === 6 ? 6 : 4, ms: 0 };
  if (isIP(host)) return { address: host, family: isIP(host) === 6 ? 6 : 4, ms: 0 };
  const t = performance.now();
  const r = await lookup(host);
  return { address: r.address, family: r.family === 6 ? 6 : 4, ms: performance.now() - t };
}

/** Node's bundled roots plus the spec's extra CA, or undefined for Node's defaults alone. */
export const trustedCa = (spec: ProbeSpec) => (spec.ca ? [...rootCertificates, spec.ca] : undefined);

/** An error value from anything thrown by Node's network stack, keeping its code. */
export function errorOf(err: unknown): { code: string; message: string } {
  const e = err as NodeJS.ErrnoException;
  return { code: e?.code ?? 'ERROR', message: (e?.message ?? String(err)).slice(0, 500) };
}

const round = (ms: number) => Math.round(ms * 10) / 10;

export function outcome(
  spec: ProbeSpec,
  ctx: ProbeContext,
  startedMs: number,
  durationMs: number,
  fields: { ok: boolean; error?: { code: string; message: string }; phases?: ProbeResult['phases']; httpStatus?: number; tls?: ProbeResult['tls'] },
  chain: CertFacts[] = [],
): ProbeOutcome {
  const phases = fields.phases && Object.fromEntries(Object.entries(fields.phases).map(([k, v]) => [k, round(v as number)]));
  return {
    result: {
      id: ctx.id,
      ts: new Date(startedMs).toISOString(),
      probe: spec.name,
      service: spec.service,
      target: spec.target,
      ok: fields.ok,
      durationMs: round(durationMs),
      ...(spec.region ? { region: spec.region } : {}),
      ...(phases && Object.keys(phases).length > 0 ? { phases } : {}),
      ...(fields.httpStatus !== undefined ? { httpStatus: fields.httpStatus } : {}),
      ...(fields.error ? { error: fields.error } : {}),
      ...(fields.tls ? { tls: fields.tls } : {}),
    },
    chain,
  };
}

/** Bodies are read up to this many bytes for the match; the rest is discarded. */
export const MAX_BODY = 256 * 1024;

/**
 * The verdict on an HTTP(S) response: the expected status (default: any 2xx or 3xx, so a redirect
 * to HTTPS counts as up), then the body match. A redirect that was not expected names its target.
 *
 * @example judgeResponse({ expectStatus: 200 }, 301, '', 'https://example.com/') // { ok: false, error: { code: 'HTTP_301', message: 'HTTP 301 to https://example.com/ (expected 200)' } }
 */
export function judgeResponse(
  spec: Pick<ProbeSpec, 'expectStatus' | 'bodyMatch'>,
  status: number,
  body: string,
  location?: string,
): { ok: boolean; error?: { code: string; message: string } } {
  const statusOk = spec.expectStatus !== undefined ? status === spec.expectStatus : status >= 200 && status < 400;
  if (!statusOk) {
    const to = location && status >= 300 && status < 400 ? ` to ${location.slice(0, 500)}` : '';
    return { ok: false, error: { code: `HTTP_${status}`, message: `HTTP ${status}${to}${spec.expectStatus ? ` (expected ${spec.expectStatus})` : ''}` } };
  }
  if (spec.bodyMatch && !new RegExp(spec.bodyMatch).test(body)) return { ok: false, error: { code: 'BODY_MISMATCH', message: `the body does not match /${spec.bodyMatch}/` } };
  return { ok: true };
}

export type HttpVerdict = { ok: boolean; error?: { code: string; message: string }; httpStatus?: number };

/**
 * Waits for the answer to an HTTP(S) check's request and judges it (status, body match), timing
 * the first byte; a timeout or a socket error is a failed check, never a throw. `started` is the
 * `performance.now()` at which the connection began.
 *
 * @example
 * const verdict = await answerOf(req, spec, phases, performance.now()); // { ok: true, httpStatus: 200 }
 */
export function answerOf(req: ClientRequest, spec: ProbeSpec, phases: NonNullable<ProbeResult['phases']>, started: number): Promise<HttpVerdict> {
  return new Promise((resolve) => {
    req.once('response', (res) => {
      phases.ttfbMs = performance.now() - started;
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        if (body.length < MAX_BODY) body += chunk;
      });
      res.once('end', () => {
        const status = res.statusCode ?? 0;
        resolve({ ...judgeResponse(spec, status, body, res.headers.location), httpStatus: status });
      });
      res.once('error', (err) => resolve({ ok: false, httpStatus: res.statusCode ?? 0, error: errorOf(err) }));
    });
    req.once('timeout', () => req.destroy(Object.assign(new Error(`no response within ${spec.timeoutMs} ms`), { code: 'ETIMEDOUT' })));
    req.once('error', (err) => resolve({ ok: false, error: errorOf(err) }));
    req.end();
  });
}

/**
 * `http://…`: a plain HTTP request, as health endpoints and redirects to HTTPS are checked.
 * Phases (DNS, connect, time to first byte), the status (any 2xx or 3xx is up unless the endpoint
 * expects one; a redirect is not followed, and one that was not expected names its target), an
 * optional body match. There is no TLS part: nothing about certificates comes from this check.
 */
import { request } from 'node:http';
import type { ProbeResult } from '../../../schemas/contracts.ts';
import { errorOf, judgeResponse, MAX_BODY, outcome, parseTarget, resolveHost } from './common.ts';
import type { ProbeFn } from './types.ts';

export const probeHttp: ProbeFn = async (spec, ctx) => {
  const started = ctx.now();
  const t0 = performance.now();
  const url = new URL(spec.target);
  const { host, port } = parseTarget(spec.target);
  const phases: NonNullable<ProbeResult['phases']> = {};
  const done = (fields: { ok: boolean; error?: { code: string; message: string }; httpStatus?: number }) => outcome(spec, ctx, started, performance.now() - t0, { ...fields, phases });
  try {
    const r = await resolveHost(host, spec.ipOverride);
    phases.dnsMs = r.ms;
    const t1 = performance.now();
    return await new Promise((resolve) => {
      const req = request({
        host: r.address,
        port,
        family: r.family,
        path: `${url.pathname}${url.search}`,
        method: 'GET',
        agent: false,
        timeout: spec.timeoutMs,
        headers: { host: url.host, 'user-agent': 'outage-prober/0.1', accept: '*/*' },
      });
      req.once('socket', (socket) => socket.once('connect', () => (phases.connectMs = performance.now() - t1)));
      req.once('response', (res) => {
        phases.ttfbMs = performance.now() - t1;
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => {
          if (body.length < MAX_BODY) body += chunk;
        });
        res.once('end', () => {
          const status = res.statusCode ?? 0;
          resolve(done({ ...judgeResponse(spec, status, body, res.headers.location), httpStatus: status }));
        });
        res.once('error', (err) => resolve(done({ ok: false, httpStatus: res.statusCode ?? 0, error: errorOf(err) })));
      });
      req.once('timeout', () => req.destroy(Object.assign(new Error(`no response within ${spec.timeoutMs} ms`), { code: 'ETIMEDOUT' })));
      req.once('error', (err) => resolve(done({ ok: false, error: errorOf(err) })));
      req.end();
    });
  } catch (err) {
    return done({ ok: false, error: errorOf(err) });
  }
};

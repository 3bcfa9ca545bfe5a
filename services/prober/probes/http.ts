/**
 * `http://…`: a plain HTTP request, as health endpoints and redirects to HTTPS are checked.
 * Phases (DNS, connect, time to first byte), the status (any 2xx or 3xx is up unless the endpoint
 * expects one; a redirect is not followed, and one that was not expected names its target), an
 * optional body match. There is no TLS part: nothing about certificates comes from this check.
 */
import { request } from 'node:http';
import type { ProbeResult } from '../../../schemas/contracts.ts';
import { answerOf, errorOf, outcome, parseTarget, resolveHost, type HttpVerdict } from './common.ts';
import type { ProbeFn } from './types.ts';

export const probeHttp: ProbeFn = async (spec, ctx) => {
  const started = ctx.now();
  const t0 = performance.now();
  const url = new URL(spec.target);
  const { host, port } = parseTarget(spec.target);
  const phases: NonNullable<ProbeResult['phases']> = {};
  const done = (fields: HttpVerdict) => outcome(spec, ctx, started, performance.now() - t0, { ...fields, phases });
  try {
    const r = await resolveHost(host, spec.ipOverride);
    phases.dnsMs = r.ms;
    const t1 = performance.now();
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
    return done(await answerOf(req, spec, phases, t1));
  } catch (err) {
    return done({ ok: false, error: errorOf(err) });
  }
};

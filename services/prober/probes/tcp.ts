/** `tcp://host:port`: name resolution and a TCP connect. */
import { connect } from 'node:net';
import { errorOf, outcome, parseTarget, resolveHost } from './common.ts';
import type { ProbeFn } from './types.ts';

export const probeTcp: ProbeFn = async (spec, ctx) => {
  const started = ctx.now();
  const t0 = performance.now();
  const { host, port } = parseTarget(spec.target);
  let dnsMs = 0;
  try {
    const r = await resolveHost(host, spec.ipOverride);
    dnsMs = r.ms;
    const t1 = performance.now();
    await new Promise<void>((resolve, reject) => {
      const socket = connect({ host: r.address, port, family: r.family, timeout: spec.timeoutMs });
      socket.once('connect', () => (socket.destroy(), resolve()));
      socket.once('timeout', () => socket.destroy(Object.assign(new Error(`no connection within ${spec.timeoutMs} ms`), { code: 'ETIMEDOUT' })));
      socket.once('error', reject);
    });
    return outcome(spec, ctx, started, performance.now() - t0, { ok: true, phases: { dnsMs, connectMs: performance.now() - t1 } });
  } catch (err) {
    return outcome(spec, ctx, started, performance.now() - t0, { ok: false, error: errorOf(err), phases: { dnsMs } });
  }
};

/** `dns://host`: does the name resolve (through the system resolver, as clients do)? */
import { lookup } from 'node:dns/promises';
import { errorOf, outcome, parseTarget } from './common.ts';
import type { ProbeFn } from './types.ts';

export const probeDns: ProbeFn = async (spec, ctx) => {
  const started = ctx.now();
  const t0 = performance.now();
  const { host } = parseTarget(spec.target);
  try {
    const timeout = new Promise<never>((_, reject) =>
      setTimeout(() => reject(Object.assign(new Error(`no answer within ${spec.timeoutMs} ms`), { code: 'ETIMEDOUT' })), spec.timeoutMs).unref(),
    );
    const addresses = await Promise.race([lookup(host, { all: true }), timeout]);
    const ms = performance.now() - t0;
    if (addresses.length === 0) return outcome(spec, ctx, started, ms, { ok: false, error: { code: 'ENODATA', message: `${host} has no addresses` } });
    return outcome(spec, ctx, started, ms, { ok: true, phases: { dnsMs: ms } });
  } catch (err) {
    return outcome(spec, ctx, started, performance.now() - t0, { ok: false, error: errorOf(err) });
  }
};

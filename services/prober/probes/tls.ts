/** `tls://host:port`: a TLS handshake only (SNI, optional address override), chain captured and verified. */
import { connect, type TLSSocket } from 'node:tls';
import { errorOf, outcome, parseTarget, resolveHost, trustedCa } from './common.ts';
import { inspectTls, type TlsInspection } from './tls-chain.ts';
import type { ProbeFn } from './types.ts';

export const probeTls: ProbeFn = async (spec, ctx) => {
  const started = ctx.now();
  const t0 = performance.now();
  const { host, port } = parseTarget(spec.target);
  const servername = spec.servername ?? host;
  let dnsMs = 0;
  let connectMs: number | undefined;
  try {
    const r = await resolveHost(host, spec.ipOverride);
    dnsMs = r.ms;
    const t1 = performance.now();
    const inspection = await new Promise<{ i: TlsInspection; tlsMs: number }>((resolve, reject) => {
      const ca = trustedCa(spec);
      const socket: TLSSocket = connect({ host: r.address, port, servername, rejectUnauthorized: false, timeout: spec.timeoutMs, ...(ca ? { ca } : {}) });
      socket.once('connect', () => (connectMs = performance.now() - t1));
      socket.once('secureConnect', () => {
        const i = inspectTls(socket, servername, ctx.now());
        socket.end();
        resolve({ i, tlsMs: performance.now() - t1 - (connectMs ?? 0) });
      });
      socket.once('timeout', () => socket.destroy(Object.assign(new Error(`no handshake within ${spec.timeoutMs} ms`), { code: 'ETIMEDOUT' })));
      socket.once('error', reject);
    });
    const { i, tlsMs } = inspection;
    return outcome(
      spec,
      ctx,
      started,
      performance.now() - t0,
      { ok: !i.error, ...(i.error ? { error: i.error } : {}), phases: { dnsMs, ...(connectMs !== undefined ? { connectMs } : {}), tlsMs }, tls: i.tls },
      i.chain,
    );
  } catch (err) {
    return outcome(spec, ctx, started, performance.now() - t0, { ok: false, error: errorOf(err), phases: { dnsMs, ...(connectMs !== undefined ? { connectMs } : {}) } });
  }
};

/**
 * `https://…`: a full request. Phases (DNS, connect, TLS, time to first byte), the status, an
 * optional body match, and the TLS facts, which are captured and verified by us so a failing
 * chain still says what was served.
 */
import { request } from 'node:https';
import type { TLSSocket } from 'node:tls';
import type { CertFacts } from '../../../lib/certs/x509.ts';
import type { ProbeResult } from '../../../schemas/contracts.ts';
import { answerOf, errorOf, outcome, parseTarget, resolveHost, trustedCa, type HttpVerdict } from './common.ts';
import { inspectTls, type TlsInspection } from './tls-chain.ts';
import type { ProbeFn } from './types.ts';

export const probeHttps: ProbeFn = async (spec, ctx) => {
  const started = ctx.now();
  const t0 = performance.now();
  const url = new URL(spec.target);
  const { host, port } = parseTarget(spec.target);
  const servername = spec.servername ?? host;
  const phases: NonNullable<ProbeResult['phases']> = {};
  let inspection: TlsInspection | undefined;
  const done = (fields: HttpVerdict) =>
    outcome(spec, ctx, started, performance.now() - t0, { ...fields, phases, ...(inspection ? { tls: inspection.tls } : {}) }, inspection?.chain ?? ([] as CertFacts[]));
  try {
    const r = await resolveHost(host, spec.ipOverride);
    phases.dnsMs = r.ms;
    const t1 = performance.now();
    return await new Promise((resolve) => {
      const ca = trustedCa(spec);
      const req = request({
        host: r.address,
        port,
        path: `${url.pathname}${url.search}`,
        method: 'GET',
        servername,
        agent: false,
        rejectUnauthorized: false,
        timeout: spec.timeoutMs,
        headers: { host: url.host, 'user-agent': 'outage-prober/0.1', accept: '*/*' },
        ...(ca ? { ca } : {}),
      });
      req.once('socket', (socket) => {
        socket.once('connect', () => (phases.connectMs = performance.now() - t1));
        socket.once('secureConnect', () => {
          phases.tlsMs = performance.now() - t1 - (phases.connectMs ?? 0);
          inspection = inspectTls(socket as TLSSocket, servername, ctx.now());
          // A bad certificate fails the check, as it fails every client; the facts are kept.
          if (inspection.error) {
            resolve(done({ ok: false, error: inspection.error }));
            req.destroy();
          }
        });
      });
      void answerOf(req, spec, phases, t1).then((verdict) => resolve(done(verdict)));
    });
  } catch (err) {
    return done({ ok: false, error: errorOf(err) });
  }
};

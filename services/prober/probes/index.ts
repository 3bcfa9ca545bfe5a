/**
 * Every probe protocol, one typed registry, and how catalog endpoints become checks.
 *
 * @example
 * const outcome = await runProbe(specFor('https://teams.microsoft.com/', 'teams', { region: 'eu-west' }));
 */
import { randomUUID } from 'node:crypto';
import { probeDns } from './dns.ts';
import { probeHttp } from './http.ts';
import { probeHttps } from './https.ts';
import { probeTcp } from './tcp.ts';
import { probeTls } from './tls.ts';
import type { ProbeContext, ProbeFn, ProbeKind, ProbeOutcome, ProbeSpec } from './types.ts';

export type { ProbeKind, ProbeOutcome, ProbeSpec } from './types.ts';

export const probers = { http: probeHttp, https: probeHttps, tls: probeTls, tcp: probeTcp, dns: probeDns } satisfies Record<ProbeKind, ProbeFn>;

const KIND_BY_SCHEME: Record<string, ProbeKind> = { 'http:': 'http', 'https:': 'https', 'tls:': 'tls', 'tcp:': 'tcp', 'dns:': 'dns' };

/** A check for a catalog endpoint; throws for a scheme the prober does not speak (config error). */
export function specFor(target: string, service: string, opts: Partial<Omit<ProbeSpec, 'target' | 'service' | 'kind'>> = {}): ProbeSpec {
  const kind = KIND_BY_SCHEME[new URL(target).protocol];
  if (!kind) throw new Error(`${target}: unsupported scheme (use http://, https://, tls://, tcp:// or dns://)`);
  return { kind, target, service, name: `${kind}-${service}`, timeoutMs: 10_000, ...opts };
}

/** Runs one check. Never throws: failures are results. */
export async function runProbe(spec: ProbeSpec, ctx: Partial<ProbeContext> = {}): Promise<ProbeOutcome> {
  return probers[spec.kind](spec, { now: ctx.now ?? Date.now, id: ctx.id ?? randomUUID() });
}

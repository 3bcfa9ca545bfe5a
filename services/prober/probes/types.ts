/**
 * The prober's typed surface: what a check is (a spec), what it returns (a ProbeResult plus the
 * certificates the server presented), and the one function type every protocol implements.
 * A probe never throws: an expected failure is a result with `ok: false` and an error code.
 */
import type { ProbeResult } from '../../../schemas/contracts.ts';
import type { CertFacts } from '../../../lib/certs/x509.ts';

export type ProbeKind = 'http' | 'https' | 'tls' | 'tcp' | 'dns';

export interface ProbeSpec {
  kind: ProbeKind;
  /** `http[s]://host[:port]/path`, `tls://host:port`, `tcp://host:port` or `dns://host`. */
  target: string;
  service: string;
  /** Check name, e.g. `https-checkout`. */
  name: string;
  region?: string;
  timeoutMs: number;
  /** HTTP(S): the status that counts as up (default: any 2xx or 3xx, so a redirect is up). */
  expectStatus?: number;
  /** HTTP(S): a regular expression the body must match. */
  bodyMatch?: string;
  /** TLS SNI name when it differs from the target's host. */
  servername?: string;
  /** Connect to this address instead of resolving the host (the host still goes in SNI and Host). */
  ipOverride?: string;
  /** Extra trusted roots (PEM) besides Node's bundled ones, e.g. an internal CA. */
  ca?: string;
}

export interface ProbeOutcome {
  result: ProbeResult;
  /** The certificates the server presented, leaf first (TLS and HTTPS probes). */
  chain: CertFacts[];
}

export type ProbeFn = (spec: ProbeSpec, ctx: ProbeContext) => Promise<ProbeOutcome>;

export interface ProbeContext {
  /** Wall clock of the prober (it stamps what it observes; decisions downstream use event time). */
  now: () => number;
  /** Unique id of this check run. */
  id: string;
}

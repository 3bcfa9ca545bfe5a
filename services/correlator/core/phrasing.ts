/**
 * Phrasing: every hint says in one sentence what happened and when (DESIGN.md §5), with the facts
 * behind it in `evidence`. Scores come from `cert-scoring.ts` and `symptoms.ts`; nothing here
 * decides.
 */
import type { Hint } from '../../../schemas/contracts.ts';
import { commonName } from '../../../lib/certs/facts.ts';
import type { Cause } from './cert-scoring.ts';
import { CertTable, type CertInfo, type ProbeClass, type ProbeEpisode } from './evidence.ts';
import type { Scope } from './scope.ts';

const MIN = 60_000;

/** `13:31 UTC`, or `2020-02-02 13:31 UTC` when not on the day of `refMs`. */
export function fmtTime(ms: number, refMs: number): string {
  const iso = new Date(ms).toISOString();
  const sameDay = iso.slice(0, 10) === new Date(refMs).toISOString().slice(0, 10);
  return `${sameDay ? '' : `${iso.slice(0, 10)} `}${iso.slice(11, 16)} UTC`;
}

export function fmtDuration(ms: number): string {
  const m = Math.round(Math.abs(ms) / MIN);
  if (m < 1) return 'less than a minute';
  if (m === 1) return '1 minute';
  if (m < 120) return `${m} minutes`;
  if (m < 2880) return `${Math.round(m / 60)} hours`;
  return `${Math.round(m / 1440)} days`;
}

export function pathPhrase(scope: Scope, service: string): string {
  if (scope.hops === 0) return `bound to ${service}`;
  return `bound to ${scope.id}, which ${service} depends on (${scope.path.join(' → ')})`;
}

export function probePhrase(probes: ProbeEpisode[], refMs: number): string {
  if (probes.length === 0) return '';
  const targets = [...new Set(probes.map((p) => p.target))];
  const codes = [...new Set(probes.map((p) => p.code))];
  const since = Math.min(...probes.map((p) => p.sinceMs));
  return `probes of ${targets.slice(0, 2).join(', ')}${targets.length > 2 ? ` and ${targets.length - 2} more` : ''} failing with ${codes.join('/')} since ${fmtTime(since, refMs)}`;
}

export const CLASS_WORDS: Record<ProbeClass, string> = {
  tls: 'TLS handshake failures',
  dns: 'DNS resolution failures',
  refused: 'connections refused',
  timeout: 'timeouts',
  http_5xx: 'HTTP 5xx errors',
  http_4xx: 'HTTP 4xx errors',
  other: 'failures',
};

const shortSha = (c: CertInfo) => `sha256 ${c.sha256.slice(0, 12)}…`;

/** The hint of a certificate cause, written about its lead member, naming the others of its chain. */
export function certHint(cause: Cause, confidence: number, service: string, onsetMs: number): Hint {
  const c = cause.lead;
  const cert = c.cert;
  const label = CertTable.label(cert);
  const cn = commonName(cert.subject);
  const id = `${label} (${cn ? `CN=${cn}, ` : ''}${shortSha(cert)})`;
  let what: string;
  if (c.kind === 'cert_not_yet_valid') {
    what = `certificate ${id} is not valid until ${fmtTime(cert.notBeforeMs, onsetMs)} and was in use when reports rose at ${fmtTime(onsetMs, onsetMs)}`;
  } else {
    const delta = onsetMs - cert.notAfterMs;
    const rel = delta >= 0 ? `${fmtDuration(delta)} before reports rose` : `${fmtDuration(delta)} after reports rose`;
    what = `${c.kind === 'chain_expired' ? 'CA certificate' : 'certificate'} ${id} expired at ${fmtTime(cert.notAfterMs, onsetMs)}, ${rel}`;
  }
  const parts = [what];
  if (cause.others.length > 0) {
    const names = cause.others.map((o) => `${CertTable.label(o.cert)} (${shortSha(o.cert)})`).join(', ');
    parts.push(`together with ${names} of the same chain, at the same instant (one cause)`);
  }
  parts.push(pathPhrase(c.scope, service));
  const pp = probePhrase(c.probes, onsetMs);
  if (pp) parts.push(pp);
  if (c.posts[0]) parts.push(`${c.posts[0].account} mentions a certificate at ${fmtTime(c.posts[0].tsMs, onsetMs)}`);
  if (c.supersededBy) parts.push(`but ${CertTable.label(c.supersededBy)} (${shortSha(c.supersededBy)}) is what the endpoints serve now`);
  const endpoints = [...new Set([...cert.places.values()].map((p) => p.endpoint).filter(Boolean))];
  return {
    kind: c.kind,
    confidence,
    summary: parts.join('; '),
    certSha256: cert.sha256,
    ...(c.scope.hops > 0 ? { relatedService: c.scope.id } : {}),
    evidence: {
      certName: label,
      subject: cert.subject,
      issuer: cert.issuer,
      serial: cert.serial,
      sha256: cert.sha256,
      notBefore: new Date(cert.notBeforeMs).toISOString(),
      notAfter: new Date(cert.notAfterMs).toISOString(),
      minutesBeforeOnset: Math.round((onsetMs - cert.notAfterMs) / MIN),
      boundTo: c.scope.id,
      dependencyPath: c.scope.path,
      binding: c.binding.how,
      endpoints,
      probes: c.probes.map((p) => ({ target: p.target, region: p.region, code: p.code, since: new Date(p.sinceMs).toISOString() })),
      posts: c.posts.map((p) => ({ account: p.account, ts: new Date(p.tsMs).toISOString(), text: p.text, incidentIds: p.incidentIds })),
      factors: c.factors,
      ...(c.supersededBy ? { supersededBy: c.supersededBy.sha256 } : {}),
      ...(cause.others.length > 0
        ? {
            sameCause: cause.others.map((o) => ({
              sha256: o.cert.sha256,
              certName: CertTable.label(o.cert),
              subject: o.cert.subject,
              notBefore: new Date(o.cert.notBeforeMs).toISOString(),
              notAfter: new Date(o.cert.notAfterMs).toISOString(),
              factors: o.factors,
            })),
          }
        : {}),
    },
  };
}

/** The fix that was made and never deployed, phrased next to the certificate it would replace. */
export function renewalHint(cause: Cause, renewal: CertInfo, confidence: number, service: string, onsetMs: number): Hint {
  const c = cause.lead;
  const places = [...new Set([...renewal.places.values()].map((p) => p.endpoint ?? p.source))];
  return {
    kind: 'renewal_not_deployed',
    confidence,
    summary: `renewal ${CertTable.label(renewal)} (${shortSha(renewal)}, valid until ${fmtTime(renewal.notAfterMs, onsetMs)}) is in the inventory (${places.slice(0, 2).join(', ')}) but ${c.scope.id} still serves ${CertTable.label(c.cert)} (${shortSha(c.cert)}), which expired at ${fmtTime(c.cert.notAfterMs, onsetMs)}; ${pathPhrase(c.scope, service)}`,
    certSha256: renewal.sha256,
    ...(c.scope.hops > 0 ? { relatedService: c.scope.id } : {}),
    evidence: {
      renewalSha256: renewal.sha256,
      renewalNotBefore: new Date(renewal.notBeforeMs).toISOString(),
      renewalNotAfter: new Date(renewal.notAfterMs).toISOString(),
      renewalPlaces: places,
      servedSha256: c.cert.sha256,
      servedNotAfter: new Date(c.cert.notAfterMs).toISOString(),
      boundTo: c.scope.id,
      dependencyPath: c.scope.path,
    },
  };
}

/**
 * The phrase added to a certificate cause that a dependency's incident names as its own cause:
 * the path and that incident, as evidence of the same cause.
 */
export function sameCauseInDependency(dep: { id: string; service: string; onsetMs: number; status: 'open' | 'resolved'; path: string[] }, service: string, onsetMs: number): string {
  return `${dep.service}, which ${service} depends on (${dep.path.join(' → ')}), has ${dep.status === 'open' ? 'an open' : 'a recent'} incident with this cause since ${fmtTime(dep.onsetMs, onsetMs)} (${dep.id})`;
}

/**
 * Ranked root-cause hints for one incident (DESIGN.md §5).
 *
 * Certificate causes are scored as log-odds that add up, one term per piece of evidence (the
 * weights and their reasons are in `LLR`). Candidate certificates are mutually exclusive causes
 * with "something else" as the remaining option, so their confidences are a softmax against 1:
 * two equally good candidates share the probability instead of both claiming it. A certificate
 * only becomes a candidate when a path binds it to the spiking service or a dependency of it.
 *
 * Probe failures and dependency incidents are symptoms or neighbours: their confidence says how
 * likely they are to be where the cause lies, and shrinks when a certificate cause explains them.
 */
import type { Hint, HintKind } from '../../../schemas/contracts.ts';
import { dependencyPaths, hostMatches, serviceHosts, type Catalog, type CatalogService } from '../../../lib/catalog.ts';
import { bindingOf as bindingOfCert, type Binding } from '../../../lib/certs/services.ts';
import { CertTable, type CertInfo, type PostInfo, type PostLog, type ProbeClass, type ProbeEpisode, type ProbeTracker } from './evidence.ts';
import type { HintParams } from './params.ts';

/** Log-likelihood ratios (natural log) of each piece of evidence for "this certificate caused it". */
export const LLR = {
  /** Prior: most incidents are not caused by any one bound certificate. */
  prior: -3,
  /** Declared in the catalog, named by its observation, or served at the service's endpoint. */
  inUse: 1.5,
  /** Only its SAN names match the service: it may be a stale copy. */
  sanOnly: -0.5,
  /** Each hop of `dependsOn` between the spiking service and the certificate's service. */
  perHop: -0.5,
  /** Expiry within minutes before the onset (or within the onset's uncertainty). */
  expiryAtOnset: 4,
  /** Expiry a week or more before the onset while the service kept working. */
  expiryLongBefore: -4,
  /** Expiry after the onset: it cannot have started the outage. */
  expiryAfterOnset: -3,
  /** Probes of the service or a dependency fail with the matching TLS error on this very certificate. */
  probeSameCert: 3,
  /** Probes fail with a matching TLS error, certificate not identified. */
  probeSameClass: 1.5,
  /** A status post of the service mentions a certificate. */
  statusMentionsCert: 1.5,
  /** A newer certificate for the same names is what the endpoints serve: this one is a leftover. */
  superseded: -4,
  /** First served shortly before the onset while not yet valid. */
  notYetValidServed: 3,
} as const;

const sigmoid = (x: number) => 1 / (1 + Math.exp(-x));
const MIN = 60_000;
const DAY = 86_400_000;

export interface IncidentView {
  service: string;
  onsetMs: number;
  status: 'open' | 'resolved';
  topHint?: Hint;
}

export interface HintContext {
  catalog: Catalog;
  certs: CertTable;
  probes: ProbeTracker;
  posts: PostLog;
  params: HintParams;
  /** The incident of another service as of `nowMs`, if any (for dependency hints). */
  incidentOf: (service: string, nowMs: number) => IncidentView | undefined;
}

interface Scope {
  service: CatalogService | undefined;
  id: string;
  path: string[];
  hops: number;
  hosts: string[];
}

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

function scopesOf(ctx: HintContext, service: string): Scope[] {
  const byId = new Map(ctx.catalog.services.map((s) => [s.id, s]));
  const hostsOf = (svc: CatalogService | undefined) => (svc ? serviceHosts(svc) : []);
  const own = byId.get(service);
  const scopes: Scope[] = [{ service: own, id: service, path: [service], hops: 0, hosts: hostsOf(own) }];
  for (const [dep, path] of dependencyPaths(ctx.catalog, service)) {
    const svc = byId.get(dep);
    scopes.push({ service: svc, id: dep, path, hops: path.length - 1, hosts: hostsOf(svc) });
  }
  return scopes;
}

/** A scope as the shared binding rules see it. */
const targetOf = (scope: Scope) => ({ id: scope.id, certificates: scope.service?.certificates ?? [], hosts: scope.hosts });

const bindingOf = (c: CertInfo, scope: Scope): Binding | undefined => bindingOfCert({ ...c, places: c.places.values() }, targetOf(scope));

/** A CA is bound through the leaves it issued and through chains the service's probes saw. */
function chainBindingOf(ca: CertInfo, scope: Scope, ctx: HintContext): Binding | undefined {
  const how: string[] = [];
  for (const leaf of ctx.certs.bySha.values()) {
    if (leaf.issuerSha256 !== ca.sha256 || leaf.sha256 === ca.sha256) continue;
    const b = bindingOf(leaf, scope);
    if (b?.inUse) how.push(`issuer of ${CertTable.label(leaf)} (${b.how[0]})`);
  }
  for (const s of ctx.probes.series.values()) {
    if (s.service === scope.id && s.chainSha256?.includes(ca.sha256)) how.push(`in the chain served at ${s.target}`);
  }
  return how.length > 0 ? { inUse: true, how: [...new Set(how)] } : undefined;
}

/** Log-odds contribution of the time between expiry and onset (smooth in log-time). */
function expiryTiming(deltaMs: number): { llr: number; why: string } {
  const m = deltaMs / MIN;
  if (m < -15) return { llr: LLR.expiryAfterOnset, why: 'expired after the onset' };
  if (m <= 30) return { llr: LLR.expiryAtOnset, why: 'expired just before the onset' };
  if (m <= 1440) {
    const f = Math.log(m / 30) / Math.log(1440 / 30);
    return { llr: LLR.expiryAtOnset * (1 - f), why: 'expired hours before the onset' };
  }
  const f = Math.min(1, Math.log(m / 1440) / Math.log(7));
  return { llr: LLR.expiryLongBefore * f, why: 'expired days before the onset while the service kept working' };
}

interface Candidate {
  kind: HintKind;
  cert: CertInfo;
  scope: Scope;
  binding: Binding;
  logOdds: number;
  factors: { factor: string; llr: number }[];
  probes: ProbeEpisode[];
  posts: PostInfo[];
  supersededBy?: CertInfo;
}

const sharesNames = (a: CertInfo, b: CertInfo) =>
  a.dnsNames.some((n) => b.dnsNames.includes(n)) || [...a.names].some((n) => b.names.has(n)) || a.subject === b.subject;

/** A newer certificate for the same names that the service's endpoints serve more recently than `c`. */
function supersededBy(c: CertInfo, scope: Scope, ctx: HintContext): CertInfo | undefined {
  const lastServed = (x: CertInfo) => {
    let t = -Infinity;
    for (const p of x.places.values()) {
      if (p.source === 'probe' && p.host && scope.hosts.some((h) => hostMatches(h, p.host!))) t = Math.max(t, p.lastSeenMs);
    }
    return t;
  };
  const mine = lastServed(c);
  for (const other of ctx.certs.bySha.values()) {
    if (other === c || other.isCA !== c.isCA || other.notAfterMs <= c.notAfterMs || !sharesNames(c, other)) continue;
    const theirs = lastServed(other);
    if (theirs > -Infinity && theirs >= mine) return other;
  }
  return undefined;
}

function certCandidates(ctx: HintContext, scopes: Scope[], onsetMs: number, nowMs: number): Candidate[] {
  const lead = ctx.params.evidenceLeadMinutes * MIN;
  const own = scopes[0]!;
  const posts = ctx.posts.between(own.id, onsetMs - lead, nowMs).filter((p) => p.mentionsCertificate);
  const out: Candidate[] = [];
  for (const c of ctx.certs.bySha.values()) {
    const expired = c.notAfterMs <= nowMs;
    const notYetValid = c.notBeforeMs > onsetMs - 5 * MIN && c.notBeforeMs <= nowMs + 365 * DAY && !expired;
    if (!expired && !notYetValid) continue;
    // The closest scope that binds it, in use before SAN-only.
    let best: { scope: Scope; binding: Binding } | undefined;
    for (const scope of scopes) {
      const binding = (c.isCA ? chainBindingOf(c, scope, ctx) : undefined) ?? bindingOf(c, scope);
      if (!binding) continue;
      if (!best || (binding.inUse && !best.binding.inUse) || (binding.inUse === best.binding.inUse && scope.hops < best.scope.hops)) {
        best = { scope, binding };
      }
    }
    if (!best) continue;
    const { scope, binding } = best;
    const factors: { factor: string; llr: number }[] = [{ factor: 'prior', llr: LLR.prior }];
    factors.push(binding.inUse ? { factor: 'bound and in use', llr: LLR.inUse } : { factor: 'only its names match', llr: LLR.sanOnly });
    if (scope.hops > 0) factors.push({ factor: `${scope.hops} dependency hop(s) away`, llr: LLR.perHop * scope.hops });
    const kind: HintKind = expired ? (c.isCA ? 'chain_expired' : 'cert_expired') : 'cert_not_yet_valid';
    if (expired) {
      const t = expiryTiming(onsetMs - c.notAfterMs);
      factors.push({ factor: t.why, llr: t.llr });
    } else {
      const firstUse = Math.min(...[...c.places.values()].map((p) => p.firstSeenMs));
      const fresh = firstUse >= onsetMs - 60 * MIN;
      factors.push({ factor: fresh ? 'first seen shortly before the onset, not yet valid' : 'not yet valid', llr: fresh ? LLR.notYetValidServed : 1 });
    }
    const wantCode = expired ? 'CERT_HAS_EXPIRED' : 'CERT_NOT_YET_VALID';
    const tlsFailing = scopes.flatMap((s) => ctx.probes.failing(s.id, ctx.params.minProbeStreak, onsetMs - lead, nowMs)).filter((p) => p.cls === 'tls');
    const sameCert = tlsFailing.filter((p) => p.leafSha256 === c.sha256 || p.chainSha256?.includes(c.sha256));
    const sameClass = tlsFailing.filter((p) => p.code === wantCode);
    if (sameCert.length > 0) factors.push({ factor: 'probes fail on this certificate', llr: LLR.probeSameCert });
    else if (sameClass.length > 0) factors.push({ factor: `probes fail with ${wantCode}`, llr: LLR.probeSameClass });
    if (posts.length > 0) factors.push({ factor: 'a status post mentions a certificate', llr: LLR.statusMentionsCert });
    const newer = binding.inUse && sameCert.length > 0 ? undefined : supersededBy(c, scope, ctx);
    if (newer) factors.push({ factor: 'a newer certificate for the same names is served', llr: LLR.superseded });
    out.push({
      kind,
      cert: c,
      scope,
      binding,
      logOdds: factors.reduce((s, f) => s + f.llr, 0),
      factors,
      probes: sameCert.length > 0 ? sameCert : sameClass,
      posts,
      ...(newer ? { supersededBy: newer } : {}),
    });
  }
  return out;
}

function pathPhrase(scope: Scope, service: string): string {
  if (scope.hops === 0) return `bound to ${service}`;
  return `bound to ${scope.id}, which ${service} depends on (${scope.path.join(' → ')})`;
}

function probePhrase(probes: ProbeEpisode[], refMs: number): string {
  if (probes.length === 0) return '';
  const targets = [...new Set(probes.map((p) => p.target))];
  const codes = [...new Set(probes.map((p) => p.code))];
  const since = Math.min(...probes.map((p) => p.sinceMs));
  return `probes of ${targets.slice(0, 2).join(', ')}${targets.length > 2 ? ` and ${targets.length - 2} more` : ''} failing with ${codes.join('/')} since ${fmtTime(since, refMs)}`;
}

function certHint(c: Candidate, confidence: number, service: string, onsetMs: number): Hint {
  const cert = c.cert;
  const label = CertTable.label(cert);
  const cn = /CN=([^,]+)/.exec(cert.subject)?.[1];
  const id = `${label} (${cn ? `CN=${cn}, ` : ''}sha256 ${cert.sha256.slice(0, 12)}…)`;
  let what: string;
  if (c.kind === 'cert_not_yet_valid') {
    what = `certificate ${id} is not valid until ${fmtTime(cert.notBeforeMs, onsetMs)} and was in use when reports rose at ${fmtTime(onsetMs, onsetMs)}`;
  } else {
    const delta = onsetMs - cert.notAfterMs;
    const rel = delta >= 0 ? `${fmtDuration(delta)} before reports rose` : `${fmtDuration(delta)} after reports rose`;
    what = `${c.kind === 'chain_expired' ? 'CA certificate' : 'certificate'} ${id} expired at ${fmtTime(cert.notAfterMs, onsetMs)}, ${rel}`;
  }
  const parts = [what, pathPhrase(c.scope, service)];
  const pp = probePhrase(c.probes, onsetMs);
  if (pp) parts.push(pp);
  if (c.posts[0]) parts.push(`${c.posts[0].account} mentions a certificate at ${fmtTime(c.posts[0].tsMs, onsetMs)}`);
  if (c.supersededBy) parts.push(`but ${CertTable.label(c.supersededBy)} (sha256 ${c.supersededBy.sha256.slice(0, 12)}…) is what the endpoints serve now`);
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
    },
  };
}

/**
 * A newer certificate for the same names that the inventory holds (a file, a secret) but the
 * service's endpoints do not serve: the fix was made and never deployed.
 */
function undeployedRenewal(c: Candidate, ctx: HintContext, nowMs: number): CertInfo | undefined {
  const served = (x: CertInfo) => [...x.places.values()].some((p) => p.source === 'probe' && p.host && c.scope.hosts.some((h) => hostMatches(h, p.host!)));
  if (!served(c.cert)) return undefined;
  for (const other of ctx.certs.bySha.values()) {
    if (other === c.cert || other.isCA !== c.cert.isCA || other.notAfterMs <= c.cert.notAfterMs || other.notBeforeMs > nowMs) continue;
    if (sharesNames(c.cert, other) && !served(other)) return other;
  }
  return undefined;
}

function renewalHint(c: Candidate, renewal: CertInfo, confidence: number, service: string, onsetMs: number): Hint {
  const places = [...new Set([...renewal.places.values()].map((p) => p.endpoint ?? p.source))];
  return {
    kind: 'renewal_not_deployed',
    confidence,
    summary: `renewal ${CertTable.label(renewal)} (sha256 ${renewal.sha256.slice(0, 12)}…, valid until ${fmtTime(renewal.notAfterMs, onsetMs)}) is in the inventory (${places.slice(0, 2).join(', ')}) but ${c.scope.id} still serves ${CertTable.label(c.cert)} (sha256 ${c.cert.sha256.slice(0, 12)}…), which expired at ${fmtTime(c.cert.notAfterMs, onsetMs)}; ${pathPhrase(c.scope, service)}`,
    certSha256: renewal.sha256,
    ...(c.scope.hops > 0 ? { relatedService: c.scope.id } : {}),
    evidence: {
      renewalSha256: renewal.sha256,
      renewalNotAfter: new Date(renewal.notAfterMs).toISOString(),
      renewalPlaces: places,
      servedSha256: c.cert.sha256,
      servedNotAfter: new Date(c.cert.notAfterMs).toISOString(),
      boundTo: c.scope.id,
      dependencyPath: c.scope.path,
    },
  };
}

const CLASS_WORDS: Record<ProbeClass, string> = {
  tls: 'TLS handshake failures',
  dns: 'DNS resolution failures',
  refused: 'connections refused',
  timeout: 'timeouts',
  http_5xx: 'HTTP 5xx errors',
  http_4xx: 'HTTP 4xx errors',
  other: 'failures',
};

function probeHints(ctx: HintContext, scopes: Scope[], service: string, onsetMs: number, nowMs: number): { hint: Hint; cls: ProbeClass }[] {
  const lead = ctx.params.evidenceLeadMinutes * MIN;
  const out: { hint: Hint; cls: ProbeClass }[] = [];
  for (const scope of scopes) {
    const groups = new Map<ProbeClass, ProbeEpisode[]>();
    for (const s of ctx.probes.failing(scope.id, ctx.params.minProbeStreak, onsetMs - lead, nowMs)) {
      const list = groups.get(s.cls) ?? [];
      list.push(s);
      groups.set(s.cls, list);
    }
    for (const [cls, streaks] of groups) {
      const since = Math.min(...streaks.map((s) => s.sinceMs));
      const regions = new Set(streaks.map((s) => s.region)).size;
      const longest = Math.max(...streaks.map((s) => s.failures));
      const atOnset = since >= onsetMs - lead && since <= onsetMs + 15 * MIN;
      const usual = Math.max(...streaks.map((s) => s.usualFailureRate));
      const factors = [
        { factor: 'prior', llr: -1 },
        ...(regions >= 2 ? [{ factor: `${regions} regions`, llr: 1 }] : []),
        ...(longest >= 3 ? [{ factor: `${longest} checks in a row`, llr: 1 }] : []),
        ...(atOnset ? [{ factor: 'started at the onset', llr: 1.5 }] : []),
        ...(cls === 'tls' ? [{ factor: 'certificate-class error', llr: 1 }] : []),
        // A check that fails often anyway says little when it fails again.
        ...(usual >= 0.1 ? [{ factor: `this check usually fails ${Math.round(usual * 100)} % of the time`, llr: -1.5 }] : []),
        ...(scope.hops > 0 ? [{ factor: `${scope.hops} dependency hop(s) away`, llr: LLR.perHop * scope.hops }] : []),
      ];
      const logOdds = factors.reduce((s, f) => s + f.llr, 0);
      const rel = since >= onsetMs ? `${fmtDuration(since - onsetMs)} after reports rose` : `${fmtDuration(onsetMs - since)} before reports rose`;
      out.push({
        cls,
        hint: {
          kind: cls === 'tls' ? 'tls_probe_failure' : 'probe_failure',
          confidence: sigmoid(logOdds),
          summary: `${CLASS_WORDS[cls]}: ${probePhrase(streaks, onsetMs)} in ${regions} region(s), ${rel}${scope.hops > 0 ? `; ${scope.id} is a dependency of ${service} (${scope.path.join(' → ')})` : ''}`,
          ...(scope.hops > 0 ? { relatedService: scope.id } : {}),
          evidence: {
            class: cls,
            service: scope.id,
            dependencyPath: scope.path,
            regions,
            since: new Date(since).toISOString(),
            probes: streaks.map((s) => ({
              target: s.target,
              region: s.region,
              code: s.code,
              failures: s.failures,
              since: new Date(s.sinceMs).toISOString(),
              ...(s.leafSha256 ? { leafSha256: s.leafSha256 } : {}),
            })),
            factors,
          },
        },
      });
    }
  }
  return out;
}

function dependencyHints(ctx: HintContext, scopes: Scope[], service: string, onsetMs: number, nowMs: number): Hint[] {
  const out: Hint[] = [];
  for (const scope of scopes.slice(1)) {
    const inc = ctx.incidentOf(scope.id, nowMs);
    if (!inc || inc.onsetMs > onsetMs + 15 * MIN) continue;
    const close = Math.abs(inc.onsetMs - onsetMs) <= 15 * MIN;
    const logOdds = 0.5 + (close ? 1.5 : 0) + LLR.perHop * (scope.hops - 1);
    const when = inc.onsetMs <= onsetMs ? `${fmtDuration(onsetMs - inc.onsetMs)} before` : `${fmtDuration(inc.onsetMs - onsetMs)} after`;
    out.push({
      kind: 'dependency_incident',
      confidence: sigmoid(logOdds),
      summary: `${scope.id}, which ${service} depends on (${scope.path.join(' → ')}), has ${inc.status === 'open' ? 'an open' : 'a recent'} incident since ${fmtTime(inc.onsetMs, onsetMs)} (${when} ${service})${inc.topHint ? `; its top hint: ${inc.topHint.summary}` : ''}`,
      relatedService: scope.id,
      evidence: { service: scope.id, dependencyPath: scope.path, startedAt: new Date(inc.onsetMs).toISOString(), status: inc.status, ...(inc.topHint ? { topHint: inc.topHint.kind } : {}) },
    });
  }
  return out;
}

function vendorHints(ctx: HintContext, service: string, onsetMs: number, nowMs: number): Hint[] {
  const posts = ctx.posts.between(service, onsetMs - ctx.params.evidenceLeadMinutes * MIN, nowMs);
  if (posts.length === 0) return [];
  const best = posts.find((p) => p.mentionsCertificate) ?? posts[posts.length - 1]!;
  const ids = [...new Set(posts.flatMap((p) => p.incidentIds))];
  const text = best.text.length > 200 ? `${best.text.slice(0, 200)}…` : best.text;
  return [
    {
      kind: 'vendor_statement',
      confidence: best.mentionsCertificate ? 0.6 : 0.25,
      summary: `${best.account} at ${fmtTime(best.tsMs, onsetMs)}: "${text}"${ids.length > 0 ? ` (${ids.join(', ')})` : ''}`,
      evidence: {
        posts: posts.map((p) => ({ id: p.id, account: p.account, ts: new Date(p.tsMs).toISOString(), text: p.text, ...(p.url ? { url: p.url } : {}) })),
        incidentIds: ids,
        mentionsCertificate: best.mentionsCertificate,
      },
    },
  ];
}

function expiringHints(ctx: HintContext, scopes: Scope[], service: string, nowMs: number): Hint[] {
  const horizon = nowMs + ctx.params.expiringHorizonDays * DAY;
  const out: Hint[] = [];
  for (const c of ctx.certs.bySha.values()) {
    if (c.notAfterMs <= nowMs || c.notAfterMs > horizon) continue;
    const scope = scopes.find((s) => bindingOf(c, s)?.inUse);
    if (!scope) continue;
    const left = c.notAfterMs - nowMs;
    out.push({
      kind: 'cert_expiring',
      confidence: left < DAY ? 0.05 : 0.02,
      summary: `certificate ${CertTable.label(c)} (sha256 ${c.sha256.slice(0, 12)}…) expires in ${fmtDuration(left)} at ${fmtTime(c.notAfterMs, nowMs)}; ${pathPhrase(scope, service)}`,
      certSha256: c.sha256,
      ...(scope.hops > 0 ? { relatedService: scope.id } : {}),
      evidence: {
        certName: CertTable.label(c),
        subject: c.subject,
        sha256: c.sha256,
        notAfter: new Date(c.notAfterMs).toISOString(),
        daysLeft: Math.round((left / DAY) * 10) / 10,
        boundTo: scope.id,
        dependencyPath: scope.path,
      },
    });
  }
  return out.slice(0, 3);
}

const KIND_ORDER: HintKind[] = [
  'cert_expired',
  'chain_expired',
  'cert_not_yet_valid',
  'renewal_not_deployed',
  'tls_probe_failure',
  'dependency_incident',
  'probe_failure',
  'vendor_statement',
  'cert_expiring',
];

const round = (x: number) => Math.round(x * 1000) / 1000;

/**
 * All hints for an incident of `service` with onset `onsetMs`, evaluated at event time `nowMs`,
 * best first.
 */
export function rankHints(ctx: HintContext, service: string, onsetMs: number, nowMs: number): Hint[] {
  const scopes = scopesOf(ctx, service);
  const candidates = certCandidates(ctx, scopes, onsetMs, nowMs);
  const denom = 1 + candidates.reduce((s, c) => s + Math.exp(c.logOdds), 0);
  const certHints = candidates.map((c) => certHint(c, Math.exp(c.logOdds) / denom, service, onsetMs));
  // The same cause seen from the fix's side: ranked just below the certificate it would replace.
  const renewals = candidates.flatMap((c, i) => {
    const r = c.kind === 'cert_not_yet_valid' ? undefined : undeployedRenewal(c, ctx, nowMs);
    return r ? [renewalHint(c, r, certHints[i]!.confidence * 0.9, service, onsetMs)] : [];
  });
  const certCause = Math.max(0, ...certHints.map((h) => h.confidence));
  const hints: Hint[] = [
    ...certHints,
    ...renewals,
    // A probe failure that an asserted certificate cause explains is a symptom, not the cause.
    ...probeHints(ctx, scopes, service, onsetMs, nowMs).map(({ hint }) => ({ ...hint, confidence: hint.confidence * (1 - certCause) })),
    ...dependencyHints(ctx, scopes, service, onsetMs, nowMs),
    ...vendorHints(ctx, service, onsetMs, nowMs),
    ...expiringHints(ctx, scopes, service, nowMs),
  ];
  for (const h of hints) h.confidence = round(h.confidence);
  return sortHints(hints);
}

/** Best first: confidence, then the more specific kind, then text (deterministic). */
export function sortHints(hints: Hint[]): Hint[] {
  return hints
    .sort((a, b) => b.confidence - a.confidence || KIND_ORDER.indexOf(a.kind) - KIND_ORDER.indexOf(b.kind) || a.summary.localeCompare(b.summary))
    .slice(0, 10);
}

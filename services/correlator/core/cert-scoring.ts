/**
 * Certificate scoring: which certificates are suspects for an incident and how strongly.
 *
 * A suspect's score is log-odds that add up, one term per piece of evidence (the weights, fitted
 * on generated scenarios, and their reasons are in `weights.ts`). Suspects are mutually exclusive causes with "something else" as the
 * remaining option, so their confidences are a softmax against 1 (`hints.ts`): two equally good
 * suspects share the probability instead of both claiming it. Certificates of one chain that fail
 * at the same instant are one cause (`causesOf`), so they add up instead of splitting it.
 *
 * The renewal and supersession rules are those of `lib/certs/facts.ts`, which the early warnings
 * use too.
 */
import type { HintKind } from '../../../schemas/contracts.ts';
import { hostMatches } from '../../../lib/catalog.ts';
import { isRenewalOf, supersedes, type CertIdentity } from '../../../lib/certs/facts.ts';
import type { CertInfo, PostInfo, ProbeEpisode } from './evidence.ts';
import { closestBinding, type Binding, type HintContext, type Scope } from './scope.ts';
import { logOddsOf, term, WEIGHTS, type Factor } from './weights.ts';

/**
 * Log-likelihood ratios (natural log) of each piece of evidence for "this certificate caused it":
 * fitted on generated, labelled scenarios by `npm run fit`, stored in `fitted-weights.ts`.
 */
const LLR = WEIGHTS.cert;
const MIN = 60_000;
const DAY = 86_400_000;

/** Log-odds contribution of the time between expiry and onset (smooth in log-time). */
function expiryTiming(deltaMs: number): Factor {
  const m = deltaMs / MIN;
  if (m < -15) return term(LLR, 'expiryAfterOnset', 'expired after the onset');
  if (m <= 30) return term(LLR, 'expiryAtOnset', 'expired just before the onset');
  if (m <= 1440) {
    const f = Math.log(m / 30) / Math.log(1440 / 30);
    return term(LLR, 'expiryAtOnset', 'expired hours before the onset', 1 - f);
  }
  const f = Math.min(1, Math.log(m / 1440) / Math.log(7));
  return term(LLR, 'expiryLongBefore', 'expired days before the onset while the service kept working', f);
}

export interface Candidate {
  kind: HintKind;
  cert: CertInfo;
  scope: Scope;
  binding: Binding;
  logOdds: number;
  factors: Factor[];
  probes: ProbeEpisode[];
  posts: PostInfo[];
  supersededBy?: CertInfo;
}

/** A certificate as the renewal and supersession rules see it: first observed at its earliest place. */
export function identityOf(c: CertInfo): CertIdentity & { firstSeenMs: number } {
  let firstSeenMs = Infinity;
  for (const p of c.places.values()) firstSeenMs = Math.min(firstSeenMs, p.firstSeenMs);
  return { sha256: c.sha256, subject: c.subject, dnsNames: c.dnsNames, notBeforeMs: c.notBeforeMs, notAfterMs: c.notAfterMs, isCA: c.isCA, firstSeenMs };
}

/** The last time a probe saw `c` served at one of `hosts` (-Infinity: never). */
function lastServedAt(c: CertInfo | undefined, hosts: string[]): number {
  let t = -Infinity;
  for (const p of c?.places.values() ?? []) {
    if (p.source === 'probe' && p.host && hosts.some((h) => hostMatches(h, p.host!))) t = Math.max(t, p.lastSeenMs);
  }
  return t;
}

/** A renewal of `c` that the scope's endpoints serve at least as recently as `c`: `c` is a leftover copy. */
function supersededBy(c: CertInfo, scope: Scope, ctx: HintContext, nowMs: number): CertInfo | undefined {
  const lastServed = (x: CertIdentity) => lastServedAt(ctx.certs.bySha.get(x.sha256), scope.hosts);
  for (const other of ctx.certs.bySha.values()) {
    if (other !== c && supersedes(identityOf(other), c, lastServed, nowMs)) return other;
  }
  return undefined;
}

/**
 * When a certificate was first served anywhere: a probe observed it at an endpoint (its time), or
 * a probe's presented chain holds it (time unknown). Undefined: never seen served.
 */
function servedSince(c: CertInfo, ctx: HintContext): { firstMs?: number } | undefined {
  let first = Infinity;
  for (const p of c.places.values()) if (p.source === 'probe') first = Math.min(first, p.firstSeenMs);
  if (first < Infinity) return { firstMs: first };
  for (const s of ctx.probes.series.values()) if (s.leafSha256 === c.sha256 || s.chainSha256?.includes(c.sha256)) return {};
  return undefined;
}

/** Every certificate bound to a scope that is expired, or not yet valid and served, with its score. */
export function certCandidates(ctx: HintContext, scopes: Scope[], onsetMs: number, nowMs: number): Candidate[] {
  const lead = ctx.params.evidenceLeadMinutes * MIN;
  const own = scopes[0]!;
  const posts = ctx.posts.between(own.id, onsetMs - lead, nowMs).filter((p) => p.mentionsCertificate);
  const tlsFailing = scopes.flatMap((s) => ctx.probes.failing(s.id, ctx.params.minProbeStreak, onsetMs - lead, nowMs)).filter((p) => p.cls === 'tls');
  const out: Candidate[] = [];
  for (const c of ctx.certs.bySha.values()) {
    const expired = c.notAfterMs <= nowMs;
    const notYetValid = !expired && c.notBeforeMs > onsetMs - 5 * MIN && c.notBeforeMs <= nowMs + 365 * DAY;
    if (!expired && !notYetValid) continue;
    const wantCode = expired ? 'CERT_HAS_EXPIRED' : 'CERT_NOT_YET_VALID';
    const sameCert = tlsFailing.filter((p) => p.leafSha256 === c.sha256 || p.chainSha256?.includes(c.sha256));
    const sameClass = tlsFailing.filter((p) => p.code === wantCode);
    // A certificate that was never served cannot have broken anything: "not yet valid" needs it
    // served, or clients failing with that very error (on it, or on a chain we were not shown).
    const served = notYetValid ? servedSince(c, ctx) : undefined;
    if (notYetValid && !served && !sameCert.some((p) => p.code === wantCode) && !sameClass.some((p) => !p.leafSha256)) continue;
    const best = closestBinding(c, scopes, ctx);
    if (!best) continue;
    const { scope, binding } = best;
    const factors: Factor[] = [term(LLR, 'prior', 'prior')];
    factors.push(binding.inUse ? term(LLR, 'inUse', 'bound and in use') : term(LLR, 'sanOnly', 'only its names match'));
    if (scope.hops > 0) factors.push(term(LLR, 'perHop', `${scope.hops} dependency hop(s) away`, scope.hops));
    const kind: HintKind = expired ? (c.isCA ? 'chain_expired' : 'cert_expired') : 'cert_not_yet_valid';
    if (expired) factors.push(expiryTiming(onsetMs - c.notAfterMs));
    else {
      const fresh = served?.firstMs !== undefined && served.firstMs >= onsetMs - 60 * MIN;
      factors.push(fresh ? term(LLR, 'notYetValidServed', 'first served shortly before the onset, not yet valid') : term(LLR, 'notYetValid', served ? 'served while not yet valid' : 'clients fail with CERT_NOT_YET_VALID'));
    }
    if (sameCert.length > 0) factors.push(term(LLR, 'probeSameCert', 'probes fail on this certificate'));
    else if (sameClass.length > 0) factors.push(term(LLR, 'probeSameClass', `probes fail with ${wantCode}`));
    if (posts.length > 0) factors.push(term(LLR, 'statusMentionsCert', 'a status post mentions a certificate'));
    const newer = binding.inUse && sameCert.length > 0 ? undefined : supersededBy(c, scope, ctx, nowMs);
    if (newer) factors.push(term(LLR, 'superseded', 'a newer certificate for the same names is served'));
    out.push({
      kind,
      cert: c,
      scope,
      binding,
      logOdds: logOddsOf(factors),
      factors,
      probes: sameCert.length > 0 ? sameCert : sameClass,
      posts,
      ...(newer ? { supersededBy: newer } : {}),
    });
  }
  return out;
}

/** One cause: a suspect, or certificates of one chain failing at the same instant. */
export interface Cause {
  /** The member the hint is written about: the best scored, then the one nearest the leaf. */
  lead: Candidate;
  /** The other members, in the order of `lead`'s tie-break. */
  others: Candidate[];
  /** Sum of the members' odds: the cause's share in the softmax. */
  odds: number;
}

/** The instant a candidate breaks clients: its expiry, or the start of its validity. */
const failsAt = (c: Candidate) => (c.kind === 'cert_not_yet_valid' ? c.cert.notBeforeMs : c.cert.notAfterMs);

/** Whether two certificates belong to one chain: one issued the other, or they are cross-signed versions of one CA, or one presented chain holds both. */
function sameChain(a: CertInfo, b: CertInfo, ctx: HintContext): boolean {
  if (a.issuerSha256 === b.sha256 || b.issuerSha256 === a.sha256) return true;
  if (a.isCA && b.isCA && a.subject === b.subject) return true;
  for (const s of ctx.probes.series.values()) if (s.chainSha256?.includes(a.sha256) && s.chainSha256.includes(b.sha256)) return true;
  return false;
}

/**
 * Groups candidates into causes: certificates of one chain that fail at the same instant (to the
 * minute) fail every client together, so which of them "did it" is not a question; they are one
 * cause, and its probability is the sum of theirs.
 */
export function causesOf(candidates: Candidate[], ctx: HintContext): Cause[] {
  const parent = candidates.map((_, i) => i);
  const find = (i: number): number => (parent[i] === i ? i : (parent[i] = find(parent[i]!)));
  for (let i = 0; i < candidates.length; i++) {
    for (let j = i + 1; j < candidates.length; j++) {
      const a = candidates[i]!;
      const b = candidates[j]!;
      if ((a.kind === 'cert_not_yet_valid') !== (b.kind === 'cert_not_yet_valid')) continue;
      if (Math.floor(failsAt(a) / MIN) !== Math.floor(failsAt(b) / MIN)) continue;
      if (sameChain(a.cert, b.cert, ctx)) parent[find(i)] = find(j);
    }
  }
  const groups = new Map<number, Candidate[]>();
  candidates.forEach((c, i) => {
    const root = find(i);
    groups.set(root, [...(groups.get(root) ?? []), c]);
  });
  return [...groups.values()].map((members) => {
    const issues = (x: Candidate) => members.some((m) => m !== x && m.cert.issuerSha256 === x.cert.sha256);
    const sorted = [...members].sort((a, b) => b.logOdds - a.logOdds || Number(issues(a)) - Number(issues(b)) || a.cert.sha256.localeCompare(b.cert.sha256));
    return { lead: sorted[0]!, others: sorted.slice(1), odds: members.reduce((s, m) => s + Math.exp(m.logOdds), 0) };
  });
}

/**
 * A renewal of the expired certificate (`facts.ts`: its names, newer, in the inventory before the
 * onset) that the scope's endpoints do not serve while they still serve the expired one: the fix
 * was made and never deployed.
 */
export function undeployedRenewal(c: Candidate, ctx: HintContext, onsetMs: number): CertInfo | undefined {
  if (lastServedAt(c.cert, c.scope.hosts) === -Infinity) return undefined;
  const expired = identityOf(c.cert);
  for (const other of ctx.certs.bySha.values()) {
    if (other === c.cert || lastServedAt(other, c.scope.hosts) > -Infinity) continue;
    if (isRenewalOf(identityOf(other), expired, onsetMs)) return other;
  }
  return undefined;
}

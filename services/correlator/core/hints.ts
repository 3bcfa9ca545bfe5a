/**
 * Ranked root-cause hints for one incident (DESIGN.md §5): what the other modules of this folder
 * found, put in one order.
 *
 * - `scope.ts`: the services whose evidence counts and how a certificate is bound to one;
 * - `cert-scoring.ts`: certificate suspects as log-odds, grouped into causes (one chain failing at
 *   one instant is one cause);
 * - `symptoms.ts`: probe failures, dependency incidents, vendor statements, expiring certificates;
 * - `phrasing.ts`: the sentence and the evidence of each hint.
 *
 * Ranking: certificate causes share the probability (a softmax against "something else"). When a
 * dependency's incident has a certificate cause, this incident leads with that same cause: the
 * dependency's incident is evidence for it (the path it takes), not a rival hint ranked above it.
 * A probe failure or a dependency incident that an asserted certificate cause explains is ranked
 * as the symptom it is. The incidents of one cause share an outage id (`outageIdOf`).
 */
import type { Hint, HintKind } from '../../../schemas/contracts.ts';
import { causesOf, certCandidates, undeployedRenewal } from './cert-scoring.ts';
import { certHint, renewalHint, sameCauseInDependency } from './phrasing.ts';
import { scopesOf, type HintContext } from './scope.ts';
import { dependencyHints, expiringHints, probeHints, vendorHints } from './symptoms.ts';
import { logOddsOf, sigmoid, term, WEIGHTS } from './weights.ts';

export { fmtDuration, fmtTime } from './phrasing.ts';
export type { HintContext, IncidentView } from './scope.ts';

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

/** Kinds that name a certificate as the cause (a renewal names the fix, an expiring one a risk). */
const CAUSE_KINDS = new Set<HintKind>(['cert_expired', 'chain_expired', 'cert_not_yet_valid']);

/** At this confidence and above a hint is asserted as the likely cause (DESIGN.md §5). */
const ASSERTED = 0.5;

const round = (x: number) => Math.round(x * 1000) / 1000;

/** The certificates a cause hint stands for: its own and those of its chain failing with it. */
function causeShas(h: Hint): string[] {
  const same = (h.evidence as { sameCause?: { sha256?: unknown }[] }).sameCause ?? [];
  return [...(h.certSha256 ? [h.certSha256] : []), ...same.map((s) => s.sha256).filter((s): s is string => typeof s === 'string')];
}

/**
 * All hints for an incident of `service` with onset `onsetMs`, evaluated at event time `nowMs`,
 * best first.
 */
export function rankHints(ctx: HintContext, service: string, onsetMs: number, nowMs: number): Hint[] {
  const scopes = scopesOf(ctx, service);
  const causes = causesOf(certCandidates(ctx, scopes, onsetMs, nowMs), ctx);
  const denom = 1 + causes.reduce((s, c) => s + c.odds, 0);
  const certHints = causes.map((c) => certHint(c, c.odds / denom, service, onsetMs));

  // Root cause first across services: a dependency's incident asserting a certificate cause.
  const deps = dependencyHints(ctx, scopes, service, onsetMs, nowMs);
  const adopted = new Map<Hint, number>();
  const explainedDeps = new Map<Hint, Hint>();
  for (const d of deps) {
    const top = d.view.topHint;
    if (!top || !CAUSE_KINDS.has(top.kind) || !top.certSha256 || top.confidence < ASSERTED) continue;
    // The cause reaches this incident through the dependency: both must hold.
    const through = d.confidence * top.confidence;
    const shas = causeShas(top);
    const path = d.scope.path;
    const dependencyIncident = { service: d.view.service, incidentId: d.view.id, startedAt: new Date(d.view.onsetMs).toISOString(), status: d.view.status, confidence: top.confidence, dependencyPath: path };
    const phrase = sameCauseInDependency({ ...d.view, path }, service, onsetMs);
    let h = certHints.find((x) => causeShas(x).some((s) => shas.includes(s)));
    if (h) {
      h.confidence = Math.max(h.confidence, through);
      h.summary = `${h.summary}; ${phrase}`;
      h.evidence = { ...h.evidence, dependencyIncident };
    } else {
      // Not a suspect of ours (bound where only the dependency's evidence reaches): its hint, seen from here.
      const theirPath = (top.evidence as { dependencyPath?: unknown }).dependencyPath;
      const rest = Array.isArray(theirPath) ? (theirPath as string[]).slice(1) : [];
      h = {
        ...top,
        confidence: through,
        summary: `${top.summary}; ${phrase}`,
        relatedService: top.relatedService ?? d.scope.id,
        evidence: { ...top.evidence, dependencyPath: [...path, ...rest], dependencyIncident },
      };
      certHints.push(h);
    }
    adopted.set(h, h.confidence);
    explainedDeps.set(d.hint, h);
  }
  // The causes stay exclusive: what the adopted ones claim, the others give up.
  const claimed = [...adopted.values()].reduce((s, x) => s + x, 0);
  const rest = certHints.filter((h) => !adopted.has(h)).reduce((s, h) => s + h.confidence, 0);
  if (claimed + rest > 1) {
    for (const h of certHints) {
      if (adopted.has(h)) h.confidence /= Math.max(1, claimed);
      else h.confidence *= Math.max(0, 1 - claimed) / rest;
    }
  }

  // The same cause seen from the fix's side: that cause's probability times the chance that the
  // renewal is the fix (`share`: the part of the probability its certificate leaves it).
  const renewalFactors = [term(WEIGHTS.renewal, 'prior', 'prior')];
  const renewals = causes.flatMap((c, i) => {
    const r = c.lead.kind === 'cert_not_yet_valid' ? undefined : undeployedRenewal(c.lead, ctx, onsetMs);
    if (!r) return [];
    const share = certHints[i]!.confidence;
    const h = renewalHint(c, r, share * sigmoid(logOddsOf(renewalFactors)), service, onsetMs);
    return [{ ...h, evidence: { ...h.evidence, factors: renewalFactors, share } }];
  });
  const certCause = Math.max(0, ...certHints.map((h) => h.confidence));
  // An explanation that a certificate cause makes a symptom keeps only the share it leaves.
  const scaled = (h: Hint, share: number, extra: Record<string, unknown> = {}): Hint =>
    share >= 1 ? h : { ...h, confidence: h.confidence * share, evidence: { ...h.evidence, ...extra, share } };
  const hints: Hint[] = [
    ...certHints,
    ...renewals,
    // A probe failure that an asserted certificate cause explains is a symptom, not the cause.
    ...probeHints(ctx, scopes, service, onsetMs, nowMs).map(({ hint }) => scaled(hint, 1 - certCause)),
    // A dependency whose incident has the cause this one leads with is the path, not a rival.
    ...deps.map(({ hint }) => {
      const by = explainedDeps.get(hint);
      return by ? scaled(hint, 1 - by.confidence, { explainedBy: by.certSha256 }) : hint;
    }),
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

const stamp = (ms: number) => `${new Date(ms).toISOString().slice(0, 16).replace(/[-:]/g, '')}Z`;

/**
 * The outage an incident belongs to, deterministic from its cause so that every incident of one
 * cause gets the same id without knowing of the others (they may be on other instances):
 *
 * - a certificate cause (first hint at 0.5 or above): `cert-<sha256, 16 hex>-<the instant it broke
 *   clients>`, taking the lowest sha256 of a chain that failed as one cause;
 * - a dependency's incident as the cause: that incident's outage id;
 * - otherwise the incident is an outage of its own: its id.
 *
 * @example outageIdOf('teams-20200203T1340Z', hints) // 'cert-bd6199b0afb09af1-20200203T1331Z'
 */
export function outageIdOf(incidentId: string, hints: readonly Hint[]): string {
  const top = hints[0];
  if (!top || top.confidence < ASSERTED) return incidentId;
  const ev = top.evidence as { notBefore?: unknown; notAfter?: unknown; outageId?: unknown };
  if (CAUSE_KINDS.has(top.kind) && top.certSha256) {
    const at = Date.parse(String(top.kind === 'cert_not_yet_valid' ? ev.notBefore : ev.notAfter));
    const sha = causeShas(top).sort()[0]!;
    if (Number.isFinite(at)) return `cert-${sha.slice(0, 16)}-${stamp(at)}`;
  }
  if (top.kind === 'dependency_incident' && typeof ev.outageId === 'string') return ev.outageId;
  return incidentId;
}

/**
 * Symptom scoring: probe failures by class, incidents of dependencies, vendor statements and
 * certificates about to expire. Each says how likely it is that the cause lies there; a probe
 * failure or a dependency's incident that a certificate cause explains is ranked as the symptom or
 * the path it is (`hints.ts`).
 */
import type { Hint } from '../../../schemas/contracts.ts';
import { daysLeft } from '../../../lib/certs/facts.ts';
import { logOddsOf, sigmoid, term, WEIGHTS, type Factor } from './weights.ts';
import { CertTable, type ProbeClass, type ProbeEpisode } from './evidence.ts';
import { CLASS_WORDS, fmtDuration, fmtTime, pathPhrase, probePhrase } from './phrasing.ts';
import { bindingOf, type HintContext, type IncidentView, type Scope } from './scope.ts';

const MIN = 60_000;
const DAY = 86_400_000;

export function probeHints(ctx: HintContext, scopes: Scope[], service: string, onsetMs: number, nowMs: number): { hint: Hint; cls: ProbeClass }[] {
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
      const w = WEIGHTS.probe;
      const factors: Factor[] = [
        term(w, 'prior', 'prior'),
        ...(regions >= 2 ? [term(w, 'regions', `${regions} regions`)] : []),
        ...(longest >= 3 ? [term(w, 'streak', `${longest} checks in a row`)] : []),
        ...(atOnset ? [term(w, 'atOnset', 'started at the onset')] : []),
        ...(cls === 'tls' ? [term(w, 'tlsClass', 'certificate-class error')] : []),
        // A check that fails often anyway says little when it fails again.
        ...(usual >= 0.1 ? [term(w, 'usuallyFails', `this check usually fails ${Math.round(usual * 100)} % of the time`)] : []),
        ...(scope.hops > 0 ? [term(w, 'perHop', `${scope.hops} dependency hop(s) away`, scope.hops)] : []),
      ];
      const logOdds = logOddsOf(factors);
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

/** A dependency's incident near the onset, with how likely it is where this incident comes from. */
export interface DependencyIncident {
  scope: Scope;
  view: IncidentView;
  /** Probability that the cause lies in that incident. */
  confidence: number;
  hint: Hint;
}

export function dependencyHints(ctx: HintContext, scopes: Scope[], service: string, onsetMs: number, nowMs: number): DependencyIncident[] {
  const out: DependencyIncident[] = [];
  for (const scope of scopes.slice(1)) {
    const inc = ctx.incidentOf(scope.id, nowMs);
    if (!inc || inc.onsetMs > onsetMs + 15 * MIN) continue;
    const close = Math.abs(inc.onsetMs - onsetMs) <= 15 * MIN;
    const w = WEIGHTS.dependency;
    const factors: Factor[] = [
      term(w, 'prior', 'prior'),
      ...(close ? [term(w, 'close', 'began within 15 minutes of this one')] : []),
      ...(scope.hops > 1 ? [term(w, 'perHop', `${scope.hops} dependency hops away`, scope.hops - 1)] : []),
    ];
    const confidence = sigmoid(logOddsOf(factors));
    const when = inc.onsetMs <= onsetMs ? `${fmtDuration(onsetMs - inc.onsetMs)} before` : `${fmtDuration(inc.onsetMs - onsetMs)} after`;
    out.push({
      scope,
      view: inc,
      confidence,
      hint: {
        kind: 'dependency_incident',
        confidence,
        summary: `${scope.id}, which ${service} depends on (${scope.path.join(' → ')}), has ${inc.status === 'open' ? 'an open' : 'a recent'} incident since ${fmtTime(inc.onsetMs, onsetMs)} (${when} ${service})${inc.topHint ? `; its top hint: ${inc.topHint.summary}` : ''}`,
        relatedService: scope.id,
        evidence: {
          service: scope.id,
          incidentId: inc.id,
          dependencyPath: scope.path,
          startedAt: new Date(inc.onsetMs).toISOString(),
          status: inc.status,
          ...(inc.topHint ? { topHint: inc.topHint.kind } : {}),
          ...(inc.outageId ? { outageId: inc.outageId } : {}),
          factors,
        },
      },
    });
  }
  return out;
}

export function vendorHints(ctx: HintContext, service: string, onsetMs: number, nowMs: number): Hint[] {
  const posts = ctx.posts.between(service, onsetMs - ctx.params.evidenceLeadMinutes * MIN, nowMs);
  if (posts.length === 0) return [];
  const best = posts.find((p) => p.mentionsCertificate) ?? posts[posts.length - 1]!;
  const ids = [...new Set(posts.flatMap((p) => p.incidentIds))];
  const text = best.text.length > 200 ? `${best.text.slice(0, 200)}…` : best.text;
  const w = WEIGHTS.vendor;
  const factors: Factor[] = [term(w, 'prior', 'prior'), ...(best.mentionsCertificate ? [term(w, 'mentionsCert', 'it mentions a certificate')] : [])];
  return [
    {
      kind: 'vendor_statement',
      confidence: sigmoid(logOddsOf(factors)),
      summary: `${best.account} at ${fmtTime(best.tsMs, onsetMs)}: "${text}"${ids.length > 0 ? ` (${ids.join(', ')})` : ''}`,
      evidence: {
        posts: posts.map((p) => ({ id: p.id, account: p.account, ts: new Date(p.tsMs).toISOString(), text: p.text, ...(p.url ? { url: p.url } : {}) })),
        incidentIds: ids,
        mentionsCertificate: best.mentionsCertificate,
        factors,
      },
    },
  ];
}

export function expiringHints(ctx: HintContext, scopes: Scope[], service: string, nowMs: number): Hint[] {
  const horizon = nowMs + ctx.params.expiringHorizonDays * DAY;
  const out: Hint[] = [];
  for (const c of ctx.certs.bySha.values()) {
    if (c.notAfterMs <= nowMs || c.notAfterMs > horizon) continue;
    const scope = scopes.find((s) => bindingOf(c, s)?.inUse);
    if (!scope) continue;
    const left = c.notAfterMs - nowMs;
    const w = WEIGHTS.expiring;
    const factors: Factor[] = [term(w, 'prior', 'prior'), ...(left < DAY ? [term(w, 'withinDay', 'expires within a day')] : [])];
    out.push({
      kind: 'cert_expiring',
      confidence: sigmoid(logOddsOf(factors)),
      summary: `certificate ${CertTable.label(c)} (sha256 ${c.sha256.slice(0, 12)}…) expires in ${fmtDuration(left)} at ${fmtTime(c.notAfterMs, nowMs)}; ${pathPhrase(scope, service)}`,
      certSha256: c.sha256,
      ...(scope.hops > 0 ? { relatedService: scope.id } : {}),
      evidence: {
        certName: CertTable.label(c),
        subject: c.subject,
        sha256: c.sha256,
        notAfter: new Date(c.notAfterMs).toISOString(),
        daysLeft: Math.round(daysLeft(c.notAfterMs, nowMs) * 10) / 10,
        boundTo: scope.id,
        dependencyPath: scope.path,
        factors,
      },
    });
  }
  return out.slice(0, 3);
}

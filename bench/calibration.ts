/**
 * Calibration of the hints on generated, labelled incident scenarios (`services/correlator/labelled-scenarios.ts`):
 * each scenario's events go through the correlator core directly (the same `CorrelatorCore` that
 * `replay` and the Kafka consumer drive, without the bus and the store), and every hint of every
 * incident on a labelled service is judged: did it name the cause? Per hint kind, a reliability
 * table (confidence bins → how often the hint named the cause) and the Brier score; per variant,
 * how often the first hint is right.
 *
 *   npm run bench -- --only calibration                 # 300 scenarios, seed 1
 *   node --import tsx bench/calibration.ts 300 1         # the same part alone: <scenarios> <seed>
 *
 * What "named the cause" means per kind:
 * - cert_expired, chain_expired, cert_not_yet_valid, cert_expiring: the hint's certificate (or one
 *   of the chain failing with it) is a labelled cause;
 * - renewal_not_deployed: the certificate it would replace is the labelled cause;
 * - tls_probe_failure, probe_failure: the probes failing are those of the service where the cause
 *   sits, with its class of failure, and no certificate hint of the incident names the cause (the
 *   hints are exclusive explanations: a probe failure that the named certificate explains is its
 *   symptom, ranked as such, not a second cause);
 * - dependency_incident: the cause sits in that dependency or behind it, and no certificate hint
 *   of the incident names it (the same reasoning: the dependency is then the path);
 * - vendor_statement: there is a cause, and the post's "certificate or not" agrees with it.
 */
import type { Hint, Incident } from '../schemas/contracts.ts';
import { incidentScenario, type IncidentScenario, type Truth, type Variant } from '../services/correlator/labelled-scenarios.ts';
import { CorrelatorCore } from '../services/correlator/core/correlator.ts';
import type { Factor } from '../services/correlator/core/weights.ts';

const BLAME = new Set(['cert_expired', 'chain_expired', 'cert_not_yet_valid']);

export interface Judged {
  seed: number;
  variant: Variant;
  service: string;
  kind: string;
  confidence: number;
  /** The hint named the cause. */
  hit: boolean;
  rank: number;
  /** The evidence behind the hint's confidence (for fitting the weights, `bench/fit.ts`). */
  factors?: Factor[];
  /** The part of the probability a certificate cause left this explanation (1 when absent). */
  share?: number;
  /** A certificate cause taken over from a dependency's incident (its evidence is theirs). */
  adopted?: boolean;
}

export interface ScenarioResult {
  scenario: Omit<IncidentScenario, 'events' | 'catalog'>;
  incidents: Incident[];
  judged: Judged[];
}

function causeShas(h: Hint): string[] {
  const same = (h.evidence as { sameCause?: { sha256?: string }[] }).sameCause ?? [];
  return [...(h.certSha256 ? [h.certSha256] : []), ...same.map((s) => s.sha256 ?? '')];
}

/** Whether a hint names the labelled cause of its incident. */
export function namesCause(h: Hint, t: Truth, certNamed = false): boolean {
  const ev = h.evidence as { service?: string; class?: string; servedSha256?: string; mentionsCertificate?: boolean };
  switch (h.kind) {
    case 'cert_expired':
    case 'chain_expired':
    case 'cert_not_yet_valid':
    case 'cert_expiring':
      return causeShas(h).some((s) => t.certs.includes(s));
    case 'renewal_not_deployed':
      return !!ev.servedSha256 && t.certs.includes(ev.servedSha256);
    case 'tls_probe_failure':
    case 'probe_failure':
      return !certNamed && ev.service === t.causeService && ev.class === t.causeClass;
    case 'dependency_incident':
      return !certNamed && !!h.relatedService && t.path.slice(1).includes(h.relatedService);
    case 'vendor_statement':
      return t.causeService !== undefined && !!ev.mentionsCertificate === t.certs.length > 0;
    default:
      return false;
  }
}

function factorsOf(h: Hint): Pick<Judged, 'factors' | 'share' | 'adopted'> {
  const ev = h.evidence as { factors?: unknown; share?: unknown; dependencyIncident?: unknown };
  return {
    ...(Array.isArray(ev.factors) ? { factors: ev.factors as Factor[] } : {}),
    ...(typeof ev.share === 'number' ? { share: ev.share } : {}),
    ...(BLAME.has(h.kind) && ev.dependencyIncident ? { adopted: true } : {}),
  };
}

export function runScenario(s: IncidentScenario): ScenarioResult {
  const core = new CorrelatorCore(s.catalog);
  for (const e of s.events) core.step(e);
  core.tick(s.endMs);
  const incidents = core.incidents();
  const judged: Judged[] = [];
  for (const inc of incidents) {
    const t = s.truth[inc.service];
    // An incident near the labelled outage; others are false alarms (counted separately).
    if (!t || Date.parse(inc.startedAt) < s.onsetMs - 60 * 60_000) continue;
    const certNamed = inc.hints.some((h) => BLAME.has(h.kind) && namesCause(h, t));
    inc.hints.forEach((h, rank) => judged.push({ seed: s.seed, variant: s.variant, service: inc.service, kind: h.kind, confidence: h.confidence, hit: namesCause(h, t, certNamed), rank, ...factorsOf(h) }));
  }
  const { events: _e, catalog: _c, ...scenario } = s;
  return { scenario, incidents, judged };
}

export interface Sweep {
  results: ScenarioResult[];
  seconds: number;
}

export function sweep(n: number, seed: number, log: (s: string) => void = () => {}): Sweep {
  const t0 = performance.now();
  const results: ScenarioResult[] = [];
  for (let i = 0; i < n; i++) {
    results.push(runScenario(incidentScenario(seed * 100_000 + i)));
    if ((i + 1) % 50 === 0) log(`  ${i + 1}/${n} scenarios`);
  }
  return { results, seconds: (performance.now() - t0) / 1000 };
}

/** Rates the tests assert and the bench prints. */
export interface Rates {
  /** Certificate-caused incidents (labelled services that raised one). */
  certIncidents: number;
  /** … whose first hint names the cause at ≥ 0.5. */
  certFirstRight: number;
  /** Control incidents (labelled services, no certificate cause). */
  controlIncidents: number;
  /** … with some certificate blamed at ≥ 0.5. */
  controlBlamed: number;
  /** Labelled outages that raised an incident, of all labelled outages. */
  detected: number;
  outages: number;
  /** Incidents on services without an outage, and the service-days they had. */
  falseAlarms: number;
  serviceDays: number;
}

export function rates(results: ScenarioResult[]): Rates {
  const r: Rates = { certIncidents: 0, certFirstRight: 0, controlIncidents: 0, controlBlamed: 0, detected: 0, outages: 0, falseAlarms: 0, serviceDays: 0 };
  for (const { scenario: s, incidents } of results) {
    r.serviceDays += s.serviceDays;
    for (const [svc, t] of Object.entries(s.truth)) {
      r.outages++;
      const inc = incidents.find((i) => i.service === svc && Date.parse(i.startedAt) >= s.onsetMs - 60 * 60_000);
      if (!inc) continue;
      r.detected++;
      const top = inc.hints[0];
      if (t.certs.length > 0) {
        r.certIncidents++;
        if (top && BLAME.has(top.kind) && top.confidence >= 0.5 && namesCause(top, t)) r.certFirstRight++;
      } else {
        r.controlIncidents++;
        if (inc.hints.some((h) => BLAME.has(h.kind) && h.confidence >= 0.5)) r.controlBlamed++;
      }
    }
    for (const inc of incidents) {
      const labelled = s.truth[inc.service] && Date.parse(inc.startedAt) >= s.onsetMs - 60 * 60_000;
      if (!labelled) r.falseAlarms++;
    }
  }
  return r;
}

export interface Bin {
  lo: number;
  hi: number;
  n: number;
  meanConfidence: number;
  observed: number;
}

const EDGES = [0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.000001];

/** Reliability bins and Brier score of (confidence, hit) pairs. */
export function reliability(pairs: { confidence: number; hit: boolean }[]): { bins: Bin[]; brier: number; n: number; base: number } {
  const bins: Bin[] = [];
  for (let i = 0; i + 1 < EDGES.length; i++) {
    const inBin = pairs.filter((p) => p.confidence >= EDGES[i]! && p.confidence < EDGES[i + 1]!);
    if (inBin.length === 0) continue;
    bins.push({
      lo: EDGES[i]!,
      hi: Math.min(1, EDGES[i + 1]!),
      n: inBin.length,
      meanConfidence: inBin.reduce((s, p) => s + p.confidence, 0) / inBin.length,
      observed: inBin.filter((p) => p.hit).length / inBin.length,
    });
  }
  const brier = pairs.reduce((s, p) => s + (p.confidence - (p.hit ? 1 : 0)) ** 2, 0) / Math.max(1, pairs.length);
  return { bins, brier, n: pairs.length, base: pairs.filter((p) => p.hit).length / Math.max(1, pairs.length) };
}

const pct = (a: number, b: number) => (b === 0 ? '—' : `${a}/${b} (${((100 * a) / b).toFixed(0)} %)`);

/** Markdown tables: rates, Brier per kind, reliability per kind. */
export function calibrationReport(sw: Sweep, n: number, seed: number): string[] {
  const all = sw.results.flatMap((r) => r.judged);
  const kinds = [...new Set(all.map((j) => j.kind))].sort();
  const r = rates(sw.results);
  const out = [
    `Calibration of the hints: ${n} generated incident scenarios (\`services/correlator/labelled-scenarios.ts\`, seed ${seed}) through the correlator core, ${sw.seconds.toFixed(1)} s:`,
    '',
    `- labelled outages that raised an incident: ${pct(r.detected, r.outages)}`,
    `- certificate-caused incidents whose first hint names the cause at ≥ 0.5: ${pct(r.certFirstRight, r.certIncidents)}`,
    `- control incidents with a certificate blamed at ≥ 0.5: ${pct(r.controlBlamed, r.controlIncidents)}`,
    `- false alarms (incidents on services without an outage): ${r.falseAlarms} in ${r.serviceDays.toFixed(0)} service-days (${(r.falseAlarms / Math.max(1, r.serviceDays)).toFixed(4)} per series-day)`,
    '',
    '| hint kind | hints | named the cause | Brier | Brier of the base rate |',
    '|---|---|---|---|---|',
  ];
  for (const k of kinds) {
    const rel = reliability(all.filter((j) => j.kind === k));
    out.push(`| ${k} | ${rel.n} | ${(rel.base * 100).toFixed(0)} % | ${rel.brier.toFixed(3)} | ${(rel.base * (1 - rel.base)).toFixed(3)} |`);
  }
  const rel = reliability(all);
  out.push(`| all | ${rel.n} | ${(rel.base * 100).toFixed(0)} % | ${rel.brier.toFixed(3)} | ${(rel.base * (1 - rel.base)).toFixed(3)} |`, '');
  out.push('Reliability per kind (confidence bin: hints, mean confidence → observed frequency of naming the cause):', '');
  out.push('| hint kind | ' + EDGES.slice(0, -1).map((e, i) => `${e.toFixed(1)}–${Math.min(1, EDGES[i + 1]!).toFixed(1)}`).join(' | ') + ' |');
  out.push('|---|' + EDGES.slice(0, -1).map(() => '---').join('|') + '|');
  for (const k of kinds) {
    const bins = reliability(all.filter((j) => j.kind === k)).bins;
    const cells = EDGES.slice(0, -1).map((e) => {
      const b = bins.find((x) => x.lo === e);
      return b ? `${b.n}: ${b.meanConfidence.toFixed(2)} → ${b.observed.toFixed(2)}` : '';
    });
    out.push(`| ${k} | ${cells.join(' | ')} |`);
  }
  out.push('');
  const variants = [...new Set(sw.results.map((x) => x.scenario.variant))].sort();
  out.push('First hint per variant (incidents of labelled services; right = first hint names the cause):', '', '| variant | scenarios | incidents | first hint right |', '|---|---|---|---|');
  for (const v of variants) {
    const firsts = all.filter((j) => j.variant === v && j.rank === 0);
    out.push(`| ${v} | ${sw.results.filter((x) => x.scenario.variant === v).length} | ${firsts.length} | ${pct(firsts.filter((j) => j.hit).length, firsts.length)} |`);
  }
  out.push('');
  return out;
}

export function calibrationBench(o: { scenarios: number; seed: number; log?: (s: string) => void }): string[] {
  const sw = sweep(o.scenarios, o.seed, o.log);
  return calibrationReport(sw, o.scenarios, o.seed);
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const n = Number(process.argv[2] ?? 300);
  const seed = Number(process.argv[3] ?? 1);
  process.stdout.write(`${calibrationBench({ scenarios: n, seed, log: (s) => process.stderr.write(`${s}\n`) }).join('\n')}\n`);
}

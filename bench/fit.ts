/**
 * `npm run fit`: fits the evidence weights of every hint kind by logistic regression on generated,
 * labelled incident scenarios (`services/correlator/labelled-scenarios.ts`) and writes them to
 * `services/correlator/core/fitted-weights.ts`, the weights the correlator uses. Never on the
 * bundled example or `test/scenarios/`.
 *
 *   npm run fit                                   # 240 training scenarios, seed 11; evaluated on 200 of seed 1
 *   node --import tsx bench/fit.ts <scenarios> <seed> [<evaluation scenarios> <evaluation seed>]
 *
 * Each hint of a training incident is one sample of its kind's weight set: the pieces of evidence
 * behind its confidence as features (each factor records its weight's name and amount) and
 * whether it named the cause as the label. A hint that keeps only a share of its probability
 * (a probe failure or dependency incident a certificate cause explains, a renewal given its
 * certificate) is fitted as `share × σ(w·x)`, which is how the correlator scores it. Fisher
 * scoring with a line search and a light ridge penalty toward the weights set by hand before
 * fitting (`HAND_SET_WEIGHTS`), so a factor the training set rarely shows keeps a sensible value
 * instead of drifting off; each weight keeps the sign its evidence can have (`SIGN`); the priors
 * stay as set by hand (`FIXED`: base rates the generator's mix cannot teach). Evaluate on
 * another seed: `npm run bench -- --only calibration --seed 1`.
 */
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { HAND_SET_WEIGHTS, type Factor, type WeightKind } from '../services/correlator/core/weights.ts';
import { sweep, type Judged } from './calibration.ts';

/** Which weight set scores each hint kind. */
const SET_OF: Record<string, WeightKind> = {
  cert_expired: 'cert',
  chain_expired: 'cert',
  cert_not_yet_valid: 'cert',
  tls_probe_failure: 'probe',
  probe_failure: 'probe',
  dependency_incident: 'dependency',
  vendor_statement: 'vendor',
  renewal_not_deployed: 'renewal',
  cert_expiring: 'expiring',
};

/**
 * The direction each piece of evidence may point, whatever a generated training set says: a name
 * match alone, a dependency hop, a newer certificate served or an expiry long ago never make a
 * certificate more likely the cause; a probe failing on it or a post about certificates never
 * less. The generator's mix (how often each cause occurs) is not the world's, so a fit may only
 * move a weight within its sign. Unlisted: free (the priors, and evidence that can cut both ways).
 */
const SIGN: { [K in WeightKind]: Partial<Record<keyof (typeof HAND_SET_WEIGHTS)[K], 1 | -1>> } = {
  cert: {
    inUse: 1,
    sanOnly: -1,
    perHop: -1,
    expiryAtOnset: 1,
    expiryLongBefore: -1,
    expiryAfterOnset: -1,
    probeSameCert: 1,
    probeSameClass: 1,
    statusMentionsCert: 1,
    superseded: -1,
    notYetValidServed: 1,
    notYetValid: 1,
  },
  probe: { regions: 1, streak: 1, atOnset: 1, usuallyFails: -1, perHop: -1 },
  dependency: { close: 1, perHop: -1 },
  vendor: {},
  renewal: {},
  expiring: { withinDay: 1 },
};

/**
 * Weights that stay as set by hand: the priors. A prior is the base rate of its explanation in the
 * world; the generator's mix of causes (most scenarios have a certificate cause, by design, so
 * there is enough to learn from) is not the world's, and a fitted intercept would learn that mix.
 * The likelihood ratios are what the labelled evidence can teach. A renewal's weight is a rate
 * given its certificate is the cause, which the mix does not enter: it is fitted.
 */
const FIXED: { [K in WeightKind]?: (keyof (typeof HAND_SET_WEIGHTS)[K])[] } = {
  cert: ['prior'],
  probe: ['prior'],
  dependency: ['prior'],
  vendor: ['prior'],
  expiring: ['prior'],
};

const DOCS: Record<string, string> = {
  'cert.prior': 'Prior: most incidents are not caused by any one bound certificate.',
  'cert.inUse': "Declared in the catalog, named by its observation, or served at the service's endpoint.",
  'cert.sanOnly': 'Only its SAN names match the service: it may be a stale copy.',
  'cert.perHop': "Each hop of `dependsOn` between the spiking service and the certificate's service.",
  'cert.expiryAtOnset': 'Expiry within minutes before the onset (falls off in log-time to 0 at a day).',
  'cert.expiryLongBefore': 'Expiry a week or more before the onset while the service kept working (from 0 at a day).',
  'cert.expiryAfterOnset': 'Expiry after the onset: it cannot have started the outage.',
  'cert.probeSameCert': 'Probes of the service or a dependency fail with the matching TLS error on this very certificate.',
  'cert.probeSameClass': 'Probes fail with a matching TLS error, certificate not identified.',
  'cert.statusMentionsCert': 'A status post of the service mentions a certificate.',
  'cert.superseded': 'A newer certificate for the same names is what the endpoints serve: this one is a leftover.',
  'cert.notYetValidServed': 'First served shortly before the onset while not yet valid.',
  'cert.notYetValid': 'Served (or failing clients) while not yet valid, for longer than the hour before the onset.',
  'probe.prior': 'Prior: a class of probe failures of the service or a dependency is where the cause lies.',
  'probe.regions': 'Failing in two regions or more.',
  'probe.streak': 'Three checks or more in a row.',
  'probe.atOnset': 'Began within the lead time before the onset or 15 minutes after it.',
  'probe.tlsClass': 'A certificate-class (TLS) error.',
  'probe.usuallyFails': 'The check fails 10 % of the time or more anyway.',
  'probe.perHop': 'Each hop of `dependsOn` to the failing service.',
  'dependency.prior': "Prior: a dependency's incident near the onset is where the cause lies.",
  'dependency.close': 'It began within 15 minutes of this one.',
  'dependency.perHop': 'Each hop beyond the first.',
  'vendor.prior': "Prior: the service's own status post says where the cause lies.",
  'vendor.mentionsCert': 'The post mentions a certificate.',
  'renewal.prior': 'A renewal made and never deployed is the fix, given that the certificate it would replace is the cause.',
  'expiring.prior': 'Prior: a bound certificate that expires within the horizon caused this incident (it has not expired yet).',
  'expiring.withinDay': 'It expires within a day.',
};

interface Sample {
  x: number[];
  y: number;
  /** The share of the probability left to the hint (1: all of it). */
  m: number;
}

/** The features of one hint, from its factors: the amount of each weight of its set. */
export function featuresOf(factors: readonly Factor[], keys: readonly string[]): number[] {
  const x = keys.map(() => 0);
  for (const f of factors) {
    const i = keys.indexOf(f.feature);
    if (i >= 0) x[i]! += f.value;
  }
  return x;
}

const sig = (z: number) => 1 / (1 + Math.exp(-z));
const clip = (q: number) => Math.min(1 - 1e-9, Math.max(1e-9, q));

/** Penalised negative log-likelihood of `q = m σ(w·x)`. */
function loss(samples: Sample[], w: number[], prior: number[], lambda: number): number {
  let l = 0;
  for (const { x, y, m } of samples) {
    const q = clip(m * sig(x.reduce((s, xi, j) => s + xi * w[j]!, 0)));
    l -= y * Math.log(q) + (1 - y) * Math.log(1 - q);
  }
  return l + (lambda / 2) * w.reduce((s, wi, j) => s + (wi - prior[j]!) ** 2, 0);
}

/**
 * Logistic regression of `q = m σ(w·x)` by Fisher scoring (Newton's method when every m is 1),
 * ridge `lambda` toward `prior`, each weight held to `sign` (a step that would cross zero against
 * it stops at zero), with step halving so the penalised likelihood never gets worse.
 */
export function fitLogistic(samples: Sample[], prior: number[], lambda: number, sign: (1 | -1 | 0)[] = [], fixed: boolean[] = [], iterations = 100): number[] {
  const d = prior.length;
  const project = (v: number, j: number) => (fixed[j] ? prior[j]! : sign[j] === 1 ? Math.max(0, v) : sign[j] === -1 ? Math.min(0, v) : v);
  let w = prior.map(project);
  let current = loss(samples, w, prior, lambda);
  for (let it = 0; it < iterations; it++) {
    const g = w.map((wi, j) => lambda * (wi - prior[j]!));
    const h = Array.from({ length: d }, (_, i) => Array.from({ length: d }, (_, j) => (i === j ? lambda : 0)));
    for (const { x, y, m } of samples) {
      const s = sig(x.reduce((acc, xi, j) => acc + xi * w[j]!, 0));
      const q = clip(m * s);
      const dz = ((q - y) * (1 - s)) / (1 - q);
      const info = (q * (1 - s) ** 2) / (1 - q);
      for (let i = 0; i < d; i++) {
        if (x[i] === 0) continue;
        g[i]! += dz * x[i]!;
        for (let j = 0; j < d; j++) h[i]![j]! += info * x[i]! * x[j]!;
      }
    }
    const step = solve(h, g);
    let t = 1;
    let next = w;
    let nextLoss = current;
    for (let k = 0; k < 30; k++, t /= 2) {
      next = w.map((wi, j) => project(wi - t * step[j]!, j));
      nextLoss = loss(samples, next, prior, lambda);
      if (nextLoss <= current) break;
    }
    if (nextLoss > current) break;
    const moved = Math.max(...next.map((v, j) => Math.abs(v - w[j]!)));
    w = next;
    current = nextLoss;
    if (moved < 1e-8) break;
  }
  return w;
}

/** Gaussian elimination with partial pivoting. */
function solve(a: number[][], b: number[]): number[] {
  const n = b.length;
  const m = a.map((row, i) => [...row, b[i]!]);
  for (let c = 0; c < n; c++) {
    let p = c;
    for (let r = c + 1; r < n; r++) if (Math.abs(m[r]![c]!) > Math.abs(m[p]![c]!)) p = r;
    [m[c], m[p]] = [m[p]!, m[c]!];
    for (let r = 0; r < n; r++) {
      if (r === c) continue;
      const f = m[r]![c]! / m[c]![c]!;
      for (let k = c; k <= n; k++) m[r]![k]! -= f * m[c]![k]!;
    }
  }
  return m.map((row, i) => row[n]! / row[i]!);
}

export interface FittedSet {
  weights: Record<string, number>;
  /** Training hints that showed each factor. */
  used: Record<string, number>;
  samples: number;
  hits: number;
}

/** Fits every weight set on the judged hints of a sweep. */
export function fitAll(judged: readonly Judged[], lambda: number): Record<WeightKind, FittedSet> {
  const out = {} as Record<WeightKind, FittedSet>;
  for (const set of Object.keys(HAND_SET_WEIGHTS) as WeightKind[]) {
    const hand = HAND_SET_WEIGHTS[set] as Record<string, number>;
    const keys = Object.keys(hand);
    const samples: Sample[] = judged
      .filter((j) => SET_OF[j.kind] === set && j.factors && !j.adopted)
      .map((j) => ({ x: featuresOf(j.factors!, keys), y: j.hit ? 1 : 0, m: j.share ?? 1 }));
    const signs = SIGN[set] as Record<string, 1 | -1 | undefined>;
    const fixed = (FIXED[set] ?? []) as string[];
    const w = fitLogistic(samples, keys.map((k) => hand[k]!), lambda, keys.map((k) => signs[k] ?? 0), keys.map((k) => fixed.includes(k)));
    out[set] = {
      weights: Object.fromEntries(keys.map((k, i) => [k, Math.round(w[i]! * 100) / 100])),
      used: Object.fromEntries(keys.map((k, i) => [k, samples.filter((s) => s.x[i] !== 0).length])),
      samples: samples.length,
      hits: samples.filter((s) => s.y === 1).length,
    };
  }
  return out;
}

/** The text of `fitted-weights.ts`. */
export function fittedSource(fit: Record<WeightKind, FittedSet>, o: { scenarios: number; seed: number; lambda: number }): string {
  const lines = [
    '/**',
    ' * The evidence weights of every hint kind (log-likelihood ratios, natural log), fitted by `npm run fit`',
    ` * (bench/fit.ts): logistic regression on the hints of ${o.scenarios} generated incident scenarios`,
    ` * (services/correlator/labelled-scenarios.ts, seed ${o.seed}), ridge λ = ${o.lambda} toward the values set by hand`,
    ' * (`HAND_SET_WEIGHTS` in weights.ts), each weight kept to its sign, the priors kept as set by hand',
    ' * (base rates, which the generated mix of causes cannot teach). Evaluated on another seed:',
    ' * `npm run bench -- --only calibration --seed 1`. Generated: do not edit by hand, refit.',
    ' * Each line: the weight, and in its comment the training hints that showed the factor and the',
    ' * value set by hand.',
    ' */',
    'export const FITTED_WEIGHTS = {',
  ];
  for (const set of Object.keys(fit) as WeightKind[]) {
    const f = fit[set];
    lines.push(`  /** ${f.samples} training hints, ${f.hits} of them naming the cause. */`, `  ${set}: {`);
    for (const [k, v] of Object.entries(f.weights)) {
      lines.push(`    /** ${DOCS[`${set}.${k}`] ?? k} (${f.used[k]} hints; by hand ${(HAND_SET_WEIGHTS[set] as Record<string, number>)[k]}) */`, `    ${k}: ${v},`);
    }
    lines.push('  },');
  }
  lines.push('} as const;', '');
  return lines.join('\n');
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const n = Number(process.argv[2] ?? 240);
  const seed = Number(process.argv[3] ?? 11);
  const lambda = 3;
  const log = (s: string) => process.stderr.write(`${s}\n`);
  log(`fitting on ${n} generated scenarios, seed ${seed} …`);
  const sw = sweep(n, seed, log);
  const fit = fitAll(sw.results.flatMap((r) => r.judged), lambda);
  const file = fileURLToPath(new URL('../services/correlator/core/fitted-weights.ts', import.meta.url));
  writeFileSync(file, fittedSource(fit, { scenarios: n, seed, lambda }));
  log(`wrote ${file}`);
  process.stdout.write(`${JSON.stringify(fit, null, 2)}\n`);
  // Evaluated on scenarios of another seed, in a process of its own: it loads the weights just written.
  const evalN = Number(process.argv[4] ?? 200);
  const evalSeed = Number(process.argv[5] ?? 1);
  if (evalN > 0) {
    log(`evaluating the fitted weights on ${evalN} scenarios of seed ${evalSeed} …`);
    const calibration = fileURLToPath(new URL('./calibration.ts', import.meta.url));
    execFileSync(process.execPath, ['--import', 'tsx', calibration, String(evalN), String(evalSeed)], { stdio: ['ignore', 'inherit', 'inherit'] });
  }
}

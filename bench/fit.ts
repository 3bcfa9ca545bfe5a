/**
 * `npm run fit`: fits the evidence weights of the certificate scoring by logistic regression on
 * generated, labelled incident scenarios (`services/correlator/labelled-scenarios.ts`) and writes them to
 * `services/correlator/core/fitted-weights.ts` (live once `CERT_WEIGHTS` in weights.ts points at them). Never on the bundled example or `test/scenarios/`.
 *
 *   npm run fit                                   # 240 training scenarios, seed 11
 *   node --import tsx bench/fit.ts <scenarios> <seed>
 *
 * Each certificate cause hint of a training incident is one sample: its lead certificate's
 * evidence as features (read back from the hint's `factors`, divided by the weight that produced
 * them) and whether it named the cause as the label. Newton's method (IRLS) with a light ridge
 * penalty toward the weights set by hand before fitting (`PRIOR`), so a factor the training set
 * rarely shows keeps a sensible value instead of drifting off. Evaluate on another seed:
 * `npm run bench -- --only calibration --seed 1`.
 */
import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { CERT_WEIGHTS, HAND_SET_CERT_WEIGHTS } from '../services/correlator/core/weights.ts';
import { sweep } from './calibration.ts';

type Key = keyof typeof CERT_WEIGHTS;

/** The weights as set by hand: the prior the ridge penalty pulls toward. */
const PRIOR: Record<Key, number> = HAND_SET_CERT_WEIGHTS;

const DOCS: Record<Key, string> = {
  prior: 'Prior: most incidents are not caused by any one bound certificate.',
  inUse: 'Declared in the catalog, named by its observation, or served at the service\'s endpoint.',
  sanOnly: 'Only its SAN names match the service: it may be a stale copy.',
  perHop: 'Each hop of `dependsOn` between the spiking service and the certificate\'s service.',
  expiryAtOnset: 'Expiry within minutes before the onset (falls off in log-time to 0 at a day).',
  expiryLongBefore: 'Expiry a week or more before the onset while the service kept working (from 0 at a day).',
  expiryAfterOnset: 'Expiry after the onset: it cannot have started the outage.',
  probeSameCert: 'Probes of the service or a dependency fail with the matching TLS error on this very certificate.',
  probeSameClass: 'Probes fail with a matching TLS error, certificate not identified.',
  statusMentionsCert: 'A status post of the service mentions a certificate.',
  superseded: 'A newer certificate for the same names is what the endpoints serve: this one is a leftover.',
  notYetValidServed: 'First served shortly before the onset while not yet valid.',
  notYetValid: 'Served (or failing clients) while not yet valid, for longer than the hour before the onset.',
};

const KEYS = Object.keys(PRIOR) as Key[];

/**
 * The direction each piece of evidence may point, whatever a generated training set says: a name
 * match alone, a dependency hop, a newer certificate served or an expiry long ago never make a
 * certificate more likely the cause; a probe failing on it or a post about certificates never
 * less. The generator's mix (how often a bound certificate is the cause) is not the world's, so a
 * fit may only move a weight within its sign.
 */
const SIGN: Partial<Record<Key, 1 | -1>> = {
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
};

/** The features of one certificate hint, read back from its factors. */
export function featuresOf(factors: { factor: string; llr: number }[], w: Record<Key, number> = CERT_WEIGHTS): Record<Key, number> {
  const x = Object.fromEntries(KEYS.map((k) => [k, 0])) as Record<Key, number>;
  const per = (k: Key, llr: number) => (w[k] === 0 ? 0 : llr / w[k]);
  for (const { factor, llr } of factors) {
    if (factor === 'prior') x.prior = 1;
    else if (factor === 'bound and in use') x.inUse = 1;
    else if (factor === 'only its names match') x.sanOnly = 1;
    else if (/dependency hop/.test(factor)) x.perHop = per('perHop', llr);
    else if (factor === 'expired after the onset') x.expiryAfterOnset = 1;
    else if (factor === 'expired just before the onset' || factor === 'expired hours before the onset') x.expiryAtOnset = per('expiryAtOnset', llr);
    else if (/^expired days before/.test(factor)) x.expiryLongBefore = per('expiryLongBefore', llr);
    else if (factor === 'probes fail on this certificate') x.probeSameCert = 1;
    else if (/^probes fail with /.test(factor)) x.probeSameClass = 1;
    else if (factor === 'a status post mentions a certificate') x.statusMentionsCert = 1;
    else if (/newer certificate for the same names/.test(factor)) x.superseded = 1;
    else if (/first served shortly before the onset/.test(factor)) x.notYetValidServed = 1;
    else if (/not yet valid|CERT_NOT_YET_VALID/.test(factor)) x.notYetValid = 1;
  }
  return x;
}

/** Logistic regression by Newton's method, ridge `lambda` toward `prior`. */
export function fitLogistic(xs: number[][], ys: number[], prior: number[], lambda: number, sign: (1 | -1 | 0)[] = [], iterations = 50): number[] {
  const d = prior.length;
  let w = [...prior];
  for (let it = 0; it < iterations; it++) {
    const g = w.map((wi, j) => lambda * (wi - prior[j]!));
    const h = Array.from({ length: d }, (_, i) => Array.from({ length: d }, (_, j) => (i === j ? lambda : 0)));
    for (let n = 0; n < xs.length; n++) {
      const x = xs[n]!;
      const p = 1 / (1 + Math.exp(-x.reduce((s, xi, j) => s + xi * w[j]!, 0)));
      for (let i = 0; i < d; i++) {
        g[i]! += (p - ys[n]!) * x[i]!;
        for (let j = 0; j < d; j++) h[i]![j]! += p * (1 - p) * x[i]! * x[j]!;
      }
    }
    const step = solve(h, g);
    // Projected: a weight that would cross zero against its sign stops at zero.
    w = w.map((wi, j) => {
      const v = wi - step[j]!;
      return sign[j] === 1 ? Math.max(0, v) : sign[j] === -1 ? Math.min(0, v) : v;
    });
    if (Math.max(...step.map(Math.abs)) < 1e-8) break;
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

const BLAME = new Set(['cert_expired', 'chain_expired', 'cert_not_yet_valid']);

if (import.meta.url === `file://${process.argv[1]}`) {
  const n = Number(process.argv[2] ?? 240);
  const seed = Number(process.argv[3] ?? 11);
  const lambda = 3;
  const log = (s: string) => process.stderr.write(`${s}\n`);
  log(`fitting on ${n} generated scenarios, seed ${seed} …`);
  const sw = sweep(n, seed, log);
  const samples = sw.results.flatMap((r) => r.judged).filter((j) => BLAME.has(j.kind) && j.factors);
  const xs = samples.map((j) => KEYS.map((k) => featuresOf(j.factors!)[k]));
  const ys = samples.map((j) => (j.hit ? 1 : 0));
  const w = fitLogistic(xs, ys, KEYS.map((k) => PRIOR[k]), lambda, KEYS.map((k) => SIGN[k] ?? 0));
  const fitted = Object.fromEntries(KEYS.map((k, i) => [k, Math.round(w[i]! * 100) / 100])) as Record<Key, number>;
  const used = Object.fromEntries(KEYS.map((k, i) => [k, xs.filter((x) => x[i] !== 0).length])) as Record<Key, number>;
  const file = fileURLToPath(new URL('../services/correlator/core/fitted-weights.ts', import.meta.url));
  writeFileSync(
    file,
    [
      '/**',
      ' * The evidence weights of the certificate scoring (log-likelihood ratios, natural log), fitted by',
      ' * `npm run fit` (bench/fit.ts): logistic regression (Newton, ridge λ = ' + lambda + ' toward the weights set by hand',
      ` * before fitting, each weight kept to its sign) on ${samples.length} certificate hints of ${n} generated incident scenarios`,
      ` * (services/correlator/labelled-scenarios.ts, seed ${seed}), ${ys.filter((y) => y === 1).length} of them naming the cause.`,
      ' * Evaluated on another seed: `npm run bench -- --only calibration --seed 1`. Generated: do not edit',
      ' * by hand, refit; live once `CERT_WEIGHTS` in weights.ts points here. Each line: the weight, and (in the comment) the training hints that showed the',
      ' * factor and the value set by hand before fitting.',
      ' */',
      'export const FITTED_CERT_WEIGHTS = {',
      ...KEYS.flatMap((k) => [`  /** ${DOCS[k]} (${used[k]} hints; by hand ${PRIOR[k]}) */`, `  ${k}: ${fitted[k]},`]),
      '} as const;',
      '',
    ].join('\n'),
  );
  log(`wrote ${file}`);
  process.stdout.write(`${JSON.stringify({ samples: samples.length, hits: ys.filter((y) => y === 1).length, fitted, used }, null, 2)}\n`);
}

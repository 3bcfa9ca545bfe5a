/**
 * The evidence weights of every hint kind (log-likelihood ratios, natural log), one set per kind.
 *
 * `HAND_SET_WEIGHTS` are the values set by reasoning about each piece of evidence before any fit;
 * they are the prior that `npm run fit` (bench/fit.ts) pulls its logistic regression toward, so
 * they stay here whatever is live. The fit writes `fitted-weights.ts` beside this file, from
 * generated labelled scenarios only; `WEIGHTS` below is what the scoring uses.
 */
import { FITTED_WEIGHTS } from './fitted-weights.ts';

export const HAND_SET_WEIGHTS = {
  /** A certificate as the cause (`cert-scoring.ts`). */
  cert: {
    prior: -3,
    inUse: 1.5,
    sanOnly: -0.5,
    perHop: -0.5,
    expiryAtOnset: 4,
    expiryLongBefore: -4,
    expiryAfterOnset: -3,
    probeSameCert: 3,
    probeSameClass: 1.5,
    statusMentionsCert: 1.5,
    superseded: -4,
    notYetValidServed: 3,
    notYetValid: 1,
  },
  /** A class of probe failures of the service or a dependency as the cause (`symptoms.ts`). */
  probe: { prior: -1, regions: 1, streak: 1, atOnset: 1.5, tlsClass: 1, usuallyFails: -1.5, perHop: -0.5 },
  /** A dependency's incident as where the cause lies (`symptoms.ts`). */
  dependency: { prior: 0.5, close: 1.5, perHop: -0.5 },
  /** The service's own status post (`symptoms.ts`). */
  vendor: { prior: -1.1, mentionsCert: 1.5 },
  /** A renewal made and not deployed, given that the certificate it would replace is the cause. */
  renewal: { prior: 2.2 },
  /** A bound certificate about to expire (a risk, rarely the cause of this incident). */
  expiring: { prior: -3.9, withinDay: 0.95 },
} as const;

export type WeightKind = keyof typeof HAND_SET_WEIGHTS;
export type WeightSets = { readonly [K in WeightKind]: Readonly<Record<keyof (typeof HAND_SET_WEIGHTS)[K], number>> };

/** The weights the scoring uses: the fitted ones (README "How confident the hints are"). */
export const WEIGHTS: WeightSets = FITTED_WEIGHTS;

/**
 * One piece of evidence behind a hint's confidence: its phrase, its log-likelihood ratio, and the
 * weight and amount it came from (`llr = weight[feature] × value`), which is what the fit reads.
 */
export interface Factor {
  factor: string;
  llr: number;
  feature: string;
  value: number;
}

/** The factor of `feature` of the weight set `w`, `value` times (1 for a yes/no fact). */
export function term<W extends Readonly<Record<string, number>>>(w: W, feature: keyof W & string, factor: string, value = 1): Factor {
  return { factor, llr: w[feature]! * value, feature, value };
}

export const sigmoid = (x: number) => 1 / (1 + Math.exp(-x));
export const logOddsOf = (factors: readonly Factor[]) => factors.reduce((s, f) => s + f.llr, 0);

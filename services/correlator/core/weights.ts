/**
 * The evidence weights of the certificate scoring (log-likelihood ratios, natural log).
 *
 * `HAND_SET_CERT_WEIGHTS` are the values set by reasoning about each piece of evidence; they are
 * also the prior that `npm run fit` (bench/fit.ts) pulls its logistic regression toward, so they
 * stay here whatever is live. The fit writes `fitted-weights.ts` beside this file; it becomes live
 * only when `CERT_WEIGHTS` below is pointed at it (after the calibration and the control sweep in
 * test/generated-incidents.test.ts say it is better; README "How confident the hints are").
 */
export const HAND_SET_CERT_WEIGHTS = {
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
} as const;

/** The weights the scoring uses. */
export const CERT_WEIGHTS: Readonly<Record<keyof typeof HAND_SET_CERT_WEIGHTS, number>> = HAND_SET_CERT_WEIGHTS;

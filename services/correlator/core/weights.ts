/**
 * The evidence weights of the certificate scoring (log-likelihood ratios, natural log), as set by
 * hand; `npm run fit` (bench/fit.ts) replaces them with weights fitted on generated scenarios.
 */
export const CERT_WEIGHTS = {
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

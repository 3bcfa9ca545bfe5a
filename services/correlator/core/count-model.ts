/**
 * The count model: reports per window are negative binomial with mean `mu` and variance
 * `mu + phi * mu^2` (Poisson when phi = 0). Report volumes range from a handful to thousands per
 * minute; the quadratic term keeps large services from alarming on ordinary wobble. The detector
 * learns phi per series (see detector.ts); this module only evaluates the distribution.
 */
import nbinomCdf from '@stdlib/stats-base-dists-negative-binomial-cdf';

/**
 * P(X >= x) for X ~ NB(mean mu, dispersion phi).
 *
 * @example upperTail(12, 1.5, 0.05) // ≈ 1e-7
 */
export function upperTail(x: number, mu: number, phi: number): number {
  if (x <= 0) return 1;
  if (phi <= 0) phi = 1e-9;
  const r = 1 / phi;
  const p = r / (r + mu);
  return Math.max(0, 1 - nbinomCdf(x - 1, r, p));
}

const LANCZOS = [
  0.99999999999980993, 676.5203681218851, -1259.1392167224028, 771.32342877765313, -176.61502916214059, 12.507343278686905, -0.13857109526572012,
  9.9843695780195716e-6, 1.5056327351493116e-7,
];

/** ln Γ(z) for z > 0 (Lanczos, g = 7: about 15 significant digits). */
export function lnGamma(z: number): number {
  if (z < 0.5) return Math.log(Math.PI / Math.abs(Math.sin(Math.PI * z))) - lnGamma(1 - z);
  z -= 1;
  let a = LANCZOS[0]!;
  const t = z + 7.5;
  for (let i = 1; i < 9; i++) a += LANCZOS[i]! / (z + i);
  return 0.5 * Math.log(2 * Math.PI) + (z + 0.5) * Math.log(t) - t + Math.log(a);
}

/**
 * −log10 P(X >= x) for X ~ NB(mean mu, dispersion phi): the surprise of a count, accurate far into
 * the tail. `1 − cdf` loses everything below about 1e-16 (every larger count would score the same);
 * there the tail is summed from the probability of `x` itself in log space.
 *
 * @example log10Surprise(200, 1.5, 0.3) // ≈ 40: a tail probability near 1e-40
 */
export function log10Surprise(x: number, mu: number, phi: number): number {
  if (x <= 0) return 0;
  const t = upperTail(x, mu, phi);
  if (t > 1e-12) return -Math.log10(t);
  const r = 1 / Math.max(phi, 1e-9);
  const q = mu / (r + mu);
  const lnPmf = lnGamma(x + r) - lnGamma(r) - lnGamma(x + 1) + r * Math.log1p(-q) + x * Math.log(q);
  // The tail relative to P(X = x): 1 + ρ_x + ρ_x ρ_{x+1} + …, with ρ_k = q (k + r) / (k + 1).
  let sum = 1;
  let term = 1;
  let k = x;
  for (let i = 0; i < 4000; i++, k++) {
    const rho = (q * (k + r)) / (k + 1);
    term *= rho;
    sum += term;
    if (term < 1e-15 * sum) return -(lnPmf + Math.log(sum)) / Math.LN10;
  }
  // Far into a very wide tail: the rest is bounded by a geometric series at the limiting ratio.
  const rho = Math.max(q, (q * (k + r)) / (k + 1));
  if (rho < 1) sum += (term * rho) / (1 - rho);
  return -(lnPmf + Math.log(sum)) / Math.LN10;
}

/** Thresholds by alpha, then phi, then the mu grid point (numeric keys: this runs per minute per slice). */
const cache = new Map<number, Map<number, Map<number, number>>>();
let cached = 0;

/**
 * The smallest count whose upper tail is below `alpha`: counts at or above it are significant.
 * Memoised on a 0.5 % grid of `mu` (thresholds are integers, the grid changes none that matter);
 * callers put `phi` on a grid of their own (the detector's learned phi moves in 4 % steps).
 */
export function threshold(mu: number, phi: number, alpha: number): number {
  const muKey = Math.round(Math.log(mu) * 200);
  let byPhi = cache.get(alpha);
  if (!byPhi) cache.set(alpha, (byPhi = new Map()));
  let byMu = byPhi.get(phi);
  if (!byMu) byPhi.set(phi, (byMu = new Map()));
  const hit = byMu.get(muKey);
  if (hit !== undefined) return hit;
  const m = Math.exp(muKey / 200);
  // The tail falls with the count, so the answer is the one boundary where it crosses alpha;
  // a neighbouring grid point's answer is a step or two away from it (a few tail evaluations
  // instead of a search from scratch), found by galloping out from there.
  const near = byMu.get(muKey - 1) ?? byMu.get(muKey + 1);
  let lo: number;
  let hi: number;
  if (near !== undefined) {
    if (upperTail(near, m, phi) < alpha) {
      hi = near;
      for (let step = 1; ; step *= 2) {
        lo = Math.max(0, hi - step);
        if (lo === 0 || upperTail(lo, m, phi) >= alpha) break;
        hi = lo;
      }
    } else {
      lo = near;
      for (let step = 1; ; step *= 2) {
        hi = lo + step;
        if (upperTail(hi, m, phi) < alpha) break;
        lo = hi;
      }
    }
  } else {
    const sd = Math.sqrt(m + phi * m * m);
    hi = Math.max(1, Math.ceil(m + 3 * sd));
    while (upperTail(hi, m, phi) >= alpha) hi *= 2;
    lo = 0;
  }
  while (hi - lo > 1) {
    const mid = (lo + hi) >> 1;
    if (upperTail(mid, m, phi) < alpha) hi = mid;
    else lo = mid;
  }
  if (++cached > 200_000) {
    cache.clear();
    cached = 0;
  }
  byMu.set(muKey, hi);
  return hi;
}

/** Standard deviation of the model at mean mu. */
export function sdOf(mu: number, phi: number): number {
  return Math.sqrt(mu + phi * mu * mu);
}

/**
 * The per-test false-alarm probability that keeps a family of tests within a budget of false
 * alarms per year (Šidák: the family's tests per slot are treated as independent, which is
 * conservative for the overlapping windows of one series).
 *
 * @example perTestAlpha(1, 1440, 2 * 25) // ≈ 3.8e-8: one false page a year over 25 series × 2 windows of a minute
 */
export function perTestAlpha(falseAlarmsPerYear: number, slotsPerDay: number, tests: number): number {
  const perSlot = Math.min(0.5, falseAlarmsPerYear / (365 * slotsPerDay));
  return -Math.expm1(Math.log1p(-perSlot) / tests);
}

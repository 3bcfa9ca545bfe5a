/**
 * The count model: reports per window are negative binomial with mean `mu` and variance
 * `mu + phi * mu^2` (Poisson when phi = 0). Report volumes range from a handful to thousands per
 * minute; the quadratic term keeps large services from alarming on ordinary wobble.
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

/** Thresholds by alpha, then phi, then the mu grid point (numeric keys: this runs per minute per slice). */
const cache = new Map<number, Map<number, Map<number, number>>>();
let cached = 0;

/**
 * The smallest count whose upper tail is below `alpha`: counts at or above it are significant.
 * Memoised on a 0.5 % grid of `mu` (thresholds are integers, the grid changes none that matter).
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
  const sd = Math.sqrt(m + phi * m * m);
  let hi = Math.max(1, Math.ceil(m + 3 * sd));
  while (upperTail(hi, m, phi) >= alpha) hi *= 2;
  let lo = 0;
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

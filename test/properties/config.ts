/**
 * Settings shared by the property tests: a fixed seed (a failure replays exactly) and the number
 * of runs per property, 10,000 by default (`PROPERTY_RUNS=200000 node --import tsx --test
 * test/properties/*.test.ts` for a longer hunt; `PROPERTY_SEED` to explore other inputs).
 */
import type { Parameters as FcParameters } from 'fast-check';

export const RUNS = Number(process.env.PROPERTY_RUNS ?? 10_000);
export const SEED = Number(process.env.PROPERTY_SEED ?? 20_200_203);

/** fast-check parameters: the seed, and `share` of the runs (a costly property runs fewer, never below 1). */
export function runs<T>(share = 1): FcParameters<T> {
  return { numRuns: Math.max(1, Math.round(RUNS * share)), seed: SEED };
}

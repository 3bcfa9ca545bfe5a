/**
 * The failure rate of one probe series (endpoint × region), learned from its own checks, and the
 * test that says when its failures stop being ordinary.
 *
 * Model: the failures among n checks are beta-binomial. The series has a latent failure rate that
 * wobbles from window to window, Beta with mean `p` and intra-window correlation `rho`
 * (= 1 / (alpha + beta + 1)); a flaky check that fails in bursts has a large `rho`, one whose
 * failures are independent a small one. Both are learned by the method of moments from blocks of
 * `windowChecks` checks outside failure episodes (a rolling window of blocks, O(1) per check):
 *
 *   p   = (F + a0) / (N + n0)                          failures over checks, with a cautious prior
 *   rho = ((s² / (m p (1 − p)) − 1) / (m − 1))         from the variance s² of the block counts,
 *                                                      shrunk towards a prior worth `rhoPriorBlocks`
 *
 * and the uncertainty of `p` itself (it rests on N + n0 checks) is added to `rho`, so a short history
 * widens the predictive distribution the way missing days widen the report detector's dispersion.
 *
 * Two tests per check, both tail probabilities of that predictive distribution: the run of
 * consecutive failures ending at this check (k of k), and the failures among the last `windowChecks`
 * checks (for an endpoint that fails every other check). Their level splits a budget of false
 * episodes per service and year over checks × 2 tests × the service's probe series (Šidák), as the
 * report detector splits its budget over windows and slices.
 */
import { lnGamma, perTestAlpha } from './count-model.ts';
import type { ProbeRateParams } from './params.ts';

export type { ProbeRateParams };

/** Beta-binomial predictive of a series: mean failure rate and concentration alpha + beta. */
export interface RateModel {
  p: number;
  rho: number;
  alpha: number;
  beta: number;
  /** Checks of history behind it. */
  checks: number;
}

/** ln B(a, b). */
function lnBeta(a: number, b: number): number {
  return lnGamma(a) + lnGamma(b) - lnGamma(a + b);
}

/** P(K >= k) for K ~ BetaBinomial(n, alpha, beta). */
export function betaBinomialTail(k: number, n: number, alpha: number, beta: number): number {
  if (k <= 0) return 1;
  if (k > n) return 0;
  const lnB = lnBeta(alpha, beta);
  const lnN = lnGamma(n + 1);
  let s = 0;
  for (let j = k; j <= n; j++) s += Math.exp(lnN - lnGamma(j + 1) - lnGamma(n - j + 1) + lnBeta(j + alpha, n - j + beta) - lnB);
  return Math.min(1, s);
}

/** The per-test level of one check's two tests, for a service with `series` probe series. */
export function probeAlpha(p: ProbeRateParams, series: number): number {
  return perTestAlpha(p.falseEpisodesPerYear, p.checksPerDay, 2 * Math.max(1, series));
}

/**
 * The learned failure rate of one series: rolling sums over completed blocks of `windowChecks`
 * checks. A block is committed one block late, and dropped if a failure episode touched it, so the
 * failures that lead into an outage (before the test is sure) are not learned either.
 */
export class FailureRate {
  private readonly k: Int16Array;
  private readonly tags: Int32Array;
  private blocks = 0;
  private sumK = 0;
  private sumK2 = 0;
  /** The block being filled, and the completed one waiting to be committed. */
  private curIndex = 0;
  private curChecks = 0;
  private curFailures = 0;
  private curTainted = false;
  private pending?: { failures: number; tainted: boolean; lastMs: number };
  private curLastMs = -Infinity;
  model: RateModel;

  constructor(private readonly p: ProbeRateParams) {
    this.k = new Int16Array(p.learnBlocks);
    this.tags = new Int32Array(p.learnBlocks).fill(-1);
    this.model = this.estimate();
  }

  /** Adds one check (learning happens when a block completes). */
  add(failed: boolean, tsMs: number): void {
    this.curChecks++;
    if (failed) this.curFailures++;
    this.curLastMs = tsMs;
    if (this.curChecks < this.p.windowChecks) return;
    if (this.pending && !this.pending.tainted) this.commit(this.pending.failures);
    this.pending = { failures: this.curFailures, tainted: this.curTainted, lastMs: this.curLastMs };
    this.curChecks = 0;
    this.curFailures = 0;
    this.curTainted = false;
    this.model = this.estimate();
  }

  /** Keeps checks at or after `sinceMs` (an episode's) out of the learned rate. */
  taintSince(sinceMs: number): void {
    if (this.pending && this.pending.lastMs >= sinceMs) this.pending.tainted = true;
    this.curTainted = true;
  }

  private commit(failures: number): void {
    const n = this.p.learnBlocks;
    const i = this.curIndex % n;
    if (this.tags[i]! >= 0) {
      const old = this.k[i]!;
      this.sumK -= old;
      this.sumK2 -= old * old;
      this.blocks--;
    }
    this.tags[i] = this.curIndex;
    this.k[i] = failures;
    this.sumK += failures;
    this.sumK2 += failures * failures;
    this.blocks++;
    this.curIndex++;
  }

  private estimate(): RateModel {
    const p = this.p;
    const m = p.windowChecks;
    const B = this.blocks;
    const N = B * m;
    const rate = (this.sumK + p.priorFailures) / (N + p.priorChecks);
    let rhoData = 0;
    if (B >= 2 && this.sumK > 0) {
      const mean = this.sumK / B;
      const s2 = Math.max(0, (this.sumK2 - B * mean * mean) / (B - 1));
      const q = mean / m;
      rhoData = Math.max(0, (s2 / (m * q * (1 - q) || 1) - 1) / (m - 1));
    }
    const rhoLearned = (B * rhoData + p.rhoPriorBlocks * p.rhoPrior) / (B + p.rhoPriorBlocks);
    // The rate rests on N + n0 checks: its own uncertainty widens the predictive distribution.
    const rho = Math.min(p.rhoMax, rhoLearned + 1 / (N + p.priorChecks + 1));
    const c = 1 / rho - 1;
    return { p: rate, rho, alpha: rate * c, beta: (1 - rate) * c, checks: N };
  }
}

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { lnGamma, log10Surprise, perTestAlpha, threshold, upperTail } from './count-model.ts';

describe('the count model', () => {
  it('a threshold is the smallest count whose tail is below alpha, on every grid point in turn (neighbours reused)', () => {
    for (const [alpha, phi] of [
      [3.8e-8, 0.25],
      [1e-2, 1.3],
      [3.8e-8, 0.002],
    ] as const) {
      // Up the grid and back down, so each point starts from a neighbour's answer.
      const keys = [...Array.from({ length: 900 }, (_, i) => i - 600), ...Array.from({ length: 900 }, (_, i) => 1500 - i)];
      for (const key of keys) {
        const mu = Math.exp(key / 200);
        const t = threshold(mu, phi, alpha);
        assert.ok(upperTail(t, mu, phi) < alpha && upperTail(t - 1, mu, phi) >= alpha, `mu ${mu} phi ${phi} alpha ${alpha}: ${t}`);
      }
    }
  });

  it('lnGamma matches factorials', () => {
    for (const n of [1, 2, 5, 10, 20]) {
      let f = 0;
      for (let k = 2; k < n; k++) f += Math.log(k);
      assert.ok(Math.abs(lnGamma(n) - f) < 1e-9, `${n}`);
    }
  });

  it('the surprise is −log10 of the tail where 1 − cdf is exact, and continues it far beyond', () => {
    for (const [x, mu, phi] of [
      [10, 2, 0.1],
      [30, 5, 0.5],
      [100, 40, 0.05],
    ] as const) {
      assert.ok(Math.abs(log10Surprise(x, mu, phi) + Math.log10(upperTail(x, mu, phi))) < 1e-6);
    }
    // Where 1 − cdf has underflowed to 0, the surprise still grows with the count.
    let prev = 0;
    for (const x of [20, 40, 80, 160, 320, 640, 5000]) {
      const s = log10Surprise(x, 1.5, 0.3);
      assert.ok(Number.isFinite(s) && s > prev, `x=${x}: ${s} after ${prev}`);
      prev = s;
    }
    assert.ok(prev > 100);
  });

  it('is monotone in the tail probability: a larger count is never less surprising', () => {
    for (const [mu, phi] of [
      [0.1, 0.01],
      [3, 0.25],
      [200, 1],
    ] as const) {
      let prev = -1;
      for (let x = 0; x < 400; x++) {
        const s = log10Surprise(x, mu, phi);
        assert.ok(s >= prev - 1e-9, `mu=${mu} phi=${phi} x=${x}: ${s} < ${prev}`);
        prev = s;
      }
    }
  });

  it('splits a yearly false-alarm budget over the tests of a slot', () => {
    const one = perTestAlpha(1, 1440, 2);
    assert.ok(Math.abs(one - 1 / (365 * 1440 * 2)) / one < 1e-3);
    assert.ok(Math.abs(perTestAlpha(1, 1440, 50) * 25 - one) / one < 1e-3);
    assert.ok(perTestAlpha(1, 288, 2) > one * 4.99);
  });
});

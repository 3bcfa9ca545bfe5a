import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { retry } from './retry.ts';

describe('retry', () => {
  it('retries a failing call with growing, capped delays and returns its result', async () => {
    let calls = 0;
    const delays: number[] = [];
    const result = await retry(
      async () => {
        if (++calls < 4) throw new Error('broker not available');
        return 'sent';
      },
      { initialMs: 1, maxMs: 3, random: () => 1, onRetry: (_e, _n, ms) => delays.push(ms) },
    );
    assert.equal(result, 'sent');
    assert.deepEqual(delays, [1, 2, 3]);
  });

  it('gives up after the last attempt with the last error', async () => {
    let calls = 0;
    await assert.rejects(retry(async () => { calls++; throw new Error(`fail ${calls}`); }, { retries: 2, initialMs: 1 }), /fail 3/);
  });

  it('does not retry programmer errors or when told to stop', async () => {
    let calls = 0;
    await assert.rejects(retry(async () => { calls++; throw new TypeError('x is undefined'); }, { initialMs: 1 }), TypeError);
    assert.equal(calls, 1);
    await assert.rejects(retry(async () => { calls++; throw new Error('stop'); }, { initialMs: 1, shouldRetry: () => false }), /stop/);
    assert.equal(calls, 2);
  });
});

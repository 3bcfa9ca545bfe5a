import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { timestampMs } from './timestamp.ts';

const pad = (v: number, n: number) => String(v).padStart(n, '0');

describe('timestampMs: Date.parse for every string, faster for contract timestamps', () => {
  it('equals Date.parse on contract-shaped timestamps, in range or not, with 0 to 9 fraction digits', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 9999 }),
        fc.integer({ min: 0, max: 14 }),
        fc.integer({ min: 0, max: 33 }),
        fc.integer({ min: 0, max: 25 }),
        fc.integer({ min: 0, max: 61 }),
        fc.integer({ min: 0, max: 61 }),
        fc.stringMatching(/^(\.\d{1,9})?$/),
        (y, mo, d, h, mi, s, frac) => {
          const ts = `${pad(y, 4)}-${pad(mo, 2)}-${pad(d, 2)}T${pad(h, 2)}:${pad(mi, 2)}:${pad(s, 2)}${frac}Z`;
          assert.ok(Object.is(timestampMs(ts), Date.parse(ts)), ts);
        },
      ),
      { numRuns: 5_000 },
    );
  });

  it('equals Date.parse on other strings, near misses of the shape included', () => {
    const near = fc
      .tuple(fc.date({ min: new Date('1900-01-01T00:00:00Z'), max: new Date('2200-01-01T00:00:00Z'), noInvalidDate: true }), fc.nat(30), fc.string({ maxLength: 2 }))
      .map(([date, at, junk]) => {
        const iso = date.toISOString();
        return iso.slice(0, at) + junk + iso.slice(at + junk.length);
      });
    fc.assert(
      fc.property(fc.oneof(fc.string({ maxLength: 32 }), near), (s) => {
        assert.ok(Object.is(timestampMs(s), Date.parse(s)), JSON.stringify(s));
      }),
      { numRuns: 5_000 },
    );
  });

  it('keeps the first three fraction digits, as Date.parse does', () => {
    assert.equal(timestampMs('2020-02-03T13:40:00.9999Z'), Date.parse('2020-02-03T13:40:00.999Z'));
    assert.equal(timestampMs('2020-02-03T13:40:00.05Z'), Date.parse('2020-02-03T13:40:00.050Z'));
    assert.ok(Number.isNaN(timestampMs('2020-02-03T13:40:60Z')));
  });
});

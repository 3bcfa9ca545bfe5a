/**
 * Every consumer's first step, `decode`, on hostile input: it never throws, and every message
 * either decodes to a value its contract accepts (with finite numbers, Unicode strings and a
 * depth that `JSON.stringify` survives) or is refused with a dead-letter reason from the enum.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { DeadLetterReasons, type ContractName } from '../../schemas/contracts.ts';
import { check, decode, leafProblem } from '../../schemas/decode.ts';
import { goodPayloads, mutatedBytes, mutatedPayload } from './arbitraries.ts';
import { runs } from './config.ts';

const REASONS = new Set(DeadLetterReasons.anyOf.map((l) => l.const as string));
const CONTRACTS = Object.keys(goodPayloads) as ContractName[];

/** The property itself: one outcome, and a sound one. */
export function assertDecodes(name: ContractName, raw: string | Uint8Array): void {
  const r = decode(name, raw);
  if (r.ok) {
    assert.ok(check(name, r.value).ok, 'decoded but not schema-valid');
    assert.equal(leafProblem(r.value), undefined, 'decoded with a non-finite number or a lone surrogate');
    JSON.stringify(r.value); // depth bounded: a store or a producer can write it back
  } else {
    assert.ok(REASONS.has(r.reason), `reason ${r.reason} is not a dead-letter reason`);
    assert.ok(r.detail.length > 0 && r.detail.length <= 1000, 'a short detail');
  }
}

describe('decode, property-based', () => {
  it('arbitrary bytes, for every contract', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }), (bytes) => {
        for (const name of CONTRACTS) assertDecodes(name, bytes);
      }),
      runs(),
    );
  });

  it('arbitrary JSON text (strings with any code unit), for every contract', () => {
    fc.assert(
      fc.property(fc.json({ maxDepth: 5 }), fc.string({ unit: 'binary', maxLength: 40 }), (json, text) => {
        for (const name of CONTRACTS) {
          assertDecodes(name, json);
          assertDecodes(name, text);
        }
      }),
      runs(),
    );
  });

  for (const name of CONTRACTS) {
    it(`mutated valid ${name} payloads: fields removed or replaced with hostile values, bytes flipped, cut, inserted`, () => {
      fc.assert(
        fc.property(
          fc.oneof(
            mutatedPayload(name),
            mutatedBytes(fc.constantFrom(...goodPayloads[name].good.map((g) => Buffer.from(JSON.stringify(g))))),
          ),
          (raw) => assertDecodes(name, raw),
        ),
        runs(),
      );
    });
  }
});

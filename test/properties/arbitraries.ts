/**
 * Generators of hostile input for the property tests: arbitrary bytes, arbitrary JSON, and valid
 * payloads mutated at the byte level (flips, cuts, insertions, duplications) and at the JSON level
 * (fields removed or replaced with hostile values: deep nesting, huge numbers, odd years, lone
 * surrogates).
 */
import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import type { ContractName } from '../../schemas/contracts.ts';

export const goodPayloads = JSON.parse(readFileSync(new URL('../../schemas/fixtures/payloads.json', import.meta.url), 'utf8')) as Record<
  ContractName,
  { good: Record<string, unknown>[] }
>;

/** One edit of a byte string; positions are taken modulo the length at the time of the edit. */
type Edit =
  | { op: 'flip'; at: number; bit: number }
  | { op: 'set'; at: number; byte: number }
  | { op: 'cut'; at: number }
  | { op: 'insert'; at: number; bytes: Uint8Array }
  | { op: 'delete'; at: number; n: number }
  | { op: 'duplicate'; at: number; n: number };

const edit: fc.Arbitrary<Edit> = fc.oneof(
  fc.record({ op: fc.constant('flip' as const), at: fc.nat(), bit: fc.nat({ max: 7 }) }),
  fc.record({ op: fc.constant('set' as const), at: fc.nat(), byte: fc.oneof(fc.nat({ max: 255 }), fc.constantFrom(0x0a, 0x22, 0x5c, 0x7b, 0x5b, 0x7d, 0x5d, 0xc0, 0xed, 0xff)) }),
  fc.record({ op: fc.constant('cut' as const), at: fc.nat() }),
  fc.record({ op: fc.constant('insert' as const), at: fc.nat(), bytes: fc.oneof(fc.uint8Array({ maxLength: 8 }), fc.constantFrom(...['"', '\\', '[', '{', '}', ']', '1e309', '\\ud800', ',', ':', 'null', '\n', '\r\n'].map((s) => Buffer.from(s)))) }),
  fc.record({ op: fc.constant('delete' as const), at: fc.nat(), n: fc.integer({ min: 1, max: 16 }) }),
  fc.record({ op: fc.constant('duplicate' as const), at: fc.nat(), n: fc.integer({ min: 1, max: 64 }) }),
);

export function applyEdits(input: Uint8Array, edits: readonly Edit[]): Buffer {
  let b = Buffer.from(input);
  for (const e of edits) {
    const at = b.length === 0 ? 0 : e.at % (b.length + (e.op === 'insert' ? 1 : 0));
    if (e.op === 'flip' && b.length > 0) b[at] = b[at]! ^ (1 << e.bit);
    else if (e.op === 'set' && b.length > 0) b[at] = e.byte;
    else if (e.op === 'cut') b = b.subarray(0, at);
    else if (e.op === 'insert') b = Buffer.concat([b.subarray(0, at), e.bytes, b.subarray(at)]);
    else if (e.op === 'delete') b = Buffer.concat([b.subarray(0, at), b.subarray(at + e.n)]);
    else if (e.op === 'duplicate') b = Buffer.concat([b.subarray(0, at + e.n), b.subarray(at, at + e.n), b.subarray(at + e.n)]);
  }
  return b;
}

/** `input` with 1 to `max` byte-level edits. */
export function mutatedBytes(input: Uint8Array | fc.Arbitrary<Uint8Array>, max = 4): fc.Arbitrary<Buffer> {
  const base = input instanceof Uint8Array ? fc.constant(input) : input;
  return fc.tuple(base, fc.array(edit, { minLength: 1, maxLength: max })).map(([b, edits]) => applyEdits(b, edits));
}

/** Values a hostile producer puts in a field. */
export const hostileValue: fc.Arbitrary<unknown> = fc.oneof(
  fc.jsonValue({ maxDepth: 3 }),
  fc.constantFrom('0000-01-01T00:00:00Z', '2999-12-31T23:59:59Z', '1969-12-31T23:59:59Z', '2020-02-30T00:00:00Z', '2020-02-03T13:40:00+01:00', '', 'x'.repeat(3000)),
  fc.constantFrom(Number.MAX_VALUE, -0, 1e-320, Number.MAX_SAFE_INTEGER + 2, -1, 0.5),
  fc.string({ unit: 'binary', maxLength: 20 }),
  fc.integer({ min: 1, max: 200 }).map((d) => JSON.parse(`${'['.repeat(d)}${']'.repeat(d)}`) as unknown),
);

/** A valid payload of `name` with fields removed, replaced or added, as JSON text; sometimes with a number written as 1e309. */
export function mutatedPayload(name: ContractName): fc.Arbitrary<string> {
  const goods = goodPayloads[name].good;
  return fc
    .tuple(
      fc.constantFrom(...goods),
      fc.array(fc.tuple(fc.nat(), fc.oneof(fc.constant(undefined), hostileValue)), { maxLength: 3 }),
      fc.option(fc.tuple(fc.string({ maxLength: 8 }), hostileValue), { nil: undefined }),
      fc.boolean(),
    )
    .map(([good, edits, extra, overflow]) => {
      const o: Record<string, unknown> = structuredClone(good);
      const keys = Object.keys(o);
      for (const [i, v] of edits) {
        const k = keys[i % keys.length]!;
        if (v === undefined) delete o[k];
        else o[k] = v;
      }
      if (extra) o[extra[0]] = extra[1];
      const text = JSON.stringify(o);
      return overflow ? text.replace(/(?<=:)-?\d+(\.\d+)?(?=[,}\]])/, '1e309') : text;
    });
}

/** Anything a line may hold: arbitrary bytes, arbitrary JSON, or a mutated payload of `name`. */
export function hostileLine(name: ContractName): fc.Arbitrary<Uint8Array> {
  return fc.oneof(
    fc.uint8Array({ maxLength: 64 }),
    fc.json({ maxDepth: 4 }).map((s) => Buffer.from(s)),
    mutatedPayload(name).map((s) => Buffer.from(s)),
    mutatedBytes(fc.constantFrom(...goodPayloads[name].good.map((g) => Buffer.from(JSON.stringify(g))))),
    fc.constantFrom(...goodPayloads[name].good.map((g) => Buffer.from(JSON.stringify(g)))),
  );
}

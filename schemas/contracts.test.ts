import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import type { ContractName } from './contracts.ts';
import { check, decode, MAX_MESSAGE_BYTES } from './decode.ts';
import { JSON_DIR, jsonSchemas } from './write-json.ts';

const fixtures = JSON.parse(readFileSync(new URL('./fixtures/payloads.json', import.meta.url), 'utf8')) as Record<
  ContractName,
  { good: unknown[]; bad: { value: unknown; reason: string; detail: string }[] }
>;

describe('contracts', () => {
  for (const [name, { good, bad }] of Object.entries(fixtures) as [ContractName, (typeof fixtures)[ContractName]][]) {
    it(`${name}: accepts every good payload and keeps unknown fields`, () => {
      for (const value of good) {
        const r = decode(name, JSON.stringify(value));
        assert.ok(r.ok, `rejected ${JSON.stringify(value)}: ${!r.ok && r.detail}`);
        assert.deepEqual(r.value, value);
      }
    });
    it(`${name}: refuses every bad payload with its reason and a readable detail`, () => {
      for (const b of bad) {
        const r = check(name, b.value);
        assert.equal(r.ok, false, `accepted ${JSON.stringify(b.value)}`);
        assert.equal(!r.ok && r.reason, b.reason);
        assert.equal(!r.ok && r.detail, b.detail);
      }
    });
  }

  it('refuses malformed JSON, invalid UTF-8 and oversized messages without throwing', () => {
    const malformed = decode('UserReport', '{"id": "r1", "ts": ');
    assert.equal(!malformed.ok && malformed.reason, 'malformed_json');
    const bytes = decode('UserReport', new Uint8Array([0x7b, 0xff, 0xfe, 0x7d]));
    assert.equal(!bytes.ok && bytes.reason, 'malformed_json');
    const big = decode('UserReport', 'x'.repeat(MAX_MESSAGE_BYTES + 1));
    assert.equal(!big.ok && big.reason, 'oversized');
  });

  it('the JSON Schema files are generated from the contracts (run `npm run schemas` after a change)', () => {
    for (const [file, text] of Object.entries(jsonSchemas())) {
      assert.equal(readFileSync(JSON_DIR + file, 'utf8'), text, `${file} is out of date`);
    }
  });
});

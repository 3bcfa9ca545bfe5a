import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import type { ContractName } from './contracts.ts';
import { check, decode, depthExceeded, invalidUtf8Offset, MAX_JSON_DEPTH, MAX_MESSAGE_BYTES } from './decode.ts';
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
    assert.equal(!bytes.ok && bytes.reason, 'invalid_utf8');
    const big = decode('UserReport', 'x'.repeat(MAX_MESSAGE_BYTES + 1));
    assert.equal(!big.ok && big.reason, 'oversized');
  });

  describe('hostile input: refused with its reason, never a throw', () => {
    const report = (extra = '') => `{"id":"r1","ts":"2020-02-03T13:40:00Z","service":"teams","channel":"web"${extra}}`;
    const refused = (raw: string | Uint8Array, reason: string, detail?: RegExp) => {
      const r = decode('UserReport', raw);
      assert.equal(r.ok, false, `accepted ${String(raw).slice(0, 80)}`);
      assert.equal(!r.ok && r.reason, reason, !r.ok ? r.detail : '');
      if (detail) assert.match(!r.ok ? r.detail : '', detail);
    };

    it('a 10,000-deep unknown field is too_deep, refused before JSON.parse', () => {
      refused(report(`,"x":${'['.repeat(10_000)}${']'.repeat(10_000)}`), 'too_deep', /deeper than 64 levels/);
      refused(report(`,"x":${'{"a":'.repeat(10_000)}1${'}'.repeat(10_000)}`), 'too_deep');
      // The limit itself is allowed, and brackets inside strings do not count.
      const atLimit = `,"x":${'['.repeat(MAX_JSON_DEPTH - 1)}${']'.repeat(MAX_JSON_DEPTH - 1)}`;
      assert.ok(decode('UserReport', report(atLimit)).ok);
      assert.ok(decode('UserReport', report(`,"text":"${'['.repeat(500)}"`)).ok);
      assert.equal(depthExceeded(`["\\"${'['.repeat(100)}"]`), -1);
    });

    it('invalid UTF-8 is refused with the byte offset, not stored with U+FFFD', () => {
      const bytes = Buffer.concat([Buffer.from(report(',"text":"caf').slice(0, -1)), Buffer.from([0x22, 0xe9, 0x22, 0x7d])]);
      refused(bytes, 'invalid_utf8', /invalid byte sequence at byte \d+/);
      refused(Buffer.from([0x7b, 0xed, 0xa0, 0x80, 0x7d]), 'invalid_utf8'); // an encoded surrogate
      refused(Buffer.from([0x7b, 0xc0, 0xaf, 0x7d]), 'invalid_utf8'); // an overlong "/"
      assert.equal(invalidUtf8Offset(Buffer.from([0x61, 0x62, 0xf0, 0x9f, 0x98])), 2); // truncated emoji
      assert.ok(decode('UserReport', Buffer.from(report(',"text":"café 😀"'))).ok);
      // A lone surrogate escape is JSON but not Unicode text: refused the same way.
      refused(report(',"text":"a\\ud800b"'), 'invalid_utf8', /lone surrogate/);
      assert.ok(decode('UserReport', report(',"text":"\\ud83d\\ude00"')).ok);
    });

    it('a timestamp outside 1970–2100 is out_of_range (year 0000 was stored as 2026)', () => {
      refused(report().replace('2020-02-03T13:40:00Z', '0000-01-01T00:00:00Z'), 'out_of_range', /\/ts must not be before 1970-01-01T00:00:00Z/);
      refused(report().replace('2020-02-03T13:40:00Z', '2999-01-01T00:00:00Z'), 'out_of_range', /must not be after 2100/);
      assert.ok(decode('UserReport', report().replace('2020-02-03T13:40:00Z', '2100-12-31T23:59:59.999Z')).ok);
      // Certificate validity runs 1950–9999 (RFC 5280's "no expiry" is 9999-12-31T23:59:59Z).
      const cert = fixtures.CertObservation.good[0] as Record<string, unknown>;
      assert.ok(decode('CertObservation', JSON.stringify({ ...cert, notAfter: '9999-12-31T23:59:59Z' })).ok);
      const old = decode('CertObservation', JSON.stringify({ ...cert, notBefore: '1949-12-31T23:59:59Z' }));
      assert.equal(!old.ok && old.reason, 'out_of_range');
    });

    it('1e309 (Infinity after JSON.parse) is out_of_range, in a contract field or any other', () => {
      const probe = '{"id":"p","ts":"2020-02-03T13:40:00Z","probe":"p","service":"teams","target":"https://t/","ok":true,"durationMs":1e309}';
      refused(probe, 'out_of_range', /\/durationMs: a number too large for a double/);
      refused(report(',"extra":{"n":[1,-1e400]}'), 'out_of_range', /\/extra\/n\/1/);
      refused(report(`,"n":1${'0'.repeat(400)}`), 'out_of_range');
      const infinite = check('ProbeResult', { ...(JSON.parse(probe.replace('1e309', '1')) as object), durationMs: Infinity });
      assert.equal(!infinite.ok && infinite.reason, 'out_of_range');
      assert.ok(decode('UserReport', report(',"n":1e308,"m":1e-400')).ok);
    });
  });

  it('the JSON Schema files are generated from the contracts (run `npm run schemas` after a change)', () => {
    for (const [file, text] of Object.entries(jsonSchemas())) {
      assert.equal(readFileSync(JSON_DIR + file, 'utf8'), text, `${file} is out of date`);
    }
  });
});

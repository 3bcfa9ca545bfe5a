import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { describe, it } from 'node:test';
import { topics } from '../../schemas/topics.ts';
import { check } from '../../schemas/decode.ts';
import { DEAD_LETTER_VALUE_BYTES, deadLetter, decodeBatch, ownsDeadLetters, splitOversized } from './dead-letters.ts';

const sha = (b: string | Buffer) => createHash('sha256').update(b).digest('hex');

describe('dead letters', () => {
  it('keep a small message whole, with its digest and size', () => {
    const d = deadLetter({ topic: topics.reports.name, value: '{"id":', partition: 2, offset: '41' }, 'malformed_json', 'Unexpected end of JSON input', Date.UTC(2020, 1, 3));
    assert.deepEqual(d, {
      ts: '2020-02-03T00:00:00.000Z',
      topic: topics.reports.name,
      partition: 2,
      offset: '41',
      reason: 'malformed_json',
      detail: 'Unexpected end of JSON input',
      valueBase64: Buffer.from('{"id":').toString('base64'),
      sha256: sha('{"id":'),
      sizeBytes: 6,
      truncated: false,
    });
    assert.ok(check('DeadLetter', d).ok);
  });

  it('keep only the first bytes of a large message (bytes, not characters), and bound the detail', () => {
    const big = Buffer.concat([Buffer.from('é'.repeat(50_000)), Buffer.from([0xff, 0xfe]), Buffer.alloc(3_000_000, 0x61)]);
    const d = deadLetter({ topic: topics.probes.name, value: new Uint8Array(big), source: 'probes.ndjson:7' }, 'oversized', 'x'.repeat(10_000), 0);
    assert.equal(d.truncated, true);
    assert.equal(d.sizeBytes, big.length);
    assert.equal(d.sha256, sha(big));
    assert.deepEqual(Buffer.from(d.valueBase64, 'base64'), big.subarray(0, DEAD_LETTER_VALUE_BYTES));
    assert.ok(d.detail.length <= 2000);
    assert.ok(JSON.stringify(d).length < 100_000);
    assert.ok(check('DeadLetter', d).ok);
  });

  it('split a batch so that only the messages over the limit become dead letters, in order for the rest', () => {
    const { kept, refused } = splitOversized(
      [
        { topic: topics.reports.name, messages: [{ key: 'k', value: 'a' }, { key: 'k', value: 'é'.repeat(600) }, { key: 'k', value: 'b' }] },
        { topic: topics.probes.name, messages: [{ key: 'k', value: 'c' }] },
      ],
      1_000,
      0,
    );
    assert.deepEqual(kept.map((b) => [b.topic, b.messages.map((m) => m.value)]), [
      [topics.reports.name, ['a', 'b']],
      [topics.probes.name, ['c']],
    ]);
    assert.equal(refused.length, 1);
    assert.equal(refused[0]!.sizeBytes, 1_200);
    assert.equal(refused[0]!.reason, 'oversized');
  });

  it("are published by the topic's owning group only; every group is told what it refused", () => {
    const m = { topic: topics.reports.name, key: 'teams', value: 'not json', offset: '3' } as const;
    assert.equal(ownsDeadLetters('sink', topics.reports.name), true);
    assert.equal(ownsDeadLetters('correlator', topics.reports.name), false);
    const asCorrelator = decodeBatch([{ ...m, group: 'correlator', deadLetterOwner: false }], 0);
    assert.equal(asCorrelator.dead.length, 0);
    assert.equal(asCorrelator.refused.length, 1);
    const asSink = decodeBatch([{ ...m, group: 'sink', deadLetterOwner: true }], 0);
    assert.equal(asSink.dead.length, 1);
    assert.equal(asSink.dead[0]!.reason, 'malformed_json');
    assert.equal(decodeBatch([m], 0).dead.length, 1, 'a message no bus delivered: whoever decodes it');
  });
});

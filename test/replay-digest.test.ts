/**
 * A full replay into chDB leaves exactly what it left before: the same stored row counts, settled
 * totals and incidents with their hints (`test/fixtures/replay-digest.ts` builds the seeded
 * scenario and the digest). Changes to the bus, the feed, the sink or the store must keep it; a
 * change to the model that is meant to change it rewrites the fixture.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { computeDigest, DIGEST_FILE, type ReplayDigest } from './fixtures/replay-digest.ts';

describe('replay digest', () => {
  it('a seeded replay stores the same rows and raises the same incidents and hints as recorded', async () => {
    const expected = JSON.parse(readFileSync(DIGEST_FILE, 'utf8')) as ReplayDigest;
    const actual = await computeDigest();
    assert.deepStrictEqual(
      actual,
      expected,
      'the replay digest changed. If the change to the model is intended, rewrite the fixture with ' +
        '`node --import tsx test/fixtures/replay-digest.ts --write` and commit test/fixtures/replay-digest.json with it.',
    );
  });
});

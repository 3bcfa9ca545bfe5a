import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { RebuildIndex } from './rebuild-index.ts';

describe('RebuildIndex', () => {
  it('gives the first offset at or after a cutoff minute, as of a committed offset, with events out of order', () => {
    const idx = new RebuildIndex();
    // offset: minute
    const events: [number, number][] = [[0, 10], [1, 10], [2, 12], [3, 11], [4, 13], [5, 12], [6, 20]];
    for (const [o, m] of events) idx.observe(o, m, o % 2 ? 'a' : 'b');
    assert.equal(idx.rebuildFrom(10, 7), 0);
    assert.equal(idx.rebuildFrom(11, 7), 2); // offset 3 is minute 11, but offset 2 (minute 12) comes first
    assert.equal(idx.rebuildFrom(13, 7), 4);
    assert.equal(idx.rebuildFrom(14, 7), 6);
    assert.equal(idx.rebuildFrom(21, 7), 7, 'all older: nothing before the committed offset is needed');
    // As of offset 5, only offsets 0..4 count.
    assert.equal(idx.rebuildFrom(14, 5), 5);
    assert.equal(idx.latestMinuteBefore(5), 13);
    assert.equal(idx.latestMinuteBefore(0), undefined);
    assert.deepEqual([...idx.services].sort(), ['a', 'b']);
    assert.equal(idx.last, 6);
  });

  it('never returns an offset after an event inside the cutoff, on random streams', () => {
    let seed = 7;
    const rnd = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
    for (let run = 0; run < 200; run++) {
      const idx = new RebuildIndex();
      const minutes: number[] = [];
      let t = 0;
      for (let o = 0; o < 300; o++) {
        t += rnd() < 0.3 ? 1 : 0;
        const m = Math.max(0, t - Math.floor(rnd() * 4)); // up to 3 minutes late
        minutes.push(m);
        idx.observe(o, m, 's');
      }
      const cutoff = Math.floor(rnd() * (t + 2));
      const asOf = 1 + Math.floor(rnd() * 300);
      const from = idx.rebuildFrom(cutoff, asOf);
      for (let o = 0; o < Math.min(from, asOf); o++) assert.ok(minutes[o]! < cutoff, `run ${run}: offset ${o} (minute ${minutes[o]}) skipped by ${from} for cutoff ${cutoff}`);
      if (run % 3 === 0) {
        idx.prune(cutoff - 5);
        const after = idx.rebuildFrom(cutoff, asOf);
        assert.equal(after, from, 'pruning older minutes keeps the answer');
      }
    }
  });

  it('keeps a bounded number of entries once pruned, whatever the message rate', () => {
    const idx = new RebuildIndex();
    for (let o = 0; o < 200_000; o++) {
      idx.observe(o, Math.floor(o / 10), 's');
      if (o % 1000 === 0) idx.prune(Math.floor(o / 10) - 500);
    }
    assert.ok(idx.size <= 1500, `${idx.size} entries`);
  });
});

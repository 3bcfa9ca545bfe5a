import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { loadCatalog, parseCatalog } from '../../lib/catalog.ts';
import { PostClassifier } from './classify.ts';

interface Labelled {
  id: string;
  author: string;
  text: string;
  service: string | null;
  label: 'complaint' | 'status' | 'other';
}

const set = readFileSync(new URL('./fixtures/labelled-posts.ndjson', import.meta.url), 'utf8')
  .trim()
  .split('\n')
  .map((l) => JSON.parse(l) as Labelled);
const classifier = new PostClassifier(loadCatalog(new URL('../../examples/teams-2020-02-03/catalog.yaml', import.meta.url).pathname));

describe('post classifier on the labelled set', () => {
  it('has at least 200 labelled posts of every kind', () => {
    assert.ok(set.length >= 200, `${set.length} posts`);
    for (const kind of ['complaint', 'status', 'other']) assert.ok(set.some((p) => p.label === kind), kind);
  });

  it('finds complaints with precision ≥ 0.9 (right service), and prints precision and recall', (t) => {
    let tp = 0;
    let fp = 0;
    let fn = 0;
    let statusHit = 0;
    const misses: string[] = [];
    for (const p of set) {
      const c = classifier.classify({ text: p.text, author: p.author });
      const predicted = c.kind === 'complaint';
      const right = p.label === 'complaint' && c.service === p.service;
      if (predicted && right) tp++;
      else if (predicted) {
        fp++;
        misses.push(`false complaint ${p.id} (${c.service}): ${p.text}`);
      } else if (p.label === 'complaint') {
        fn++;
        misses.push(`missed ${p.id} (${p.service}): ${p.text}`);
      }
      if (p.label === 'status' && c.kind === 'status' && c.service === p.service) statusHit++;
    }
    const precision = tp / (tp + fp);
    const recall = tp / (tp + fn);
    const statuses = set.filter((p) => p.label === 'status').length;
    const line = `complaints: precision ${precision.toFixed(3)}, recall ${recall.toFixed(3)} (${tp} right, ${fp} false, ${fn} missed of ${set.length} posts); status posts: ${statusHit}/${statuses} with the right service`;
    t.diagnostic(line);
    process.stdout.write(`# ${line}\n`);
    if (process.env.SHOW_MISSES) for (const m of misses) process.stdout.write(`#   ${m}\n`);
    assert.ok(precision >= 0.9, line);
  });
});

describe('post classifier on any catalog', () => {
  it('reads its service words from the catalog alone: a short word counts as the name only where grammar makes it one', () => {
    const c = new PostClassifier(parseCatalog('services:\n  - id: relay\n    name: Acme Relay\n    keywords: ["relay outage"]\n'));
    assert.deepEqual([c.classify({ text: 'relay is down again, cannot send anything' }).kind, c.classify({ text: 'relay is down again, cannot send anything' }).service], ['complaint', 'relay']);
    assert.equal(c.classify({ text: 'my relay app keeps crashing' }).service, 'relay');
    assert.equal(c.classify({ text: 'both relay teams failed to finish, the baton dropped' }).kind, 'other');
    assert.equal(c.classify({ text: 'swapped the relay out, the old one was broken' }).kind, 'other');
  });
});

/**
 * Every scenario directory of the corpus (test/scenarios/*) and of the examples, replayed through
 * the real pipeline (embedded bus, chDB) and judged by its expected.yaml.
 */
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { replay } from '../cli/replay.ts';
import { createLogger } from '../lib/log.ts';
import { assertExpected, loadExpected } from './helpers/expected.ts';

const dirs = ['test/scenarios', 'examples'].flatMap((base) =>
  readdirSync(base, { withFileTypes: true })
    .filter((e) => e.isDirectory() && existsSync(join(base, e.name, 'expected.yaml')))
    .map((e) => join(base, e.name)),
);
const tmp = mkdtempSync(join(tmpdir(), 'outage-scenarios-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

describe('scenario corpus', () => {
  for (const dir of dirs) {
    it(`${dir}: ${loadExpected(join(dir, 'expected.yaml')).description ?? ''}`, async () => {
      // One data directory for the whole file: chDB binds one per process.
      const r = await replay({ dir, store: { kind: 'chdb', dataDir: join(tmp, 'chdb') }, logger: createLogger('test', 'silent') });
      assertExpected(r.incidents, loadExpected(join(dir, 'expected.yaml')), dir, r);
    });
  }
});

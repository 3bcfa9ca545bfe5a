/**
 * The catalog loader on damaged YAML: the valid fixture with bytes flipped, cut, inserted or
 * duplicated, and keys, values and dependencies edited. It returns a catalog its schema accepts,
 * or throws a CatalogError whose every problem names the file and a line; never anything else.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { Catalog as CatalogSchema } from '../../schemas/catalog.ts';
import { compileSchema } from '../../schemas/decode.ts';
import { CatalogError, parseCatalog } from '../../lib/catalog.ts';
import { mutatedBytes } from './arbitraries.ts';
import { runs } from './config.ts';

const valid = readFileSync(new URL('../../lib/fixtures/catalog/valid.yaml', import.meta.url));
const validate = compileSchema(CatalogSchema);

/** Text-level edits a person makes: a key renamed, a value swapped, a dependency looped back, an alias. */
const textEdit = fc.constantFrom(
  (t: string) => t.replace('dependsOn: [directory]', 'dependsOn: [teams]'),
  (t: string) => t.replace('dependsOn: [m365-auth]', 'dependsOn: [m365-auth, m365-auth]'),
  (t: string) => t.replace('name: Directory', 'name: Directory\n    dependsOn: [teams]'),
  (t: string) => t.replace('id: directory', 'id: teams'),
  (t: string) => t.replace('hosts:', 'hostz:'),
  (t: string) => t.replace('services:', 'x: &x [a, b, c]\ny: &y [*x, *x, *x, *x]\nservices:'),
  (t: string) => t.replace('  - id: teams', '  - &t\n    id: teams').replace('  - id: directory', '  - *t\n  - id: directory'),
  (t: string) => t.replace(/"/g, "'"),
  (t: string) => t.replace(/\n/g, '\r\n'),
  (t: string) => t.replace('    ', '\t'),
  (t: string) => `${t}\n${t}`,
);

describe('catalog loader, property-based', () => {
  it('damaged catalogs: a valid Catalog or a CatalogError with file and line for every problem', () => {
    const damaged = fc.oneof(
      mutatedBytes(valid, 6).map((b) => b.toString('utf8')),
      fc.array(textEdit, { minLength: 1, maxLength: 3 }).map((edits) => edits.reduce((t, e) => e(t), valid.toString('utf8'))),
      fc.tuple(fc.array(textEdit, { minLength: 1, maxLength: 2 }), fc.nat(), fc.string({ unit: 'binary', maxLength: 6 })).map(([edits, at, s]) => {
        const t = edits.reduce((x, e) => e(x), valid.toString('utf8'));
        const i = at % (t.length + 1);
        return t.slice(0, i) + s + t.slice(i);
      }),
    );
    fc.assert(
      fc.property(damaged, (text) => {
        try {
          const c = parseCatalog(text, 'damaged.yaml');
          assert.ok(validate(c), 'returned a catalog its schema refuses');
        } catch (err) {
          assert.ok(err instanceof CatalogError, `not a CatalogError: ${(err as Error)?.stack}`);
          assert.ok(err.problems.length > 0);
          for (const p of err.problems) {
            assert.equal(p.file, 'damaged.yaml');
            assert.ok(Number.isInteger(p.line) && p.line >= 1, `line ${p.line}: ${p.problem}`);
            assert.ok(p.problem.length > 0);
          }
          assert.ok(err.message.startsWith(`damaged.yaml:${err.problems[0]!.line}:`));
        }
      }),
      runs(),
    );
  });
});

import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expiryWarnings } from './certs/warnings.ts';
import { blastRadius, CatalogError, dependencyPaths, hostMatches, hostOf, loadCatalog, MAX_ALIAS_COUNT, parseCatalog } from './catalog.ts';

const fixture = (name: string) => fileURLToPath(new URL(`./fixtures/catalog/${name}`, import.meta.url));

describe('catalog', () => {
  it('loads a valid catalog and lowercases certificate fingerprints', () => {
    const c = loadCatalog(fixture('valid.yaml'));
    assert.deepEqual(c.services.map((s) => s.id), ['teams', 'm365-auth', 'directory']);
    assert.equal(c.services[1]!.certificates![0]!.sha256, '7bc2b6c475a2d6d0b0a8a6f2c2f1b1c4e7d9a0b1c2d3e4f5a6b7c8d9e0f1a2b3');
  });

  const invalid: [string, string, string][] = [
    ['invalid-unknown-key.yaml', '4:5', 'services[0]: unknown key "depends_on"'],
    ['invalid-unknown-dependency.yaml', '5:9', 'services[0].dependsOn[0]: unknown service "m365-aut"'],
    ['invalid-duplicate-id.yaml', '4:9', 'services[1].id: duplicate service id "teams"'],
    ['invalid-yaml.yaml', '5:1', 'YAML: Missing closing "quote'],
    ['invalid-bad-sha.yaml', '6:17', 'services[0].certificates[0].sha256 must match pattern "^[0-9a-fA-F]{64}$"'],
    ['invalid-missing-name.yaml', '2:5', 'services[0] is missing required field "name"'],
    ['invalid-endpoint-scheme.yaml', '4:17', 'services[0].endpoints[0] must match pattern "^(https?|tls|tcp|dns)://"'],
  ];
  for (const [file, lineCol, problem] of invalid) {
    it(`names file, line, column and problem: ${file}`, () => {
      assert.throws(
        () => loadCatalog(fixture(file)),
        (err: unknown) => {
          assert.ok(err instanceof CatalogError);
          assert.equal(err.message, `${fixture(file)}:${lineCol}: ${problem}`);
          assert.equal(err.line, Number(lineCol.split(':')[0]));
          return true;
        },
      );
    });
  }

  it('reports a missing file clearly', () => {
    assert.throws(() => loadCatalog('/nonexistent/catalog.yaml'), /\/nonexistent\/catalog.yaml:0: cannot read the catalog: ENOENT/);
  });

  it('follows dependsOn transitively with the path to each dependency', () => {
    const c = loadCatalog(fixture('valid.yaml'));
    assert.deepEqual([...dependencyPaths(c, 'teams')], [
      ['m365-auth', ['teams', 'm365-auth']],
      ['directory', ['teams', 'm365-auth', 'directory']],
    ]);
    assert.deepEqual([...dependencyPaths(c, 'directory')], []);
  });

  /** The problems of a catalog text, as `line:col: problem`. */
  const problemsOf = (text: string): string[] => {
    try {
      parseCatalog(text, 'c.yaml');
    } catch (err) {
      assert.ok(err instanceof CatalogError, String(err));
      assert.equal(err.message, err.problems.map((p) => `c.yaml:${p.line}:${p.col}: ${p.problem}`).join('\n'));
      return err.problems.map((p) => `${p.line}:${p.col}: ${p.problem}`);
    }
    return [];
  };

  it('reports every problem at once, each with line and column, in file order', () => {
    const text = [
      'services:',
      '  - id: teams',
      '    name: Teams',
      '    depends_on: [auth]',
      '    dependsOn: [m365-aut]',
      '  - id: auth',
      '    name: Sign-in',
      '    certificates: [{ name: signing, sha256: "xyz" }]',
      '  - id: auth',
      '    name: Again',
      '  - id: zoom',
      '    endpoints: ["ftp://zoom.us/", { url: "https://zoom.us/", interval: 5 }]',
    ].join('\n');
    assert.deepEqual(problemsOf(text), [
      '4:5: services[0]: unknown key "depends_on"',
      '5:17: services[0].dependsOn[0]: unknown service "m365-aut"',
      '8:45: services[1].certificates[0].sha256 must match pattern "^[0-9a-fA-F]{64}$"',
      '9:9: services[2].id: duplicate service id "auth"',
      '11:5: services[3] is missing required field "name"',
      '12:17: services[3].endpoints[0] must match pattern "^(https?|tls|tcp|dns)://"',
      '12:62: services[3].endpoints[1]: unknown key "interval"',
    ]);
  });

  it('an empty or scalar document is a CatalogError, not a TypeError (found by the property test)', () => {
    assert.deepEqual(problemsOf(''), ['1:1: (root) must be object']);
    assert.deepEqual(problemsOf('null'), ['1:1: (root) must be object']);
  });

  it('refuses dependency cycles, naming the cycle', () => {
    const svc = (id: string, deps: string[]) => `  - id: ${id}\n    name: ${id}\n    dependsOn: [${deps.join(', ')}]\n`;
    assert.deepEqual(problemsOf(`services:\n${svc('a', ['b'])}${svc('b', ['a'])}`), ['4:17: services[0].dependsOn[0]: dependency cycle a → b → a']);
    assert.deepEqual(problemsOf(`services:\n${svc('x', ['y'])}${svc('y', ['z'])}${svc('z', ['y', 'x'])}${svc('self', ['self'])}`), [
      '4:17: services[0].dependsOn[0]: dependency cycle x → y → z → x',
      '13:17: services[3].dependsOn[0]: "self" depends on itself',
    ]);
    // A long chain is no cycle, and is checked without recursion.
    const chain = Array.from({ length: 20_000 }, (_, i) => svc(`s${i}`, i + 1 < 20_000 ? [`s${i + 1}`] : [])).join('');
    assert.equal(parseCatalog(`services:\n${chain}`).services.length, 20_000);
  });

  it('refuses a YAML alias bomb with the limit it broke, file and line', () => {
    const levels = ['a: &a ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]'];
    for (const [prev, name] of [['a', 'b'], ['b', 'c'], ['c', 'd'], ['d', 'e'], ['e', 'f'], ['f', 'g'], ['g', 'h'], ['h', 'i']]) {
      levels.push(`${name}: &${name} [${Array(9).fill(`*${prev}`).join(', ')}]`);
    }
    const bomb = `${levels.join('\n')}\nservices:\n  - id: teams\n    name: *i\n`;
    const started = performance.now();
    const problems = problemsOf(bomb);
    assert.equal(problems.length, 1);
    assert.match(problems[0]!, new RegExp(`^2:\\d+: YAML: more alias expansions than the limit of ${MAX_ALIAS_COUNT} \\(maxAliasCount\\): an alias bomb\\?`));
    assert.ok(performance.now() - started < 10_000, 'refused without expanding');
  });

  it('refuses a catalog that is not UTF-8, with its line and column', () => {
    const dir = mkdtempSync(join(tmpdir(), 'outage-catalog-'));
    after(() => rmSync(dir, { recursive: true, force: true }));
    const file = join(dir, 'catalog.yaml');
    writeFileSync(file, Buffer.concat([Buffer.from('services:\n  - id: teams\n    name: Caf'), Buffer.from([0xe9, 0x0a])]));
    assert.throws(() => loadCatalog(file), (err: unknown) => err instanceof CatalogError && err.message === `${file}:3:14: not UTF-8: invalid byte sequence`);
  });

  it('blast radius and dependencies stay linear: 100,000 services in a chain and one certificate', { timeout: 120_000 }, () => {
    const n = 100_000;
    const services = Array.from({ length: n }, (_, i) => ({ id: `s${i}`, name: `S${i}`, ...(i + 1 < n ? { dependsOn: [`s${i + 1}`] } : { certificates: [{ name: 'root-signing' }] }) }));
    const catalog = { services };
    assert.equal(blastRadius(catalog, [`s${n - 1}`]).length, n);
    assert.deepEqual(blastRadius(catalog, ['s1']), ['s0', 's1']);
    assert.deepEqual([...dependencyPaths(catalog, `s${n - 3}`)], [
      [`s${n - 2}`, [`s${n - 3}`, `s${n - 2}`]],
      [`s${n - 1}`, [`s${n - 3}`, `s${n - 2}`, `s${n - 1}`]],
    ]);
    const cert = { ts: '2020-02-03T00:00:00Z', source: 'file' as const, sha256: 'a'.repeat(64), subject: 'CN=root-signing', issuer: 'CN=root-signing', serial: '01', notBefore: '2019-02-03T00:00:00Z', notAfter: '2020-02-05T00:00:00Z', dnsNames: [], isCA: false, name: 'root-signing' };
    const [w] = expiryWarnings([cert], catalog, Date.parse('2020-02-03T00:00:00Z'));
    assert.deepEqual(w!.services, [`s${n - 1}`]);
    assert.equal(w!.blastRadius.length, n);
  });

  it('matches host names as TLS does: a wildcard covers exactly one label', () => {
    assert.ok(hostMatches('*.teams.microsoft.com', 'eu.teams.microsoft.com'));
    assert.ok(!hostMatches('*.teams.microsoft.com', 'teams.microsoft.com'));
    assert.ok(!hostMatches('*.teams.microsoft.com', 'a.b.teams.microsoft.com'));
    assert.ok(hostMatches('Login.MicrosoftOnline.com', 'login.microsoftonline.com.'));
    assert.equal(hostOf('https://teams.microsoft.com/path'), 'teams.microsoft.com');
    assert.equal(hostOf('login.microsoftonline.com:443'), 'login.microsoftonline.com');
    assert.equal(hostOf('certs/teams.pem'), undefined);
  });
});

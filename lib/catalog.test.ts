import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { CatalogError, dependencyPaths, hostMatches, hostOf, loadCatalog } from './catalog.ts';

const fixture = (name: string) => fileURLToPath(new URL(`./fixtures/catalog/${name}`, import.meta.url));

describe('catalog', () => {
  it('loads a valid catalog and lowercases certificate fingerprints', () => {
    const c = loadCatalog(fixture('valid.yaml'));
    assert.deepEqual(c.services.map((s) => s.id), ['teams', 'm365-auth', 'directory']);
    assert.equal(c.services[1]!.certificates![0]!.sha256, '7bc2b6c475a2d6d0b0a8a6f2c2f1b1c4e7d9a0b1c2d3e4f5a6b7c8d9e0f1a2b3');
  });

  const invalid: [string, number, string][] = [
    ['invalid-unknown-key.yaml', 4, 'services[0]: unknown key "depends_on"'],
    ['invalid-unknown-dependency.yaml', 5, 'services[0].dependsOn[0]: unknown service "m365-aut"'],
    ['invalid-duplicate-id.yaml', 4, 'services[1].id: duplicate service id "teams"'],
    ['invalid-yaml.yaml', 5, 'YAML: Missing closing "quote'],
    ['invalid-bad-sha.yaml', 6, 'services[0].certificates[0].sha256 must match pattern "^[0-9a-fA-F]{64}$"'],
    ['invalid-missing-name.yaml', 2, 'services[0] is missing required field "name"'],
    ['invalid-endpoint-scheme.yaml', 4, 'services[0].endpoints[0] must match pattern "^(https|tls|tcp|dns)://"'],
  ];
  for (const [file, line, problem] of invalid) {
    it(`names file, line and problem: ${file}`, () => {
      assert.throws(
        () => loadCatalog(fixture(file)),
        (err: unknown) => {
          assert.ok(err instanceof CatalogError);
          assert.equal(err.message, `${fixture(file)}:${line}: ${problem}`);
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

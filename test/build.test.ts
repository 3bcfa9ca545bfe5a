/**
 * The image's build (Dockerfile: `node bin/build.js`) run here: the TypeScript compiled to
 * JavaScript in a directory of its own, then the compiled CLI replays the bundled example with
 * plain `node` (no TypeScript loader) and prints the same incidents as the sources run through
 * tsx; the compiled service entry points load and stop with their configuration message.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';

const run = promisify(execFile);
const EXAMPLE = 'examples/teams-2020-02-03';
// Inside the checkout, so the compiled files resolve node_modules and package.json ("type": "module") as in the image's /app.
const OUT = join('.cache', `build-test-${process.pid}`);

function files(dir: string): string[] {
  return readdirSync(dir).flatMap((f) => (statSync(join(dir, f)).isDirectory() ? files(join(dir, f)) : [join(dir, f)]));
}

describe('the compiled JavaScript build', { timeout: 180_000 }, () => {
  const tmp = mkdtempSync(join(tmpdir(), 'build-test-'));
  let tsxRun: Promise<{ stdout: string }>;

  before(async () => {
    // The tsx run of the sources in parallel with the compile (two cores).
    tsxRun = run(process.execPath, ['bin/outage.js', 'replay', EXAMPLE, '--format', 'ndjson', '--data-dir', join(tmp, 'tsx')], { env: { ...process.env, LOG_LEVEL: 'silent' }, maxBuffer: 64 << 20 });
    tsxRun.catch(() => undefined);
    await run(process.execPath, ['bin/build.js', '--out-dir', OUT], { maxBuffer: 16 << 20 });
  });
  after(() => {
    rmSync(OUT, { recursive: true, force: true });
    rmSync(tmp, { recursive: true, force: true });
  });

  it('imports no TypeScript and no TypeScript loader', () => {
    const js = files(OUT).filter((f) => f.endsWith('.js'));
    assert.ok(js.length > 50, `only ${js.length} files`);
    for (const f of js) {
      const text = readFileSync(f, 'utf8');
      assert.doesNotMatch(text, /from ['"](\.{1,2}\/[^'"]*)\.ts['"]|import\(['"]\.{1,2}\/[^'"]*\.ts['"]\)/, `${f} imports a .ts file`);
      assert.doesNotMatch(text, /['"]tsx(\/[^'"]*)?['"]/, `${f} loads tsx`);
    }
    for (const f of ['schemas/clickhouse/001_raw_events.sql', 'services/api/page/index.html', 'cli/main.js', 'services/sink/main.js']) statSync(join(OUT, f));
  });

  it('runs the CLI: --help, and a replay of the example with the incidents of the tsx run', async () => {
    const help = await run(process.execPath, [join(OUT, 'cli/main.js'), '--help']);
    assert.match(help.stdout, /Usage: outage/);
    assert.match(help.stdout, /replay/);
    const compiled = await run(process.execPath, [join(OUT, 'cli/main.js'), 'replay', EXAMPLE, '--format', 'ndjson', '--data-dir', join(tmp, 'js')], { env: { ...process.env, LOG_LEVEL: 'silent' }, maxBuffer: 64 << 20 });
    const incidents = (out: string) => out.split('\n').filter(Boolean).map((l) => JSON.parse(l) as { id: string });
    const js = incidents(compiled.stdout);
    assert.ok(js.some((i) => i.id === 'teams-20200203T1340Z'), 'the Teams incident');
    assert.deepEqual(js, incidents((await tsxRun).stdout));
  });

  it('loads every service entry point (each stops on its missing configuration, not on a module error)', async () => {
    for (const service of readdirSync('services').filter((s) => statSync(join('services', s, 'main.ts'), { throwIfNoEntry: false }))) {
      const r = await run(process.execPath, [join(OUT, 'services', service, 'main.js')], {
        env: { PATH: process.env.PATH ?? '', PORT: '0', LOG_LEVEL: 'fatal', CATALOG: join(EXAMPLE, 'catalog.yaml') },
        timeout: 20_000,
      }).then(
        () => assert.fail(`${service} started without Kafka`),
        (err: { code?: number; stdout?: string; stderr?: string }) => ({ code: err.code, output: `${err.stdout ?? ''}${err.stderr ?? ''}` }),
      );
      assert.equal(r.code, 1, `${service}: ${r.output}`);
      assert.doesNotMatch(r.output, /ERR_MODULE_NOT_FOUND|ERR_UNKNOWN_FILE_EXTENSION|SyntaxError/, `${service}: ${r.output}`);
      assert.match(r.output, /KAFKA_BROKERS|X_BEARER_TOKEN|GRAFANA_URL|CERT_DIRS|nothing to notify|API_READ_TOKENS|REPORT_API_TOKENS/, `${service}: ${r.output}`);
    }
  });
});

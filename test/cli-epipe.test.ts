/**
 * `outage … | head -1`: a reader that closes the pipe early ends every printing command quietly
 * with exit 0 (it crashed with an unhandled EPIPE before). The reader's end is closed before the
 * command writes anything, so every write fails: the worst case of `head`.
 */
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';

const EXAMPLE = 'examples/teams-2020-02-03';
const tmp = mkdtempSync(join(tmpdir(), 'outage-epipe-'));
after(() => rmSync(tmp, { recursive: true, force: true }));
const env = { ...process.env, LOG_LEVEL: 'warn', CATALOG: join(EXAMPLE, 'catalog.yaml') };

/** Runs the CLI with its stdout read end already closed; resolves with the exit code and stderr. */
function withClosedStdout(args: string[]): Promise<{ code: number | null; signal: NodeJS.Signals | null; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['bin/outage.js', ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    child.stdout.destroy();
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (code, signal) => resolve({ code, signal, stderr }));
  });
}

describe('output into a closed pipe', () => {
  const data = join(tmp, 'chdb');
  const csv = join(tmp, 'series.csv');
  before(() => {
    const start = Date.parse('2020-02-01T00:00:00Z');
    writeFileSync(csv, ['timestamp,value', ...Array.from({ length: 3 * 1440 }, (_, i) => `${new Date(start + i * 60_000).toISOString()},${5 + (i % 7)}`)].join('\n'));
  });

  const commands: [string, () => string[]][] = [
    ['replay --format ndjson', () => ['replay', EXAMPLE, '--format', 'ndjson', '--quiet', '--data-dir', data]],
    ['sql', () => ['sql', 'SELECT number FROM system.numbers LIMIT 100000', '--data-dir', data]],
    ['certs warnings', () => ['certs', 'warnings', '--at', '2020-02-01T13:31:00Z', '--data-dir', data]],
    ['certs scan', () => ['certs', 'scan', join(EXAMPLE, 'certs'), '--catalog', join(EXAMPLE, 'catalog.yaml')]],
    ['detect', () => ['detect', csv]],
  ];
  for (const [name, args] of commands) {
    it(`${name} ends quietly with exit 0`, async () => {
      const r = await withClosedStdout(args());
      assert.equal(r.signal, null);
      assert.doesNotMatch(r.stderr, /EPIPE|Unhandled|Error:/, r.stderr);
      assert.equal(r.code, 0, r.stderr);
    });
  }

  it('as `| head -1` in a shell: the first line arrives and the command exits 0', () => {
    const out = execFileSync('bash', ['-c', `set -o pipefail; node bin/outage.js sql "SELECT number FROM system.numbers LIMIT 200000" --data-dir ${data} | head -1`], { env, encoding: 'utf8' });
    assert.equal(out, '{"number":0}\n');
  });
});

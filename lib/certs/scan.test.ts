/**
 * What a directory scan does with everything that is not a plain certificate file: symlinks
 * (followed, Kubernetes-style, with loops and dangling links named), FIFOs, sockets, huge files
 * and directory loops, each named in the errors with why; nothing blocks and nothing is dropped
 * without a word.
 */
import assert from 'node:assert/strict';
import { execFile, execFileSync } from 'node:child_process';
import { closeSync, mkdirSync, mkdtempSync, openSync, rmSync, symlinkSync, writeFileSync, ftruncateSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { after, before, describe, it } from 'node:test';
import { makeCert, type Issued } from './make.ts';
import { MAX_FILE_BYTES, scanCertDir, type ScanResult } from './scan.ts';

const tmp = mkdtempSync(join(tmpdir(), 'outage-scan-'));
const TS = '2020-02-03T00:00:00.000Z';
let cert: Issued;
let socket: Server;

describe('certificate scan of special files', () => {
  const root = join(tmp, 'certs');
  let scan: ScanResult;
  const errorFor = (file: string) => scan.errors.filter((e) => e.file === file).map((e) => e.message);

  before(async () => {
    cert = await makeCert({ subject: 'CN=api.example.test', dnsNames: ['api.example.test'], notBefore: new Date('2019-01-01T00:00:00Z'), notAfter: new Date('2021-01-01T00:00:00Z') });
    mkdirSync(join(root, 'sub'), { recursive: true });
    writeFileSync(join(root, 'api.pem'), cert.pem);
    // A Kubernetes secret volume: tls.crt -> ..data/tls.crt, ..data -> ..2020_02_03/.
    mkdirSync(join(root, 'secret', '..2020_02_03'), { recursive: true });
    writeFileSync(join(root, 'secret', '..2020_02_03', 'tls.crt'), cert.pem);
    symlinkSync('..2020_02_03', join(root, 'secret', '..data'));
    symlinkSync('..data/tls.crt', join(root, 'secret', 'tls.crt'));
    symlinkSync('api.pem', join(root, 'link-to-api.pem'));
    symlinkSync('missing.pem', join(root, 'dangling.pem'));
    symlinkSync('loop-b.pem', join(root, 'loop-a.pem'));
    symlinkSync('loop-a.pem', join(root, 'loop-b.pem'));
    symlinkSync('..', join(root, 'sub', 'up')); // a directory loop
    symlinkSync('sub', join(root, 'sub-again')); // the same directory twice
    mkdirSync(join(tmp, 'elsewhere'));
    symlinkSync(join(tmp, 'elsewhere'), join(root, 'outside'));
    execFileSync('mkfifo', [join(root, 'pipe.pem')]);
    socket = createServer();
    await new Promise<void>((r) => socket.listen(join(root, 'agent.sock'), r));
    const big = openSync(join(root, 'huge.pem'), 'w');
    ftruncateSync(big, MAX_FILE_BYTES + 1); // sparse: no disk used
    closeSync(big);
    scan = await scanCertDir(root, TS, root);
  });
  after(() => {
    socket.close();
    rmSync(tmp, { recursive: true, force: true });
  });

  it('follows links to files, Kubernetes secret volumes included, observing the certificate where it is used', () => {
    assert.deepEqual(scan.observations.map((o) => o.endpoint).sort(), ['api.pem', 'link-to-api.pem', 'secret/tls.crt']);
  });

  it('names every file it does not read, and why', () => {
    assert.deepEqual(errorFor('dangling.pem'), ['dangling symlink to missing.pem: skipped']);
    assert.deepEqual(errorFor('loop-a.pem'), ['symlink loop (ELOOP): skipped']);
    assert.deepEqual(errorFor('loop-b.pem'), ['symlink loop (ELOOP): skipped']);
    assert.deepEqual(errorFor('pipe.pem'), ['a FIFO (named pipe), not a regular file: skipped (never opened: reading it would block the scan)']);
    assert.deepEqual(errorFor('agent.sock'), ['a socket, not a regular file: skipped']);
    assert.deepEqual(errorFor('huge.pem'), [`larger than ${MAX_FILE_BYTES} bytes, skipped`]);
    assert.match(errorFor('sub/up')[0]!, /^symlink loop: leads back to \/.*certs, which encloses it: not followed$/);
    assert.deepEqual(errorFor('sub-again'), ['symlink to a directory already scanned as sub: not scanned twice']);
    assert.match(errorFor('outside')[0]!, /^symlink to a directory outside the scanned tree \(.*elsewhere\): not followed$/);
    assert.equal(scan.errors.length, 9, scan.errors.map((e) => `${e.file}: ${e.message}`).join('\n'));
  });

  it('a FIFO, a loop or a dangling link named directly is reported, not an abort of the scan', async () => {
    for (const [name, message] of [
      ['pipe.pem', /FIFO/],
      ['loop-a.pem', /symlink loop \(ELOOP\)/],
      ['dangling.pem', /dangling symlink to missing\.pem/],
      ['agent.sock', /a socket/],
    ] as const) {
      const r = await scanCertDir(join(root, name), TS, root);
      assert.equal(r.observations.length, 0);
      assert.equal(r.errors.length, 1, name);
      assert.equal(r.errors[0]!.file, name);
      assert.match(r.errors[0]!.message, message);
    }
  });

  it('unreadable files are named (EACCES)', { skip: process.getuid?.() === 0 ? 'root reads every file' : false }, async () => {
    const file = join(tmp, 'secret.pem');
    writeFileSync(file, cert.pem, { mode: 0o000 });
    const r = await scanCertDir(file, TS, tmp);
    assert.deepEqual(r.errors.map((e) => e.message), ['unreadable (EACCES: permission denied): skipped']);
  });

  it('`outage certs scan` on a folder with a FIFO finishes and exits 2 naming it', async () => {
    const run = promisify(execFile);
    await assert.rejects(run(process.execPath, ['bin/outage.js', 'certs', 'scan', root, join(root, 'pipe.pem')], { timeout: 60_000, env: { ...process.env, CATALOG: '/nonexistent' } }), (err: { code?: number; stdout?: string; stderr?: string }) => {
      assert.equal(err.code, 2);
      assert.match(err.stderr!, /pipe\.pem:0: a FIFO \(named pipe\), not a regular file/);
      assert.match(err.stdout!, /api\.example\.test/);
      return true;
    });
  });
});

/**
 * `outage serve` as a real process on free ports, as a user starts it: for the tests that go
 * through its HTTP surfaces (report API in, query API and status page out).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from '../kafka/broker.ts';

export interface ServeProcess {
  readonly proc: ChildProcess;
  readonly url: string;
  readonly dataDir: string;
  /** Everything the process wrote to stderr so far (logs and its one-line messages). */
  stderr(): string;
  /** SIGTERM, then the exit code (SIGKILL after 20 s). */
  stop(): Promise<number | null>;
}

/** Starts `outage serve` with `args`, waits until `/readyz` answers 200, or fails with its stderr. */
export async function startServe(args: string[], env: Record<string, string> = {}, timeoutMs = 120_000): Promise<ServeProcess> {
  const port = await freePort();
  const dataDir = env.OUTAGE_DATA_DIR ?? join(mkdtempSync(join(tmpdir(), 'outage-serve-')), 'chdb');
  const proc = spawn(process.execPath, ['bin/outage.js', 'serve', ...args], {
    env: { ...process.env, LOG_LEVEL: 'warn', OUTAGE_DATA_DIR: dataDir, API_PORT: String(port), API_HOST: '127.0.0.1', ...env },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let err = '';
  proc.stderr!.setEncoding('utf8').on('data', (d: string) => (err += d));
  const exited = new Promise<number | null>((resolve) => proc.once('exit', (code) => resolve(code)));
  const url = `http://127.0.0.1:${port}/`;
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (proc.exitCode !== null) throw new Error(`outage serve exited with ${proc.exitCode}:\n${err}`);
    const ok = await fetch(`${url}readyz`).then((r) => r.ok, () => false);
    if (ok) break;
    if (Date.now() > deadline) {
      proc.kill('SIGKILL');
      throw new Error(`outage serve not ready after ${timeoutMs} ms:\n${err}`);
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  return {
    proc,
    url,
    dataDir,
    stderr: () => err,
    stop: async () => {
      if (proc.exitCode !== null) return proc.exitCode;
      proc.kill('SIGTERM');
      const timer = setTimeout(() => proc.kill('SIGKILL'), 20_000);
      const code = await exited;
      clearTimeout(timer);
      return code;
    },
  };
}

/** Polls `check` every 200 ms until it returns a value, or fails after `timeoutMs` with `what`. */
export async function eventually<T>(check: () => Promise<T | undefined>, timeoutMs: number, what: string): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await check().catch(() => undefined);
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

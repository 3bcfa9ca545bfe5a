/**
 * Helpers for suites that run the services as their own processes against the real broker that
 * test/run.sh starts (TEST_KAFKA_BROKERS). Each suite isolates itself with a topic prefix.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import type { TestContext } from 'node:test';
import { promisify } from 'node:util';
import { Kafka, logLevel, type Admin } from 'kafkajs';
import { topics } from '../../schemas/topics.ts';
import { freePort } from '../kafka/broker.ts';

export { freePort };

const run = promisify(execFile);

/** The broker, or a skip outside CI (with CI=true a missing broker fails the suite). */
export function brokersOrSkip(t: TestContext): string[] | undefined {
  const b = process.env.TEST_KAFKA_BROKERS;
  if (b) return b.split(',');
  if (process.env.CI === 'true') throw new Error('TEST_KAFKA_BROKERS is not set: run the suite with `npm test`, which starts the broker');
  t.skip('no Kafka broker (run `npm test`, which starts one)');
  return undefined;
}

export const uniquePrefix = () => `t${randomBytes(4).toString('hex')}.`;

export interface ServiceProcess {
  name: string;
  proc: ChildProcess;
  port: number;
  logs: () => string;
  /** Resolves with the exit code (or signal name). */
  exited: Promise<number | string>;
}

export async function startService(name: 'correlator' | 'sink' | 'cert-inventory', env: Record<string, string>): Promise<ServiceProcess> {
  const port = await freePort();
  const proc = spawn(process.execPath, ['--import', 'tsx', `services/${name}/main.ts`], {
    env: { ...process.env, LOG_LEVEL: 'warn', ...env, PORT: String(port) },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let logs = '';
  proc.stdout!.on('data', (d) => (logs += d));
  proc.stderr!.on('data', (d) => (logs += d));
  const exited = new Promise<number | string>((resolve) => proc.once('exit', (code, signal) => resolve(code ?? signal ?? 'unknown')));
  const svc = { name, proc, port, logs: () => logs, exited };
  await waitFor(async () => (await fetch(`http://127.0.0.1:${port}/readyz`).catch(() => undefined))?.status === 200, 60_000, () => `${name} not ready; its output:\n${logs}`, exited);
  return svc;
}

export async function stopService(s: ServiceProcess, signal: NodeJS.Signals = 'SIGTERM'): Promise<number | string> {
  if (s.proc.exitCode === null && s.proc.signalCode === null) s.proc.kill(signal);
  return s.exited;
}

/** Polls `check` every 250 ms until it holds; fails with `describe()` after `timeoutMs`. */
export async function waitFor(check: () => Promise<boolean>, timeoutMs: number, describe: () => string, abortOn?: Promise<unknown>): Promise<void> {
  let aborted = false;
  void abortOn?.then(() => (aborted = true));
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await check()) return;
    if (aborted) throw new Error(`process exited: ${describe()}`);
    if (Date.now() > deadline) throw new Error(`timed out: ${describe()}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

export function admin(brokers: string[]): Admin {
  return new Kafka({ brokers, logLevel: logLevel.NOTHING }).admin();
}

/** True when the group has committed the end offset of every partition of `names`. */
export async function caughtUp(a: Admin, group: string, names: string[]): Promise<boolean> {
  for (const topic of names) {
    const ends = await a.fetchTopicOffsets(topic);
    const [committed] = await a.fetchOffsets({ groupId: group, topics: [topic] });
    for (const p of ends) {
      const c = committed?.partitions.find((x) => x.partition === p.partition);
      const at = c && Number(c.offset) >= 0 ? Number(c.offset) : 0;
      if (at < Number(p.high)) return false;
    }
  }
  return true;
}

export const topicNames = (prefix: string, ids: (keyof typeof topics)[]) => ids.map((id) => prefix + topics[id].name);

/** Runs the CLI (`node bin/outage.js …`) and returns stdout. */
export async function cli(args: string[], env: Record<string, string> = {}): Promise<string> {
  const { stdout } = await run(process.execPath, ['bin/outage.js', ...args], { env: { ...process.env, LOG_LEVEL: 'warn', ...env }, maxBuffer: 64 << 20 });
  return stdout;
}

/** Rows of one query on a chDB data directory no process holds, as JSON objects. */
export async function sql<T = Record<string, unknown>>(dataDir: string, query: string): Promise<T[]> {
  const out = await cli(['sql', query, '--data-dir', dataDir]);
  return out.trim() === '' ? [] : out.trim().split('\n').map((l) => JSON.parse(l) as T);
}

/** A counter or gauge from a service's /metrics, summed over labels matching `labels`. */
export async function metric(port: number, name: string, labels: Record<string, string> = {}): Promise<number> {
  const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  let sum = 0;
  for (const line of text.split('\n')) {
    if (!line.startsWith(name)) continue;
    const m = /^([a-z_]+)(\{[^}]*\})? ([0-9.e+-]+)$/.exec(line);
    if (!m || m[1] !== name) continue;
    if (Object.entries(labels).every(([k, v]) => (m[2] ?? '').includes(`${k}="${v}"`))) sum += Number(m[3]);
  }
  return sum;
}

/**
 * The fault suite's harness: one isolated pipeline run (topic prefix, chDB data directory, the
 * correlator and sink as their own processes) against a real broker, faults injected at seeded
 * points, and the checks every case ends with:
 *
 * - N valid events in, N stored: `count()` of each table `FINAL` equals the distinct ids sent;
 * - 0 doubled: `count() FINAL` equals `uniqExact` of the table's key (the raw `count()` without
 *   `FINAL` is printed: redelivered rows that the ReplacingMergeTree collapses);
 * - the incidents equal the embedded replay of the same input (`outage replay --format ndjson`):
 *   ids, status, detectedAt, resolvedAt, first hint kind and its certificate;
 * - the dead-letter table holds exactly the poison records sent, one each (by sha256), nothing valid.
 *
 * Every process a run starts is stopped by `close()`, also when a case fails. The sink's chDB
 * directory is read only after the sink has stopped (one process opens a data directory).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync, cpSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import type { Admin } from 'kafkajs';
import type { Incident } from '../../schemas/contracts.ts';
import { certKey, topics } from '../../schemas/topics.ts';
import { createRng } from '../../lib/scenario/generate.ts';
import { admin, caughtUp, cli, metric, sql, startService, stopService, topicNames, uniquePrefix, type ServiceProcess } from '../helpers/kafka.ts';

/**
 * The random draws of a seed. The seed's bits are spread first (golden-ratio multiply): mulberry32's
 * first draws for 1, 2, 3 are close (0.63, 0.73, 0.72), which would put every kill at one point.
 */
export function seeded(seed: number): () => number {
  return createRng(Math.imul(seed, 0x9e3779b9) >>> 0);
}

export const EXAMPLE = 'examples/teams-2020-02-03';
export const CATALOG = join(EXAMPLE, 'catalog.yaml');

/** Seeds of the seeded kill points; `FAULT_SEEDS=4,5,6` for other points. */
export const SEEDS = (process.env.FAULT_SEEDS ?? '1,2,3').split(',').map(Number);

export const INPUT_TOPICS = ['reports', 'posts', 'probes'] as const;
export const SINK_TOPICS = ['reports', 'posts', 'probes', 'certs', 'incidents', 'dlq'] as const;

const lines = (path: string) => {
  const raw = readFileSync(path);
  return (path.endsWith('.gz') ? gunzipSync(raw) : raw).toString('utf8').trim().split('\n').filter(Boolean);
};

/** What a scenario directory holds: the lines of each input file and the distinct keys sent. */
export interface ScenarioInputs {
  dir: string;
  reports: string[];
  posts: string[];
  probes: string[];
  certs: string[];
  /** Distinct natural keys per table: what a run must store, once each. */
  expected: { reports: number; status_posts: number; probe_results: number; cert_observations: number };
  /** Messages on the correlator's input topics (reports, posts, probes). */
  inputMessages: number;
}

export function readInputs(dir: string): ScenarioInputs {
  const file = (name: string) => [join(dir, name), join(dir, `${name}.gz`)].find((p) => existsSync(p));
  const read = (name: string) => {
    const p = file(name);
    return p ? lines(p) : [];
  };
  const [reports, posts, probes, certs] = [read('reports.ndjson'), read('posts.ndjson'), read('probes.ndjson'), read('certs.ndjson')];
  const ids = (ls: string[]) => new Set(ls.map((l) => (JSON.parse(l) as { id: string }).id)).size;
  return {
    dir,
    reports,
    posts,
    probes,
    certs,
    // Certificate files in certs/ are observed too: their count comes from `outage publish`.
    expected: { reports: ids(reports), status_posts: ids(posts), probe_results: ids(probes), cert_observations: new Set(certs.map((l) => certKey(JSON.parse(l)))).size },
    inputMessages: reports.length + posts.length + probes.length,
  };
}

/**
 * Writes the scenario as two directories split at an event time: events before `cutIso` (and the
 * certificate files, observed at the first event's time as in the whole) in `a`, the rest in `b`.
 * Publishing `a` then `b` puts the same records in the same order on every partition as
 * publishing the whole.
 */
export function splitScenario(inputs: ScenarioInputs, cutIso: string, into: string): { a: string; b: string } {
  const cut = Date.parse(cutIso);
  const a = join(into, 'a');
  const b = join(into, 'b');
  for (const d of [a, b]) mkdirSync(d, { recursive: true });
  cpSync(join(inputs.dir, 'catalog.yaml'), join(a, 'catalog.yaml'));
  cpSync(join(inputs.dir, 'catalog.yaml'), join(b, 'catalog.yaml'));
  if (existsSync(join(inputs.dir, 'certs'))) cpSync(join(inputs.dir, 'certs'), join(a, 'certs'), { recursive: true });
  for (const name of ['reports', 'posts', 'probes', 'certs'] as const) {
    const before: string[] = [];
    const after: string[] = [];
    for (const l of inputs[name]) (Date.parse((JSON.parse(l) as { ts: string }).ts) < cut ? before : after).push(l);
    if (before.length) writeFileSync(join(a, `${name}.ndjson`), `${before.join('\n')}\n`);
    if (after.length) writeFileSync(join(b, `${name}.ndjson`), `${after.join('\n')}\n`);
  }
  return { a, b };
}

/** An incident as the suite compares it: identity, times, and the first hint. */
export interface IncidentView {
  id: string;
  status: string;
  detectedAt: number;
  resolvedAt: number | null;
  firstHint: string;
  certSha256: string;
}

const viewOf = (i: Incident): IncidentView => ({
  id: i.id,
  status: i.status,
  detectedAt: Date.parse(i.detectedAt),
  resolvedAt: i.resolvedAt ? Date.parse(i.resolvedAt) : null,
  firstHint: i.hints[0]?.kind ?? '',
  certSha256: i.hints[0]?.certSha256 ?? '',
});

/** The embedded replay of a scenario directory (`outage replay --format ndjson`): the reference. */
export async function embeddedIncidents(dir: string, dataDir: string): Promise<IncidentView[]> {
  const out = await cli(['replay', dir, '--format', 'ndjson', '--data-dir', dataDir]);
  return out
    .trim()
    .split('\n')
    .filter(Boolean)
    .map((l) => viewOf(JSON.parse(l) as Incident))
    .sort((x, y) => x.id.localeCompare(y.id));
}

/** A poison record sent by a case: the bytes, and the dead-letter reason expected for it. */
export interface Poison {
  name: string;
  topic: 'reports' | 'posts' | 'probes';
  value: Buffer;
  reason: string;
}

export const sha256 = (b: Buffer | string) => createHash('sha256').update(b).digest('hex');

/** Polls `check` every `everyMs` until it holds; fails with `describe()` after `timeoutMs`. */
export async function until(check: () => Promise<boolean> | boolean, timeoutMs: number, describe: () => string, everyMs = 100): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await check()) return;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms: ${describe()}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

const numbers = (row: Record<string, unknown>) => Object.fromEntries(Object.entries(row).map(([k, v]) => [k, Number(v)]));

/** What a run stored, read from the sink's data directory after the sink stopped. */
export interface Stored {
  /** count() FINAL, uniqExact(key) and count() without FINAL, per table. */
  tables: Record<string, { final: number; keys: number; raw: number }>;
  incidents: IncidentView[];
  deadLetters: { sha256: string; reason: string; topic: string }[];
}

/** One isolated pipeline run on `brokers`: its topics, groups, data directory and processes. */
export class FaultRun {
  readonly prefix = uniquePrefix();
  readonly dataDir: string;
  readonly env: Record<string, string>;
  private readonly services: ServiceProcess[] = [];
  private readonly children: ChildProcess[] = [];
  /** Services started without waiting, so that `close()` stops them too. */
  private readonly starting: Promise<void>[] = [];
  private adminClient: Admin | undefined;

  constructor(
    readonly brokers: string[],
    tmp: string,
    readonly name: string,
  ) {
    this.dataDir = join(tmp, name);
    this.env = { KAFKA_BROKERS: brokers.join(','), KAFKA_TOPIC_PREFIX: this.prefix, CATALOG, OUTAGE_DATA_DIR: this.dataDir };
  }

  async admin(): Promise<Admin> {
    if (!this.adminClient) {
      const a = admin(this.brokers);
      await a.connect();
      this.adminClient = a;
    }
    return this.adminClient;
  }

  /** Starts a service process (tracked: `close()` stops it). */
  async start(name: 'correlator' | 'sink', extraEnv: Record<string, string> = {}): Promise<ServiceProcess> {
    const s = await startService(name, { ...this.env, ...extraEnv });
    this.services.push(s);
    return s;
  }

  /** The running process of a service (the last one started). */
  service(name: 'correlator' | 'sink'): ServiceProcess {
    const s = [...this.services].reverse().find((x) => x.name === name && x.proc.exitCode === null && x.proc.signalCode === null);
    if (!s) throw new Error(`no ${name} running`);
    return s;
  }

  /** Starts a service without waiting for readiness (for a rebalance while it joins). */
  spawnService(name: 'correlator' | 'sink'): Promise<ServiceProcess> {
    const p = startService(name, this.env);
    this.starting.push(p.then((s) => void this.services.push(s), () => undefined));
    return p;
  }

  /** SIGKILL, as a crash: resolves once the process is gone. */
  async kill(s: ServiceProcess): Promise<void> {
    await stopService(s, 'SIGKILL');
  }

  /** `outage publish <dir>` to completion; returns what it printed. */
  publish(dir: string, env: Record<string, string> = {}): Promise<string> {
    return cli(['publish', dir], { ...this.env, ...env });
  }

  /** `outage publish <dir>` as a tracked child process, for faults injected while it runs. */
  publishInBackground(dir: string): { done: Promise<string>; proc: ChildProcess } {
    const proc = spawn(process.execPath, ['bin/outage.js', 'publish', dir], { env: { ...process.env, LOG_LEVEL: 'warn', ...this.env }, stdio: ['ignore', 'pipe', 'pipe'] });
    this.children.push(proc);
    let out = '';
    proc.stdout!.on('data', (d) => (out += d));
    proc.stderr!.on('data', (d) => (out += d));
    const done = new Promise<string>((resolve, reject) =>
      proc.once('exit', (code, signal) => (code === 0 ? resolve(out) : reject(new Error(`outage publish ended with ${code ?? signal}:\n${out}`)))),
    );
    done.catch(() => undefined);
    return { done, proc };
  }

  topics(ids: readonly (typeof SINK_TOPICS)[number][]): string[] {
    return topicNames(this.prefix, [...ids]);
  }

  /** Sum of a group's committed offsets over the topics (how far it has got). */
  async committed(group: 'correlator' | 'sink', ids: readonly (typeof SINK_TOPICS)[number][] = INPUT_TOPICS): Promise<number> {
    const a = await this.admin();
    const offsets = await a.fetchOffsets({ groupId: this.prefix + group, topics: this.topics(ids) });
    return offsets.reduce((n, t) => n + t.partitions.reduce((m, p) => m + Math.max(0, Number(p.offset)), 0), 0);
  }

  /** Sum of the end offsets of the topics (messages on them). */
  async ends(ids: readonly (typeof SINK_TOPICS)[number][]): Promise<number> {
    const a = await this.admin();
    let n = 0;
    for (const t of this.topics(ids)) n += (await a.fetchTopicOffsets(t)).reduce((m, p) => m + Number(p.high), 0);
    return n;
  }

  /** The correlator has committed every input, and then the sink every topic (incidents included). */
  async caughtUp(): Promise<boolean> {
    const a = await this.admin();
    return (await caughtUp(a, `${this.prefix}correlator`, this.topics(INPUT_TOPICS))) && (await caughtUp(a, `${this.prefix}sink`, this.topics(SINK_TOPICS)));
  }

  /** Waits until caught up; the running services' output is in the error when it does not. */
  async waitCaughtUp(timeoutMs = 120_000): Promise<void> {
    await until(() => this.caughtUp(), timeoutMs, () => `${this.name}: not caught up\n${this.services.map((s) => `--- ${s.name} (port ${s.port}):\n${s.logs().slice(-3000)}`).join('\n')}`);
  }

  /** The open-incident gauge of a correlator. */
  openIncidents(s: ServiceProcess): Promise<number> {
    return metric(s.port, 'outage_incidents_open');
  }

  /** The output of every service process of the run (the last `chars` of each), for a failure. */
  logs(chars = 4000): string {
    return this.services.map((s) => `--- ${s.name} (pid ${s.proc.pid}, exit ${s.proc.exitCode ?? s.proc.signalCode ?? 'running'}):\n${s.logs().slice(-chars)}`).join('\n');
  }

  /** Fails with every problem `judge` found and the services' output. */
  expectRight(problems: string[]): void {
    if (problems.length > 0) throw new Error(`${this.name}: ${problems.length} problem(s):\n${problems.join('\n')}\n${this.logs()}`);
  }

  /** Drops the harness's admin client (after a broker crash: a new one connects on next use). */
  async dropAdmin(): Promise<void> {
    const a = this.adminClient;
    this.adminClient = undefined;
    await a?.disconnect().catch(() => undefined);
  }

  /** Stops every process this run started (SIGTERM; exit codes are not judged here). */
  async close(): Promise<void> {
    for (const c of this.children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
    await Promise.all(this.starting);
    await Promise.all(this.services.map((s) => stopService(s).catch(() => undefined)));
    await this.dropAdmin();
  }

  /** Stops the services cleanly (each must exit 0) and reads what the sink stored. */
  async finish(): Promise<Stored> {
    const codes = await Promise.all(this.services.filter((s) => s.proc.exitCode === null && s.proc.signalCode === null).map(async (s) => [s.name, await stopService(s)] as const));
    for (const [name, code] of codes) if (code !== 0) throw new Error(`${name} exited with ${code} on SIGTERM`);
    await this.close();
    return this.read();
  }

  async read(): Promise<Stored> {
    const keyed: [string, string][] = [
      ['reports', 'id'],
      ['status_posts', 'id'],
      ['probe_results', 'id'],
      ['cert_observations', '(sha256, place)'],
      ['incidents', 'id'],
      ['incident_hints', '(incident_id, revision, rank)'],
      ['dead_letters', '(topic, partition, offset, source)'],
    ];
    // One query (each `outage sql` opens chDB afresh, about a second).
    const counts = keyed.map(([t, k]) => `(SELECT count() FROM ${t} FINAL) AS ${t}_final, (SELECT uniqExact(${k}) FROM ${t}) AS ${t}_keys, (SELECT count() FROM ${t}) AS ${t}_raw`);
    const [row] = await sql(
      this.dataDir,
      `SELECT ${counts.join(', ')},
         (SELECT groupArray((id, status, toUnixTimestamp64Milli(detected_at), toUnixTimestamp64Milli(resolved_at), hints)) FROM (SELECT * FROM incidents FINAL ORDER BY id)) AS incident_rows,
         (SELECT groupArray((sha256, toString(reason), toString(topic))) FROM (SELECT * FROM dead_letters FINAL ORDER BY sha256)) AS letter_rows`,
    );
    const n = numbers(row!);
    const tables = Object.fromEntries(keyed.map(([t]) => [t, { final: n[`${t}_final`]!, keys: n[`${t}_keys`]!, raw: n[`${t}_raw`]! }]));
    const incidents = (row!.incident_rows as [string, string, string | number, string | number | null, string][]).map(([id, status, detected, resolved, hintsJson]) => {
      const hints = JSON.parse(hintsJson) as Incident['hints'];
      return {
        id,
        status,
        detectedAt: Number(detected),
        resolvedAt: resolved === null ? null : Number(resolved),
        firstHint: hints[0]?.kind ?? '',
        certSha256: hints[0]?.certSha256 ?? '',
      };
    });
    const deadLetters = (row!.letter_rows as [string, string, string][]).map(([sha, reason, topic]) => ({ sha256: sha, reason, topic }));
    return { tables, incidents, deadLetters };
  }
}

/**
 * The checks every case ends with; returns the problems found (empty when the run is right) so a
 * case can print them all at once.
 */
export function judge(stored: Stored, inputs: ScenarioInputs, reference: IncidentView[], poison: Poison[] = [], certsPublished?: number): string[] {
  const problems: string[] = [];
  const expect = (what: string, got: unknown, want: unknown) => {
    if (JSON.stringify(got) !== JSON.stringify(want)) problems.push(`${what}: got ${JSON.stringify(got)}, want ${JSON.stringify(want)}`);
  };
  const want = { ...inputs.expected, ...(certsPublished !== undefined ? { cert_observations: certsPublished } : {}) };
  for (const [table, n] of Object.entries(want)) {
    const t = stored.tables[table]!;
    expect(`${table}: stored (count() FINAL)`, t.final, n);
    expect(`${table}: distinct keys`, t.keys, n);
  }
  for (const [table, t] of Object.entries(stored.tables)) expect(`${table}: doubled rows (count() FINAL - uniqExact(key))`, t.final - t.keys, 0);
  expect('incidents', stored.incidents, reference);
  expect(
    'dead letters (sha256, reason, topic)',
    stored.deadLetters.map((d) => [d.sha256, d.reason, d.topic]).sort(),
    poison.map((p) => [sha256(p.value), p.reason, topics[p.topic].name]).sort(),
  );
  return problems;
}

/** One line for the log: what a run stored, with the redelivered rows its tables collapsed. */
export function summary(stored: Stored): string {
  return Object.entries(stored.tables)
    .map(([t, v]) => `${t} ${v.final}${v.raw > v.final ? ` (+${v.raw - v.final} rows FINAL collapses)` : ''}`)
    .join(', ');
}

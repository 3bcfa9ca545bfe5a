/**
 * The Kafka part of `npm run bench`: a real broker (test/kafka/broker.ts), the scenario published
 * with `outage publish` and, as its reference, by a raw idempotent kafkajs producer (acks=all,
 * large batches) onto topics of its own; then, each measured alone against the published topics:
 *   - raw kafkajs: a consumer group reading every message (eachBatch + JSON.parse): the ceiling;
 *   - the correlator core alone on the same events, decoded beforehand (bench/core-alone.ts): what
 *     bounds the correlator process whatever its bus does;
 *   - the correlator process (decode, validate, correlate, publish incidents);
 *   - the sink process (decode, validate, batched idempotent inserts into chDB).
 * Rates are events per second from the process being ready to its group having committed the end
 * of every partition; peak RSS is the process's VmHWM (publish: GNU time's maximum RSS).
 * Every stage runs in its own process (the raw references in bench/kafka-raw.ts).
 */
import { execFile, spawn } from 'node:child_process';
import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { topicConfig } from '../lib/bus/kafka-bus.ts';
import { topics } from '../schemas/topics.ts';
import { startBroker } from '../test/kafka/broker.ts';
import { admin, caughtUp, freePort, topicNames, uniquePrefix, waitFor } from '../test/helpers/kafka.ts';

export interface KafkaBenchRow {
  stage: string;
  /** The raw kafkajs reference the stage's ratio is taken to; `baseline` marks that reference itself. */
  reference: 'producer' | 'consumer';
  baseline?: boolean;
  events: number;
  seconds: number;
  maxRssMb?: number;
}

const peakRssMb = (pid: number) => {
  const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) / 1024 : NaN;
};

const run = promisify(execFile);

/** A command's stdout, wall time and peak RSS (GNU time's maximum resident set size). */
async function timed(args: string[], env: Record<string, string>): Promise<{ stdout: string; seconds: number; maxRssMb: number }> {
  const t0 = performance.now();
  const { stdout, stderr } = await run('/usr/bin/time', ['-f', 'maxrss_kb=%M', process.execPath, ...args], { env: { ...process.env, LOG_LEVEL: 'warn', ...env }, maxBuffer: 64 << 20 });
  const seconds = (performance.now() - t0) / 1000;
  return { stdout, seconds, maxRssMb: Number(/maxrss_kb=(\d+)/.exec(stderr)?.[1] ?? NaN) / 1024 };
}

/** One reference measurement (bench/kafka-raw.ts, bench/core-alone.ts) in its own process. */
async function rawRun(args: string[], script = 'bench/kafka-raw.ts'): Promise<{ events: number; seconds: number; maxRssMb: number }> {
  const { stdout } = await run(process.execPath, ['--import', 'tsx', script, ...args], { maxBuffer: 1 << 20 });
  return JSON.parse(stdout.trim().split('\n').pop()!) as { events: number; seconds: number; maxRssMb: number };
}

async function timeService(name: 'correlator' | 'sink', env: Record<string, string>, group: string, names: string[], brokers: string[]): Promise<{ seconds: number; maxRssMb: number }> {
  const port = await freePort();
  const proc = spawn(process.execPath, ['--import', 'tsx', `services/${name}/main.ts`], {
    env: { ...process.env, LOG_LEVEL: 'warn', ...env, PORT: String(port) },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  const exited = new Promise((r) => proc.once('exit', r));
  try {
    await waitFor(async () => (await fetch(`http://127.0.0.1:${port}/readyz`).catch(() => undefined))?.status === 200, 60_000, () => `${name} not ready`, exited);
    const started = performance.now();
    const a = admin(brokers);
    await a.connect();
    await waitFor(() => caughtUp(a, group, names), 600_000, () => `${name} lagging`, exited);
    const seconds = (performance.now() - started) / 1000;
    await a.disconnect();
    return { seconds, maxRssMb: peakRssMb(proc.pid!) };
  } finally {
    proc.kill('SIGTERM');
    await exited;
  }
}

export async function kafkaBench(dir: string, workDir: string, log: (s: string) => void): Promise<KafkaBenchRow[]> {
  const broker = await startBroker({ log });
  try {
    const brokers = broker.brokers;
    const prefix = uniquePrefix();
    const dataDir = join(workDir, 'chdb-kafka');
    rmSync(dataDir, { recursive: true, force: true });
    const env = { KAFKA_BROKERS: brokers.join(','), KAFKA_TOPIC_PREFIX: prefix, CATALOG: join(dir, 'catalog.yaml'), OUTAGE_DATA_DIR: dataDir };

    log('publishing the scenario to Kafka …');
    const publish = await timed(['bin/outage.js', 'publish', dir], env);
    const published = publish.stdout;
    // Its own figure (connected to the end of the last send), as the raw producer times itself.
    const publishSeconds = Number(/ in ([\d.]+) s/.exec(published)?.[1] ?? publish.seconds);
    const events = [...published.matchAll(/(\d+) (reports|status posts|probe results|certificate observations)/g)].reduce((s, m) => s + Number(m[1]), 0);
    const raw = topicNames(prefix, ['reports', 'posts', 'probes']);
    const inputEvents = events - Number(/(\d+) certificate observations/.exec(published)?.[1] ?? 0);

    log('raw kafkajs idempotent producer …');
    const rawPrefix = uniquePrefix();
    const a = admin(brokers);
    await a.connect();
    await a.createTopics({ waitForLeaders: true, topics: Object.values(topics).map((t) => topicConfig(t, -1, 1, rawPrefix)) });
    await a.disconnect();
    const produced = await rawRun(['produce', brokers.join(','), rawPrefix, dir]);

    log('raw kafkajs consume …');
    const consumed = await rawRun(['consume', brokers.join(','), `${prefix}raw`, String(inputEvents), ...raw]);

    log('correlator core alone on the same events …');
    const core = await rawRun([dir], 'bench/core-alone.ts');
    log('correlator process …');
    const corr = await timeService('correlator', env, `${prefix}correlator`, raw, brokers);
    log('sink process into chDB …');
    const sink = await timeService('sink', env, `${prefix}sink`, topicNames(prefix, ['reports', 'posts', 'probes', 'certs', 'incidents']), brokers);
    rmSync(dataDir, { recursive: true, force: true });
    return [
      { stage: 'raw kafkajs idempotent producer, acks=all (baseline)', reference: 'producer', baseline: true, events: produced.events, seconds: produced.seconds, maxRssMb: produced.maxRssMb },
      { stage: 'outage publish (idempotent producer, acks=all)', reference: 'producer', events, seconds: publishSeconds, maxRssMb: publish.maxRssMb },
      { stage: 'raw kafkajs consume, eachBatch + JSON.parse (baseline)', reference: 'consumer', baseline: true, events: consumed.events, seconds: consumed.seconds, maxRssMb: consumed.maxRssMb },
      { stage: 'correlator core alone, same events decoded beforehand (its ceiling)', reference: 'consumer', events: core.events, seconds: core.seconds, maxRssMb: core.maxRssMb },
      { stage: 'correlator process', reference: 'consumer', events: inputEvents, seconds: corr.seconds, maxRssMb: corr.maxRssMb },
      { stage: 'sink process into chDB', reference: 'consumer', events, seconds: sink.seconds, maxRssMb: sink.maxRssMb },
    ];
  } finally {
    await broker.stop();
  }
}

export { topics };

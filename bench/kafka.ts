/**
 * The Kafka part of `npm run bench`: a real broker (test/kafka/broker.ts), the scenario published
 * with `outage publish`, then, each measured alone against the same topics:
 *   - raw kafkajs: a consumer group reading every message (eachBatch, nothing else): the ceiling;
 *   - the correlator process (decode, validate, correlate, publish incidents);
 *   - the sink process (decode, validate, batched idempotent inserts into chDB).
 * Rates are events per second from the process being ready to its group having committed the end
 * of every partition; peak RSS is the process's VmHWM.
 */
import { spawn } from 'node:child_process';
import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { Kafka, logLevel } from 'kafkajs';
import { topics } from '../schemas/topics.ts';
import { startBroker } from '../test/kafka/broker.ts';
import { admin, caughtUp, cli, freePort, topicNames, uniquePrefix, waitFor } from '../test/helpers/kafka.ts';

export interface KafkaBenchRow {
  stage: string;
  events: number;
  seconds: number;
  maxRssMb?: number;
}

const peakRssMb = (pid: number) => {
  const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) / 1024 : NaN;
};

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
    const t0 = performance.now();
    const published = await cli(['publish', dir], env);
    const publishSeconds = (performance.now() - t0) / 1000;
    const events = [...published.matchAll(/(\d+) (reports|status posts|probe results|certificate observations)/g)].reduce((s, m) => s + Number(m[1]), 0);
    const raw = topicNames(prefix, ['reports', 'posts', 'probes']);
    const inputEvents = events - Number(/(\d+) certificate observations/.exec(published)?.[1] ?? 0);

    log('raw kafkajs consume …');
    const kafka = new Kafka({ brokers, logLevel: logLevel.NOTHING });
    const consumer = kafka.consumer({ groupId: `${prefix}raw`, maxWaitTimeInMs: 100 });
    let seen = 0;
    const t1 = performance.now();
    await consumer.connect();
    await consumer.subscribe({ topics: raw, fromBeginning: true });
    let done!: () => void;
    const all = new Promise<void>((r) => (done = r));
    await consumer.run({
      eachBatch: async ({ batch }) => {
        seen += batch.messages.length;
        if (seen >= inputEvents) done();
      },
    });
    await all;
    const rawSeconds = (performance.now() - t1) / 1000;
    await consumer.disconnect();

    log('correlator process …');
    const corr = await timeService('correlator', env, `${prefix}correlator`, raw, brokers);
    log('sink process into chDB …');
    const sink = await timeService('sink', env, `${prefix}sink`, topicNames(prefix, ['reports', 'posts', 'probes', 'certs', 'incidents']), brokers);
    rmSync(dataDir, { recursive: true, force: true });
    return [
      { stage: 'outage publish (idempotent producer, acks=all)', events, seconds: publishSeconds },
      { stage: 'raw kafkajs consume, eachBatch (baseline)', events: inputEvents, seconds: rawSeconds },
      { stage: 'correlator process', events: inputEvents, seconds: corr.seconds, maxRssMb: corr.maxRssMb },
      { stage: 'sink process into chDB', events, seconds: sink.seconds, maxRssMb: sink.maxRssMb },
    ];
  } finally {
    await broker.stop();
  }
}

export { topics };

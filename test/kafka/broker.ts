/**
 * A real Apache Kafka broker for the test suite and local runs, without Docker: the broker's jars
 * from Maven Central (test/kafka/pom.xml, cached in .cache/kafka), KRaft storage formatted in a
 * fresh directory, one broker+controller on free 127.0.0.1 ports, started on the machine's Java.
 *
 *   node --import tsx test/kafka/broker.ts start [state.json]   # prints KAFKA_BROKERS=127.0.0.1:PORT, leaves it running
 *   node --import tsx test/kafka/broker.ts stop [state.json]    # stops the one that start left running
 *
 * The state file (default .cache/kafka/running.json) lets several runs keep their brokers apart.
 *
 * Settings that matter (see the README): topics keep records forever by default
 * (`log.retention.ms=-1`) so replayed 2020 event times are not deleted by time retention, and
 * auto-creation is off so the pipeline's own topic definitions are what gets tested.
 */
import { execFileSync, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { closeSync, existsSync, mkdirSync, openSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, connect } from 'node:net';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Kafka, logLevel } from 'kafkajs';

export const KAFKA_VERSION = '3.9.1';
const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const CACHE = join(ROOT, '.cache/kafka');
const JARS = join(CACHE, `jars-${KAFKA_VERSION}`);

export interface Broker {
  brokers: string[];
  /** The JVM's pid (a new one after `restart`). */
  readonly pid: number;
  dir: string;
  stop(): Promise<void>;
  /** `kill -9` of the JVM, as a crash: the log directory stays for `restart`. */
  kill(): Promise<void>;
  /** Starts the broker again on the same ports and log directory; resolves once it serves again. */
  restart(): Promise<void>;
}

/** A TCP port free on 127.0.0.1 right now. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as { port: number };
      srv.close(() => resolve(port));
    });
  });
}

/** Fetches the broker's jars once (about 45 MB); later runs use the cache offline. */
export function ensureJars(log: (s: string) => void = () => {}): string {
  if (existsSync(JARS) && readdirSync(JARS).some((f) => f.startsWith('kafka_2.13-'))) return JARS;
  log(`fetching Kafka ${KAFKA_VERSION} jars from Maven Central into ${JARS} …`);
  mkdirSync(CACHE, { recursive: true });
  execFileSync('mvn', ['-q', '-B', '-f', join(ROOT, 'test/kafka/pom.xml'), 'dependency:copy-dependencies', '-DincludeScope=runtime', `-DoutputDirectory=${JARS}`], {
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  return JARS;
}

function canConnect(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect({ host: '127.0.0.1', port }, () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

async function stopPid(pid: number): Promise<void> {
  if (!alive(pid)) return;
  process.kill(pid, 'SIGTERM');
  for (let i = 0; i < 100 && alive(pid); i++) await new Promise((r) => setTimeout(r, 100));
  if (alive(pid)) process.kill(pid, 'SIGKILL');
}

/**
 * Starts a broker and resolves once it answers metadata requests and a group coordinator is up.
 *
 * @example
 * const broker = await startBroker();
 * // … new Kafka({ brokers: broker.brokers }) …
 * await broker.stop();
 */
export async function startBroker(opts: { timeoutMs?: number; log?: (s: string) => void } = {}): Promise<Broker> {
  const log = opts.log ?? (() => {});
  const jars = ensureJars(log);
  const [port, controllerPort] = [await freePort(), await freePort()];
  const dir = join(CACHE, `run-${process.pid}-${port}`);
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(join(dir, 'logs'), { recursive: true });
  const props = join(dir, 'server.properties');
  writeFileSync(
    props,
    [
      'process.roles=broker,controller',
      'node.id=1',
      `controller.quorum.voters=1@127.0.0.1:${controllerPort}`,
      `listeners=PLAINTEXT://127.0.0.1:${port},CONTROLLER://127.0.0.1:${controllerPort}`,
      `advertised.listeners=PLAINTEXT://127.0.0.1:${port}`,
      'controller.listener.names=CONTROLLER',
      'inter.broker.listener.name=PLAINTEXT',
      'listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT',
      `log.dirs=${join(dir, 'data')}`,
      'num.partitions=1',
      'default.replication.factor=1',
      'offsets.topic.replication.factor=1',
      'offsets.topic.num.partitions=1',
      'transaction.state.log.replication.factor=1',
      'transaction.state.log.min.isr=1',
      'transaction.state.log.num.partitions=1',
      'group.initial.rebalance.delay.ms=0',
      'auto.create.topics.enable=false',
      'log.retention.ms=-1',
      'broker.session.timeout.ms=2000',
      'broker.heartbeat.interval.ms=500',
      '',
    ].join('\n'),
  );
  const log4j = join(dir, 'log4j.properties');
  writeFileSync(
    log4j,
    [
      'log4j.rootLogger=WARN, stderr',
      'log4j.appender.stderr=org.apache.log4j.ConsoleAppender',
      'log4j.appender.stderr.Target=System.err',
      'log4j.appender.stderr.layout=org.apache.log4j.PatternLayout',
      'log4j.appender.stderr.layout.ConversionPattern=[%d] %p %m (%c)%n',
      'log4j.logger.kafka.server.KafkaRaftServer=INFO',
      '',
    ].join('\n'),
  );
  const cp = `${jars}/*`;
  const java = ['-Xms256m', '-Xmx512m', `-Dlog4j.configuration=file:${log4j}`, '-cp', cp];
  // A cluster id is a random UUID in URL-safe base64 without padding, as StorageTool makes it, and
  // like Kafka's Uuid.randomUuid() never one starting with "-": StorageTool would read it as an
  // option ("argument --cluster-id/-t: expected one argument"), one start in 64.
  let clusterId = randomBytes(16).toString('base64url');
  while (clusterId.startsWith('-')) clusterId = randomBytes(16).toString('base64url');
  try {
    execFileSync('java', [...java, 'kafka.tools.StorageTool', 'format', '-t', clusterId, '-c', props, '--ignore-formatted'], { stdio: ['ignore', 'ignore', 'pipe'] });
  } catch (err) {
    rmSync(dir, { recursive: true, force: true });
    throw err;
  }
  const brokers = [`127.0.0.1:${port}`];
  const timeoutMs = opts.timeoutMs ?? 60_000;
  let pid = 0;
  const tail = () => readFileSync(join(dir, 'logs', 'broker.log'), 'utf8').split('\n').slice(-20).join('\n');
  /** Starts the JVM on the formatted directory and waits until it serves (also after a crash). */
  const launch = async () => {
    const out = openSync(join(dir, 'logs', 'broker.log'), 'a');
    const child = spawn('java', [...java, 'kafka.Kafka', props], { detached: true, stdio: ['ignore', out, out] });
    closeSync(out);
    child.unref();
    pid = child.pid!;
    const deadline = Date.now() + timeoutMs;
    while (!(await canConnect(port))) {
      if (!alive(pid)) throw new Error(`the Kafka broker exited during start-up; its log ends:\n${tail()}`);
      if (Date.now() > deadline) {
        await stopPid(pid);
        throw new Error(`the Kafka broker did not accept connections on ${brokers[0]} within ${timeoutMs} ms`);
      }
      await new Promise((r) => setTimeout(r, 100));
    }
    // Warm-up: metadata, the group coordinator and an idempotent producer id, so the first test
    // does not meet "coordinator is loading" retries.
    const kafka = new Kafka({ brokers, logLevel: logLevel.NOTHING, retry: { retries: 20, initialRetryTime: 100 } });
    const admin = kafka.admin();
    await admin.connect();
    await admin.describeCluster();
    await admin.describeGroups(['warmup']);
    await admin.disconnect();
    const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
    await producer.connect();
    await producer.disconnect();
  };
  const stop = async () => {
    await stopPid(pid);
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    await launch();
  } catch (err) {
    await stop();
    throw err;
  }
  const kill = async () => {
    if (!alive(pid)) return;
    process.kill(pid, 'SIGKILL');
    for (let i = 0; i < 100 && alive(pid); i++) await new Promise((r) => setTimeout(r, 20));
  };
  log(`Kafka ${KAFKA_VERSION} broker on ${brokers[0]} (pid ${pid})`);
  return {
    brokers,
    get pid() {
      return pid;
    },
    dir,
    stop,
    kill,
    restart: launch,
  };
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const cmd = process.argv[2];
  const STATE = process.argv[3] ?? join(CACHE, 'running.json');
  if (cmd === 'start') {
    const b = await startBroker({ log: (s) => process.stderr.write(`${s}\n`) });
    mkdirSync(dirname(STATE), { recursive: true });
    writeFileSync(STATE, JSON.stringify({ pid: b.pid, dir: b.dir, brokers: b.brokers }));
    process.stdout.write(`KAFKA_BROKERS=${b.brokers.join(',')}\n`);
    process.exit(0);
  } else if (cmd === 'stop') {
    if (existsSync(STATE)) {
      const s = JSON.parse(readFileSync(STATE, 'utf8')) as { pid: number; dir: string };
      await stopPid(s.pid);
      rmSync(s.dir, { recursive: true, force: true });
      rmSync(STATE, { force: true });
    }
  } else {
    process.stderr.write('usage: broker.ts start|stop\n');
    process.exit(2);
  }
}

/**
 * The raw kafkajs references of the Kafka bench (bench/kafka.ts), each run in its own process so
 * its peak RSS is its own; prints one JSON line `{ events, seconds, maxRssMb }`.
 *
 *   consume <brokers> <group> <events> <topic>…   a consumer group, eachBatch + JSON.parse of every value
 *   produce <brokers> <prefix> <dir>              an idempotent producer (acks=all) sending every NDJSON
 *                                                 line of the scenario, keyed as `outage publish` keys them
 *
 * Nothing of the pipeline runs here (no validation, no bus): what kafkajs alone does on this
 * machine is the ceiling the pipeline's processes are compared to.
 */
import { Kafka, Partitioners, logLevel, type Message } from 'kafkajs';
import { scenarioInputs } from '../lib/scenario/read.ts';
import { certKey, topics } from '../schemas/topics.ts';
import { rawLines } from './raw-lines.ts';

const [mode, brokerList, ...args] = process.argv.slice(2) as [string, string, ...string[]];
const kafka = new Kafka({ brokers: brokerList.split(','), logLevel: logLevel.NOTHING });
let events = 0;
let started = performance.now();

if (mode === 'consume') {
  const [group, expected, ...names] = args as [string, string, ...string[]];
  const consumer = kafka.consumer({ groupId: group, maxWaitTimeInMs: 100 });
  await consumer.connect();
  await consumer.subscribe({ topics: names, fromBeginning: true });
  let done!: () => void;
  const all = new Promise<void>((r) => (done = r));
  await consumer.run({
    eachBatch: async ({ batch }) => {
      for (const m of batch.messages) JSON.parse(m.value!.toString('utf8'));
      events += batch.messages.length;
      if (events >= Number(expected)) done();
    },
  });
  await all;
  const seconds = (performance.now() - started) / 1000;
  await consumer.disconnect();
  report(seconds);
} else if (mode === 'produce') {
  const [prefix, dir] = args as [string, string];
  const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1, createPartitioner: Partitioners.DefaultPartitioner });
  await producer.connect();
  started = performance.now();
  // Large requests (kafkajs idempotence allows one in flight): a request goes out when one
  // partition's records near the broker's 1 MB message.max.bytes, or at 8 MB in all. The
  // partition is chosen here with kafkajs's own default partitioner, as the producer would.
  const PARTITION_BYTES = 100_000;
  const REQUEST_BYTES = 8 << 20;
  const partitioner = Partitioners.DefaultPartitioner();
  for (const input of scenarioInputs(dir)) {
    const spec = topics[input.topic];
    const topic = prefix + spec.name;
    const partitionMetadata = Array.from({ length: spec.partitions }, (_, i) => ({ partitionId: i, leader: 0, partitionErrorCode: 0, replicas: [0], isr: [0] }));
    let messages: Message[] = [];
    let perPartition = new Array<number>(spec.partitions).fill(0);
    let bytes = 0;
    const flush = async () => {
      if (messages.length > 0) await producer.sendBatch({ topicMessages: [{ topic, messages }], acks: -1 });
      events += messages.length;
      messages = [];
      perPartition = perPartition.fill(0);
      bytes = 0;
    };
    const add = async (line: string) => {
      const v = JSON.parse(line) as { service?: string; sha256: string; endpoint?: string; source: string };
      const key = input.topic === 'certs' ? certKey(v) : (v.service ?? '');
      const partition = partitioner({ topic, partitionMetadata, message: { key, value: line } });
      const size = key.length + line.length + 70;
      if (perPartition[partition]! + size > PARTITION_BYTES || bytes + size > REQUEST_BYTES) await flush();
      messages.push({ key, value: line, partition });
      perPartition[partition]! += size;
      bytes += size;
    };
    for await (const lines of rawLines(input.path)) for (const line of lines) await add(line);
    await flush();
  }
  const seconds = (performance.now() - started) / 1000;
  await producer.disconnect();
  report(seconds);
} else {
  throw new Error(`unknown mode ${mode}`);
}

function report(seconds: number): void {
  process.stdout.write(`${JSON.stringify({ events, seconds, maxRssMb: process.resourceUsage().maxRSS / 1024 })}\n`);
}

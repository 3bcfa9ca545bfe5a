/**
 * The Kafka adapter of the bus port (kafkajs 2.2).
 *
 * - Topics are created explicitly from `schemas/topics.ts` at start-up (never by auto-create), with
 *   `retention.ms=-1` by default so replayed 2020 event times are not deleted by time retention.
 * - The producer is idempotent with `acks=all` (kafkajs requires one in-flight request for that).
 * - A consumer group commits offsets only after the handler's promise resolves (at least once).
 * - Broadcast topics (the certificate global table) use a group id unique to the process, so every
 *   instance reads the whole compacted topic.
 */
import { randomUUID } from 'node:crypto';
import { Kafka, Partitioners, logLevel, type Consumer, type Producer, type ITopicConfig } from 'kafkajs';
import { topics, type TopicName, type TopicSpec } from '../../schemas/topics.ts';
import type { Logger } from '../log.ts';
import type { Metrics } from '../metrics.ts';
import { retry, type RetryOptions } from '../retry.ts';
import type { Bus, BusMessage, OutgoingMessage, Subscription, TopicBatch } from './bus.ts';

export interface KafkaBusOptions {
  brokers: string[];
  clientId: string;
  logger: Logger;
  metrics?: Metrics;
  /** Prepended to every topic and group name on the broker (isolates tests and tenants). */
  topicPrefix?: string;
  /** Retries of a publish that failed after kafkajs's own retries (broker down, leader moving). */
  publishRetry?: RetryOptions;
  /** kafkajs's own connection retries (its defaults when absent). */
  clientRetry?: { retries: number; initialRetryTime?: number };
  /** Topic retention; -1 keeps everything (replays of old incidents). */
  retentionMs?: number;
  /** Replication factor for topics this process creates. */
  replicationFactor?: number;
}

export function topicConfig(spec: TopicSpec, retentionMs: number, replicationFactor: number, prefix = ''): ITopicConfig {
  const configEntries = spec.compacted
    ? [{ name: 'cleanup.policy', value: 'compact' }]
    : [
        { name: 'cleanup.policy', value: 'delete' },
        { name: 'retention.ms', value: String(retentionMs) },
      ];
  return { topic: prefix + spec.name, numPartitions: spec.partitions, replicationFactor, configEntries };
}

/** Upper bound of one produce request, under the broker's default 1 MB `message.max.bytes`. */
const MAX_REQUEST_BYTES = 900_000;

export class KafkaBus implements Bus {
  readonly kind = 'kafka' as const;
  private readonly kafka: Kafka;
  private producer: Producer | undefined;
  private readonly consumers: Consumer[] = [];
  private readonly prefix: string;

  constructor(private readonly opts: KafkaBusOptions) {
    this.prefix = opts.topicPrefix ?? '';
    const log = opts.logger.child({ component: 'kafkajs' });
    this.kafka = new Kafka({
      clientId: opts.clientId,
      brokers: opts.brokers,
      logLevel: logLevel.WARN,
      ...(opts.clientRetry ? { retry: opts.clientRetry } : {}),
      logCreator: () => (entry) => {
        const { message, ...rest } = entry.log;
        (entry.level <= logLevel.ERROR ? log.error : log.warn).call(log, { ...rest, namespace: entry.namespace }, message);
      },
    });
  }

  /** Creates every topic of the pipeline that does not exist yet. */
  async ensureTopics(): Promise<void> {
    const admin = this.kafka.admin();
    await admin.connect();
    try {
      const existing = new Set(await admin.listTopics());
      const missing = Object.values(topics).filter((t) => !existing.has(this.prefix + t.name));
      if (missing.length > 0) {
        await admin.createTopics({
          waitForLeaders: true,
          topics: missing.map((t) => topicConfig(t, this.opts.retentionMs ?? -1, this.opts.replicationFactor ?? 1, this.prefix)),
        });
        this.opts.logger.info({ topics: missing.map((t) => this.prefix + t.name) }, 'created topics');
      }
    } finally {
      await admin.disconnect();
    }
  }

  async publish(topic: TopicName, messages: readonly OutgoingMessage[]): Promise<void> {
    await this.publishBatch([{ topic, messages }]);
  }

  /**
   * Sends in requests of at most `MAX_REQUEST_BYTES`: kafkajs does not split a batch, and a
   * partition's records over the broker's `message.max.bytes` (1 MB by default) are refused whole.
   * Runs of one topic are merged; order within a topic (and so within a key) is kept.
   */
  async publishBatch(batches: readonly TopicBatch[]): Promise<void> {
    type Out = { key: string; value: string | Buffer };
    const byTopic = new Map<TopicName, Out[]>();
    for (const b of batches) {
      const list = byTopic.get(b.topic) ?? [];
      for (const m of b.messages) list.push({ key: m.key, value: typeof m.value === 'string' ? m.value : Buffer.from(m.value) });
      byTopic.set(b.topic, list);
    }
    let request: { topic: TopicName; messages: Out[] }[] = [];
    let bytes = 0;
    const send = async () => {
      request = request.filter((r) => r.messages.length > 0);
      if (request.length === 0) return;
      const topicMessages = request.map((r) => ({ topic: this.prefix + r.topic, messages: r.messages }));
      const names = request.map((r) => r.topic);
      await retry(async () => (await this.connectedProducer()).sendBatch({ topicMessages, acks: -1 }), {
        ...this.opts.publishRetry,
        onRetry: (err, attempt, delayMs) => {
          for (const topic of names) this.opts.metrics?.produceRetries.inc({ topic });
          this.opts.logger.warn({ topics: names, attempt, delayMs, err: (err as Error).message }, 'publish failed, retrying');
        },
      });
      for (const r of request) this.opts.metrics?.produced.inc({ topic: r.topic }, r.messages.length);
      request = [];
      bytes = 0;
    };
    for (const [topic, messages] of byTopic) {
      let current: Out[] = [];
      request.push({ topic, messages: current });
      for (const m of messages) {
        const size = m.key.length + m.value.length + 70;
        if (bytes + size > MAX_REQUEST_BYTES && bytes > 0) {
          await send();
          current = [];
          request.push({ topic, messages: current });
        }
        current.push(m);
        bytes += size;
      }
    }
    await send();
  }

  /** The idempotent producer, connected on first use (and again after a failed connect). */
  private async connectedProducer(): Promise<Producer> {
    if (!this.producer) {
      const producer = this.kafka.producer({ idempotent: true, maxInFlightRequests: 1, createPartitioner: Partitioners.DefaultPartitioner });
      await producer.connect();
      this.producer = producer;
    }
    return this.producer;
  }

  async subscribe(sub: Subscription): Promise<void> {
    if (sub.topics.length > 0) await this.consume(this.prefix + sub.group, sub.topics, sub.eachBatch);
    // A group id of its own per process: every instance reads the whole topic.
    if (sub.broadcastTopics?.length) await this.consume(`${this.prefix}${sub.group}-${randomUUID()}`, sub.broadcastTopics, sub.eachBatch);
  }

  private async consume(groupId: string, names: readonly TopicName[], handler: Subscription['eachBatch']): Promise<void> {
    // A 10 s session (kafkajs: 30 s) lets a restarted instance take its partitions back sooner
    // after a crash; batches heartbeat when they finish, and an insert takes well under that.
    const consumer = this.kafka.consumer({ groupId, maxWaitTimeInMs: 500, sessionTimeout: 10_000, heartbeatInterval: 2_000 });
    this.consumers.push(consumer);
    await consumer.connect();
    await consumer.subscribe({ topics: names.map((n) => this.prefix + n), fromBeginning: true });
    await consumer.run({
      eachBatchAutoResolve: true,
      autoCommit: true,
      eachBatch: async ({ batch, heartbeat }) => {
        const topic = batch.topic.slice(this.prefix.length) as TopicName;
        const msgs: BusMessage[] = batch.messages.map((m) => ({
          topic,
          partition: batch.partition,
          offset: m.offset,
          key: m.key?.toString('utf8') ?? '',
          value: m.value ?? new Uint8Array(),
        }));
        await handler(msgs);
        this.opts.metrics?.consumerLag.set({ group: groupId, topic, partition: String(batch.partition) }, Number(batch.offsetLag()));
        await heartbeat();
      },
    });
  }

  /** Kafka consumers run until closed; there is no global "caught up" point to wait for. */
  async drain(): Promise<void> {}

  async close(): Promise<void> {
    await Promise.allSettled(this.consumers.map((c) => c.disconnect()));
    await this.producer?.disconnect();
  }
}

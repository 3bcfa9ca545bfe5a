/**
 * The Kafka adapter of the bus port (kafkajs 2.2).
 *
 * - Topics are created explicitly from `schemas/topics.ts` at start-up (never by auto-create), with
 *   `retention.ms=-1` by default so replayed 2020 event times are not deleted by time retention.
 * - The producer is idempotent with `acks=all` (kafkajs requires one in-flight request for that).
 *   Errors are classified by `kafka-errors.ts`: what will pass is retried with backoff; a record the
 *   broker refuses for itself (too large, bad timestamp) is never retried: the request is split
 *   until that record is alone, it becomes a bounded dead letter, and the rest go through.
 * - A consumer group commits offsets only after the handler's promise resolves (at least once). A
 *   failing batch is retried in place by kafkajs, then the consumer crashes and is restarted here
 *   with backoff, for any error, so a group never dies silently; `health()` says which group is
 *   failing or restarting and why.
 * - Broadcast topics (the certificate global table) use a group id unique to the process, so every
 *   instance reads the whole compacted topic.
 * - The lag is read from the broker (high watermark minus committed offset), every few seconds
 *   and before each scrape, so a consumer that stopped shows its lag growing; a lag that does not
 *   go down (no commit while messages wait, or growing at every check) makes `health()` fail.
 * - A stateful subscription (`Subscription.stateful`) rebuilds the state of every partition this
 *   instance is assigned and did not hold with its state (start, restart, rebalance, scale-out):
 *   in the GROUP_JOIN listener (kafkajs emits it after the assignment, before the next fetch) the
 *   new partitions are paused; once the subscription's broadcast topics are read to their end, the
 *   group's committed offset is fetched, the partition is sought back to the handler's
 *   `rebuildFrom` (kafkajs applies a seek at the partition's next fetch) and resumed; messages
 *   below that committed offset are delivered flagged `replayed`. Such a group commits itself
 *   (`autoCommit: false`): with autoCommit, kafkajs's `seek()` commits the offset it seeks to,
 *   which would move the committed offset back over what was already published. A partition
 *   still held after a rejoin keeps its state unless the group committed past what this instance
 *   handled (another member had it meanwhile): then it is revoked and rebuilt.
 */
import { randomUUID } from 'node:crypto';
import { Kafka, Partitioners, logLevel, type Admin, type Consumer, type EachBatchPayload, type ITopicConfig, type Producer } from 'kafkajs';
import type { DeadLetter } from '../../schemas/contracts.ts';
import { topicByName, topics, type TopicName, type TopicSpec } from '../../schemas/topics.ts';
import { combineHealth, HEALTHY, unhealthy, type Health } from '../health.ts';
import type { Logger } from '../log.ts';
import type { Metrics } from '../metrics.ts';
import { retry, type RetryOptions } from '../retry.ts';
import type { BatchContext, Bus, BusMessage, OutgoingMessage, StatefulSubscription, Subscription, TopicBatch, TopicPartition, TopicPartitionOffset } from './bus.ts';
import { DEFAULT_MAX_MESSAGE_BYTES, deadLetter, deadLetterMessages, messageBytes, ownsDeadLetters, splitOversized } from './dead-letters.ts';
import { classifyKafkaError, isRetriableKafkaError } from './kafka-errors.ts';

export interface KafkaBusOptions {
  brokers: string[];
  clientId: string;
  logger: Logger;
  metrics?: Metrics;
  /** Prepended to every topic and group name on the broker (isolates tests and tenants). */
  topicPrefix?: string;
  /** TLS to the brokers (kafkajs `ssl`: true, or the CA to trust) and SASL credentials (KAFKA_SSL*, KAFKA_SASL_*). */
  ssl?: true | { ca: string[] };
  sasl?: import('kafkajs').SASLOptions;
  /** Retries of a publish that failed after kafkajs's own retries (broker down, leader moving). */
  publishRetry?: RetryOptions;
  /** kafkajs's own connection retries (its defaults when absent). */
  clientRetry?: { retries: number; initialRetryTime?: number };
  /** Topic retention; -1 keeps everything (replays of old incidents). */
  retentionMs?: number;
  /** Replication factor for topics this process creates. */
  replicationFactor?: number;
  /** Largest message published; larger ones become dead letters. Default: under the broker's 1 MB. */
  maxMessageBytes?: number;
  /** kafkajs's in-place retries of a failing batch before the consumer crashes (kafkajs: 5, from 300 ms). */
  consumerRetry?: { retries?: number; initialRetryTime?: number; maxRetryTime?: number };
  /** Backoff before a crashed consumer is started again (jittered, doubling per crash in a row; 1 s to 10 s). */
  restart?: { initialMs?: number; maxMs?: number };
  /**
   * Lag watch: how often the lag is read, how long messages may wait with no commit (`stallMs`),
   * and how long the lag may grow at every reading (`growthMs`) before `health()` fails.
   */
  lag?: { intervalMs?: number; stallMs?: number; growthMs?: number };
  /** Stateful subscriptions: the least time between two `committed` calls for one partition (default 5 s). */
  checkpointIntervalMs?: number;
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
/** Per-record framing counted on top of key and value when filling a request. */
const RECORD_OVERHEAD = 70;

const LAG_DEFAULTS = { intervalMs: 5_000, stallMs: 60_000, growthMs: 120_000 } as const;
// Capped at 10 s: after a long broker outage, consumers are back within seconds of the broker.
const RESTART_DEFAULTS = { initialMs: 1_000, maxMs: 10_000 } as const;
/** How long a failed publish keeps health failing when nothing has been published since. */
const PUBLISH_FAILURE_MS = 60_000;

type ConsumerState = 'starting' | 'running' | 'failing' | 'restarting' | 'closed';

const CHECKPOINT_INTERVAL_MS = 5_000;

/** A partition a stateful group holds in this instance, with the state built from it. */
interface HeldPartition {
  readonly tp: TopicPartition;
  /** The group's committed offset when this instance took the partition: below it, messages are replayed. */
  readonly replayUntil: number;
  /** The next offset to hand to the handler (one past the last one it handled). */
  next: number;
  /** What this instance last committed (or found committed). */
  committed: number;
  live: boolean;
}

/** What a stateful group keeps across its consumer's restarts and rebalances. */
interface StatefulGroup {
  readonly sub: StatefulSubscription;
  /** The subscription's broadcast consumer: read to its end before a partition is rebuilt. */
  broadcast: GroupConsumer | undefined;
  /** Partitions held with their state, by `topic|partition` (topic without prefix). */
  readonly held: Map<string, HeldPartition>;
  /** Counts joins, so a set-up overtaken by a newer assignment leaves the partitions to it. */
  joins: number;
  /** Offsets committed and not yet reported to `committed`, and when it was last called. */
  readonly unreported: Map<string, TopicPartitionOffset>;
  reportedAt: number;
  reportTimer: NodeJS.Timeout | undefined;
}

/** One kafkajs consumer of this bus: a subscription's shared topics, or its broadcast topics. */
interface GroupConsumer {
  /** The name in metrics and health: the group, or `<group>-broadcast`. */
  readonly label: string;
  /** The subscription's group: delivered messages carry it (dead-letter ownership). */
  readonly group: string;
  /** The group id on the broker (prefixed; unique per process for broadcast topics). */
  readonly groupId: string;
  readonly topics: readonly TopicName[];
  readonly handler: Subscription['eachBatch'];
  consumer: Consumer | undefined;
  state: ConsumerState;
  reason: string | undefined;
  /** Crashes since the last batch that succeeded (the restart backoff doubles with them). */
  crashes: number;
  restartTimer: NodeJS.Timeout | undefined;
  /** This member's partitions at its last join, by broker topic name. */
  assigned: Record<string, number[]> | undefined;
  lag: { total: number; committed: number; progressAt: number; growingSince: number | undefined } | undefined;
  lagProblem: string | undefined;
  /** One past the last offset handled, by `brokerTopic|partition` (how far a broadcast table is read). */
  readonly handled: Map<string, number>;
  /** Handler calls and state hooks, one at a time and in order. */
  serial: Promise<unknown>;
  /** Set for the shared topics of a stateful subscription. */
  readonly stateful: StatefulGroup | undefined;
}

/** A failing handler as kafkajs sees it: retried in place unless it is a programmer error. */
class HandlerError extends Error {
  readonly retriable: boolean;
  constructor(group: string, cause: unknown) {
    super(`consumer group "${group}": ${errorText(cause)}`, { cause });
    this.name = 'HandlerError';
    this.retriable = !(cause instanceof TypeError || cause instanceof RangeError || cause instanceof ReferenceError || cause instanceof SyntaxError);
  }
}

const EMPTY = Buffer.alloc(0);
const errorText = (err: unknown) => (err instanceof Error ? err.message : String(err)).slice(0, 500);
const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

type Out = { key: string; value: string | Buffer };
type Request = { topic: TopicName; messages: Out[] }[];

export class KafkaBus implements Bus {
  readonly kind = 'kafka' as const;
  private readonly kafka: Kafka;
  private producer: Producer | undefined;
  private admin: Promise<Admin> | undefined;
  private readonly consumers: GroupConsumer[] = [];
  private readonly prefix: string;
  private readonly maxMessageBytes: number;
  private readonly lagOpts: { intervalMs: number; stallMs: number; growthMs: number };
  private lagTimer: NodeJS.Timeout | undefined;
  private lagPoll: Promise<void> | undefined;
  private stopScrape: (() => void) | undefined;
  /** Why the last publish failed and when, until one succeeds. */
  private publishFailure: { reason: string; at: number } | undefined;
  private closing = false;
  private closed = false;

  constructor(private readonly opts: KafkaBusOptions) {
    this.prefix = opts.topicPrefix ?? '';
    this.maxMessageBytes = opts.maxMessageBytes ?? DEFAULT_MAX_MESSAGE_BYTES;
    this.lagOpts = { ...LAG_DEFAULTS, ...opts.lag };
    const log = opts.logger.child({ component: 'kafkajs' });
    this.kafka = new Kafka({
      clientId: opts.clientId,
      brokers: opts.brokers,
      ...(opts.ssl ? { ssl: opts.ssl } : {}),
      ...(opts.sasl ? { sasl: opts.sasl } : {}),
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
   * Runs of one topic are merged (kafkajs 2.2 keeps one entry per topic of a `sendBatch`: a
   * second entry of the same topic replaces the first, whose messages are never sent); order
   * within a topic (and so within a key) is kept. Messages
   * over `maxMessageBytes`, and records the broker refuses, become dead letters on dlq.v1.
   */
  async publishBatch(batches: readonly TopicBatch[]): Promise<void> {
    if (this.closing) throw new Error('bus is closed');
    const { kept, refused } = splitOversized(batches, this.maxMessageBytes, Date.now());
    const byTopic = new Map<TopicName, Out[]>();
    for (const b of kept) {
      const list = byTopic.get(b.topic) ?? [];
      for (const m of b.messages) list.push({ key: m.key, value: typeof m.value === 'string' ? m.value : Buffer.from(m.value) });
      byTopic.set(b.topic, list);
    }
    let request: Request = [];
    let bytes = 0;
    const send = async () => {
      request = request.filter((r) => r.messages.length > 0);
      if (request.length > 0) await this.sendRequest(request, refused);
      request = [];
      bytes = 0;
    };
    for (const [topic, messages] of byTopic) {
      let current: Out[] = [];
      request.push({ topic, messages: current });
      for (const m of messages) {
        const size = messageBytes(m) + RECORD_OVERHEAD;
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
    if (refused.length > 0) await this.publishRefused(refused);
  }

  /**
   * One produce request, retried while the error is retriable. A request the broker refuses for
   * one of its records is halved until that record is alone; it goes to `refused`.
   */
  private async sendRequest(request: Request, refused: DeadLetter[]): Promise<void> {
    const names = request.map((r) => r.topic);
    try {
      const topicMessages = request.map((r) => ({ topic: this.prefix + r.topic, messages: r.messages }));
      await retry(async () => (await this.connectedProducer()).sendBatch({ topicMessages, acks: -1 }), {
        ...this.opts.publishRetry,
        shouldRetry: (err) => !this.closing && isRetriableKafkaError(err),
        onRetry: (err, attempt, delayMs) => {
          this.publishFailure = { reason: errorText(err), at: Date.now() };
          for (const topic of names) this.opts.metrics?.produceRetries.inc({ topic });
          this.opts.logger.warn({ topics: names, attempt, delayMs, err: errorText(err) }, 'publish failed, retrying');
        },
      });
      this.publishFailure = undefined;
      for (const r of request) this.opts.metrics?.produced.inc({ topic: r.topic }, r.messages.length);
    } catch (err) {
      const cls = classifyKafkaError(err);
      if (cls.action !== 'dead_letter') {
        this.publishFailure = { reason: `${cls.name}: ${errorText(err)}`, at: Date.now() };
        throw err;
      }
      const flat = request.flatMap((r) => r.messages.map((m) => ({ topic: r.topic, m })));
      if (flat.length === 1) {
        const { topic, m } = flat[0]!;
        refused.push(deadLetter({ topic, value: m.value }, cls.reason ?? 'oversized', `the broker refused the record: ${cls.name} (${errorText(err)})`, Date.now()));
        this.opts.logger.warn({ topic, error: cls.name, bytes: messageBytes(m) }, 'the broker refused a record: dead-lettered');
        return;
      }
      const half = Math.ceil(flat.length / 2);
      for (const part of [flat.slice(0, half), flat.slice(half)]) {
        const regrouped: Request = [];
        for (const { topic, m } of part) {
          const last = regrouped.at(-1);
          if (last?.topic === topic) last.messages.push(m);
          else regrouped.push({ topic, messages: [m] });
        }
        await this.sendRequest(regrouped, refused);
      }
    }
  }

  private async publishRefused(letters: DeadLetter[]): Promise<void> {
    // Dead letters are bounded far under the limit; one that is not would loop here.
    if (letters.some((d) => d.topic === topics.dlq.name)) throw new Error(`a dead letter exceeds the bus's limit of ${this.maxMessageBytes} bytes`);
    for (const d of letters) this.opts.metrics?.deadLettered.inc({ topic: d.topic, reason: d.reason });
    await this.publishBatch([{ topic: topics.dlq.name, messages: deadLetterMessages(letters) }]);
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

  private connectedAdmin(): Promise<Admin> {
    if (!this.admin) {
      const admin = this.kafka.admin();
      this.admin = admin.connect().then(
        () => admin,
        (err: unknown) => {
          this.admin = undefined;
          throw err;
        },
      );
    }
    return this.admin;
  }

  async subscribe(sub: Subscription): Promise<void> {
    if (this.closing) throw new Error('bus is closed');
    const make = (label: string, groupId: string, names: readonly TopicName[], stateful?: StatefulGroup): GroupConsumer => {
      const gc: GroupConsumer = {
        label,
        group: sub.group,
        groupId,
        topics: names,
        handler: sub.eachBatch,
        consumer: undefined,
        state: 'starting',
        reason: undefined,
        crashes: 0,
        restartTimer: undefined,
        assigned: undefined,
        lag: undefined,
        lagProblem: undefined,
        handled: new Map(),
        serial: Promise.resolve(),
        stateful,
      };
      this.consumers.push(gc);
      this.setState(gc, 'starting');
      return gc;
    };
    const stateful: StatefulGroup | undefined = sub.stateful
      ? { sub: sub.stateful, broadcast: undefined, held: new Map(), joins: 0, unreported: new Map(), reportedAt: 0, reportTimer: undefined }
      : undefined;
    // A group id of its own per process: every instance reads the whole topic. Started first, so a
    // stateful group's rebuild finds it under way.
    const broadcast = sub.broadcastTopics?.length ? make(`${sub.group}-broadcast`, `${this.prefix}${sub.group}-${randomUUID()}`, sub.broadcastTopics) : undefined;
    const shared = sub.topics.length > 0 ? make(sub.group, this.prefix + sub.group, sub.topics, stateful) : undefined;
    if (stateful) stateful.broadcast = broadcast;
    if (broadcast) await this.startConsumer(broadcast);
    if (shared) await this.startConsumer(shared);
    this.watchLag();
  }

  private setState(gc: GroupConsumer, state: ConsumerState, reason?: string): void {
    gc.state = state;
    gc.reason = reason;
    this.opts.metrics?.consumerUp.set({ group: gc.label }, state === 'running' ? 1 : 0);
  }

  private async startConsumer(gc: GroupConsumer): Promise<void> {
    // A 10 s session (kafkajs: 30 s) lets a restarted instance take its partitions back sooner
    // after a crash; batches heartbeat when they finish, and handlers that wait call heartbeat().
    const consumer = this.kafka.consumer({
      groupId: gc.groupId,
      maxWaitTimeInMs: 500,
      sessionTimeout: 10_000,
      heartbeatInterval: 2_000,
      // Restarts are ours (any error, with backoff and health), not kafkajs's (retriable ones only).
      retry: { ...this.opts.consumerRetry, restartOnFailure: async () => false },
    });
    gc.consumer = consumer;
    consumer.on(consumer.events.GROUP_JOIN, (e) => {
      gc.assigned = e.payload.memberAssignment;
      if (gc.stateful) this.onAssignment(gc, gc.stateful, consumer, e.payload.memberAssignment);
    });
    consumer.on(consumer.events.CRASH, (e) => this.onCrash(gc, consumer, e.payload.error));
    await consumer.connect();
    await consumer.subscribe({ topics: gc.topics.map((n) => this.prefix + n), fromBeginning: true });
    // Every partition of a fetch handed over at once: handler calls stay one at a time
    // (`serially`), but one partition's commit and heartbeat overlap the next one's handler.
    const partitions = gc.topics.reduce((n, t) => n + (topicByName.get(t)?.partitions ?? 1), 0);
    await consumer.run({
      eachBatchAutoResolve: true,
      autoCommit: !gc.stateful,
      partitionsConsumedConcurrently: partitions,
      eachBatch: (payload) => this.handleBatch(gc, payload),
    });
    if (this.closing) return void (await consumer.disconnect()); // closed while it was starting
    if (gc.state === 'starting' || gc.state === 'restarting') this.setState(gc, 'running');
  }

  /** Runs `fn` after everything queued on the group before it (handler calls and state hooks). */
  private serially<T>(gc: GroupConsumer, fn: () => T | Promise<T>): Promise<T> {
    const run = gc.serial.then(fn);
    gc.serial = run.catch(() => undefined);
    return run;
  }

  private async handleBatch(gc: GroupConsumer, payload: EachBatchPayload): Promise<void> {
    const { batch, heartbeat, isRunning } = payload;
    if (batch.isEmpty()) return;
    const topic = batch.topic.slice(this.prefix.length) as TopicName;
    const held = gc.stateful?.held.get(`${topic}|${batch.partition}`);
    // A partition of a stateful group is handled only once its state is set up (it is paused
    // until then), and not while a seek back to its rebuild start is pending (kafkajs applies it
    // at the next fetch, over the offsets this batch resolves).
    if (gc.stateful && held && payload.isStale()) return;
    if (gc.stateful && !held) throw new HandlerError(gc.label, new Error(`${topic} partition ${batch.partition} delivered before its state was set up`));
    const deadLetterOwner = ownsDeadLetters(gc.group, topic);
    const replayUntil = held?.replayUntil ?? -1;
    const msgs: BusMessage[] = new Array<BusMessage>(batch.messages.length);
    for (let i = 0; i < msgs.length; i++) {
      const m = batch.messages[i]!;
      const key = m.key?.toString('utf8') ?? '';
      const value = m.value ?? EMPTY;
      msgs[i] =
        replayUntil > 0 && Number(m.offset) < replayUntil
          ? { topic, partition: batch.partition, offset: m.offset, key, value, group: gc.group, deadLetterOwner, replayed: true }
          : { topic, partition: batch.partition, offset: m.offset, key, value, group: gc.group, deadLetterOwner };
    }
    const bus = this;
    const ctx: BatchContext = {
      heartbeat,
      get stopping() {
        return bus.closing || !isRunning();
      },
      behind: Number(batch.offsetLag()) > 0,
    };
    try {
      await this.serially(gc, () => gc.handler(msgs, ctx));
    } catch (err) {
      const reason = `handler failed on ${topic} partition ${batch.partition} from offset ${batch.firstOffset()}: ${errorText(err)}`;
      this.setState(gc, 'failing', reason);
      this.opts.logger.warn({ group: gc.label, topic, partition: batch.partition, offset: batch.firstOffset(), err: errorText(err) }, 'consumer handler failed; the batch will be redelivered');
      throw new HandlerError(gc.label, err);
    }
    const next = Number(batch.lastOffset()) + 1;
    gc.handled.set(`${batch.topic}|${batch.partition}`, next);
    if (gc.state !== 'running') this.setState(gc, 'running');
    gc.crashes = 0;
    if (gc.stateful && held) await this.afterStatefulBatch(gc, gc.stateful, held, next, payload);
    await heartbeat();
  }

  /** A stateful group commits what it handled itself, says when a rebuild has caught up, and reports commits. */
  private async afterStatefulBatch(gc: GroupConsumer, st: StatefulGroup, held: HeldPartition, next: number, payload: EachBatchPayload): Promise<void> {
    held.next = next;
    if (!held.live && next >= held.replayUntil) {
      held.live = true;
      await this.serially(gc, () => st.sub.live?.(held.tp));
      this.opts.logger.info({ group: gc.label, topic: held.tp.topic, partition: held.tp.partition, offset: next }, 'partition state rebuilt');
    }
    if (next <= held.committed) return; // replayed: committed before
    await payload.commitOffsetsIfNecessary({ topics: [{ topic: payload.batch.topic, partitions: [{ partition: held.tp.partition, offset: String(next) }] }] });
    held.committed = next;
    st.unreported.set(`${held.tp.topic}|${held.tp.partition}`, { ...held.tp, offset: String(next) });
    await this.serially(gc, () => this.reportCommits(gc, st, false));
  }

  /**
   * Calls the subscription's `committed` with what was committed since its last call: at once
   * when `checkpointIntervalMs` has passed, else from a timer (a stream that goes quiet still
   * gets its last commits reported), always between handler calls.
   */
  private async reportCommits(gc: GroupConsumer, st: StatefulGroup, fromTimer: boolean): Promise<void> {
    if (st.unreported.size === 0 || !st.sub.committed) return;
    const interval = this.opts.checkpointIntervalMs ?? CHECKPOINT_INTERVAL_MS;
    const wait = st.reportedAt + interval - Date.now();
    if (wait > 0 && !fromTimer) {
      if (!st.reportTimer) {
        st.reportTimer = setTimeout(() => {
          st.reportTimer = undefined;
          if (!this.closing) void this.serially(gc, () => this.reportCommits(gc, st, true));
        }, wait);
        st.reportTimer.unref();
      }
      return;
    }
    const offsets = [...st.unreported.values()].filter((o) => st.held.has(`${o.topic}|${o.partition}`));
    st.unreported.clear();
    st.reportedAt = Date.now();
    try {
      await st.sub.committed(offsets);
    } catch (err) {
      // A checkpoint not written only makes a later rebuild read more: never fail the stream for it.
      this.opts.logger.warn({ group: gc.label, err: errorText(err) }, 'reporting committed offsets failed');
    }
  }

  /**
   * GROUP_JOIN of a stateful group: partitions no longer assigned are revoked (their state
   * dropped); every assigned one is paused until it is known to be held with its state, or has
   * been sought back to its rebuild start.
   */
  private onAssignment(gc: GroupConsumer, st: StatefulGroup, consumer: Consumer, assignment: Record<string, number[]>): void {
    const join = ++st.joins;
    const assigned: TopicPartition[] = [];
    for (const [name, partitions] of Object.entries(assignment)) {
      for (const partition of partitions) assigned.push({ topic: name.slice(this.prefix.length) as TopicName, partition });
    }
    const keys = new Set(assigned.map((tp) => `${tp.topic}|${tp.partition}`));
    const revoked = [...st.held].filter(([k]) => !keys.has(k)).map(([k, h]) => (st.held.delete(k), h.tp));
    if (revoked.length > 0) void this.serially(gc, () => st.sub.revoked(revoked));
    if (assigned.length === 0) return;
    consumer.pause(this.byTopic(assigned));
    this.setUpPartitions(gc, st, consumer, join, assigned).catch((err: unknown) => {
      // Without its state a partition must not be handled: the consumer restarts and joins again
      // (once, whichever of several set-ups failed first).
      if (gc.consumer !== consumer || this.closing || gc.state === 'restarting') return;
      this.opts.logger.error({ group: gc.label, err: errorText(err) }, 'setting up partition state failed; restarting the consumer');
      this.onCrash(gc, consumer, err);
      void consumer.disconnect().catch(() => undefined);
    });
  }

  private byTopic(tps: readonly TopicPartition[]): { topic: string; partitions: number[] }[] {
    const m = new Map<string, number[]>();
    for (const tp of tps) m.set(this.prefix + tp.topic, [...(m.get(this.prefix + tp.topic) ?? []), tp.partition]);
    return [...m].map(([topic, partitions]) => ({ topic, partitions }));
  }

  private async setUpPartitions(gc: GroupConsumer, st: StatefulGroup, consumer: Consumer, join: number, assigned: TopicPartition[]): Promise<void> {
    const started = Date.now();
    const current = () => join === st.joins && gc.consumer === consumer && !this.closing;
    // Leaders move and coordinators load right after topics are made or a broker returns: retried.
    const again = <T>(fn: () => Promise<T>) =>
      retry(fn, { retries: 10, initialMs: 200, maxMs: 3_000, shouldRetry: (err) => current() && isRetriableKafkaError(err) });
    if (st.broadcast) await this.readToEnd(st.broadcast, again);
    const admin = await this.connectedAdmin();
    const names = [...new Set(assigned.map((tp) => tp.topic))];
    const fetched = await again(() => admin.fetchOffsets({ groupId: gc.groupId, topics: names.map((n) => this.prefix + n) }));
    const lows = new Map<string, number>();
    for (const n of names) for (const p of await again(() => admin.fetchTopicOffsets(this.prefix + n))) lows.set(`${n}|${p.partition}`, Number(p.low));
    if (!current()) return; // a newer assignment took over
    const fresh: TopicPartition[] = [];
    const rebuilt: HeldPartition[] = [];
    for (const tp of assigned) {
      const key = `${tp.topic}|${tp.partition}`;
      const c = fetched.find((f) => f.topic === this.prefix + tp.topic)?.partitions.find((p) => p.partition === tp.partition);
      const committed = c && Number(c.offset) >= 0 ? Number(c.offset) : -1;
      const kept = st.held.get(key);
      // Held, and nobody committed past what this instance handled: its state is whole.
      if (kept && committed <= kept.next) continue;
      if (kept) {
        st.held.delete(key);
        await this.serially(gc, () => st.sub.revoked([tp]));
      }
      const low = lows.get(key) ?? 0;
      const asked = await this.serially(gc, () => st.sub.rebuildFrom(tp));
      // An offset the topic no longer holds reads from its start; one past the commit, from the commit.
      const from = committed < 0 ? low : Math.min(committed, Math.max(low, asked === undefined ? low : Number(asked)));
      const held: HeldPartition = { tp, replayUntil: committed, next: from, committed, live: committed <= from };
      st.held.set(key, held);
      fresh.push(tp);
      if (!current()) return;
      if (committed >= 0 && from !== committed) consumer.seek({ topic: this.prefix + tp.topic, partition: tp.partition, offset: String(from) });
      if (!held.live) rebuilt.push(held);
    }
    if (fresh.length > 0) {
      await this.serially(gc, async () => {
        st.sub.assigned?.(fresh);
        for (const h of st.held.values()) if (h.live && fresh.includes(h.tp)) st.sub.live?.(h.tp);
      });
    }
    if (rebuilt.length > 0) {
      const replay = rebuilt.reduce((n, h) => n + (h.replayUntil - h.next), 0);
      this.opts.logger.info(
        { group: gc.label, partitions: rebuilt.map((h) => `${h.tp.topic}/${h.tp.partition}@${h.next}..${h.replayUntil}`), replay, setUpMs: Date.now() - started },
        'rebuilding partition state',
      );
    }
    if (current()) consumer.resume(this.byTopic(assigned));
  }

  /** Resolves once a broadcast consumer has handled every message its topics held when called. */
  private async readToEnd(gc: GroupConsumer, again: <T>(fn: () => Promise<T>) => Promise<T>): Promise<void> {
    const admin = await this.connectedAdmin();
    const ends: [string, number][] = [];
    for (const t of gc.topics) {
      for (const p of await again(() => admin.fetchTopicOffsets(this.prefix + t))) if (Number(p.high) > Number(p.low)) ends.push([`${this.prefix + t}|${p.partition}`, Number(p.high)]);
    }
    while (!ends.every(([k, high]) => (gc.handled.get(k) ?? 0) >= high)) {
      if (this.closing) throw new Error('bus closed');
      await sleep(50);
    }
  }

  /** kafkajs has stopped and disconnected the consumer: start a new one after a backoff. */
  private onCrash(gc: GroupConsumer, consumer: Consumer, error: unknown): void {
    if (this.closing || gc.consumer !== consumer) return;
    gc.crashes++;
    const { initialMs, maxMs } = { ...RESTART_DEFAULTS, ...this.opts.restart };
    const delay = Math.round(Math.min(maxMs, initialMs * 2 ** (gc.crashes - 1)) * (0.5 + Math.random() / 2));
    const why = gc.state === 'failing' && gc.reason ? gc.reason : errorText(error);
    this.setState(gc, 'restarting', `crashed (${why}); restarting in ${delay} ms`);
    this.opts.metrics?.consumerRestarts.inc({ group: gc.label });
    this.opts.logger.error({ group: gc.label, crashes: gc.crashes, delayMs: delay, err: errorText(error) }, 'consumer crashed, restarting');
    gc.restartTimer = setTimeout(() => {
      gc.restartTimer = undefined;
      if (this.closing) return;
      this.startConsumer(gc).catch((err: unknown) => {
        // Not even connected (the broker is still away): try again, later.
        const failed = gc.consumer;
        void failed?.disconnect().catch(() => undefined);
        if (failed) this.onCrash(gc, failed, err);
      });
    }, delay);
  }

  /** Reads the lag every `intervalMs`, and before each scrape of the lag gauge. */
  private watchLag(): void {
    if (this.lagTimer) return;
    this.lagTimer = setInterval(() => void this.pollLag(), this.lagOpts.intervalMs);
    this.lagTimer.unref();
    // A scrape reads the lag afresh (after any reading in flight, which may predate what it wants
    // to see), but waits at most 2 s for the broker: a slow broker must not stall /metrics.
    this.stopScrape = this.opts.metrics?.onScrape(() => Promise.race([(this.lagPoll ?? Promise.resolve()).then(() => this.pollLag()), sleep(2_000)]));
    void this.pollLag();
  }

  /** High watermark minus committed offset for every partition of every group of this bus. */
  private pollLag(): Promise<void> {
    this.lagPoll ??= this.readLag()
      .catch((err: unknown) => this.opts.logger.debug({ err: errorText(err) }, 'reading the consumer lag failed'))
      .finally(() => {
        this.lagPoll = undefined;
      });
    return this.lagPoll;
  }

  private async readLag(): Promise<void> {
    if (this.closing || this.consumers.length === 0) return;
    const admin = await this.connectedAdmin();
    const ends = new Map<string, { partition: number; high: string; low: string }[]>();
    for (const gc of this.consumers) {
      if (gc.state === 'closed') continue;
      const names = gc.topics.map((t) => this.prefix + t);
      for (const name of names) if (!ends.has(name)) ends.set(name, await admin.fetchTopicOffsets(name));
      const committed = await admin.fetchOffsets({ groupId: gc.groupId, topics: names });
      let total = 0;
      let committedSum = 0;
      for (const name of names) {
        const mine = gc.assigned?.[name];
        const offsets = committed.find((c) => c.topic === name)?.partitions ?? [];
        for (const p of ends.get(name)!) {
          const c = Number(offsets.find((o) => o.partition === p.partition)?.offset ?? -1);
          const at = c >= 0 ? c : Number(p.low);
          const lag = Math.max(0, Number(p.high) - at);
          // The gauge shows the whole group's lag (every instance agrees); readiness counts only
          // this member's partitions (when it has been assigned some).
          this.opts.metrics?.consumerLag.set({ group: gc.label, topic: name.slice(this.prefix.length), partition: String(p.partition) }, lag);
          if (gc.assigned && !mine?.includes(p.partition)) continue;
          total += lag;
          committedSum += at;
        }
      }
      this.observeLag(gc, total, committedSum);
    }
  }

  private observeLag(gc: GroupConsumer, total: number, committed: number): void {
    const now = Date.now();
    const prev = gc.lag;
    const progressed = !prev || total === 0 || committed !== prev.committed;
    const growing = prev !== undefined && total > prev.total;
    gc.lag = {
      total,
      committed,
      progressAt: progressed ? now : prev.progressAt,
      growingSince: growing ? (prev.growingSince ?? prev.progressAt) : undefined,
    };
    const { stallMs, growthMs } = this.lagOpts;
    if (total > 0 && now - gc.lag.progressAt >= stallMs) {
      gc.lagProblem = `consumer group "${gc.label}": no commit for ${Math.round((now - gc.lag.progressAt) / 1000)} s while ${total} messages wait`;
    } else if (gc.lag.growingSince !== undefined && now - gc.lag.growingSince >= growthMs) {
      gc.lagProblem = `consumer group "${gc.label}": lag grew at every check for ${Math.round((now - gc.lag.growingSince) / 1000)} s (now ${total} messages)`;
    } else {
      gc.lagProblem = undefined;
    }
  }

  health(): Health {
    if (this.closing) return unhealthy('bus closed');
    const parts: Health[] = this.consumers.map((gc) => {
      if (gc.state !== 'running') return unhealthy(`consumer group "${gc.label}" ${gc.state}${gc.reason ? `: ${gc.reason}` : ''}`);
      return gc.lagProblem ? unhealthy(gc.lagProblem) : HEALTHY;
    });
    if (this.publishFailure && Date.now() - this.publishFailure.at < PUBLISH_FAILURE_MS) parts.push(unhealthy(`publishing fails: ${this.publishFailure.reason}`));
    return combineHealth(parts);
  }

  /**
   * Resolves once every consumer group of this bus has committed the end offsets its topics had
   * when `drain` was called (everything published so far has been handled). A group that keeps
   * failing keeps it waiting (`health()` says why); closing the bus rejects it.
   */
  async drain(): Promise<void> {
    if (this.closing) throw new Error('bus is closed');
    if (this.consumers.length === 0) return;
    const admin = await this.connectedAdmin();
    // Leaders move right after topics are made (NOT_LEADER_FOR_PARTITION): retried.
    const ends = (name: string) => retry(() => admin.fetchTopicOffsets(name), { retries: 10, initialMs: 200, maxMs: 3_000, shouldRetry: (err) => !this.closing && isRetriableKafkaError(err) });
    const targets = new Map<string, Map<number, number>>();
    for (const gc of this.consumers) {
      for (const t of gc.topics) {
        const name = this.prefix + t;
        if (!targets.has(name)) targets.set(name, new Map((await ends(name)).map((p) => [p.partition, Number(p.high)])));
      }
    }
    for (;;) {
      let done = true;
      for (const gc of this.consumers) {
        const names = gc.topics.map((t) => this.prefix + t);
        const committed = await admin.fetchOffsets({ groupId: gc.groupId, topics: names });
        for (const name of names) {
          const offsets = committed.find((c) => c.topic === name)?.partitions ?? [];
          for (const [partition, high] of targets.get(name)!) {
            const c = Number(offsets.find((o) => o.partition === partition)?.offset ?? -1);
            if (high > 0 && c < high) done = false;
          }
        }
      }
      if (done) return;
      if (this.closing) throw new Error('bus closed while draining');
      await sleep(100);
    }
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closing = true;
    clearInterval(this.lagTimer);
    this.stopScrape?.();
    for (const gc of this.consumers) {
      clearTimeout(gc.restartTimer);
      clearTimeout(gc.stateful?.reportTimer);
    }
    await Promise.allSettled(this.consumers.map((gc) => gc.consumer?.disconnect()));
    for (const gc of this.consumers) this.setState(gc, 'closed');
    await this.lagPoll;
    await Promise.allSettled([this.producer?.disconnect(), this.admin?.then((a) => a.disconnect())]);
    this.closed = true;
  }
}

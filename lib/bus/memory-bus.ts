/**
 * The embedded bus: one in-process log shared by all topics, one cursor per consumer group.
 *
 * Each group sees the messages of its topics in exact publish order (also across topics), which
 * keeps replays deterministic, and gets them in large batches, which keeps store writes batched.
 * Subscriptions with the same group name share its topics' messages by key (like a Kafka group's
 * partitions); broadcast topics go to every one of them in full.
 *
 * `publish` never waits (a handler publishing into its own group must not deadlock); a producer
 * outside the pipeline calls `backpressure()` between publishes, so memory stays bounded by
 * `highWater` messages rather than by the input size.
 *
 * A handler that throws gets its batch again after a backoff (`redelivery`), and `health()` says
 * the group is failing meanwhile; after the last redelivery the group stops, and `drain()`,
 * `publish()` and `backpressure()` reject with why (a replay ends with the error).
 *
 * Stateful subscriptions (`Subscription.stateful`) need nothing here: the log, the groups and
 * their handlers' state live and die together in one process, so no state is ever rebuilt,
 * replayed or revoked, and the hooks are not called. (A second subscription of a group shares
 * its keys from where the group is, as any group's does.)
 */
import type { TopicName } from '../../schemas/topics.ts';
import { topics } from '../../schemas/topics.ts';
import { HEALTHY, unhealthy, type Health } from '../health.ts';
import type { Metrics } from '../metrics.ts';
import { retry, type RetryOptions } from '../retry.ts';
import type { BatchContext, Bus, BusMessage, OutgoingMessage, Subscription, TopicBatch } from './bus.ts';
import { DEFAULT_MAX_MESSAGE_BYTES, deadLetterMessages, ownsDeadLetters, splitOversized } from './dead-letters.ts';

export interface MemoryBusOptions {
  /** Largest batch handed to a handler. */
  maxBatch?: number;
  /** How far the slowest group may lag before outside publishers wait. */
  highWater?: number;
  /** Redeliveries of a batch whose handler threw, and their backoff; then the group stops. */
  redelivery?: RetryOptions;
  /** Largest message accepted (as Kafka's broker limit): larger ones become dead letters on dlq.v1. */
  maxMessageBytes?: number;
  /** Counts dead letters of refused messages. */
  metrics?: Metrics;
}

/** A batch handed back after 50 ms, 100 ms, 200 ms (jittered) before the group gives up. */
export const MEMORY_REDELIVERY_DEFAULTS: RetryOptions = { retries: 3, initialMs: 50, maxMs: 1_000 };

interface Member {
  sub: Subscription;
  shared: ReadonlySet<string>;
  broadcast: ReadonlySet<string>;
}

interface Group {
  name: string;
  members: Member[];
  /** Absolute position of the next message this group reads. */
  cursor: number;
  running: boolean;
  /** Why the current batch is being redelivered, while it is. */
  failing: string | undefined;
}

/** Messages read by every group before the log drops them. */
const TRIM_EVERY = 4_096;

/** FNV-1a: which member of a group gets a key (stable, like Kafka's partitioner). */
function keyHash(key: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < key.length; i++) h = Math.imul(h ^ key.charCodeAt(i), 0x01000193);
  return h >>> 0;
}

export class MemoryBus implements Bus {
  readonly kind = 'memory' as const;
  private log: BusMessage[] = [];
  /** Absolute position of `log[0]`: the consumed prefix is dropped. */
  private base = 0;
  private readonly groups = new Map<string, Group>();
  /** Dead-letter owner per topic, worked out once per set of subscriptions. */
  private readonly owners = new Map<string, string | undefined>();
  private failure: Error | undefined;
  private waiters: (() => void)[] = [];
  private readonly maxBatch: number;
  private readonly highWater: number;
  private readonly redelivery: RetryOptions;
  private readonly maxMessageBytes: number;
  private closed = false;
  private stopping = false;
  private readonly ctx: BatchContext;

  constructor(private readonly opts: MemoryBusOptions = {}) {
    this.maxBatch = opts.maxBatch ?? 20_000;
    this.highWater = opts.highWater ?? 40_000;
    this.redelivery = { ...MEMORY_REDELIVERY_DEFAULTS, ...opts.redelivery };
    this.maxMessageBytes = opts.maxMessageBytes ?? DEFAULT_MAX_MESSAGE_BYTES;
    const bus = this;
    this.ctx = {
      heartbeat: async () => {},
      get stopping() {
        return bus.stopping;
      },
    };
  }

  async publish(topic: TopicName, messages: readonly OutgoingMessage[]): Promise<void> {
    await this.publishBatch([{ topic, messages }]);
  }

  async publishBatch(batches: readonly TopicBatch[]): Promise<void> {
    if (this.closed) throw new Error('bus is closed');
    this.throwIfFailed();
    const { kept, refused } = splitOversized(batches, this.maxMessageBytes, Date.now());
    for (const b of kept) this.append(b.topic, b.messages);
    if (refused.length > 0) {
      for (const d of refused) this.opts.metrics?.deadLettered.inc({ topic: d.topic, reason: d.reason });
      this.append(topics.dlq.name, deadLetterMessages(refused));
    }
    for (const g of this.groups.values()) this.pump(g);
  }

  private append(topic: TopicName, messages: readonly OutgoingMessage[]): void {
    let offset = this.base + this.log.length;
    for (const m of messages) {
      this.log.push({ topic, key: m.key, value: m.value, source: m.source, decoded: m.decoded, offset: String(offset++) });
    }
  }

  /** Why a consumer group stopped, if one did. */
  get failed(): Error | undefined {
    return this.failure;
  }

  health(): Health {
    if (this.closed) return unhealthy('bus closed');
    if (this.failure) return unhealthy(this.failure.message);
    const failing = [...this.groups.values()].flatMap((g) => (g.failing ? [g.failing] : []));
    return failing.length > 0 ? unhealthy(failing.join('; ')) : HEALTHY;
  }

  /** Resolves once the slowest group is at most `highWater` messages behind. */
  async backpressure(): Promise<void> {
    while (this.lag() > this.highWater && !this.failure) await this.progress();
    this.throwIfFailed();
  }

  async subscribe(sub: Subscription): Promise<void> {
    let group = this.groups.get(sub.group);
    if (!group) {
      group = { name: sub.group, members: [], cursor: this.base, running: false, failing: undefined };
      this.groups.set(sub.group, group);
    }
    group.members.push({ sub, shared: new Set(sub.topics), broadcast: new Set(sub.broadcastTopics ?? []) });
    this.owners.clear();
    this.pump(group);
  }

  async drain(): Promise<void> {
    while (!this.failure && [...this.groups.values()].some((g) => g.running || g.cursor < this.end())) await this.progress();
    this.throwIfFailed();
  }

  /** Lets what was published be processed, then refuses more; a handler retrying in a loop gives up. */
  async close(): Promise<void> {
    this.stopping = true;
    await this.drain().catch(() => undefined);
    this.closed = true;
  }

  private end(): number {
    return this.base + this.log.length;
  }

  private lag(): number {
    let min = this.end();
    for (const g of this.groups.values()) min = Math.min(min, g.cursor);
    return this.end() - min;
  }

  private progress(): Promise<void> {
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  private notify(): void {
    const w = this.waiters;
    this.waiters = [];
    for (const resolve of w) resolve();
  }

  private throwIfFailed(): void {
    if (this.failure) throw this.failure;
  }

  /**
   * The group that dead-letters a topic's bad messages here: the pipeline table's owner when a group
   * of that name reads the topic on this bus, otherwise the first group that subscribed to it (an
   * embedded set-up without the owner still dead-letters each bad record once).
   */
  private deadLetterOwner(topic: string): string | undefined {
    if (this.owners.has(topic)) return this.owners.get(topic);
    const readers = [...this.groups.values()].filter((g) => g.members.some((m) => m.shared.has(topic) || m.broadcast.has(topic)));
    const owner = readers.find((g) => ownsDeadLetters(g.name, topic)) ?? readers[0];
    this.owners.set(topic, owner?.name);
    return owner?.name;
  }

  /** Splits the next stretch of the log among a group's members; empty when none of it is theirs. */
  private nextBatches(group: Group): { parts: Map<Member, BusMessage[]>; pos: number } {
    const name = group.name;
    const owns = new Map<string, boolean>();
    const owner = (topic: string) => {
      let o = owns.get(topic);
      if (o === undefined) owns.set(topic, (o = this.deadLetterOwner(topic) === name));
      return o;
    };
    // Built field by field: one object shape for every delivered message (a spread is far slower here).
    const deliver = (m: BusMessage): BusMessage => ({
      topic: m.topic,
      key: m.key,
      value: m.value,
      source: m.source,
      decoded: m.decoded,
      offset: m.offset,
      group: name,
      deadLetterOwner: owner(m.topic),
    });
    const parts = new Map<Member, BusMessage[]>();
    const { members } = group;
    let pos = group.cursor;
    const end = this.end();
    if (members.length === 1) {
      // The usual case (one subscription per group): no sharing to decide.
      const only = members[0]!;
      const batch: BusMessage[] = [];
      while (pos < end && batch.length < this.maxBatch) {
        const m = this.log[pos - this.base]!;
        pos++;
        if (only.shared.has(m.topic) || only.broadcast.has(m.topic)) batch.push(deliver(m));
      }
      if (batch.length > 0) parts.set(only, batch);
      return { parts, pos };
    }
    const add = (member: Member, m: BusMessage) => {
      const list = parts.get(member);
      if (list) list.push(deliver(m));
      else parts.set(member, [deliver(m)]);
    };
    let taken = 0;
    while (pos < end && taken < this.maxBatch) {
      const m = this.log[pos - this.base]!;
      pos++;
      let sharers: Member[] | undefined;
      for (const member of members) {
        if (member.broadcast.has(m.topic)) (add(member, m), taken++);
        else if (member.shared.has(m.topic)) (sharers ??= []).push(member);
      }
      if (sharers) (add(sharers[keyHash(m.key) % sharers.length]!, m), taken++);
    }
    return { parts, pos };
  }

  /** Delivers the next batch of a group, then loops until the group has caught up. */
  private pump(group: Group): void {
    if (group.running || this.failure) return;
    const { parts, pos } = this.nextBatches(group);
    if (parts.size === 0) {
      group.cursor = pos;
      this.trim();
      return;
    }
    group.running = true;
    Promise.all([...parts].map(([member, batch]) => this.deliver(group, member, batch))).then(
      () => {
        group.cursor = pos;
        group.running = false;
        group.failing = undefined;
        this.trim();
        this.notify();
        this.pump(group);
      },
      (err: unknown) => {
        group.running = false;
        group.failing = undefined;
        this.failure = new Error(`consumer group "${group.name}" failed: ${(err as Error)?.message ?? err}`, { cause: err });
        this.notify();
      },
    );
  }

  /** One member's part of a batch, handed again after a backoff while its handler throws. */
  private deliver(group: Group, member: Member, batch: BusMessage[]): Promise<void> {
    return retry(() => member.sub.eachBatch(batch, this.ctx), {
      ...this.redelivery,
      shouldRetry: () => !this.stopping,
      onRetry: (err, attempt) => {
        group.failing = `consumer group "${group.name}" failing, batch redelivered (attempt ${attempt + 1}): ${(err as Error)?.message ?? err}`;
      },
    });
  }

  /**
   * Drops the prefix every group has read. Often, so that read messages (each with its decoded
   * value) do not pile up beside the `highWater` unread ones: the copy is of the unread part only,
   * at most a few pointers per message read.
   */
  private trim(): void {
    let min = this.end();
    for (const g of this.groups.values()) min = Math.min(min, g.cursor);
    const consumed = min - this.base;
    if (consumed >= TRIM_EVERY || (consumed > 0 && consumed === this.log.length)) {
      this.log = this.log.slice(consumed);
      this.base = min;
    }
  }
}

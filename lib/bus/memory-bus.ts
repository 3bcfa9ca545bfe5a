/**
 * The embedded bus: one in-process log shared by all topics, one cursor per consumer group.
 *
 * Each group sees the messages of its topics in exact publish order (also across topics), which
 * keeps replays deterministic, and gets them in large batches, which keeps store writes batched.
 * `publish` never waits (a handler publishing into its own group must not deadlock); a producer
 * outside the pipeline calls `backpressure()` between publishes, so memory stays bounded by
 * `highWater` messages rather than by the input size.
 */
import type { TopicName } from '../../schemas/topics.ts';
import type { Bus, BusMessage, OutgoingMessage, Subscription, TopicBatch } from './bus.ts';

export interface MemoryBusOptions {
  /** Largest batch handed to a handler. */
  maxBatch?: number;
  /** How far the slowest group may lag before outside publishers wait. */
  highWater?: number;
}

interface Group {
  sub: Subscription;
  topics: ReadonlySet<string>;
  /** Absolute position of the next message this group reads. */
  cursor: number;
  running: boolean;
}

export class MemoryBus implements Bus {
  readonly kind = 'memory' as const;
  private log: BusMessage[] = [];
  /** Absolute position of `log[0]`: the consumed prefix is dropped. */
  private base = 0;
  private readonly groups: Group[] = [];
  private failure: Error | undefined;
  private waiters: (() => void)[] = [];
  private readonly maxBatch: number;
  private readonly highWater: number;
  private closed = false;

  constructor(opts: MemoryBusOptions = {}) {
    this.maxBatch = opts.maxBatch ?? 20_000;
    this.highWater = opts.highWater ?? 40_000;
  }

  async publish(topic: TopicName, messages: readonly OutgoingMessage[]): Promise<void> {
    if (this.closed) throw new Error('bus is closed');
    this.throwIfFailed();
    let offset = this.base + this.log.length;
    for (const m of messages) {
      this.log.push({ topic, key: m.key, value: m.value, source: m.source, decoded: m.decoded, offset: String(offset++) });
    }
    for (const g of this.groups) this.pump(g);
  }

  async publishBatch(batches: readonly TopicBatch[]): Promise<void> {
    for (const b of batches) await this.publish(b.topic, b.messages);
  }

  /** Why a consumer group stopped, if one did (readiness reports it). */
  get failed(): Error | undefined {
    return this.failure;
  }

  /** Resolves once the slowest group is at most `highWater` messages behind. */
  async backpressure(): Promise<void> {
    while (this.lag() > this.highWater && !this.failure) await this.progress();
    this.throwIfFailed();
  }

  async subscribe(sub: Subscription): Promise<void> {
    const group: Group = { sub, topics: new Set([...sub.topics, ...(sub.broadcastTopics ?? [])]), cursor: this.base, running: false };
    this.groups.push(group);
    this.pump(group);
  }

  async drain(): Promise<void> {
    while (!this.failure && this.groups.some((g) => g.running || g.cursor < this.end())) await this.progress();
    this.throwIfFailed();
  }

  async close(): Promise<void> {
    await this.drain().catch(() => undefined);
    this.closed = true;
  }

  private end(): number {
    return this.base + this.log.length;
  }

  private lag(): number {
    let min = this.end();
    for (const g of this.groups) min = Math.min(min, g.cursor);
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

  /** Delivers the next batch of a group, then loops until the group has caught up. */
  private pump(group: Group): void {
    if (group.running || this.failure) return;
    const batch: BusMessage[] = [];
    let pos = group.cursor;
    const end = this.end();
    while (pos < end && batch.length < this.maxBatch) {
      const m = this.log[pos - this.base]!;
      if (group.topics.has(m.topic)) batch.push(m);
      pos++;
    }
    if (batch.length === 0) {
      group.cursor = pos;
      this.trim();
      return;
    }
    group.running = true;
    group.sub
      .eachBatch(batch)
      .then(
        () => {
          group.cursor = pos;
          group.running = false;
          this.trim();
          this.notify();
          this.pump(group);
        },
        (err: unknown) => {
          group.running = false;
          this.failure = new Error(`consumer group "${group.sub.group}" failed: ${(err as Error)?.message ?? err}`, {
            cause: err,
          });
          this.notify();
        },
      );
  }

  /** Drops the prefix every group has read, in chunks so the array copy is amortised. */
  private trim(): void {
    let min = this.end();
    for (const g of this.groups) min = Math.min(min, g.cursor);
    const consumed = min - this.base;
    if (consumed >= 65_536 || (consumed > 0 && consumed === this.log.length)) {
      this.log = this.log.slice(consumed);
      this.base = min;
    }
  }
}

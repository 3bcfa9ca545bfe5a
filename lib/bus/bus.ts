/**
 * The bus port: publish keyed messages to a topic, consume topics as a consumer group, at least
 * once. Two adapters implement it: `memory-bus.ts` (embedded default, one process) and
 * `kafka-bus.ts` (Apache Kafka via kafkajs). Services only ever see this interface.
 */
import type { TopicName } from '../../schemas/topics.ts';
import type { Health } from '../health.ts';

export type { Health };

export interface OutgoingMessage {
  readonly key: string;
  /** One JSON object, as a string or UTF-8 bytes. */
  readonly value: string | Uint8Array;
  /** Where the message came from when it was read from a file (`path:line`), for dead letters. */
  readonly source?: string;
  /**
   * The value already decoded against its topic's contract by this process. Only the memory bus
   * carries it (consumers then skip parsing the same bytes again); Kafka never does.
   */
  readonly decoded?: unknown;
}

export interface BusMessage extends OutgoingMessage {
  readonly topic: TopicName;
  readonly partition?: number;
  readonly offset?: string;
  /** The consumer group this message was delivered to (the subscription's `group`). */
  readonly group?: string;
  /**
   * Whether this group publishes the dead letter when the message cannot be decoded: the topic's
   * `deadLetteredBy` group (`schemas/topics.ts`) does, the others count and skip it, so a bad
   * record is dead-lettered once. On the memory bus, when no group of that name reads the topic
   * in this process, the first group that subscribed to it takes the part. Unset (a message no
   * bus delivered): whoever decodes it.
   */
  readonly deadLetterOwner?: boolean;
  /**
   * Delivered again to rebuild a stateful subscription's state (`Subscription.stateful`): the
   * group had committed it before this instance was assigned its partition, so whatever it
   * caused was published then. The handler updates its state and publishes nothing for it.
   */
  readonly replayed?: boolean;
}

export interface TopicPartition {
  readonly topic: TopicName;
  readonly partition: number;
}

export interface TopicPartitionOffset extends TopicPartition {
  /** The next offset to read (Kafka's committed offset): everything before it is handled. */
  readonly offset: string;
}

/**
 * A handler whose state is a function of what it read (the correlator). On Kafka, state moves
 * with partitions: when this instance is assigned a partition it did not hold (a start, a
 * restart, a rebalance, a scale-out), the bus reads it again from `rebuildFrom` and delivers what
 * the group had already committed flagged `replayed`, then carries on with new messages; a
 * partition taken away is reported to `revoked`, whose state the handler drops. Broadcast topics
 * are read to their end before a partition is rebuilt (a global table, and the checkpoints
 * `rebuildFrom` answers from, are complete when the replay starts).
 *
 * The memory bus runs in one process whose state lives as long as the bus: it never rebuilds,
 * never replays and never revokes (the partition fields stay unset), so these hooks are not called.
 */
export interface StatefulSubscription {
  /**
   * The offset a rebuild of this partition starts from (the handler's last checkpoint of it);
   * undefined: from the earliest offset the topic retains.
   */
  rebuildFrom(tp: TopicPartition): string | undefined;
  /** Partitions assigned to this instance whose state is being rebuilt, before any of their messages. */
  assigned?(partitions: readonly TopicPartition[]): void;
  /** A partition's rebuild has reached the group's committed offset: what follows is new. */
  live?(tp: TopicPartition): void;
  /** Partitions taken from this instance: drop the state that came from them. */
  revoked(partitions: readonly TopicPartition[]): void;
  /**
   * Called after the group committed these offsets (at most every few seconds per partition, and
   * once more when a stream goes quiet), between batches: the moment to persist a checkpoint that
   * describes the state as of exactly those offsets.
   */
  committed?(offsets: readonly TopicPartitionOffset[]): Promise<void>;
}

/** What a handler may use while it works on a batch. */
export interface BatchContext {
  /**
   * Tells the broker this consumer is alive. A handler that waits long (a store outage retried
   * with backoff) calls it between attempts, so its partitions are not taken away mid-batch.
   */
  heartbeat(): Promise<void>;
  /** True once the bus is closing: a handler retrying in a loop gives up (its batch is not committed). */
  readonly stopping: boolean;
  /**
   * On a partitioned bus, where a batch is one partition's: whether more of that partition was
   * already waiting when it was fetched (a backlog, caught up batch by batch). Undefined where
   * there are no partitions.
   */
  readonly behind?: boolean;
}

export interface TopicBatch {
  readonly topic: TopicName;
  readonly messages: readonly OutgoingMessage[];
}

export interface Subscription {
  /** A stable name: consumers with the same group share the work; each group sees every message. */
  readonly group: string;
  readonly topics: readonly TopicName[];
  /**
   * Called with messages in the order they were published per key. Offsets are committed only
   * after the returned promise resolves, so a handler that throws sees the batch again (after a
   * backoff; health says the group is failing until a batch succeeds). A handler that keeps
   * failing makes the Kafka adapter restart its consumer; the memory bus stops the group after
   * its last redelivery, and `drain()` and `publish()` then reject.
   */
  readonly eachBatch: (batch: readonly BusMessage[], ctx: BatchContext) => Promise<void>;
  /**
   * Topics every instance reads in full, from the start, outside the group's partition sharing
   * (the compacted certificate topic is a global table). The memory bus delivers them in the same
   * ordered stream as `topics`.
   */
  readonly broadcastTopics?: readonly TopicName[];
  /** State that moves with partitions (see `StatefulSubscription`); absent: a stateless handler. */
  readonly stateful?: StatefulSubscription;
}

export interface Bus {
  readonly kind: 'memory' | 'kafka';
  /**
   * Publishes in order. A message larger than the bus's limit (the broker's, 1 MB by default) or
   * one the broker refuses for itself (too large, bad timestamp) does not fail the others: it
   * becomes a bounded dead letter on `dlq.v1` and the rest go through.
   */
  publish(topic: TopicName, messages: readonly OutgoingMessage[]): Promise<void>;
  /** Several topics' messages at once, in the given order (one request on Kafka). */
  publishBatch(batches: readonly TopicBatch[]): Promise<void>;
  subscribe(sub: Subscription): Promise<void>;
  /** Resolves once every subscriber has processed everything published so far. */
  drain(): Promise<void>;
  /**
   * Whether every consumer of this bus is running and keeping up, and publishing works; when
   * not, why (a group failing or restarting, a lag that does not go down, publishes failing, closed).
   * `/readyz` answers from it.
   */
  health(): Health;
  close(): Promise<void>;
}

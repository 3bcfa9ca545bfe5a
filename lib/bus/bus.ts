/**
 * The bus port: publish keyed messages to a topic, consume topics as a consumer group, at least
 * once. Two adapters implement it: `memory-bus.ts` (embedded default, one process) and
 * `kafka-bus.ts` (Apache Kafka via kafkajs). Services only ever see this interface.
 */
import type { TopicName } from '../../schemas/topics.ts';

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
   * after the returned promise resolves, so a handler that throws sees the batch again.
   */
  readonly eachBatch: (batch: readonly BusMessage[]) => Promise<void>;
  /**
   * Topics every instance reads in full, from the start, outside the group's partition sharing
   * (the compacted certificate topic is a global table). The memory bus delivers them in the same
   * ordered stream as `topics`.
   */
  readonly broadcastTopics?: readonly TopicName[];
}

export interface Bus {
  readonly kind: 'memory' | 'kafka';
  publish(topic: TopicName, messages: readonly OutgoingMessage[]): Promise<void>;
  /** Several topics' messages at once, in the given order (one request on Kafka). */
  publishBatch(batches: readonly TopicBatch[]): Promise<void>;
  subscribe(sub: Subscription): Promise<void>;
  /** Resolves once every subscriber has processed everything published so far. */
  drain(): Promise<void>;
  close(): Promise<void>;
}

/**
 * Turning refused messages into `dlq.v1` records, shared by every consumer: the original bytes,
 * where they came from, and a bounded reason (the free text goes in `detail`, never in a label).
 *
 * A dead letter always fits the broker: it carries at most the first `DEAD_LETTER_VALUE_BYTES` of
 * the original message (small messages whole), with the SHA-256 and size of the whole message and
 * `truncated` when bytes were left out. The complete record stays where it was read (its topic,
 * partition and offset are in the letter).
 *
 * Each bad record is dead-lettered once: only the consumer group that `schemas/topics.ts` names as
 * the topic's `deadLetteredBy` publishes it (the bus marks its messages `deadLetterOwner`); the
 * other groups count it and skip it.
 */
import { createHash } from 'node:crypto';
import type { ContractName, DeadLetter, DeadLetterReason } from '../../schemas/contracts.ts';
import { decode } from '../../schemas/decode.ts';
import { topicByName, topics, type TopicId } from '../../schemas/topics.ts';
import type { Metrics } from '../metrics.ts';
import type { Bus, BusMessage, OutgoingMessage, TopicBatch } from './bus.ts';

/** Original bytes a dead letter keeps (base64 makes them 4/3 as large): far under the broker's 1 MB. */
export const DEAD_LETTER_VALUE_BYTES = 64 * 1024;
/** Characters of `detail` and `source` a dead letter keeps. */
const DETAIL_CHARS = 2000;
const SOURCE_CHARS = 1024;

/**
 * Largest message a bus accepts by default: under Kafka's default `message.max.bytes` (1,048,588
 * bytes for a whole record batch, headers and framing included).
 */
export const DEFAULT_MAX_MESSAGE_BYTES = 1_000_000;

const clip = (s: string, n: number) => (s.length > n ? `${s.slice(0, n - 1)}…` : s);

/**
 * A bounded dead letter for one refused message.
 *
 * @example
 * const d = deadLetter({ topic: 'outage.reports.v1', value: hugeLine }, 'oversized', 'message of 2097152 bytes', Date.now());
 * d.truncated; // true: valueBase64 holds the first 64 KiB, d.sha256 and d.sizeBytes describe the whole
 */
export function deadLetter(
  m: { topic: string; value: string | Uint8Array; partition?: number | undefined; offset?: string | undefined; source?: string | undefined },
  reason: DeadLetterReason,
  detail: string,
  nowMs: number,
): DeadLetter {
  const bytes = typeof m.value === 'string' ? Buffer.from(m.value, 'utf8') : Buffer.from(m.value.buffer, m.value.byteOffset, m.value.byteLength);
  const truncated = bytes.length > DEAD_LETTER_VALUE_BYTES;
  return {
    ts: new Date(nowMs).toISOString(),
    topic: m.topic,
    ...(m.partition !== undefined ? { partition: m.partition } : {}),
    ...(m.offset !== undefined ? { offset: m.offset } : {}),
    ...(m.source !== undefined ? { source: clip(m.source, SOURCE_CHARS) } : {}),
    reason,
    detail: clip(detail, DETAIL_CHARS),
    valueBase64: (truncated ? bytes.subarray(0, DEAD_LETTER_VALUE_BYTES) : bytes).toString('base64'),
    sha256: createHash('sha256').update(bytes).digest('hex'),
    sizeBytes: bytes.length,
    truncated,
  };
}

/** Bytes a message takes on the wire (key and value; the framing is left to the limit's margin). */
export function messageBytes(m: Pick<OutgoingMessage, 'key' | 'value'>): number {
  return Buffer.byteLength(m.key) + (typeof m.value === 'string' ? Buffer.byteLength(m.value) : m.value.byteLength);
}

/**
 * Splits off the messages a bus cannot carry (larger than `maxBytes`) as dead letters, keeping the
 * order of the rest. Both bus adapters call it before publishing.
 */
export function splitOversized(batches: readonly TopicBatch[], maxBytes: number, nowMs: number): { kept: readonly TopicBatch[]; refused: DeadLetter[] } {
  const refused: DeadLetter[] = [];
  let kept: TopicBatch[] | undefined;
  for (let bi = 0; bi < batches.length; bi++) {
    const b = batches[bi]!;
    let messages: OutgoingMessage[] | undefined;
    for (let i = 0; i < b.messages.length; i++) {
      const m = b.messages[i]!;
      // A UTF-16 unit is at most 3 UTF-8 bytes: most messages are decided without encoding them.
      const units = m.key.length + (typeof m.value === 'string' ? m.value.length : m.value.byteLength);
      const size = units * 3 <= maxBytes ? units : messageBytes(m);
      if (size <= maxBytes) {
        messages?.push(m);
        continue;
      }
      messages ??= b.messages.slice(0, i);
      refused.push(deadLetter({ topic: b.topic, value: m.value, source: m.source }, 'oversized', `message of ${size} bytes exceeds the bus's limit of ${maxBytes} bytes (the broker's message.max.bytes)`, nowMs));
    }
    if (messages && !kept) kept = batches.slice(0, bi);
    kept?.push(messages ? { topic: b.topic, messages } : b);
  }
  return { kept: kept ?? batches, refused };
}

/** The messages that carry dead letters on `dlq.v1` (keyed by the source topic). */
export function deadLetterMessages(letters: readonly DeadLetter[]): OutgoingMessage[] {
  return letters.map((d) => ({ key: d.topic, value: JSON.stringify(d) }));
}

export async function publishDeadLetters(bus: Bus, letters: readonly DeadLetter[], metrics?: Metrics): Promise<void> {
  if (letters.length === 0) return;
  for (const d of letters) metrics?.deadLettered.inc({ topic: d.topic, reason: d.reason });
  await bus.publish(topics.dlq.name, deadLetterMessages(letters));
}

export interface DecodedMessage {
  topic: TopicId;
  message: BusMessage;
  value: unknown;
}

/** Whether a group publishes the dead letters of a topic: the one the pipeline table names. */
export function ownsDeadLetters(group: string, topic: string): boolean {
  const spec = topicByName.get(topic);
  return !spec || spec.deadLetteredBy === group;
}

export interface DecodedBatch {
  good: DecodedMessage[];
  /** Dead letters this group publishes (it owns them: `deadLetteredBy` in `schemas/topics.ts`). */
  dead: DeadLetter[];
  /** Every message this group could not decode, owned or not (count them with `countRefused`). */
  refused: DeadLetter[];
}

/**
 * Decodes a batch by each message's topic contract. Dead letters are returned, not thrown;
 * `nowMs` stamps them (the adapter's clock: dead-lettering is not event-time logic).
 */
export function decodeBatch(batch: readonly BusMessage[], nowMs: number): DecodedBatch {
  const good: DecodedMessage[] = [];
  const dead: DeadLetter[] = [];
  const refused: DeadLetter[] = [];
  const refuse = (m: BusMessage, reason: DeadLetterReason, detail: string) => {
    const letter = deadLetter(m, reason, detail, nowMs);
    refused.push(letter);
    if (m.deadLetterOwner !== false) dead.push(letter);
  };
  for (const m of batch) {
    const spec = topicByName.get(m.topic);
    if (!spec) {
      refuse(m, 'schema_violation', `unknown topic ${m.topic}`);
      continue;
    }
    if (m.decoded !== undefined) {
      good.push({ topic: spec.id, message: m, value: m.decoded });
      continue;
    }
    const d = decode(spec.contract as ContractName, m.value);
    if (d.ok) good.push({ topic: spec.id, message: m, value: d.value });
    else refuse(m, d.reason, d.detail);
  }
  return { good, dead, refused };
}

/** Counts consumed messages per topic once per batch (a labelled counter per message is costly). */
export function countConsumed(metrics: Metrics, group: string, good: readonly DecodedMessage[]): void {
  const counts = new Map<string, number>();
  for (const d of good) counts.set(d.message.topic, (counts.get(d.message.topic) ?? 0) + 1);
  for (const [topic, n] of counts) metrics.consumed.inc({ topic, group }, n);
}

/** Counts what a group could not decode (`outage_messages_refused_total{group,topic,reason}`). */
export function countRefused(metrics: Metrics, group: string, refused: readonly Pick<DeadLetter, 'topic' | 'reason'>[]): void {
  for (const d of refused) metrics.refused.inc({ group, topic: d.topic, reason: d.reason });
}

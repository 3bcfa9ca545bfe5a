/**
 * Turning refused messages into `dlq.v1` records, shared by every consumer: the original bytes,
 * where they came from, and a bounded reason (the free text goes in `detail`, never in a label).
 */
import type { DeadLetter, DeadLetterReason } from '../../schemas/contracts.ts';
import type { ContractName } from '../../schemas/contracts.ts';
import { decode } from '../../schemas/decode.ts';
import { topicByName, topics, type TopicId } from '../../schemas/topics.ts';
import type { Metrics } from '../metrics.ts';
import type { Bus, BusMessage } from './bus.ts';

export function deadLetter(
  m: { topic: string; value: string | Uint8Array; partition?: number; offset?: string; source?: string },
  reason: DeadLetterReason,
  detail: string,
  nowMs: number,
): DeadLetter {
  const bytes = typeof m.value === 'string' ? Buffer.from(m.value, 'utf8') : Buffer.from(m.value);
  return {
    ts: new Date(nowMs).toISOString(),
    topic: m.topic,
    ...(m.partition !== undefined ? { partition: m.partition } : {}),
    ...(m.offset !== undefined ? { offset: m.offset } : {}),
    ...(m.source !== undefined ? { source: m.source } : {}),
    reason,
    detail,
    valueBase64: bytes.toString('base64'),
  };
}

export async function publishDeadLetters(bus: Bus, letters: readonly DeadLetter[], metrics?: Metrics): Promise<void> {
  if (letters.length === 0) return;
  for (const d of letters) metrics?.deadLettered.inc({ topic: d.topic, reason: d.reason });
  await bus.publish(
    topics.dlq.name,
    letters.map((d) => ({ key: d.topic, value: JSON.stringify(d) })),
  );
}

export interface DecodedMessage {
  topic: TopicId;
  message: BusMessage;
  value: unknown;
}

/**
 * Decodes a batch by each message's topic contract. Dead letters are returned, not thrown;
 * `nowMs` stamps them (the adapter's clock: dead-lettering is not event-time logic).
 */
export function decodeBatch(batch: readonly BusMessage[], nowMs: number): { good: DecodedMessage[]; dead: DeadLetter[] } {
  const good: DecodedMessage[] = [];
  const dead: DeadLetter[] = [];
  for (const m of batch) {
    const spec = topicByName.get(m.topic);
    if (!spec) {
      dead.push(deadLetter(m, 'schema_violation', `unknown topic ${m.topic}`, nowMs));
      continue;
    }
    if (m.decoded !== undefined) {
      good.push({ topic: spec.id, message: m, value: m.decoded });
      continue;
    }
    const d = decode(spec.contract as ContractName, m.value);
    if (d.ok) good.push({ topic: spec.id, message: m, value: d.value });
    else dead.push(deadLetter(m, d.reason, d.detail, nowMs));
  }
  return { good, dead };
}

/** Counts consumed messages per topic once per batch (a labelled counter per message is costly). */
export function countConsumed(metrics: Metrics, group: string, good: readonly DecodedMessage[]): void {
  const counts = new Map<string, number>();
  for (const d of good) counts.set(d.message.topic, (counts.get(d.message.topic) ?? 0) + 1);
  for (const [topic, n] of counts) metrics.consumed.inc({ topic, group }, n);
}

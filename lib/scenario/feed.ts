/**
 * Feeds a scenario directory onto a bus in event-time order: what `replay` (memory bus) and
 * `publish` (Kafka) share. Certificate files in `certs/` are observed at the first event's time.
 * Lines that cannot be read are reported with file and line and sent to `dlq.v1`.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { DeadLetterReason } from '../../schemas/contracts.ts';
import { certKey, topics, type TopicId } from '../../schemas/topics.ts';
import type { Bus, OutgoingMessage, TopicBatch } from '../bus/bus.ts';
import { deadLetter, publishDeadLetters } from '../bus/dead-letters.ts';
import { scanCertDir } from '../certs/scan.ts';
import type { Metrics } from '../metrics.ts';
import { readScenario, type InputError, type ScenarioEvent } from './read.ts';

export interface FeedOptions {
  dir: string;
  bus: Bus & { backpressure?: () => Promise<void> };
  metrics?: Metrics;
  onInputError?: (e: InputError) => void;
  onBytes?: (bytes: number) => void;
  /** Messages per publish call. */
  batchSize?: number;
  /**
   * Paced feeding (`serve --replay --speed N`): milliseconds to wait before an event of this
   * event time may go out; what is waiting is published first, so earlier events are never held.
   */
  pace?: (tsMs: number) => number;
}

export interface FeedResult {
  events: Record<'reports' | 'posts' | 'probes' | 'certs', number>;
  /** NDJSON lines published and refused (certificate files not counted). */
  lines: { accepted: number; refused: number };
  inputErrors: InputError[];
  /** Event time of the last event (ms), or -Infinity for an empty scenario. */
  lastTsMs: number;
}

const keyOf = (e: ScenarioEvent): string =>
  e.topic === 'certs' ? certKey(e.value as { sha256: string; endpoint?: string; source: string }) : (e.value.service ?? '');

export async function feedScenario(opts: FeedOptions): Promise<FeedResult> {
  const { dir, bus, metrics } = opts;
  const batchSize = opts.batchSize ?? 10_000;
  const events = { reports: 0, posts: 0, probes: 0, certs: 0 };
  const lines = { accepted: 0, refused: 0 };
  const inputErrors: InputError[] = [];
  const dead: InputError[] = [];
  const onError = (e: InputError, toDlq: boolean) => {
    inputErrors.push(e);
    if (e.reason !== 'bad_certificate') lines.refused++;
    metrics?.inputErrors.inc({ kind: e.reason });
    opts.onInputError?.(e);
    if (toDlq) dead.push(e);
  };

  // Runs of one topic, in event-time order, sent together once `batchSize` messages are waiting.
  let runs: TopicBatch[] = [];
  let pending: OutgoingMessage[] = [];
  let pendingTopic: TopicId | undefined;
  let waiting = 0;
  const endRun = () => {
    if (pendingTopic && pending.length > 0) runs.push({ topic: topics[pendingTopic].name, messages: pending });
    pending = [];
  };
  const flush = async () => {
    endRun();
    if (runs.length > 0) {
      await bus.publishBatch(runs);
      await bus.backpressure?.();
    }
    runs = [];
    waiting = 0;
  };
  const publishCertFiles = async (ts: string) => {
    const certDir = join(dir, 'certs');
    if (!existsSync(certDir)) return;
    const scan = await scanCertDir(certDir, ts, dir);
    for (const e of scan.errors) onError({ file: join(dir, e.file), line: e.line, reason: 'bad_certificate', detail: e.message }, false);
    events.certs += scan.observations.length;
    await bus.publish(topics.certs.name, scan.observations.map((o) => ({ key: certKey(o), value: JSON.stringify(o), decoded: o })));
  };

  let certsScanned = false;
  let lastTsMs = -Infinity;
  for await (const chunk of readScenario(dir, { onError: (e) => onError(e, e.raw !== undefined), ...(opts.onBytes ? { onBytes: opts.onBytes } : {}) })) {
    if (!certsScanned) {
      certsScanned = true;
      await publishCertFiles(chunk[0]!.value.ts);
    }
    for (const e of chunk) {
      const wait = opts.pace?.(e.tsMs) ?? 0;
      if (wait > 0) {
        await flush();
        await new Promise((r) => setTimeout(r, wait));
      }
      if (waiting >= batchSize) await flush();
      if (e.topic !== pendingTopic) {
        endRun();
        pendingTopic = e.topic;
      }
      pending.push({ key: keyOf(e), value: e.line, source: e.source, decoded: e.value });
      waiting++;
      lines.accepted++;
      if (e.topic === 'reports' || e.topic === 'posts' || e.topic === 'probes' || e.topic === 'certs') events[e.topic]++;
      if (e.tsMs > lastTsMs) lastTsMs = e.tsMs;
    }
    if (dead.length > 0) {
      await flush();
      const letters = dead.splice(0).map((d) =>
        // Only lines go to dlq.v1 (a line error's reason is a dead-letter reason); files stay put.
        deadLetter({ topic: topics[d.topic ?? 'dlq'].name, value: d.raw!, source: `${d.file}:${d.line}` }, d.reason as DeadLetterReason, d.detail, Date.now()),
      );
      await publishDeadLetters(bus, letters, metrics);
    }
  }
  await flush();
  if (!certsScanned) await publishCertFiles(new Date(0).toISOString());
  return { events, lines, inputErrors, lastTsMs };
}

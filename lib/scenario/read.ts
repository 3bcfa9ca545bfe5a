/**
 * Reads a scenario directory (DESIGN.md §4) as one stream of events in event-time order.
 *
 * Each NDJSON file (plain or `.gz`) is streamed, never loaded whole. Lines that are not JSON or
 * break their contract are reported with file and line and left out. Files may be a few minutes
 * out of order (as real feeds are): a per-file reorder buffer of `reorderMinutes` of event time
 * sorts them, then the files are merged by time.
 */
import { createReadStream, existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { createGunzip } from 'node:zlib';
import type { ContractName, DeadLetterReason } from '../../schemas/contracts.ts';
import { check, MAX_MESSAGE_BYTES } from '../../schemas/decode.ts';
import { topics, type TopicId } from '../../schemas/topics.ts';

/** The NDJSON files a scenario may hold and the topic each feeds. */
export const SCENARIO_FILES = [
  { file: 'reports.ndjson', topic: 'reports' },
  { file: 'posts.ndjson', topic: 'posts' },
  { file: 'probes.ndjson', topic: 'probes' },
  { file: 'certs.ndjson', topic: 'certs' },
] as const satisfies readonly { file: string; topic: TopicId }[];

export interface ScenarioEvent {
  topic: TopicId;
  tsMs: number;
  /** The original line, published as is. */
  line: string;
  value: { ts: string; service?: string; sha256?: string; endpoint?: string; source?: string; id?: string };
  /** `path:line` */
  source: string;
}

export interface InputError {
  file: string;
  line: number;
  reason: DeadLetterReason | 'unreadable' | 'bad_certificate';
  detail: string;
  /** The raw line, for the dead-letter topic. */
  raw?: string;
  topic?: TopicId;
}

export interface ScenarioInput {
  path: string;
  topic: TopicId;
  bytes: number;
}

/** The input files present in a scenario directory (`name.ndjson` or `name.ndjson.gz`). */
export function scenarioInputs(dir: string): ScenarioInput[] {
  const out: ScenarioInput[] = [];
  for (const { file, topic } of SCENARIO_FILES) {
    for (const name of [file, `${file}.gz`]) {
      const path = join(dir, name);
      if (existsSync(path)) out.push({ path, topic, bytes: statSync(path).size });
    }
  }
  return out;
}

/** A binary min-heap on event time, ties broken by arrival order (stable, deterministic). */
class EventHeap {
  private items: { e: ScenarioEvent; seq: number }[] = [];
  private seq = 0;
  get size() {
    return this.items.length;
  }
  peek(): ScenarioEvent | undefined {
    return this.items[0]?.e;
  }
  private less(a: { e: ScenarioEvent; seq: number }, b: { e: ScenarioEvent; seq: number }) {
    return a.e.tsMs < b.e.tsMs || (a.e.tsMs === b.e.tsMs && a.seq < b.seq);
  }
  push(e: ScenarioEvent): void {
    const a = this.items;
    a.push({ e, seq: this.seq++ });
    let i = a.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (!this.less(a[i]!, a[p]!)) break;
      [a[i], a[p]] = [a[p]!, a[i]!];
      i = p;
    }
  }
  pop(): ScenarioEvent | undefined {
    const a = this.items;
    const top = a[0];
    const last = a.pop();
    if (a.length > 0 && last) {
      a[0] = last;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < a.length && this.less(a[l]!, a[m]!)) m = l;
        if (r < a.length && this.less(a[r]!, a[m]!)) m = r;
        if (m === i) break;
        [a[i], a[m]] = [a[m]!, a[i]!];
        i = m;
      }
    }
    return top?.e;
  }
}

export interface ReadOptions {
  reorderMinutes?: number;
  onError?: (e: InputError) => void;
  /** Called with the bytes consumed so far across all files. */
  onBytes?: (bytes: number) => void;
}

/** Streams one file's valid events, roughly in order, in chunks. */
async function* readFile(input: ScenarioInput, opts: ReadOptions, progress: { bytes: number }): AsyncGenerator<ScenarioEvent[]> {
  const contract = topics[input.topic].contract as ContractName;
  const raw = createReadStream(input.path);
  raw.on('data', (chunk) => {
    progress.bytes += chunk.length;
  });
  const stream = input.path.endsWith('.gz') ? raw.pipe(createGunzip()) : raw;
  const lines = createInterface({ input: stream, crlfDelay: Infinity });
  const heap = new EventHeap();
  const windowMs = (opts.reorderMinutes ?? 10) * 60_000;
  let maxTs = -Infinity;
  let lineNo = 0;
  let chunk: ScenarioEvent[] = [];
  try {
    for await (const text of lines) {
      lineNo++;
      const line = text.trim();
      if (line === '') continue;
      const fail = (reason: InputError['reason'], detail: string) =>
        opts.onError?.({ file: input.path, line: lineNo, reason, detail, raw: line.slice(0, MAX_MESSAGE_BYTES), topic: input.topic });
      if (line.length > MAX_MESSAGE_BYTES) {
        fail('oversized', `line of ${line.length} characters exceeds ${MAX_MESSAGE_BYTES}`);
        continue;
      }
      let value: unknown;
      try {
        value = JSON.parse(line);
      } catch (err) {
        fail('malformed_json', (err as Error).message.slice(0, 200));
        continue;
      }
      const checked = check(contract, value);
      if (!checked.ok) {
        fail(checked.reason, checked.detail);
        continue;
      }
      const v = checked.value as ScenarioEvent['value'];
      const tsMs = Date.parse(v.ts);
      heap.push({ topic: input.topic, tsMs, line, value: v, source: `${input.path}:${lineNo}` });
      if (tsMs > maxTs) maxTs = tsMs;
      while (heap.size > 0 && heap.peek()!.tsMs <= maxTs - windowMs) chunk.push(heap.pop()!);
      if (chunk.length >= 4096) {
        opts.onBytes?.(progress.bytes);
        yield chunk;
        chunk = [];
      }
    }
  } catch (err) {
    opts.onError?.({ file: input.path, line: lineNo + 1, reason: 'unreadable', detail: (err as Error).message });
  }
  while (heap.size > 0) chunk.push(heap.pop()!);
  if (chunk.length > 0) yield chunk;
  opts.onBytes?.(progress.bytes);
}

/**
 * All events of a scenario's NDJSON files, merged in event-time order, in chunks.
 *
 * @example
 * for await (const chunk of readScenario('examples/teams-2020-02-03')) for (const e of chunk) ...
 */
export async function* readScenario(dir: string, opts: ReadOptions = {}): AsyncGenerator<ScenarioEvent[]> {
  const progress = { bytes: 0 };
  const sources = scenarioInputs(dir).map((input) => ({ it: readFile(input, opts, progress), buf: [] as ScenarioEvent[], i: 0, done: false }));
  const refill = async (s: (typeof sources)[number]) => {
    while (!s.done && s.i >= s.buf.length) {
      const r = await s.it.next();
      if (r.done) s.done = true;
      else {
        s.buf = r.value;
        s.i = 0;
      }
    }
  };
  for (const s of sources) await refill(s);
  let out: ScenarioEvent[] = [];
  for (;;) {
    let best: (typeof sources)[number] | undefined;
    for (const s of sources) {
      if (s.i < s.buf.length && (!best || s.buf[s.i]!.tsMs < best.buf[best.i]!.tsMs)) best = s;
    }
    if (!best) break;
    out.push(best.buf[best.i++]!);
    if (best.i >= best.buf.length) {
      await refill(best);
      if (out.length >= 4096) {
        yield out;
        out = [];
      }
    }
  }
  if (out.length > 0) yield out;
}

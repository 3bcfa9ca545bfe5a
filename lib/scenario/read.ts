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
import { StringDecoder } from 'node:string_decoder';
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

/**
 * Restores event-time order within a window: in-order events (the common case) append to a run
 * in O(1); the few late ones go to a binary heap. Ties keep arrival order, so output is stable.
 */
class Reorder {
  private run: ScenarioEvent[] = [];
  private head = 0;
  private heap: { e: ScenarioEvent; seq: number }[] = [];
  private seq = 0;
  private lastRunTs = -Infinity;

  get size(): number {
    return this.run.length - this.head + this.heap.length;
  }

  push(e: ScenarioEvent): void {
    if (e.tsMs >= this.lastRunTs) {
      this.run.push(e);
      this.lastRunTs = e.tsMs;
    } else this.heapPush(e);
  }

  /** The earliest buffered event, removed, if it is at or before `untilMs`. */
  shift(untilMs: number): ScenarioEvent | undefined {
    const r = this.head < this.run.length ? this.run[this.head]! : undefined;
    const h = this.heap[0]?.e;
    const fromHeap = h !== undefined && (r === undefined || h.tsMs < r.tsMs);
    const next = fromHeap ? h : r;
    if (next === undefined || next.tsMs > untilMs) return undefined;
    if (fromHeap) return this.heapPop();
    this.head++;
    if (this.head > 4096 && this.head * 2 > this.run.length) {
      this.run = this.run.slice(this.head);
      this.head = 0;
    }
    return r;
  }

  private less(a: { e: ScenarioEvent; seq: number }, b: { e: ScenarioEvent; seq: number }) {
    return a.e.tsMs < b.e.tsMs || (a.e.tsMs === b.e.tsMs && a.seq < b.seq);
  }

  private heapPush(e: ScenarioEvent): void {
    const a = this.heap;
    a.push({ e, seq: this.seq++ });
    let i = a.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (!this.less(a[i]!, a[p]!)) break;
      [a[i], a[p]] = [a[p]!, a[i]!];
      i = p;
    }
  }

  private heapPop(): ScenarioEvent | undefined {
    const a = this.heap;
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

/** Lines of a byte stream (LF or CRLF), several times cheaper than `readline` on big files. */
async function* splitLines(stream: AsyncIterable<Buffer>): AsyncGenerator<string[]> {
  const decoder = new StringDecoder('utf8');
  let rest = '';
  for await (const chunk of stream) {
    const parts = (rest + decoder.write(chunk)).split('\n');
    rest = parts.pop()!;
    yield parts;
  }
  rest += decoder.end();
  if (rest !== '') yield [rest];
}

function fail(input: ScenarioInput, line: number, raw: string, reason: InputError['reason'], detail: string, onError?: ReadOptions['onError']): void {
  onError?.({ file: input.path, line, reason, detail, raw: raw.slice(0, MAX_MESSAGE_BYTES), topic: input.topic });
}

/** Streams one file's valid events, roughly in order, in chunks. */
async function* readFile(input: ScenarioInput, opts: ReadOptions, progress: { bytes: number }): AsyncGenerator<ScenarioEvent[]> {
  const contract = topics[input.topic].contract as ContractName;
  const raw = createReadStream(input.path, { highWaterMark: 1 << 20 });
  raw.on('data', (chunk) => {
    progress.bytes += chunk.length;
  });
  const lines = splitLines(input.path.endsWith('.gz') ? raw.pipe(createGunzip()) : raw);
  const buffer = new Reorder();
  const windowMs = (opts.reorderMinutes ?? 10) * 60_000;
  let maxTs = -Infinity;
  let lineNo = 0;
  let chunk: ScenarioEvent[] = [];
  try {
    for await (const texts of lines) for (const text of texts) {
      lineNo++;
      const line = text.trim();
      if (line === '') continue;
      if (line.length > MAX_MESSAGE_BYTES) {
        fail(input, lineNo, line, 'oversized', `line of ${line.length} characters exceeds ${MAX_MESSAGE_BYTES}`, opts.onError);
        continue;
      }
      let value: unknown;
      try {
        value = JSON.parse(line);
      } catch (err) {
        fail(input, lineNo, line, 'malformed_json', (err as Error).message.slice(0, 200), opts.onError);
        continue;
      }
      const checked = check(contract, value);
      if (!checked.ok) {
        fail(input, lineNo, line, checked.reason, checked.detail, opts.onError);
        continue;
      }
      const v = checked.value as ScenarioEvent['value'];
      const tsMs = Date.parse(v.ts);
      buffer.push({ topic: input.topic, tsMs, line, value: v, source: `${input.path}:${lineNo}` });
      if (tsMs > maxTs) maxTs = tsMs;
      for (let e = buffer.shift(maxTs - windowMs); e; e = buffer.shift(maxTs - windowMs)) chunk.push(e);
      if (chunk.length >= 4096) {
        opts.onBytes?.(progress.bytes);
        yield chunk;
        chunk = [];
      }
    }
  } catch (err) {
    opts.onError?.({ file: input.path, line: lineNo + 1, reason: 'unreadable', detail: (err as Error).message });
  }
  for (let e = buffer.shift(Infinity); e; e = buffer.shift(Infinity)) chunk.push(e);
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

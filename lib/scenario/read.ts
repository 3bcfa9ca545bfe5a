/**
 * Reads a scenario directory (DESIGN.md §4) as one stream of events in event-time order.
 *
 * Each NDJSON file (plain or `.gz`) is streamed, never loaded whole. Lines that are not UTF-8,
 * too long, too deep, not JSON or break their contract are reported with file, line and the
 * dead-letter reason (`schemas/decode.ts`) and left out; the rest of the file is still read. Files may be a few minutes
 * out of order (as real feeds are): a per-file reorder buffer of `reorderMinutes` of event time
 * sorts them, then the files are merged by time.
 */
import { isUtf8 } from 'node:buffer';
import { createReadStream, existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { createGunzip } from 'node:zlib';
import type { ContractName, DeadLetterReason } from '../../schemas/contracts.ts';
import { decode, invalidUtf8Offset, MAX_MESSAGE_BYTES } from '../../schemas/decode.ts';
import { timestampMs } from '../../schemas/timestamp.ts';
import { topics, type TopicId } from '../../schemas/topics.ts';

/** The NDJSON files a scenario may hold and the topic each feeds. */
export const SCENARIO_FILES = [
  { file: 'reports.ndjson', topic: 'reports' },
  { file: 'posts.ndjson', topic: 'posts' },
  { file: 'probes.ndjson', topic: 'probes' },
  { file: 'certs.ndjson', topic: 'certs' },
] as const satisfies readonly { file: string; topic: TopicId }[];

const CHUNK = 4096;
export interface ScenarioEvent {
  topic: TopicId;
  tsMs: number;
  /** The original line, published as is. */
  line: string;
  value: { ts: string; service?: string; sha256?: string; endpoint?: string; source?: string; id?: string };
  /** `path:line` */
  readonly source: string;
}

export interface InputError {
  file: string;
  line: number;
  reason: DeadLetterReason | 'unreadable' | 'bad_certificate';
  detail: string;
  /** The raw line (bytes when it is not UTF-8), for the dead-letter topic. */
  raw?: string | Uint8Array;
  topic?: TopicId;
}

export interface ScenarioInput {
  path: string;
  topic: TopicId;
  bytes: number;
}

/** An event as read; its `source` is spelt out only when asked for (most consumers never ask). */
class ReadEvent implements ScenarioEvent {
  constructor(
    readonly topic: TopicId,
    readonly tsMs: number,
    readonly line: string,
    readonly value: ScenarioEvent['value'],
    private readonly path: string,
    private readonly lineNo: number,
  ) {}

  get source(): string {
    return `${this.path}:${this.lineNo}`;
  }
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

/** A line refused before it is decoded as text: not UTF-8, or longer than a message may be. */
interface BadLine {
  reason: 'invalid_utf8' | 'oversized';
  detail: string;
  /** The original bytes (the first `MAX_MESSAGE_BYTES` of an oversized line), for the dead-letter topic. */
  raw: Uint8Array;
}

type Line = string | BadLine;

/**
 * Lines of a byte stream (LF or CRLF), split on bytes so that UTF-8 is checked before any
 * decoding (a lossy decode would store U+FFFD for what was sent). Whole chunks of valid UTF-8,
 * the common case, are decoded and split at once, which is several times cheaper than
 * `readline`; a chunk that fails is split line by line to name the bad lines. A line longer than
 * `MAX_MESSAGE_BYTES` is never held whole: its first bytes are kept and the rest skipped up to
 * the next newline.
 */
export async function* splitLines(stream: AsyncIterable<Uint8Array> | Iterable<Uint8Array>): AsyncGenerator<Line[]> {
  let rest: Buffer = Buffer.alloc(0);
  // While skipping the tail of an oversized line: its first bytes and its length so far.
  let long: { head: Buffer; bytes: number } | undefined;
  const oversized = (head: Buffer, bytes: number): BadLine => ({
    reason: 'oversized',
    detail: `line of ${bytes} bytes exceeds ${MAX_MESSAGE_BYTES}`,
    raw: head,
  });
  const lineOf = (b: Buffer): Line =>
    b.length > MAX_MESSAGE_BYTES
      ? oversized(b.subarray(0, MAX_MESSAGE_BYTES), b.length)
      : isUtf8(b)
        ? b.toString('utf8')
        : { reason: 'invalid_utf8', detail: `not UTF-8: invalid byte sequence at byte ${invalidUtf8Offset(b)} of the line`, raw: b };
  const linesOf = (b: Buffer): Line[] => {
    if (b.length <= MAX_MESSAGE_BYTES && isUtf8(b)) return b.toString('utf8').split('\n');
    const out: Line[] = [];
    let from = 0;
    for (let nl = b.indexOf(10); nl !== -1; nl = b.indexOf(10, from)) {
      out.push(lineOf(b.subarray(from, nl)));
      from = nl + 1;
    }
    out.push(lineOf(b.subarray(from)));
    return out;
  };
  for await (const c of stream) {
    let chunk = Buffer.isBuffer(c) ? c : Buffer.from(c.buffer, c.byteOffset, c.byteLength);
    const out: Line[] = [];
    if (long) {
      const nl = chunk.indexOf(10);
      if (nl === -1) {
        long.bytes += chunk.length;
        continue;
      }
      out.push(oversized(long.head, long.bytes + nl));
      long = undefined;
      chunk = chunk.subarray(nl + 1);
    }
    const data = rest.length > 0 ? Buffer.concat([rest, chunk]) : chunk;
    const last = data.lastIndexOf(10);
    if (last === -1) {
      rest = data;
    } else {
      // Whole chunks are split in one go; a chunk that holds a bad line is split line by line.
      out.push(...linesOf(data.subarray(0, last)));
      rest = data.subarray(last + 1);
    }
    if (rest.length > MAX_MESSAGE_BYTES) {
      long = { head: Buffer.from(rest.subarray(0, MAX_MESSAGE_BYTES)), bytes: rest.length };
      rest = Buffer.alloc(0);
    }
    if (out.length > 0) yield out;
  }
  if (long) yield [oversized(long.head, long.bytes)];
  else if (rest.length > 0) yield [lineOf(rest)];
}

function fail(input: ScenarioInput, line: number, raw: string | Uint8Array, reason: InputError['reason'], detail: string, onError?: ReadOptions['onError']): void {
  onError?.({ file: input.path, line, reason, detail, raw: typeof raw === 'string' ? raw.slice(0, MAX_MESSAGE_BYTES) : raw, topic: input.topic });
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
      if (typeof text !== 'string') {
        fail(input, lineNo, text.raw, text.reason, text.detail, opts.onError);
        continue;
      }
      const line = text.trim();
      if (line === '') continue;
      // Size, depth, UTF-8, JSON, finite numbers, then the contract: refused with the reason.
      const checked = decode(contract, line);
      if (!checked.ok) {
        fail(input, lineNo, line, checked.reason, checked.detail, opts.onError);
        continue;
      }
      const v = checked.value as ScenarioEvent['value'];
      const tsMs = timestampMs(v.ts);
      buffer.push(new ReadEvent(input.topic, tsMs, line, v, input.path, lineNo));
      if (tsMs > maxTs) maxTs = tsMs;
      for (let e = buffer.shift(maxTs - windowMs); e; e = buffer.shift(maxTs - windowMs)) chunk.push(e);
      if (chunk.length >= CHUNK) {
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
      if (out.length >= CHUNK) {
        yield out;
        out = [];
      }
    }
  }
  if (out.length > 0) yield out;
}

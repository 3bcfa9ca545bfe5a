/**
 * The social ingest: syncs the filtered-stream rules, reads the stream (reconnecting with backoff
 * on drops and on the stream's own errors; keep-alive newlines reset its timer), and after every
 * (re)connect backfills the gap since the last post it handled with recent search, so no post in
 * between is lost. Post ids make everything idempotent: a post seen twice is handled once.
 * Complaints become UserReports (`channel: social`), status-account posts become StatusPosts.
 */
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { ETwitterStreamEvent, type TTweetv2Expansion, type TTweetv2TweetField, type TTweetv2UserField, type TweetStream, type TweetV2, type TweetV2SingleStreamResult, type TwitterApiv2, type UserV2 } from 'twitter-api-v2';
import type { StatusPost, UserReport } from '../../schemas/contracts.ts';
import { check } from '../../schemas/decode.ts';
import { topics } from '../../schemas/topics.ts';
import type { Bus } from '../../lib/bus/bus.ts';
import type { Catalog } from '../../lib/catalog.ts';
import type { Logger } from '../../lib/log.ts';
import type { Metrics } from '../../lib/metrics.ts';
import { PostClassifier } from './classify.ts';
import { buildRules, syncRules, type StreamRule } from './rules.ts';

/** Where the last handled post id is kept, so a restart backfills from there. */
export interface Cursor {
  load(): string | undefined;
  save(id: string): void;
}

export class FileCursor implements Cursor {
  constructor(private readonly path: string) {}
  load(): string | undefined {
    try {
      return (JSON.parse(readFileSync(this.path, 'utf8')) as { lastId?: string }).lastId;
    } catch {
      return undefined;
    }
  }
  save(id: string): void {
    mkdirSync(dirname(this.path), { recursive: true });
    writeFileSync(`${this.path}.tmp`, JSON.stringify({ lastId: id }));
    renameSync(`${this.path}.tmp`, this.path);
  }
}

export class MemoryCursor implements Cursor {
  private id: string | undefined;
  constructor(id?: string) {
    this.id = id;
  }
  load() {
    return this.id;
  }
  save(id: string) {
    this.id = id;
  }
}

export interface SocialIngestDeps {
  v2: TwitterApiv2;
  bus: Bus;
  catalog: Catalog;
  logger: Logger;
  metrics: Metrics;
  cursor: Cursor;
  /** Tag prefix that marks our rules. */
  tagPrefix: string;
  leaveOtherRules?: boolean;
  /** Stream settings (tests shorten them). */
  keepAliveTimeoutMs?: number;
  retryDelayMs?: (attempt: number) => number;
}

const FIELDS: { expansions: TTweetv2Expansion[]; 'tweet.fields': TTweetv2TweetField[]; 'user.fields': TTweetv2UserField[] } = {
  expansions: ['author_id'],
  'tweet.fields': ['created_at', 'author_id', 'lang'],
  'user.fields': ['username'],
};
const later = (a: string, b: string | undefined) => b === undefined || BigInt(a) > BigInt(b);

export class SocialIngest {
  private readonly classifier: PostClassifier;
  private readonly rules: StreamRule[];
  private readonly seen = new Set<string>();
  private queue: Promise<void> = Promise.resolve();
  private stream: TweetStream<TweetV2SingleStreamResult> | undefined;
  /** Counts by outcome, for tests and logs. */
  readonly counts = { complaint: 0, status: 0, other: 0, duplicate: 0 };

  constructor(private readonly d: SocialIngestDeps) {
    this.classifier = new PostClassifier(d.catalog);
    this.rules = buildRules(d.catalog, d.tagPrefix);
  }

  async start(): Promise<void> {
    const synced = await syncRules(this.d.v2, this.rules, this.d.tagPrefix, this.d.leaveOtherRules ?? true);
    this.d.logger.info({ added: synced.added.length, deleted: synced.deleted.length, kept: synced.kept }, 'stream rules synced');
    const stream = this.d.v2.searchStream({ ...FIELDS, autoConnect: false });
    this.stream = stream;
    stream.on(ETwitterStreamEvent.Data, (payload) => this.enqueue(() => this.handle([payload])));
    stream.on(ETwitterStreamEvent.Connected, () => this.enqueue(() => this.backfill('connected')));
    stream.on(ETwitterStreamEvent.Reconnected, () => this.enqueue(() => this.backfill('reconnected')));
    stream.on(ETwitterStreamEvent.ConnectionLost, () => this.d.logger.warn('stream connection lost, reconnecting'));
    stream.on(ETwitterStreamEvent.ReconnectAttempt, (n: number) => this.d.logger.info({ attempt: n }, 'reconnecting to the stream'));
    stream.on(ETwitterStreamEvent.Error, (e: { type: string; error: unknown }) => this.d.logger.warn({ type: e.type, err: String(e.error) }, 'stream error'));
    await stream.connect({
      autoReconnect: true,
      autoReconnectRetries: Infinity,
      keepAliveTimeout: this.d.keepAliveTimeoutMs ?? 120_000,
      ...(this.d.retryDelayMs ? { nextRetryTimeout: this.d.retryDelayMs } : {}),
    });
  }

  async stop(): Promise<void> {
    this.stream?.close();
    await this.queue;
  }

  /** Resolves once everything received so far is handled. */
  idle(): Promise<void> {
    return this.queue;
  }

  private enqueue(task: () => Promise<void>): void {
    this.queue = this.queue.then(task).catch((err: unknown) => this.d.logger.error({ err }, 'handling posts failed'));
  }

  /** Recent search since the last handled post, per rule, oldest first. */
  private async backfill(why: string): Promise<void> {
    const since = this.d.cursor.load();
    if (!since) return;
    const found: TweetV2SingleStreamResult[] = [];
    for (const rule of this.rules) {
      const page = await this.d.v2.search(rule.value, { ...FIELDS, since_id: since, max_results: 100 });
      for await (const tweet of page) {
        const author = page.includes.author(tweet);
        found.push({ data: tweet, includes: author ? { users: [author] } : {}, matching_rules: [{ id: '', tag: rule.tag }] });
        if (found.length > 10_000) break;
      }
    }
    found.sort((a, b) => (BigInt(a.data.id) < BigInt(b.data.id) ? -1 : 1));
    this.d.logger.info({ why, since, posts: found.length }, 'backfilled');
    await this.handle(found);
  }

  private serviceHint(payload: TweetV2SingleStreamResult): string | undefined {
    for (const r of payload.matching_rules ?? []) {
      const m = new RegExp(`^${this.d.tagPrefix.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}svc:([^#]+)`).exec(r.tag ?? '');
      if (m) return m[1];
    }
    return undefined;
  }

  private async handle(payloads: TweetV2SingleStreamResult[]): Promise<void> {
    const reports: UserReport[] = [];
    const posts: StatusPost[] = [];
    let newest = this.d.cursor.load();
    for (const p of payloads) {
      const t: TweetV2 = p.data;
      if (this.seen.has(t.id)) {
        this.counts.duplicate++;
        continue;
      }
      this.seen.add(t.id);
      if (this.seen.size > 200_000) this.seen.delete(this.seen.values().next().value!);
      if (later(t.id, newest)) newest = t.id;
      const user: UserV2 | undefined = p.includes?.users?.find((u) => u.id === t.author_id);
      const author = user?.username ?? t.author_id ?? 'unknown';
      const c = this.classifier.classify({ text: t.text, author }, this.serviceHint(p));
      this.counts[c.kind]++;
      const ts = t.created_at ? new Date(t.created_at).toISOString() : new Date().toISOString();
      const url = `https://x.com/${author}/status/${t.id}`;
      if (c.kind === 'complaint' && c.service) {
        reports.push({ id: `x-${t.id}`, ts, service: c.service, channel: 'social', ...(c.problem ? { problem: c.problem } : {}), text: t.text.slice(0, 2000), author, url });
      } else if (c.kind === 'status' && c.service) {
        // Extra fields (the contract keeps unknown ones): what the classifier extracted.
        posts.push({ id: `x-${t.id}`, ts, service: c.service, account: author, text: t.text, url, incidentIds: c.incidentIds, causeWords: c.causeWords } as StatusPost);
      }
    }
    const valid = <T>(name: 'UserReport' | 'StatusPost', items: T[]) => items.filter((i) => check(name, i).ok);
    if (reports.length > 0) await this.d.bus.publish(topics.reports.name, valid('UserReport', reports).map((r) => ({ key: r.service, value: JSON.stringify(r) })));
    if (posts.length > 0) await this.d.bus.publish(topics.posts.name, valid('StatusPost', posts).map((r) => ({ key: r.service, value: JSON.stringify(r) })));
    if (newest && newest !== this.d.cursor.load()) this.d.cursor.save(newest);
  }
}

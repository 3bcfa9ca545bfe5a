/**
 * A local HTTP server speaking the parts of the X API v2 the social ingest uses: stream rules
 * (list, add, delete), the filtered stream (posts, keep-alive newlines, dropped connections) and
 * recent search (since_id). The real `twitter-api-v2` client talks to it through its prefix.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';

export interface FakePost {
  id: string;
  text: string;
  username: string;
  createdAt: string;
}

interface Rule {
  id: string;
  value: string;
  tag?: string;
}

export class FakeXApi {
  readonly rules = new Map<string, Rule>();
  readonly published: FakePost[] = [];
  readonly searches: { query: string; sinceId?: string }[] = [];
  private readonly streams = new Set<ServerResponse>();
  private server!: Server;
  private nextRule = 100;
  connections = 0;
  base = '';

  constructor(private readonly token: string, rules: Rule[] = []) {
    for (const r of rules) this.rules.set(r.id, r);
  }

  async start(): Promise<void> {
    this.server = createServer((req, res) => void this.route(req, res));
    await new Promise<void>((r) => this.server.listen(0, '127.0.0.1', r));
    this.base = `http://127.0.0.1:${(this.server.address() as { port: number }).port}/2/`;
  }

  async stop(): Promise<void> {
    for (const s of this.streams) s.destroy();
    this.server.closeAllConnections();
    await new Promise((r) => this.server.close(r));
  }

  get openStreams(): number {
    return this.streams.size;
  }

  /** A post published while the stream is up: sent on every open stream. */
  push(post: FakePost): void {
    if (!this.published.some((p) => p.id === post.id)) this.published.push(post);
    const rule = this.matchingRule(post);
    const line = JSON.stringify({
      data: { id: post.id, text: post.text, author_id: `u-${post.username}`, created_at: post.createdAt },
      includes: { users: [{ id: `u-${post.username}`, username: post.username, name: post.username }] },
      matching_rules: rule ? [{ id: rule.id, tag: rule.tag }] : [],
    });
    for (const s of this.streams) s.write(`${line}\r\n`);
  }

  /** A post published while nobody listens: only search finds it. */
  publishOffline(post: FakePost): void {
    this.published.push(post);
  }

  keepAlive(): void {
    for (const s of this.streams) s.write('\r\n');
  }

  /** Drops every stream connection mid-stream, as the real API sometimes does. */
  dropStreams(): void {
    for (const s of this.streams) s.socket?.destroy();
  }

  private terms(value: string): { words: string[]; from: string[] } {
    const from = [...value.matchAll(/from:(\w+)/g)].map((m) => m[1]!.toLowerCase());
    const words = [...value.replace(/from:\w+/g, '').replace(/-is:\w+/g, '').matchAll(/"([^"]+)"|([#@]?[\w-]+)/g)]
      .map((m) => (m[1] ?? m[2] ?? '').toLowerCase())
      .filter((w) => w && w !== 'or');
    return { words, from };
  }

  private matches(value: string, post: FakePost): boolean {
    const { words, from } = this.terms(value);
    return from.includes(post.username.toLowerCase()) || words.some((w) => post.text.toLowerCase().includes(w));
  }

  private matchingRule(post: FakePost): Rule | undefined {
    return [...this.rules.values()].find((r) => this.matches(r.value, post));
  }

  private async route(req: IncomingMessage, res: ServerResponse): Promise<void> {
    if (req.headers.authorization !== `Bearer ${this.token}`) return void res.writeHead(401, { 'content-type': 'application/json' }).end('{"title":"Unauthorized"}');
    const url = new URL(req.url ?? '/', 'http://x');
    const json = (status: number, body: unknown): void => void res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
    const now = new Date().toISOString();
    if (url.pathname === '/2/tweets/search/stream/rules' && req.method === 'GET') {
      const data = [...this.rules.values()];
      return json(200, { data, meta: { sent: now, result_count: data.length } });
    }
    if (url.pathname === '/2/tweets/search/stream/rules' && req.method === 'POST') {
      let raw = '';
      for await (const chunk of req) raw += chunk;
      const body = JSON.parse(raw) as { add?: { value: string; tag?: string }[]; delete?: { ids: string[] } };
      if (body.add) {
        const created = body.add.map((r) => ({ ...r, id: String(this.nextRule++) }));
        for (const r of created) this.rules.set(r.id, r);
        return json(201, { data: created, meta: { sent: now, summary: { created: created.length, not_created: 0, valid: created.length, invalid: 0 } } });
      }
      const ids = body.delete?.ids ?? [];
      for (const id of ids) this.rules.delete(id);
      return json(200, { meta: { sent: now, summary: { deleted: ids.length, not_deleted: 0 } } });
    }
    if (url.pathname === '/2/tweets/search/stream') {
      this.connections++;
      res.writeHead(200, { 'content-type': 'application/json', 'transfer-encoding': 'chunked' });
      res.write('\r\n');
      this.streams.add(res);
      res.on('close', () => this.streams.delete(res));
      return;
    }
    if (url.pathname === '/2/tweets/search/recent') {
      const query = url.searchParams.get('query') ?? '';
      const sinceId = url.searchParams.get('since_id') ?? undefined;
      this.searches.push({ query, ...(sinceId ? { sinceId } : {}) });
      const hits = this.published
        .filter((p) => (!sinceId || BigInt(p.id) > BigInt(sinceId)) && this.matches(query, p))
        .sort((a, b) => (BigInt(b.id) > BigInt(a.id) ? 1 : -1));
      return json(200, {
        ...(hits.length > 0 ? { data: hits.map((p) => ({ id: p.id, text: p.text, author_id: `u-${p.username}`, created_at: p.createdAt })) } : {}),
        ...(hits.length > 0 ? { includes: { users: hits.map((p) => ({ id: `u-${p.username}`, username: p.username, name: p.username })) } } : {}),
        meta: { result_count: hits.length, ...(hits.length > 0 ? { newest_id: hits[0]!.id, oldest_id: hits.at(-1)!.id } : {}) },
      });
    }
    json(404, { title: 'Not Found' });
  }
}

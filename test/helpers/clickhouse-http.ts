/**
 * A ClickHouse server for tests that need one to go away and come back: the part of ClickHouse's
 * HTTP interface that `@clickhouse/client` uses (`/ping`, queries and commands in the body with
 * `param_*` bindings, `INSERT … FORMAT JSONEachRow` in the `query` parameter with the rows in the
 * body, errors as `Code: N. DB::Exception: … (NAME)` with `X-ClickHouse-Exception-Code`), answered
 * by the real engine: chDB in this process, on a data directory of its own.
 *
 * `stop()` closes the port and every open connection (the client then sees ECONNREFUSED or
 * ECONNRESET, as from a server that went down); `start()` opens the same port again.
 *
 * @example
 * const ch = await startClickHouseHttp(dir);   // CLICKHOUSE_URL = ch.url
 * await ch.stop(); …; await ch.start();
 * ch.query('SELECT count() AS n FROM reports FINAL');
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { Session } from 'chdb';

export interface ClickHouseHttp {
  readonly url: string;
  /** Requests answered so far (inserts counted apart). */
  readonly stats: { requests: number; inserts: number; refused: number };
  stop(): Promise<void>;
  start(): Promise<void>;
  /** Runs a query on the engine directly (rows as JSON objects), whether the port is open or not. */
  query<T = Record<string, unknown>>(sql: string): Promise<T[]>;
  close(): Promise<void>;
}

/** Settings the pipeline passes that matter for what the engine stores. */
const PASSED_SETTINGS = new Set(['date_time_input_format']);

async function body(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of req) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

function fail(res: ServerResponse, err: unknown): void {
  const message = err instanceof Error ? err.message : String(err);
  const code = /Code: (\d+)/.exec(message)?.[1] ?? '1002';
  res.writeHead(500, { 'content-type': 'text/plain', 'x-clickhouse-exception-code': code }).end(/^Code: /.test(message) ? message : `Code: ${code}. DB::Exception: ${message} (UNKNOWN_EXCEPTION)`);
}

export async function startClickHouseHttp(dataDir: string, port = 0): Promise<ClickHouseHttp> {
  const session = new Session(dataDir);
  const stats = { requests: 0, inserts: 0, refused: 0 };
  const sockets = new Set<Socket>();

  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    stats.requests++;
    const url = new URL(req.url ?? '/', 'http://localhost');
    if (url.pathname === '/ping') return void res.writeHead(200, { 'content-type': 'text/plain' }).end('Ok.\n');
    const data = await body(req);
    const query = url.searchParams.get('query');
    const params: Record<string, string> = {};
    const settings: Record<string, string> = {};
    for (const [k, v] of url.searchParams) {
      if (k.startsWith('param_')) params[k.slice(6)] = v;
      else if (PASSED_SETTINGS.has(k)) settings[k] = v;
    }
    try {
      const insert = query ? /^\s*INSERT\s+INTO\s+([\w.`"]+)(?:\s*\(([^)]*)\))?\s+FORMAT\s+JSONEachRow\s*$/i.exec(query) : null;
      if (insert) {
        stats.inserts++;
        const columns = insert[2]?.split(',').map((c) => c.trim().replace(/^[`"]|[`"]$/g, ''));
        await session.insert({ table: insert[1]!.replace(/[`"]/g, ''), values: data, format: 'JSONEachRow', settings, ...(columns ? { columns } : {}) });
        return void res.writeHead(200, { 'content-type': 'text/plain', 'x-clickhouse-summary': '{}' }).end('');
      }
      const sql = query ? `${query}\n${data.toString('utf8')}` : data.toString('utf8');
      const result = Object.keys(params).length > 0 ? await session.queryBindAsync(sql, params) : await session.queryAsync(sql);
      res.writeHead(200, { 'content-type': 'text/plain; charset=UTF-8' }).end(Buffer.from(result.bytes()));
    } catch (err) {
      stats.refused++;
      fail(res, err);
    }
  };

  let server: Server | undefined;
  let boundPort = port;
  const start = () =>
    new Promise<void>((resolve, reject) => {
      const s = createServer((req, res) => void handle(req, res).catch((err: unknown) => fail(res, err)));
      s.on('connection', (socket) => {
        sockets.add(socket);
        socket.once('close', () => sockets.delete(socket));
      });
      s.once('error', reject);
      s.listen(boundPort, '127.0.0.1', () => {
        boundPort = (s.address() as { port: number }).port;
        server = s;
        resolve();
      });
    });
  const stop = () =>
    new Promise<void>((resolve) => {
      if (!server) return resolve();
      server.close(() => resolve());
      for (const socket of sockets) socket.destroy();
      server = undefined;
    });
  await start();
  return {
    url: `http://127.0.0.1:${boundPort}`,
    stats,
    start,
    stop,
    async query<T>(sql: string) {
      const text = (await session.queryAsync(sql, { format: 'JSONEachRow' })).text().trim();
      return text === '' ? [] : text.split('\n').map((l) => JSON.parse(l) as T);
    },
    async close() {
      await stop();
      session.close();
    },
  };
}

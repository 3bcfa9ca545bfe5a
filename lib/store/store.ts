/**
 * The store port and its one implementation over the official `@clickhouse/client`.
 *
 * Two connections, same client, same SQL: the embedded default passes chDB's in-process
 * connection (`chdb/connection`, data directory on disk); production passes `CLICKHOUSE_URL`.
 * chDB binds one data directory per process, so the embedded store must be opened once and shared.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { Readable } from 'node:stream';
import { createClient, parseError, type ClickHouseClient } from '@clickhouse/client';

/** Every table the pipeline writes; the DDL in `schemas/clickhouse/` defines them. */
export type TableName =
  | 'reports'
  | 'status_posts'
  | 'probe_results'
  | 'cert_observations'
  | 'incidents'
  | 'incident_hints'
  | 'dead_letters'
  | 'annotations'
  | 'cert_warnings'
  | 'schema_migrations';

export type Row = Record<string, unknown>;

export interface Store {
  readonly kind: 'chdb' | 'server';
  /** Where the data lives: the chDB directory or the server URL (without credentials). */
  readonly location: string;
  /** The ClickHouse cluster its tables are on (`CLICKHOUSE_CLUSTER`); undefined on one server or chDB. */
  readonly cluster?: string | undefined;
  insert(table: TableName, rows: readonly Row[]): Promise<void>;
  /**
   * Inserts rows given as JSON object lines whose keys are column names (JSONEachRow as it is):
   * messages that already are rows are stored without being rebuilt and encoded again.
   */
  insertLines(table: TableName, lines: readonly string[]): Promise<void>;
  query<T = Row>(sql: string, params?: Record<string, unknown>): Promise<T[]>;
  command(sql: string): Promise<void>;
  close(): Promise<void>;
}

/** `cluster`: the ClickHouse cluster the tables live on (the migrations use its DDL variant). */
export type StoreConfig = { kind: 'chdb'; dataDir: string } | { kind: 'server'; url: string; cluster?: string };

// ISO timestamps with `Z` and optional fractions are what every contract carries.
const settings = { date_time_input_format: 'best_effort' } as const;

/**
 * chDB's own insert of a byte payload: handed to the engine without a copy and parsed by its
 * multithreaded parser, where the client's `exec` over chDB turns the body into SQL text first
 * (about 15 % less CPU per report row, and less memory, measured on the bench's reports).
 */
type RawInsert = (p: { table: string; values: Buffer; format: 'JSONEachRow'; settings: Record<string, string> }) => Promise<unknown>;

class ClickHouseStore implements Store {
  constructor(
    readonly kind: 'chdb' | 'server',
    readonly location: string,
    private readonly client: ClickHouseClient,
    readonly cluster?: string,
    private readonly rawInsert?: RawInsert,
  ) {}

  async insert(table: TableName, rows: readonly Row[]): Promise<void> {
    if (rows.length === 0) return;
    // What the client's JSONEachRow encoding sends, over the faster path where there is one.
    if (this.rawInsert) return this.insertLines(table, rows.map((r) => JSON.stringify(r)));
    await this.client.insert({ table, values: rows as Row[], format: 'JSONEachRow', clickhouse_settings: settings });
  }

  async insertLines(table: TableName, lines: readonly string[]): Promise<void> {
    if (lines.length === 0) return;
    if (this.rawInsert) {
      try {
        await this.rawInsert({ table, values: Buffer.from(lines.join('\n')), format: 'JSONEachRow', settings });
      } catch (err) {
        // The error in the client's shape (code, type), as the other paths throw it.
        throw Object.assign(parseError((err as Error).message), { cause: err });
      }
      return;
    }
    // `exec` sends a byte stream as the request body as it is (`insert` would encode objects).
    const values = Readable.from([Buffer.from(lines.join('\n'))], { objectMode: false });
    const r = await this.client.exec({ query: `INSERT INTO ${table} FORMAT JSONEachRow`, values, clickhouse_settings: settings });
    r.stream.resume();
  }

  async query<T = Row>(sql: string, params?: Record<string, unknown>): Promise<T[]> {
    const rs = await this.client.query({ query: sql, query_params: params, format: 'JSONEachRow', clickhouse_settings: settings });
    return rs.json<T>();
  }

  async command(sql: string): Promise<void> {
    await this.client.command({ query: sql, clickhouse_settings: settings });
  }

  async close(): Promise<void> {
    await this.client.close();
  }
}

const OWNER_FILE = 'outage-owner.json';

/** chDB lets one process at a time open a directory: name the one that has it, when we know. */
function holderOf(dir: string): string {
  try {
    const o = JSON.parse(readFileSync(join(dir, OWNER_FILE), 'utf8')) as { pid: number; command: string; since: string };
    let alive = true;
    try {
      process.kill(o.pid, 0);
    } catch {
      alive = false;
    }
    if (alive) return `it is held by process ${o.pid} (${o.command}) since ${o.since}: stop it, use another OUTAGE_DATA_DIR, or ask that process (outage serve answers on its API)`;
  } catch {
    // no owner file: an older process or another program
  }
  return 'chDB lets one process at a time open a directory; is another process using it?';
}

/**
 * Opens the store.
 *
 * @example
 * const store = await openStore({ kind: 'chdb', dataDir: './data/chdb' });
 * await store.query('SELECT count() AS n FROM reports');
 */
export async function openStore(config: StoreConfig): Promise<Store> {
  if (config.kind === 'chdb') {
    const dir = resolve(config.dataDir);
    mkdirSync(dir, { recursive: true });
    // chDB is an optional dependency, loaded only here: the image that runs against a ClickHouse
    // server is built without it.
    let createChdbConnection: typeof import('chdb/connection').createChdbConnection;
    try {
      ({ createChdbConnection } = await import('chdb/connection'));
    } catch (err) {
      throw new Error(`chDB is not installed here (it is an optional dependency): set CLICKHOUSE_URL to use a ClickHouse server, or install chdb for the embedded store`, { cause: err });
    }
    let connection;
    try {
      connection = createChdbConnection({ path: dir });
    } catch (err) {
      throw new Error(`cannot open the chDB data directory ${dir}: ${(err as Error).message} (${holderOf(dir)})`, { cause: err });
    }
    // Who holds the directory, for the next process that finds it locked.
    writeFileSync(join(dir, OWNER_FILE), JSON.stringify({ pid: process.pid, command: process.argv.slice(1).join(' '), since: new Date().toISOString() }));
    // The connection hook is marked experimental in @clickhouse/client's types.
    const client = createClient({ connection } as Parameters<typeof createClient>[0]);
    const store = new ClickHouseStore('chdb', dir, client, undefined, (connection as { chdb: { rawInsert: RawInsert } }).chdb.rawInsert);
    await store.query('SELECT 1');
    return store;
  }
  const url = new URL(config.url);
  const client = createClient({ url: config.url, request_timeout: 60_000 });
  const ping = await client.ping();
  if (!ping.success) {
    throw new Error(`cannot reach ClickHouse at ${url.origin}: ${(ping as { error: Error }).error.message}`);
  }
  url.username = '';
  url.password = '';
  return new ClickHouseStore('server', url.toString(), client, config.cluster);
}

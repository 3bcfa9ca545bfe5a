/**
 * What a failed store insert means, as a table: a bad row (ClickHouse refused the data itself;
 * retrying cannot help, so the rows are bisected and the one refused is dead-lettered) or an
 * outage (the store is unreachable, overloaded or refusing all writes: retry with backoff, report
 * not ready, commit nothing). Anything not in the tables counts as an outage: retried, never lost.
 *
 * Codes: https://github.com/ClickHouse/ClickHouse/blob/master/src/Common/ErrorCodes.cpp
 * (chDB raises the same `ClickHouseError` with `code` and `type` as the HTTP client).
 */
export type StoreErrorKind = 'bad_row' | 'outage';

/** ClickHouse error codes by kind. The names are ClickHouse's own (`errorCodeToName(code)`). */
export const CLICKHOUSE_ERRORS: Readonly<Record<number, { name: string; kind: StoreErrorKind }>> = {
  // The data of a row: parsing or converting one of its values failed.
  6: { name: 'CANNOT_PARSE_TEXT', kind: 'bad_row' },
  25: { name: 'CANNOT_PARSE_ESCAPE_SEQUENCE', kind: 'bad_row' },
  26: { name: 'CANNOT_PARSE_QUOTED_STRING', kind: 'bad_row' },
  27: { name: 'CANNOT_PARSE_INPUT_ASSERTION_FAILED', kind: 'bad_row' },
  38: { name: 'CANNOT_PARSE_DATE', kind: 'bad_row' },
  41: { name: 'CANNOT_PARSE_DATETIME', kind: 'bad_row' },
  53: { name: 'TYPE_MISMATCH', kind: 'bad_row' },
  69: { name: 'ARGUMENT_OUT_OF_BOUND', kind: 'bad_row' },
  70: { name: 'CANNOT_CONVERT_TYPE', kind: 'bad_row' },
  72: { name: 'CANNOT_PARSE_NUMBER', kind: 'bad_row' },
  117: { name: 'INCORRECT_DATA', kind: 'bad_row' },
  131: { name: 'TOO_LARGE_STRING_SIZE', kind: 'bad_row' },
  190: { name: 'SIZES_OF_ARRAYS_DONT_MATCH', kind: 'bad_row' },
  321: { name: 'VALUE_IS_OUT_OF_RANGE_OF_DATA_TYPE', kind: 'bad_row' },
  349: { name: 'CANNOT_INSERT_NULL_IN_ORDINARY_COLUMN', kind: 'bad_row' },
  // The store, not the row: it will take the same rows once it is back or fixed.
  16: { name: 'NO_SUCH_COLUMN_IN_TABLE', kind: 'outage' },
  60: { name: 'UNKNOWN_TABLE', kind: 'outage' },
  81: { name: 'UNKNOWN_DATABASE', kind: 'outage' },
  159: { name: 'TIMEOUT_EXCEEDED', kind: 'outage' },
  164: { name: 'READONLY', kind: 'outage' },
  173: { name: 'CANNOT_ALLOCATE_MEMORY', kind: 'outage' },
  202: { name: 'TOO_MANY_SIMULTANEOUS_QUERIES', kind: 'outage' },
  203: { name: 'NO_FREE_CONNECTION', kind: 'outage' },
  209: { name: 'SOCKET_TIMEOUT', kind: 'outage' },
  210: { name: 'NETWORK_ERROR', kind: 'outage' },
  236: { name: 'ABORTED', kind: 'outage' },
  241: { name: 'MEMORY_LIMIT_EXCEEDED', kind: 'outage' },
  242: { name: 'TABLE_IS_READ_ONLY', kind: 'outage' },
  243: { name: 'NOT_ENOUGH_SPACE', kind: 'outage' },
  252: { name: 'TOO_MANY_PARTS', kind: 'outage' },
  285: { name: 'TOO_FEW_LIVE_REPLICAS', kind: 'outage' },
  319: { name: 'UNKNOWN_STATUS_OF_INSERT', kind: 'outage' },
  394: { name: 'QUERY_WAS_CANCELLED', kind: 'outage' },
  425: { name: 'SYSTEM_ERROR', kind: 'outage' },
  439: { name: 'CANNOT_SCHEDULE_TASK', kind: 'outage' },
  497: { name: 'ACCESS_DENIED', kind: 'outage' },
  516: { name: 'AUTHENTICATION_FAILED', kind: 'outage' },
  999: { name: 'KEEPER_EXCEPTION', kind: 'outage' },
};

/** Node socket errors of the HTTP client: the server is unreachable or went away. */
export const NETWORK_ERRORS: ReadonlySet<string> = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ECONNABORTED',
  'ETIMEDOUT',
  'EPIPE',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENETDOWN',
]);

export interface StoreErrorClass {
  readonly kind: StoreErrorKind;
  /** A bounded name for logs and details: the ClickHouse error name, the socket code, or `unknown`. */
  readonly name: string;
}

/**
 * @example
 * classifyStoreError(err); // { kind: 'bad_row', name: 'CANNOT_PARSE_ESCAPE_SEQUENCE' } or { kind: 'outage', name: 'ECONNREFUSED' }
 */
export function classifyStoreError(err: unknown): StoreErrorClass {
  const e = (err ?? {}) as { code?: unknown; type?: unknown; message?: unknown; cause?: unknown };
  const code = typeof e.code === 'string' && /^\d+$/.test(e.code) ? Number(e.code) : typeof e.code === 'number' ? e.code : undefined;
  if (code !== undefined) {
    const known = CLICKHOUSE_ERRORS[code];
    if (known) return known;
    return { kind: 'outage', name: typeof e.type === 'string' ? e.type : `ClickHouse error ${code}` };
  }
  if (typeof e.code === 'string' && NETWORK_ERRORS.has(e.code)) return { kind: 'outage', name: e.code };
  // The HTTP client's own request timeout, and fetch-style wrappers around a socket error.
  if (typeof e.message === 'string' && /^Timeout error/.test(e.message)) return { kind: 'outage', name: 'timeout' };
  if (e.cause && e.cause !== err) return classifyStoreError(e.cause);
  return { kind: 'outage', name: 'unknown' };
}

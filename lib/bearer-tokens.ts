/**
 * Bearer tokens of the HTTP APIs (the report API's write tokens, the query API's read tokens):
 * reading `Authorization: Bearer <token>` and comparing the token with the configured ones in
 * constant time.
 */
import { createHash, timingSafeEqual } from 'node:crypto';

/**
 * The configured token equal to `given`, or undefined. Every token is compared, always, so the
 * time taken says nothing about which one (or whether one) matched.
 *
 * @example
 * tokenMatches('s3cret-token', ['other', 's3cret-token']) // 's3cret-token'
 */
export function tokenMatches(given: string, tokens: readonly string[]): string | undefined {
  const g = Buffer.from(given);
  let match: string | undefined;
  for (const t of tokens) {
    const b = Buffer.from(t);
    // timingSafeEqual needs equal lengths; the length check leaks only the length of a configured token.
    const same = b.length === g.length && timingSafeEqual(b, g);
    if (same) match = t;
  }
  return match;
}

/**
 * The token of an `Authorization` header value, or undefined when it is not a bearer token.
 *
 * @example
 * bearerToken('Bearer abc.def') // 'abc.def'
 * bearerToken('Basic dXNlcjpwdw==') // undefined
 */
export function bearerToken(header: string | undefined): string | undefined {
  if (!header) return undefined;
  return /^Bearer\s+(\S+)$/i.exec(header)?.[1];
}

/**
 * A short, stable label of a token for rate-limit keys and logs, so the token itself is never
 * used as a key or written anywhere.
 *
 * @example
 * tokenLabel('s3cret-token') // 'token:1c2f…' (12 hex digits)
 */
export function tokenLabel(token: string): string {
  return `token:${createHash('sha256').update(token).digest('hex').slice(0, 12)}`;
}

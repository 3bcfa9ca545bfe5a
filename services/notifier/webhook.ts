/**
 * Signed generic webhooks. Each POST carries the notification as JSON and three headers:
 *
 *   x-outage-timestamp: 1580737320                      unix seconds of this attempt
 *   x-outage-signature: v1=<hex HMAC-SHA256(secret, "<timestamp>.<raw body>")>
 *   idempotency-key:    <incident id>:<revision>         (warnings: warning:<sha256>:<level>)
 *
 * As with Stripe's and Slack's signing, the timestamp is part of the signed text, so a captured
 * request cannot be replayed later than the receiver's tolerance. A receiver verifies the raw
 * bytes (before any JSON parsing) with `verifySignature`, and drops a repeated idempotency key.
 * The header may hold several `v1=` values separated by commas (for rotating the secret); any
 * one that matches is enough.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import type { Notification } from './events.ts';
import type { Receiver } from './receiver.ts';

/**
 * The `x-outage-signature` value of `body` sent at `timestampS`.
 *
 * @example signature(secret, 1580737501, '{"type":"incident.opened",…}') // 'v1=5f0c…'
 */
export function signature(secret: string, timestampS: number | string, body: string | Uint8Array): string {
  return `v1=${createHmac('sha256', secret).update(`${timestampS}.`).update(body).digest('hex')}`;
}

/**
 * Checks a webhook's signature: the HMAC of `"<timestamp>.<raw body>"` with the shared secret,
 * and a timestamp within `toleranceS` seconds of `nowMs`. Compares in constant time.
 *
 * @example
 * // in a receiver, with the raw request bytes:
 * const ok = verifySignature(secret, req.headers['x-outage-timestamp'], rawBody, req.headers['x-outage-signature'], 300);
 * if (!ok) return res.writeHead(401).end();
 */
export function verifySignature(
  secret: string,
  timestamp: string | string[] | undefined,
  body: string | Uint8Array,
  header: string | string[] | undefined,
  toleranceS = 300,
  nowMs = Date.now(),
): boolean {
  if (typeof timestamp !== 'string' || typeof header !== 'string' || !/^\d{1,15}$/.test(timestamp)) return false;
  if (Math.abs(nowMs / 1000 - Number(timestamp)) > toleranceS) return false;
  const expected = Buffer.from(signature(secret, timestamp, body).slice(3), 'hex');
  return header
    .split(',')
    .map((part) => part.trim())
    .filter((part) => part.startsWith('v1=') && /^[0-9a-f]{64}$/i.test(part.slice(3)))
    .some((part) => timingSafeEqual(Buffer.from(part.slice(3), 'hex'), expected));
}

export function webhookReceiver(id: string, url: string, secret: string): Receiver {
  return {
    id,
    kind: 'webhook',
    origin: new URL(url).origin,
    request(n: Notification, nowMs: number) {
      const body = JSON.stringify(n);
      const timestamp = Math.floor(nowMs / 1000);
      return {
        url,
        headers: {
          'content-type': 'application/json',
          'x-outage-timestamp': String(timestamp),
          'x-outage-signature': signature(secret, timestamp, body),
          'idempotency-key': n.idempotencyKey,
        },
        body,
      };
    },
  };
}

/**
 * Timeouts for an HTTP server that faces clients we do not control, shared by every process that
 * serves the report API (`services/report-ingest/main.ts`, `outage serve`).
 *
 * Node's defaults wait 300 s for a request and check only every 30 s, so a client that sends a
 * `Content-Length` larger than its body, a chunked body that never ends, or its headers one byte
 * at a time holds a connection for about five minutes. Here such a request is answered
 * `408 Request Timeout` (Node writes it and closes the connection) within seconds. The timeouts
 * cover receiving the request only: a long response (a server-sent event stream) is not cut.
 */
import type { Server } from 'node:http';

export interface HardenOptions {
  /** Time to receive the request headers. */
  headersTimeoutMs?: number;
  /** Time to receive the whole request, headers and body. */
  requestTimeoutMs?: number;
  /** How often unfinished requests are checked against those limits (the answer comes at most this much later). */
  checkIntervalMs?: number;
  /** How long an idle keep-alive connection stays open between requests. */
  keepAliveTimeoutMs?: number;
}

/** A 256 KB report batch needs well under a second on any working link; 15 s leaves slow mobile clients room. */
export const HTTP_TIMEOUT_DEFAULTS: Required<HardenOptions> = {
  headersTimeoutMs: 10_000,
  requestTimeoutMs: 15_000,
  checkIntervalMs: 1_000,
  keepAliveTimeoutMs: 5_000,
};

/**
 * Sets the request timeouts of `server`; call it before `listen` (the checking interval starts
 * when the server starts listening).
 *
 * @example
 * const server = hardenServer(createServer(app));
 * server.listen(8080);
 */
export function hardenServer<S extends Server>(server: S, opts: HardenOptions = {}): S {
  if (server.listening) throw new Error('hardenServer: call it before listen(), the timeout checks start with listening');
  const o = { ...HTTP_TIMEOUT_DEFAULTS, ...opts };
  server.headersTimeout = Math.min(o.headersTimeoutMs, o.requestTimeoutMs);
  server.requestTimeout = o.requestTimeoutMs;
  server.keepAliveTimeout = o.keepAliveTimeoutMs;
  // Read by Node when the server starts listening (the `connectionsCheckingInterval` option of createServer).
  (server as unknown as { connectionsCheckingInterval: number }).connectionsCheckingInterval = o.checkIntervalMs;
  return server;
}

/**
 * The operations endpoints every long-running service exposes: `/metrics` (Prometheus),
 * `/healthz` (liveness: the process answers) and `/readyz` (readiness: started, its consumers
 * running and keeping up, its store accepting writes; 503 with the reasons in the body otherwise).
 */
import { createServer, type Server } from 'node:http';
import type { Health } from './health.ts';
import type { Metrics } from './metrics.ts';

export interface OpsServerOptions {
  port: number;
  metrics: Metrics;
  /** Readiness: not ok makes `/readyz` answer 503 with `not ready: <reason>`. */
  ready: () => Health;
}

export function startOpsServer(opts: OpsServerOptions): Promise<Server> {
  const server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    if (req.method !== 'GET') {
      res.writeHead(405, { allow: 'GET' }).end();
    } else if (path === '/metrics') {
      opts.metrics.registry.metrics().then(
        (text) => res.writeHead(200, { 'content-type': opts.metrics.registry.contentType }).end(text),
        (err: Error) => res.writeHead(500).end(err.message),
      );
    } else if (path === '/healthz') {
      res.writeHead(200, { 'content-type': 'text/plain' }).end('ok\n');
    } else if (path === '/readyz') {
      let ready: Health;
      try {
        ready = opts.ready();
      } catch (err) {
        ready = { ok: false, reason: `readiness check failed: ${(err as Error).message}` };
      }
      res.writeHead(ready.ok ? 200 : 503, { 'content-type': 'text/plain; charset=utf-8' }).end(ready.ok ? 'ready\n' : `not ready: ${ready.reason ?? 'unknown'}\n`);
    } else {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found\n');
    }
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port, () => resolve(server));
  });
}

/** The report API as its own process: REPORT_API_PORT for reports, PORT for /metrics, /healthz, /readyz. */
import { randomBytes } from 'node:crypto';
import { createServer } from 'node:http';
import { loadCatalog } from '../../lib/catalog.ts';
import { ConfigError } from '../../lib/config.ts';
import { hardenServer } from '../../lib/http-server.ts';
import { kafkaBus, runService } from '../../lib/runtime.ts';
import { createReportApp } from './app.ts';

await runService('report-ingest', async (rt) => {
  const tokens = rt.env.REPORT_API_TOKENS?.split(',').filter(Boolean) ?? [];
  const allowAnonymous = rt.env.REPORT_ANONYMOUS === 'true';
  if (tokens.length === 0 && !allowAnonymous) throw new ConfigError('set REPORT_API_TOKENS, REPORT_ANONYMOUS=true, or both: otherwise no one can report');
  if (!rt.env.REPORT_SALT) rt.logger.warn('REPORT_SALT is not set: reporter hashes change at every restart, so one reporter may count twice across one');
  const app = createReportApp({
    bus: await kafkaBus(rt, 'report-ingest'),
    catalog: loadCatalog(rt.env.CATALOG),
    logger: rt.logger,
    metrics: rt.metrics,
    tokens,
    allowAnonymous,
    salt: rt.env.REPORT_SALT ?? randomBytes(32).toString('hex'),
    maxBodyBytes: rt.env.REPORT_MAX_BODY_BYTES,
  });
  // Request timeouts: a stalled body or trickled headers get 408 within seconds (lib/http-server.ts).
  const server = hardenServer(createServer(app)).listen(rt.env.REPORT_API_PORT);
  await new Promise<void>((resolve, reject) => server.once('listening', resolve).once('error', reject));
  rt.onStop(() => new Promise((r) => server.close(r)));
  rt.logger.info({ port: rt.env.REPORT_API_PORT, tokens: tokens.length, allowAnonymous }, 'accepting reports');
});

/** The certificate inventory as its own process: scans CERT_DIRS and CERT_URLS every CERT_SCAN_INTERVAL_S seconds. */
import { existsSync } from 'node:fs';
import { loadCatalog } from '../../lib/catalog.ts';
import { ConfigError, p12Passwords } from '../../lib/config.ts';
import { kafkaBus, runService } from '../../lib/runtime.ts';
import { scanOnce } from './inventory.ts';

await runService('cert-inventory', async (rt) => {
  if (!rt.env.CERT_DIRS && !rt.env.CERT_URLS) throw new ConfigError('neither CERT_DIRS nor CERT_URLS is set: name the directories or URLs to scan, comma-separated');
  const deps = {
    bus: await kafkaBus(rt, 'cert-inventory'),
    logger: rt.logger,
    metrics: rt.metrics,
    dirs: rt.env.CERT_DIRS?.split(',') ?? [],
    urls: rt.env.CERT_URLS?.split(',') ?? [],
    sourceOptions: { p12Passwords: p12Passwords(rt.env) },
    // The catalog, when there is one, names the services of each certificate in the metrics' `service` label.
    ...(existsSync(rt.env.CATALOG) ? { catalog: loadCatalog(rt.env.CATALOG) } : {}),
  };
  await scanOnce(deps);
  const timer = setInterval(() => void scanOnce(deps).catch((err: unknown) => rt.logger.error({ err }, 'scan failed')), rt.env.CERT_SCAN_INTERVAL_S * 1000);
  rt.onStop(async () => clearInterval(timer));
});

/** The certificate inventory as its own process: scans CERT_DIRS every CERT_SCAN_INTERVAL_S seconds. */
import { ConfigError } from '../../lib/config.ts';
import { kafkaBus, runService } from '../../lib/runtime.ts';
import { scanOnce } from './inventory.ts';

await runService('cert-inventory', async (rt) => {
  if (!rt.env.CERT_DIRS) throw new ConfigError('CERT_DIRS is not set: name the directories to scan, comma-separated');
  const deps = { bus: await kafkaBus(rt, 'cert-inventory'), logger: rt.logger, metrics: rt.metrics, dirs: rt.env.CERT_DIRS.split(',') };
  await scanOnce(deps);
  const timer = setInterval(() => void scanOnce(deps).catch((err: unknown) => rt.logger.error({ err }, 'scan failed')), rt.env.CERT_SCAN_INTERVAL_S * 1000);
  rt.onStop(async () => clearInterval(timer));
});

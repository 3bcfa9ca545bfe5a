/** `outage certs scan|warnings`: the certificate inventory and its early warnings. */
import { existsSync, lstatSync, statSync } from 'node:fs';
import { dirname } from 'node:path';
import type { Command } from 'commander';
import { loadCatalog } from '../../lib/catalog.ts';
import { ConfigError, loadEnv, p12Passwords as p12PasswordsOf } from '../../lib/config.ts';
import { migrate } from '../../lib/store/migrate.ts';
import { openStore } from '../../lib/store/store.ts';
import { storeOf, withDataDir, type DataDirOption } from '../store-option.ts';

/** Whether a path exists, a dangling symbolic link included. */
function lexists(p: string): boolean {
  try {
    lstatSync(p);
    return true;
  } catch {
    return false;
  }
}

function isDirectory(p: string): boolean {
  try {
    return statSync(p).isDirectory();
  } catch {
    return false;
  }
}

export function register(program: Command): void {
  const certs = program.command('certs').description('certificate inventory and early warnings');
  certs
    .command('scan')
    .description('scan files, directories and URLs (PEM, DER, PKCS#7, PKCS#12, JWKS, Kubernetes secrets and kubeconfig, CT search results) and print the inventory sorted by expiry, with the services each certificate serves')
    .argument('<paths...>', 'files, directories or http(s):// URLs')
    .option('--catalog <file>', 'catalog to map certificates to services (default: CATALOG when that file exists)')
    .option('--p12-password <file=password>', 'PKCS#12 password for a file name, or *=password for any (repeatable)', (v: string, prev: string[]) => [...prev, v], [] as string[])
    .option('--json', 'one JSON object per certificate (observation, daysLeft, services) instead of the table')
    .action(async (paths: string[], opts: { catalog?: string; p12Password: string[]; json?: boolean }) => {
      const { scanCertDir, scanUrls } = await import('../../lib/certs/scan.ts');
      const { serviceLinks } = await import('../../lib/certs/services.ts');
      const { formatInventory, inventoryRows } = await import('../certs.ts');
      const env = loadEnv();
      const p12Passwords = p12PasswordsOf({ ...env, CERT_P12_PASSWORDS: [env.CERT_P12_PASSWORDS, ...opts.p12Password].filter(Boolean).join(',') || undefined });
      const ts = new Date().toISOString();
      const results = [];
      for (const p of paths) {
        if (/^https?:\/\//.test(p)) results.push(await scanUrls([p], ts, { p12Passwords }));
        else if (!lexists(p)) throw new ConfigError(`${p}: no such file or directory`);
        // A dangling link, a loop or a FIFO named here is reported by the scan like one inside a folder.
        else results.push(await scanCertDir(p, ts, isDirectory(p) ? p : dirname(p), { p12Passwords }));
      }
      const observations = results.flatMap((r) => r.observations);
      for (const e of results.flatMap((r) => r.errors)) process.stderr.write(`${e.file}:${e.line}: ${e.message}\n`);
      const catalogFile = opts.catalog ?? (existsSync(env.CATALOG) ? env.CATALOG : undefined);
      const links = catalogFile ? serviceLinks(loadCatalog(catalogFile), observations) : new Map();
      const rows = inventoryRows(observations, links, Date.now());
      if (opts.json) for (const r of rows) process.stdout.write(`${JSON.stringify(r)}\n`);
      else process.stdout.write(`${formatInventory(rows, Date.now())}\n${rows.length} certificate(s)${catalogFile ? ` mapped with ${catalogFile}` : ''}\n`);
      if (results.some((r) => r.errors.length > 0)) process.exitCode = 2;
    });

  withDataDir(
    certs
      .command('warnings')
      .description('early warnings from the stored inventory: certificates expiring within their horizons (or expired), with blast radius and undeployed renewals; stores them in cert_warnings')
      .option('--at <iso>', 'as of this time (default: now)'),
  )
    .option('--json', 'one JSON object per warning')
    .action(async (opts: DataDirOption & { at?: string; json?: boolean }) => {
      const { storeWarnings } = await import('../replay.ts');
      const env = loadEnv();
      const atMs = opts.at ? Date.parse(opts.at) : Date.now();
      if (Number.isNaN(atMs)) throw new ConfigError(`--at ${opts.at}: not an ISO-8601 time`);
      const store = await openStore(storeOf(opts, env));
      try {
        await migrate(store);
        const warnings = await storeWarnings(store, loadCatalog(env.CATALOG), atMs);
        for (const w of warnings) process.stdout.write(opts.json ? `${JSON.stringify(w)}\n` : `${w.level.padEnd(8)} ${w.notAfter.slice(0, 16).replace('T', ' ')}  ${w.name}: ${w.reason}\n`);
        if (!opts.json) process.stdout.write(`${warnings.length} warning(s) as of ${new Date(atMs).toISOString()}\n`);
      } finally {
        await store.close();
      }
    });
}

/** `outage probe <target>`: one check, its verdict and the presented chain. */
import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import { ConfigError } from '../../lib/config.ts';

export function register(program: Command): void {
  program
    .command('probe')
    .description('run one check (http://, https://, tls://host:port, tcp://host:port, dns://host) and print the result and the presented certificate chain')
    .argument('<target>', 'e.g. https://teams.microsoft.com/ or tls://login.microsoftonline.com:443')
    .option('--ca <file>', 'PEM file of extra trusted roots')
    .option('--ip <address>', 'connect to this address instead of resolving the host')
    .option('--servername <name>', 'TLS SNI name, when it differs from the host')
    .option('--timeout <ms>', 'timeout', (v) => Number(v), 10_000)
    .option('--json', 'print the ProbeResult and chain as JSON')
    .action(async (target: string, opts: { ca?: string; ip?: string; servername?: string; timeout: number; json?: boolean }) => {
      const { runProbe, specFor } = await import('../../services/prober/probes/index.ts');
      const { formatProbe } = await import('../probe.ts');
      let spec;
      try {
        spec = specFor(target, 'adhoc', {
          timeoutMs: opts.timeout,
          ...(opts.ca ? { ca: readFileSync(opts.ca, 'utf8') } : {}),
          ...(opts.ip ? { ipOverride: opts.ip } : {}),
          ...(opts.servername ? { servername: opts.servername } : {}),
        });
      } catch (err) {
        throw new ConfigError((err as Error).message);
      }
      const outcome = await runProbe(spec);
      process.stdout.write(opts.json ? `${JSON.stringify(outcome, null, 2)}\n` : `${formatProbe(outcome, Date.now())}\n`);
      if (!outcome.result.ok) process.exitCode = 2;
    });
}

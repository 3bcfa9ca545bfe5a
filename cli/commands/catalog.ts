/** `outage catalog check`: validate a catalog file. */
import type { Command } from 'commander';
import { loadCatalog } from '../../lib/catalog.ts';
import { loadEnv } from '../../lib/config.ts';

export function register(program: Command): void {
  program
    .command('catalog')
    .description('check a catalog file')
    .command('check')
    .description('validate catalog.yaml and list its services; exits non-zero listing every problem as file:line:column: problem (schema, duplicate ids, unknown dependencies, dependency cycles, YAML alias bombs)')
    .argument('[file]', 'catalog file (default: CATALOG or ./catalog.yaml)')
    .action((file: string | undefined) => {
      const path = file ?? loadEnv().CATALOG;
      const catalog = loadCatalog(path);
      process.stdout.write(`${path}: ${catalog.services.length} services: ${catalog.services.map((s) => s.id).join(', ')}\n`);
    });
}

/** `outage migrate` and `outage sql`: the store's tables and ad-hoc queries. */
import type { Command } from 'commander';
import { loadEnv } from '../../lib/config.ts';
import { migrate } from '../../lib/store/migrate.ts';
import { openStore } from '../../lib/store/store.ts';
import { storeOf, withDataDir, type DataDirOption } from '../store-option.ts';

export function register(program: Command): void {
  withDataDir(program.command('migrate').description('create or update the ClickHouse tables (idempotent)')).action(async (opts: DataDirOption) => {
    const store = await openStore(storeOf(opts, loadEnv()));
    try {
      const applied = await migrate(store);
      process.stdout.write(applied.length > 0 ? `applied migrations ${applied.join(', ')} to ${store.location}\n` : `${store.location} is up to date\n`);
    } finally {
      await store.close();
    }
  });

  withDataDir(
    program
      .command('sql')
      .description('run one SQL query against the store and print the rows as JSON lines (while `outage serve` holds a chDB directory, ask its API instead)')
      .argument('<query>', 'SQL, e.g. "SELECT count() FROM reports FINAL"'),
  ).action(async (query: string, opts: DataDirOption) => {
    const store = await openStore(storeOf(opts, loadEnv()));
    try {
      for (const row of await store.query(query)) process.stdout.write(`${JSON.stringify(row)}\n`);
    } finally {
      await store.close();
    }
  });
}

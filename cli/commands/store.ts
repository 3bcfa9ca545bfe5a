/** `outage migrate` and `outage sql`: the store's tables and ad-hoc queries. */
import type { Command } from 'commander';
import { ConfigError, loadEnv } from '../../lib/config.ts';
import { migrate, migrationPlan } from '../../lib/store/migrate.ts';
import { openStore } from '../../lib/store/store.ts';
import { storeOf, withDataDir, type DataDirOption } from '../store-option.ts';

export function register(program: Command): void {
  withDataDir(program.command('migrate').description('create or update the ClickHouse tables (idempotent)'))
    .option('--cluster <name>', 'create the tables on this ClickHouse cluster: replicated tables *_local and Distributed tables over them, ON CLUSTER (default: CLICKHOUSE_CLUSTER)')
    .option('--print', 'print the statements instead of running them (with --cluster: the cluster DDL)')
    .action(async (opts: DataDirOption & { cluster?: string; print?: boolean }) => {
      const env = loadEnv();
      const cluster = opts.cluster ?? env.CLICKHOUSE_CLUSTER;
      if (opts.print) {
        const plan = migrationPlan(undefined, cluster);
        for (const sql of [...plan.table, ...plan.migrations.flatMap((m) => m.statements)]) process.stdout.write(`${sql};\n\n`);
        return;
      }
      const config = storeOf(opts, env);
      if (cluster && config.kind !== 'server') throw new ConfigError('--cluster needs a ClickHouse server (CLICKHOUSE_URL): chDB has no clusters');
      const store = await openStore(config);
      try {
        const applied = await migrate(store, undefined, cluster);
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

/**
 * The one rule every command uses to pick its store: `--data-dir` names a chDB directory,
 * otherwise `CLICKHOUSE_URL` (a server) or `OUTAGE_DATA_DIR` (chDB) from the environment.
 */
import type { Command } from 'commander';
import { storeConfig, type Env } from '../lib/config.ts';
import type { StoreConfig } from '../lib/store/store.ts';

export interface DataDirOption {
  dataDir?: string;
}

/** Adds `--data-dir` to a command. */
export function withDataDir(cmd: Command): Command {
  return cmd.option('--data-dir <dir>', 'chDB data directory (default: CLICKHOUSE_URL if set, else OUTAGE_DATA_DIR or ./data/chdb)');
}

/** @example storeOf({ dataDir: 'data/chdb' }, loadEnv()) // → { kind: 'chdb', dataDir: 'data/chdb' } */
export function storeOf(opts: DataDirOption, env: Env): StoreConfig {
  return opts.dataDir ? { kind: 'chdb', dataDir: opts.dataDir } : storeConfig(env);
}

/**
 * The DDL of `schemas/clickhouse/` as data: one migration per `NNN_name.sql` file, in order.
 * `migrate.ts` applies them; `cluster-ddl.ts` derives their replicated, distributed variant.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const DDL_DIR = fileURLToPath(new URL('../../schemas/clickhouse/', import.meta.url));

export interface Migration {
  version: number;
  name: string;
  statements: string[];
}

/** Reads `NNN_name.sql` files; statements end with `;` at the end of a line. */
export function loadMigrations(dir = DDL_DIR): Migration[] {
  return readdirSync(dir)
    .filter((f) => /^\d{3}_[\w-]+\.sql$/.test(f))
    .sort()
    .map((file) => {
      const text = readFileSync(`${dir}/${file}`, 'utf8')
        .split('\n')
        .filter((l) => !l.trimStart().startsWith('--'))
        .join('\n');
      return {
        version: Number(file.slice(0, 3)),
        name: file.slice(4, -4),
        statements: text.split(/;\s*$/m).map((s) => s.trim()).filter(Boolean),
      };
    });
}

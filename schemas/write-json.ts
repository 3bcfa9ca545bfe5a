/**
 * Writes `schemas/json/<Contract>.schema.json` from `contracts.ts` (`npm run schemas`), so
 * consumers in other languages get the same contracts. A test fails when they are out of date.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Catalog } from './catalog.ts';
import { contracts } from './contracts.ts';

export const JSON_DIR = fileURLToPath(new URL('./json/', import.meta.url));

export function jsonSchemas(): Record<string, string> {
  const all = { ...contracts, Catalog };
  return Object.fromEntries(
    Object.entries(all).map(([name, schema]) => [
      `${name}.schema.json`,
      `${JSON.stringify({ $schema: 'http://json-schema.org/draft-07/schema#', ...schema }, null, 2)}\n`,
    ]),
  );
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  mkdirSync(JSON_DIR, { recursive: true });
  for (const [file, text] of Object.entries(jsonSchemas())) writeFileSync(JSON_DIR + file, text);
  process.stdout.write(`wrote ${Object.keys(jsonSchemas()).length} schemas to ${JSON_DIR}\n`);
}

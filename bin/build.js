#!/usr/bin/env node
// The JavaScript build the image runs (Dockerfile): compiles cli/, lib/, schemas/ and services/
// with tsconfig.build.json (the `.ts` import specifiers become `.js`) and copies the files the
// code reads at run time (the ClickHouse DDL, the status page). `--out-dir D` builds elsewhere
// than dist/ (the build test). Run the result with `node dist/cli/main.js …` or
// `node dist/services/<name>/main.js`: no TypeScript loader at run time.
import { execFileSync } from 'node:child_process';
import { cpSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const i = process.argv.indexOf('--out-dir');
const outDir = resolve(i > 0 ? process.argv[i + 1] : join(root, 'dist'));
const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');

rmSync(outDir, { recursive: true, force: true });
execFileSync(process.execPath, [tsc, '-p', join(root, 'tsconfig.build.json'), '--outDir', outDir], { stdio: 'inherit' });
for (const dir of ['schemas/clickhouse', 'services/api/page']) cpSync(join(root, dir), join(outDir, dir), { recursive: true });
process.stdout.write(`built ${outDir}\n`);

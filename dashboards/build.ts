/**
 * Writes every dashboard as JSON into `dashboards/build/` (`npm run dashboards`), ready for
 * Grafana's file provisioning or an import. A test fails when the files are out of date.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { overviewDashboard } from './overview.ts';

export const BUILD_DIR = fileURLToPath(new URL('./build/', import.meta.url));

export function dashboardFiles(): Record<string, string> {
  return { 'outage-overview.json': `${JSON.stringify(overviewDashboard(), null, 2)}\n` };
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  mkdirSync(BUILD_DIR, { recursive: true });
  for (const [file, text] of Object.entries(dashboardFiles())) writeFileSync(BUILD_DIR + file, text);
  process.stdout.write(`wrote ${Object.keys(dashboardFiles()).join(', ')} to ${BUILD_DIR}\n`);
}

/** The readable form of a replay's result (the default output of `outage replay`). */
import type { Incident } from '../schemas/contracts.ts';
import type { ReplayResult } from './replay.ts';

const pct = (x: number) => `${Math.round(x * 100)}%`;
const time = (iso: string | null) => (iso ? iso.replace('T', ' ').replace(/:\d\d(\.\d+)?Z$/, ' UTC') : '—');

export function formatIncident(i: Incident): string {
  const lines = [
    `● ${i.id}  ${i.service}  [${i.status}]`,
    `  started ${time(i.startedAt)} · detected ${time(i.detectedAt)} · resolved ${time(i.resolvedAt)}`,
    `  peak ${i.peakPerMin}/min vs baseline ${i.baselinePerMin}/min`,
  ];
  if (i.hints.length === 0) lines.push('  no hints: no certificate, probe, dependency or vendor evidence');
  i.hints.forEach((h, n) => {
    const mark = h.confidence >= 0.5 ? 'likely cause' : 'context';
    lines.push(`  ${n + 1}. ${h.kind} ${pct(h.confidence)} (${mark})`, `     ${h.summary}`);
  });
  return lines.join('\n');
}

export function formatSummary(r: ReplayResult, seconds: number): string {
  const e = r.events;
  const head = [
    `Replayed ${e.reports} reports, ${e.posts} status posts, ${e.probes} probe results, ${e.certs} certificate observations in ${seconds.toFixed(1)} s.`,
    r.inputErrors.length > 0 ? `${r.inputErrors.length} input line(s)/file(s) skipped (listed above on stderr).` : 'No input errors.',
    `${r.incidents.length} incident(s):`,
    '',
  ];
  const body = r.incidents.map(formatIncident).join('\n\n');
  const bound = r.warnings.filter((w) => w.services.length > 0);
  const warnings =
    r.warnings.length === 0
      ? []
      : [
          '',
          `Certificate warnings at the end of the input (${bound.length} on services, ${r.warnings.length - bound.length} more bound to none; all in the cert_warnings table):`,
          ...bound.slice(0, 8).map((w) => `  ${w.level.padEnd(8)} ${w.name}: ${w.reason}`),
        ];
  const tail = [
    '',
    r.store.kind === 'chdb'
      ? `Rows stored in the chDB data directory ${r.store.location}; query them with:\n  node bin/outage.js sql --data-dir ${r.store.location} "SELECT id, service, status, top_hint_kind FROM incidents FINAL"`
      : `Rows stored in ${r.store.location}.`,
  ];
  return [...head, body, ...warnings, ...tail].join('\n');
}

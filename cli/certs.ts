/** `outage certs scan`: an inventory table sorted by expiry, with the services each certificate serves. */
import type { CertObservation } from '../schemas/contracts.ts';
import { commonName, daysLeft } from '../lib/certs/facts.ts';
import type { ServiceLink } from '../lib/certs/services.ts';

export interface InventoryRow {
  observation: CertObservation;
  daysLeft: number;
  services: ServiceLink[];
}

export function inventoryRows(observations: CertObservation[], links: Map<string, ServiceLink[]>, nowMs: number): InventoryRow[] {
  return observations
    .map((o) => ({ observation: o, daysLeft: Math.floor(daysLeft(Date.parse(o.notAfter), nowMs)), services: links.get(o.sha256) ?? [] }))
    .sort((a, b) => Date.parse(a.observation.notAfter) - Date.parse(b.observation.notAfter) || a.observation.sha256.localeCompare(b.observation.sha256));
}

export function formatInventory(rows: InventoryRow[], nowMs: number): string {
  const cn = (dn: string) => commonName(dn) ?? dn;
  const table = rows.map((r) => {
    const o = r.observation;
    const state = Date.parse(o.notBefore) > nowMs ? 'not yet valid' : r.daysLeft < 0 ? `EXPIRED ${-r.daysLeft}d ago` : `${r.daysLeft}d left`;
    return [
      o.notAfter.slice(0, 16).replace('T', ' '),
      state,
      `${cn(o.subject)}${o.isCA ? ' [CA]' : ''}`,
      o.sha256.slice(0, 12),
      [...new Set(r.services.map((s) => s.service))].join(', ') || '—',
      o.endpoint ?? o.source,
    ];
  });
  const head = ['not after (UTC)', 'state', 'subject', 'sha256', 'services', 'where'];
  const widths = head.map((h, i) => Math.min(60, Math.max(h.length, ...table.map((r) => r[i]!.length))));
  const line = (cells: string[]) => cells.map((c, i) => c.slice(0, 60).padEnd(widths[i]!)).join('  ').trimEnd();
  return [line(head), line(widths.map((w) => '-'.repeat(w))), ...table.map(line)].join('\n');
}

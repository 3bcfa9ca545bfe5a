/**
 * Every catalog service's state, as a status page shows it (Downdetector's three levels), as of
 * the API's event time:
 *
 * - `problem`: an incident of the service is open;
 * - `possible_problem`: an incident resolved within the last hour, or the last 15 minutes hold more
 *   than 3× the seasonal baseline of those minutes (and at least the detector's minimum count),
 *   or the latest check of one of its probes in the last 5 minutes failed;
 * - `ok` otherwise.
 */
import type { IncidentSummary, ServiceState } from '../../schemas/api.ts';
import type { Catalog } from '../../lib/catalog.ts';
import type { Store } from '../../lib/store/store.ts';
import { defaultParams } from '../correlator/core/params.ts';
import type { Inventory } from './certificates.ts';
import { currentIncidents, probeStatuses, reportCounts } from './queries.ts';
import { SEASON_DAYS, seasonalBaseline } from './series.ts';
import { HOUR_MS, MINUTE_MS, floorMinute } from './time.ts';

const RECENT_RESOLVED_MS = HOUR_MS;
const SPIKE_WINDOW_MS = 15 * MINUTE_MS;
const SPIKE_FACTOR = 3;
const PROBE_WINDOW_MS = 5 * MINUTE_MS;
/** The last hour in spike windows: the last one is the spike window itself. */
const LAST_WINDOW = HOUR_MS / SPIKE_WINDOW_MS - 1;

const minutesAgo = (asOfMs: number, ms: number) => `${Math.max(0, Math.round((asOfMs - ms) / MINUTE_MS))} min ago`;

/**
 * @example
 * const states = await serviceStates(store, catalog, inventory, asOfMs);
 * states.find((s) => s.id === 'teams')?.state // 'problem' while an incident is open
 */
export async function serviceStates(store: Store, catalog: Catalog, inventory: Inventory, asOfMs: number): Promise<ServiceState[]> {
  const ids = catalog.services.map((s) => s.id);
  const now = floorMinute(asOfMs);
  const windowFrom = now - SPIKE_WINDOW_MS;
  const [incidents, { buckets: hour, first }, probes] = await Promise.all([
    currentIncidents(store, asOfMs - RECENT_RESOLVED_MS, asOfMs),
    // One read for the last hour (its day-0 windows summed) and the spike window (the last one,
    // with the same window on the days before for its baseline).
    reportCounts(store, { services: ids, fromS: (now - HOUR_MS) / 1000, toS: now / 1000, stepS: SPIKE_WINDOW_MS / 1000, days: SEASON_DAYS }),
    probeStatuses(store, ids, asOfMs - PROBE_WINDOW_MS, asOfMs),
  ]);

  return catalog.services.map((svc) => {
    const mine = (i: IncidentSummary) => i.service === svc.id;
    const open = incidents.find((i) => mine(i) && i.status === 'open') ?? null;
    const resolved = incidents.find((i) => mine(i) && i.status === 'resolved');
    const counts = hour.filter((r) => r.service === svc.id);
    const rows = counts.filter((r) => r.bucket === LAST_WINDOW).map((r) => ({ ...r, bucket: 0 }));
    const recent = rows.find((r) => r.daysBack === 0)?.reports ?? 0;
    const baseline = seasonalBaseline(rows, { fromMs: windowFrom, stepMs: SPIKE_WINDOW_MS, buckets: 1, firstMs: first.get(svc.id), days: SEASON_DAYS })[0] ?? null;
    const failing = probes.filter((p) => p.service === svc.id && !p.lastOk);

    let state: ServiceState['state'] = 'ok';
    let reason: string;
    if (open) {
      state = 'problem';
      const hint = open.topHint ? `; likely cause: ${open.topHint.kind} (${Math.round(open.topHint.confidence * 100)} %)` : '';
      reason = `Incident ${open.id} open since ${open.startedAt.slice(0, 16).replace('T', ' ')} UTC${hint}.`;
    } else if (resolved) {
      state = 'possible_problem';
      reason = `Incident ${resolved.id} resolved ${minutesAgo(asOfMs, Date.parse(resolved.resolvedAt!))}.`;
    } else if (baseline !== null && recent >= defaultParams.detector.minCount && recent > SPIKE_FACTOR * baseline) {
      state = 'possible_problem';
      reason = `${recent} reports in the last 15 minutes, more than ${SPIKE_FACTOR}× the usual ${baseline} at this time of day.`;
    } else if (failing.length > 0) {
      state = 'possible_problem';
      const codes = [...new Set(failing.map((p) => p.lastErrorCode ?? 'failed'))].join(', ');
      reason = `Probes failing in the last 5 minutes: ${failing.map((p) => `${p.target}${p.region ? ` (${p.region})` : ''}`).join(', ')} (${codes}).`;
    } else {
      reason = `No incident; ${recent} reports in the last 15 minutes${baseline === null ? '' : ` (usually ${baseline})`}.`;
    }
    return {
      id: svc.id,
      name: svc.name,
      state,
      reason,
      openIncident: open,
      dependsOn: svc.dependsOn ?? [],
      reportsLastHour: counts.filter((r) => r.daysBack === 0).reduce((sum, r) => sum + r.reports, 0),
      worstCertificate: inventory.worstFor(svc.id),
    };
  });
}

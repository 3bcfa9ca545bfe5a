/**
 * Outage overview: reports against the baseline, the incidents of the time range with their first
 * hint (each linked to the drill-down), probe success per endpoint and region, and the
 * certificates that expire soonest. Variables: service and region.
 */
import type * as dashboard from '@grafana/grafana-foundation-sdk/dashboard';
import type * as table from '@grafana/grafana-foundation-sdk/table';
import type * as timeseries from '@grafana/grafana-foundation-sdk/timeseries';
import {
  UID,
  baseDashboard,
  dashboardLinks,
  drillDownLink,
  inVar,
  regionVariable,
  reportsVsBaselineSql,
  rootCauseAnnotations,
  serviceVariable,
  tablePanel,
  timeSeries,
} from './defaults.ts';

export function reportsVsBaselinePanel(): timeseries.PanelBuilder {
  return timeSeries(
    'User reports per minute vs baseline',
    'Distinct reports per minute of the selected services, and the baseline: the median of the same minute on each of the previous 7 days.',
    reportsVsBaselineSql(inVar('service', 'service')),
  )
    .unit('short')
    .min(0)
    .span(24)
    .height(9);
}

export function incidentsPanel(): table.PanelBuilder {
  return tablePanel(
    'Incidents in the time range',
    'Every incident of the selected services that overlaps the time range, open ones first, with its first hint. The id opens the drill-down.',
    `SELECT id, service, status, started_at, detected_at, resolved_at,
            round(peak_per_min) AS peak_per_min, round(baseline_per_min, 2) AS baseline_per_min,
            top_hint_kind AS first_hint, round(top_hint_confidence, 2) AS confidence, top_hint_summary AS first_hint_summary
     FROM incidents FINAL
     WHERE ${inVar('service', 'service')}
       AND started_at <= $__toTime AND (resolved_at IS NULL OR resolved_at >= $__fromTime)
     ORDER BY status = 'resolved', started_at DESC
     LIMIT 200`,
  )
    .overrideByName('id', [{ id: 'links', value: [drillDownLink()] }])
    .overrideByName('confidence', [{ id: 'unit', value: 'percentunit' }])
    .span(24);
}

export function probeSuccessPanel(): timeseries.PanelBuilder {
  return timeSeries(
    'Probe success by endpoint and region',
    'Share of passed checks per minute, per endpoint and probe region (probe_counts_1m).',
    `SELECT minute AS time, concat(target, ' · ', region) AS endpoint,
            1 - uniqExactIfMerge(failures) / uniqExactMerge(checks) AS success
     FROM probe_counts_1m
     WHERE $__timeFilter(minute) AND ${inVar('service', 'service')} AND ${inVar('region', 'region')}
     GROUP BY time, target, region
     ORDER BY time`,
  )
    .unit('percentunit')
    .min(0)
    .max(1);
}

export function certificatesSoonestPanel(): table.PanelBuilder {
  return tablePanel(
    'Certificates expiring soonest',
    'Certificates of the inventory by expiry (days left at the end of the time range), with the services they serve and would take down (cert_warnings).',
    `SELECT any(o.name) AS name, o.sha256 AS sha256, any(o.subject) AS subject, min(o.not_after) AS not_after,
            round(dateDiff('second', $__toTime, min(o.not_after)) / 86400, 1) AS days_left,
            groupUniqArray(o.place) AS places, any(w.services) AS services, any(w.blast_radius) AS blast_radius
     FROM cert_observations AS o FINAL
     LEFT JOIN (SELECT sha256, services, blast_radius FROM cert_warnings FINAL) AS w ON w.sha256 = o.sha256
     WHERE NOT o.is_ca AND ${onlySelectedBlast()}
     GROUP BY o.sha256
     ORDER BY not_after
     LIMIT 20`,
  );
}

/** Certificates whose blast radius holds a selected service (every one while "All"). */
function onlySelectedBlast(): string {
  return '$__conditionalAll(hasAny(w.blast_radius, [${service:singlequote}]), $service)';
}

export function overviewDashboard(): dashboard.Dashboard {
  return baseDashboard(UID.overview, 'Outage overview', 'Reports against the baseline, incidents with their first hint, probe success and the certificates that expire soonest.')
    .withVariable(serviceVariable())
    .withVariable(regionVariable())
    .annotation(rootCauseAnnotations())
    .links(dashboardLinks())
    .withPanel(reportsVsBaselinePanel())
    .withPanel(incidentsPanel())
    .withPanel(probeSuccessPanel())
    .withPanel(certificatesSoonestPanel())
    .build();
}

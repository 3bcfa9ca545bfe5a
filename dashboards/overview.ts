/**
 * The overview dashboard: report rates, probe failure rates, incidents with their top hint and
 * every hint of the latest revision, with incidents as annotations. One function per panel; the
 * SQL reads the rollups and tables of `schemas/clickhouse/`.
 */
import * as common from '@grafana/grafana-foundation-sdk/common';
import * as dashboard from '@grafana/grafana-foundation-sdk/dashboard';
import * as table from '@grafana/grafana-foundation-sdk/table';
import * as timeseries from '@grafana/grafana-foundation-sdk/timeseries';
import { ClickHouseQueryBuilder } from './clickhouse-query.ts';

/** The data source is a dashboard variable, so the JSON imports into any Grafana. */
export const DS: common.DataSourceRef = { type: 'grafana-clickhouse-datasource', uid: '${datasource}' };

const query = (sql: string, type: 'table' | 'timeSeries' = 'table') => new ClickHouseQueryBuilder(sql, type).datasource(DS);

export function reportRatePanel(): timeseries.PanelBuilder {
  return new timeseries.PanelBuilder()
    .title('User reports per minute')
    .description('Distinct reports per service and minute (report_counts_1m).')
    .datasource(DS)
    .withTarget(
      query(
        `SELECT minute AS time, service, uniqExactMerge(reports) AS reports
         FROM report_counts_1m
         WHERE $__timeFilter(minute)
         GROUP BY time, service
         ORDER BY time`,
        'timeSeries',
      ),
    )
    .unit('short')
    .lineWidth(1)
    .fillOpacity(10)
    .legend(new common.VizLegendOptionsBuilder().showLegend(true).displayMode(common.LegendDisplayMode.List).placement(common.LegendPlacement.Bottom))
    .height(9)
    .span(24);
}

export function probeFailurePanel(): timeseries.PanelBuilder {
  return new timeseries.PanelBuilder()
    .title('Probe failure ratio')
    .description('Failed / all checks per service and minute, over every endpoint and region (probe_counts_1m).')
    .datasource(DS)
    .withTarget(
      query(
        `SELECT minute AS time, service, uniqExactIfMerge(failures) / uniqExactMerge(checks) AS failure_ratio
         FROM probe_counts_1m
         WHERE $__timeFilter(minute)
         GROUP BY time, service
         ORDER BY time`,
        'timeSeries',
      ),
    )
    .unit('percentunit')
    .min(0)
    .max(1)
    .height(8)
    .span(12);
}

export function incidentsPanel(): table.PanelBuilder {
  return new table.PanelBuilder()
    .title('Incidents')
    .description('Latest state of every incident overlapping the time range, with its top hint.')
    .datasource(DS)
    .withTarget(
      query(
        `SELECT id, service, status, started_at, detected_at, resolved_at, peak_per_min, baseline_per_min,
                top_hint_kind, round(top_hint_confidence, 2) AS confidence, top_hint_summary
         FROM incidents FINAL
         WHERE started_at <= $__toTime AND (resolved_at IS NULL OR resolved_at >= $__fromTime)
         ORDER BY started_at DESC`,
      ),
    )
    .height(8)
    .span(12);
}

export function hintsPanel(): table.PanelBuilder {
  return new table.PanelBuilder()
    .title('Root-cause hints')
    .description('Every hint of the latest revision of each incident, best first (at 50 % and above: the likely cause).')
    .datasource(DS)
    .withTarget(
      query(
        `SELECT h.incident_id, h.rank + 1 AS rank, h.kind, round(h.confidence, 2) AS confidence, h.summary, h.related_service, h.cert_sha256
         FROM incident_hints AS h FINAL
         INNER JOIN (SELECT id, revision FROM incidents FINAL
                     WHERE started_at <= $__toTime AND (resolved_at IS NULL OR resolved_at >= $__fromTime)) AS i
           ON h.incident_id = i.id AND h.revision = i.revision
         ORDER BY h.incident_id, rank`,
      ),
    )
    .height(10)
    .span(24);
}

export function certWarningsPanel(): table.PanelBuilder {
  return new table.PanelBuilder()
    .title('Certificate warnings')
    .description('Certificates expiring within their horizons or expired, with the services they serve and their blast radius (cert_warnings, latest computation).')
    .datasource(DS)
    .withTarget(
      query(
        `SELECT level, name, round(days_left, 1) AS days_left, not_after, services, blast_radius, reason
         FROM cert_warnings FINAL
         WHERE notEmpty(services) OR level = 'expired'
         ORDER BY days_left
         LIMIT 200`,
      ),
    )
    .height(8)
    .span(24);
}

/** Incidents as annotations: a region from onset to resolution, tagged for filtering. */
export function incidentAnnotations(): dashboard.AnnotationQueryBuilder {
  return new dashboard.AnnotationQueryBuilder()
    .name('Incidents')
    .datasource(DS)
    .enable(true)
    .iconColor('red')
    .target(
      query(
        `SELECT started_at AS time, resolved_at AS timeEnd, concat(service, ': ', top_hint_kind) AS title,
                top_hint_summary AS text, [service, top_hint_kind, id] AS tags
         FROM incidents FINAL
         WHERE $__timeFilter(started_at)`,
      ),
    );
}

/** Every state change (opened, hints changed, resolved, re-opened) from the annotations table. */
export function changeAnnotations(): dashboard.AnnotationQueryBuilder {
  return new dashboard.AnnotationQueryBuilder()
    .name('Incident changes')
    .datasource(DS)
    .enable(true)
    .iconColor('orange')
    .target(
      query(
        `SELECT time, timeEnd, title, tags, text
         FROM annotations FINAL
         WHERE $__timeFilter(time)
         ORDER BY time`,
      ),
    );
}

export function overviewDashboard(): dashboard.Dashboard {
  return new dashboard.DashboardBuilder('Outage overview')
    .uid('outage-overview')
    .tags(['outage', 'generated'])
    .timezone('utc')
    .time({ from: 'now-24h', to: 'now' })
    .refresh('1m')
    .withVariable(new dashboard.DatasourceVariableBuilder('datasource').label('ClickHouse').type('grafana-clickhouse-datasource'))
    .annotation(incidentAnnotations())
    .annotation(changeAnnotations())
    .withPanel(reportRatePanel())
    .withPanel(probeFailurePanel())
    .withPanel(incidentsPanel())
    .withPanel(hintsPanel())
    .withPanel(certWarningsPanel())
    .build();
}

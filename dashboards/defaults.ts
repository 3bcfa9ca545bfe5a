/**
 * What every dashboard shares: the data source variable, the template variables, the root-cause
 * annotations, the panel defaults and the SQL fragments that more than one panel uses. Panels are
 * plain functions of nothing (or a small config) returning builders; the dashboards only list them.
 *
 * Template variables and macros used in the SQL (all expanded by the plugin; the test expands them
 * the same way, see `macros.ts`):
 *
 * - `$__timeFilter(col)`, `$__fromTime`, `$__toTime`, `$__timeInterval(col)`, `$__interval_s`:
 *   backend macros of grafana-clickhouse-datasource (pkg/macros/macros.go), from the time picker;
 * - `$__conditionalAll(cond, $var)`: `1=1` while the variable is "All", `cond` otherwise (the
 *   plugin's front end, CHDatasource.applyConditionalAll), so "All" never lists every value;
 * - `${var:singlequote}`: Grafana's format, `'a','b'` with `'` escaped, for `IN (…)` and `= …`.
 */
import * as common from '@grafana/grafana-foundation-sdk/common';
import * as dashboard from '@grafana/grafana-foundation-sdk/dashboard';
import * as table from '@grafana/grafana-foundation-sdk/table';
import * as timeseries from '@grafana/grafana-foundation-sdk/timeseries';
import { ClickHouseQueryBuilder, type ClickHouseQueryType } from './clickhouse-query.ts';

/** The data source is a dashboard variable, so the JSON imports into any Grafana. */
export const DS: common.DataSourceRef = { type: 'grafana-clickhouse-datasource', uid: '${datasource}' };

/** Dashboard uids: links between dashboards use them. */
export const UID = {
  overview: 'outage-overview',
  incident: 'outage-incident',
  certificates: 'outage-certificates',
  probes: 'outage-probes',
} as const;

/** Where `outage serve` (or the query API) serves the status page, unless the variable is changed. */
export const STATUS_PAGE_URL = 'http://127.0.0.1:8080';

/** A raw-SQL query of the ClickHouse plugin on the dashboard's data source. */
export const query = (sql: string, type: ClickHouseQueryType = 'table') => new ClickHouseQueryBuilder(sql, type).datasource(DS);

/** `cond` while `$name` selects values, `1=1` while it is "All". */
export const onlySelected = (name: string, cond: string) => `$__conditionalAll(${cond}, $${name})`;

/** `col IN (<selected values>)`, or nothing while the variable is "All". */
export const inVar = (col: string, name: string) => onlySelected(name, `${col} IN (\${${name}:singlequote})`);

/** Certificate hint kinds (a hint about a certificate carries its sha256 too). */
export const CERT_HINT_KINDS = ['cert_expired', 'chain_expired', 'cert_not_yet_valid', 'renewal_not_deployed', 'cert_expiring'] as const;

// ---- variables ---------------------------------------------------------------------------------

export function datasourceVariable(): dashboard.DatasourceVariableBuilder {
  return new dashboard.DatasourceVariableBuilder('datasource').label('ClickHouse').type('grafana-clickhouse-datasource');
}

function queryVariable(name: string, label: string, sql: string): dashboard.QueryVariableBuilder {
  return new dashboard.QueryVariableBuilder(name)
    .label(label)
    .datasource(DS)
    .query(sql.trim().replace(/\n\s+/g, '\n'))
    .definition(sql.trim().replace(/\s+/g, ' '))
    .refresh(dashboard.VariableRefresh.OnTimeRangeChanged)
    .sort(dashboard.VariableSort.AlphabeticalAsc);
}

/** Every service with reports, probes or incidents (multi-value, "All" by default). */
export function serviceVariable(opts: { multi?: boolean } = {}): dashboard.QueryVariableBuilder {
  const v = queryVariable(
    'service',
    'Service',
    `SELECT service FROM (
       SELECT DISTINCT service FROM report_counts_1m
       UNION DISTINCT SELECT DISTINCT service FROM probe_counts_1m
       UNION DISTINCT SELECT DISTINCT service FROM incidents)
     WHERE service != ''
     ORDER BY service`,
  );
  return opts.multi === false ? v.multi(false).includeAll(false) : v.multi(true).includeAll(true).current({ text: ['All'], value: ['$__all'] });
}

/** Probe regions of the selected services. */
export function regionVariable(): dashboard.QueryVariableBuilder {
  return queryVariable(
    'region',
    'Probe region',
    `SELECT DISTINCT region FROM probe_counts_1m
     WHERE ${inVar('service', 'service')}
     ORDER BY region`,
  )
    .multi(true)
    .includeAll(true)
    .current({ text: ['All'], value: ['$__all'] });
}

/** Incidents of the selected service that overlap the time range, newest first. */
export function incidentVariable(): dashboard.QueryVariableBuilder {
  return queryVariable(
    'incident',
    'Incident',
    `SELECT id FROM incidents FINAL
     WHERE ${inVar('service', 'service')}
       AND started_at <= $__toTime AND (resolved_at IS NULL OR resolved_at >= $__fromTime)
     ORDER BY started_at DESC`,
  )
    .multi(false)
    .includeAll(false)
    .sort(dashboard.VariableSort.Disabled);
}

/** Certificate sources of the inventory (file, url, probe, …). */
export function sourceVariable(): dashboard.QueryVariableBuilder {
  return queryVariable('source', 'Source', 'SELECT DISTINCT source FROM cert_observations ORDER BY source')
    .multi(true)
    .includeAll(true)
    .current({ text: ['All'], value: ['$__all'] });
}

/** The status page's base URL (`outage serve` or the query API), for links to its incident view. */
export function statusPageVariable(): dashboard.TextBoxVariableBuilder {
  return new dashboard.TextBoxVariableBuilder('status_url')
    .label('Status page')
    .description('Base URL of the status page (outage serve or the query API); links open its incident view at #/incidents/<id>')
    .defaultValue(STATUS_PAGE_URL)
    .current({ text: STATUS_PAGE_URL, value: STATUS_PAGE_URL });
}

// ---- annotations -------------------------------------------------------------------------------

/**
 * Root-cause annotations: every incident change (opened, hints changed, resolved, re-opened) of the
 * selected services from the `annotations` table, a region from onset to resolution once resolved.
 * Dashboard annotations show on every time-series panel of the dashboard.
 */
export function rootCauseAnnotations(): dashboard.AnnotationQueryBuilder {
  return new dashboard.AnnotationQueryBuilder()
    .name('Root cause')
    .datasource(DS)
    .enable(true)
    .iconColor('red')
    .target(
      query(
        `SELECT time, timeEnd, title, tags, text
         FROM annotations FINAL
         WHERE $__timeFilter(time) AND ${inVar('service', 'service')}
         ORDER BY time`,
      ),
    );
}

// ---- panel defaults ----------------------------------------------------------------------------

const legend = () => new common.VizLegendOptionsBuilder().showLegend(true).displayMode(common.LegendDisplayMode.List).placement(common.LegendPlacement.Bottom);

/** A time series from one query (`time` column plus numbers, or long format with a label column). */
export function timeSeries(title: string, description: string, sql: string): timeseries.PanelBuilder {
  return new timeseries.PanelBuilder()
    .title(title)
    .description(description)
    .datasource(DS)
    .withTarget(query(sql, 'timeSeries'))
    .lineWidth(1)
    .fillOpacity(10)
    .legend(legend())
    .height(8)
    .span(12);
}

/** A table from one query. */
export function tablePanel(title: string, description: string, sql: string): table.PanelBuilder {
  return new table.PanelBuilder().title(title).description(description).datasource(DS).withTarget(query(sql)).height(8).span(12);
}

/** A link to the incident drill-down for the row's incident id, keeping the time range. */
export function drillDownLink(idField = 'id', serviceField = 'service'): { title: string; url: string } {
  return {
    title: 'Incident drill-down',
    url: `/d/${UID.incident}/incident-drill-down?var-service=\${__data.fields.${serviceField}}&var-incident=\${__data.fields.${idField}}&\${__url_time_range}`,
  };
}

/** A link to the status page's view of the selected incident. */
export function statusPageLink(): dashboard.DashboardLinkBuilder {
  return new dashboard.DashboardLinkBuilder('Status page: this incident')
    .type(dashboard.DashboardLinkType.Link)
    .url('${status_url}/#/incidents/${incident}')
    .icon('external link')
    .targetBlank(true);
}

/** Links between the four dashboards (kept time range and variables). */
export function dashboardLinks(): dashboard.DashboardLinkBuilder[] {
  return [
    new dashboard.DashboardLinkBuilder('Outage dashboards')
      .type(dashboard.DashboardLinkType.Dashboards)
      .tags(['outage'])
      .asDropdown(true)
      .keepTime(true)
      .includeVars(true),
  ];
}

/** The common frame of every dashboard. */
export function baseDashboard(uid: string, title: string, description: string): dashboard.DashboardBuilder {
  return new dashboard.DashboardBuilder(title)
    .uid(uid)
    .description(description)
    .tags(['outage', 'generated'])
    .timezone('utc')
    .time({ from: 'now-24h', to: 'now' })
    .refresh('1m')
    .withVariable(datasourceVariable());
}

// ---- shared SQL --------------------------------------------------------------------------------

/**
 * Distinct reports per service and minute, from 7 days before the time range to its end, for the
 * services `serviceCond` selects: settled minutes from `report_counts_settled` (the latest row of
 * each), the minutes after the settle watermark merged from the `report_counts_1m` rollup (the
 * query API reads them the same way, `lib/store/settle.ts`).
 */
export function reportCountsSql(serviceCond: string): string {
  const watermark = "(SELECT max(minute) FROM report_settle_marks WHERE kind = 'settled')";
  const range = `minute >= $__fromTime - INTERVAL 7 DAY AND minute <= $__toTime AND ${serviceCond}`;
  return `SELECT service, minute, toUInt64(argMax(reports, settled_at)) AS n FROM report_counts_settled
          WHERE ${range} AND minute < ${watermark} GROUP BY service, minute
          UNION ALL
          SELECT service, minute, uniqExactMerge(reports) AS n FROM report_counts_1m
          WHERE ${range} AND minute >= ${watermark} GROUP BY service, minute`;
}

/**
 * Reports per minute of the selected services against the baseline: the median of the same
 * minute on each of the previous 7 days that had reports then.
 */
export function reportsVsBaselineSql(serviceCond: string): string {
  return `SELECT time, sumIf(n, k = 0) AS reports, medianIf(n, k > 0) AS baseline
          FROM (
            SELECT minute + toIntervalDay(k) AS time, k, n
            FROM (SELECT minute, sum(n) AS n FROM (${reportCountsSql(serviceCond)}) GROUP BY minute)
            ARRAY JOIN range(8) AS k)
          WHERE time >= $__fromTime AND time <= $__toTime
          GROUP BY time
          ORDER BY time`;
}

/** The class of a probe error code, as the hints name them (TLS certificate, HTTP 5xx, …). */
export const ERROR_CLASS_SQL = `multiIf(
  error_code IN ('CERT_HAS_EXPIRED', 'CERT_NOT_YET_VALID', 'ERR_TLS_CERT_ALTNAME_INVALID', 'DEPTH_ZERO_SELF_SIGNED_CERT',
                 'UNABLE_TO_VERIFY_LEAF_SIGNATURE', 'UNABLE_TO_GET_ISSUER_CERT_LOCALLY', 'SELF_SIGNED_CERT_IN_CHAIN'), 'tls_certificate',
  startsWith(error_code, 'HTTP_5'), 'http_5xx',
  startsWith(error_code, 'HTTP_'), 'http_other',
  error_code = 'BODY_MISMATCH', 'body_mismatch',
  error_code IN ('ENOTFOUND', 'EAI_AGAIN'), 'dns',
  error_code = 'ETIMEDOUT', 'timeout',
  error_code IN ('ECONNREFUSED', 'ECONNRESET', 'EHOSTUNREACH', 'ENETUNREACH'), 'connection',
  'other')`;

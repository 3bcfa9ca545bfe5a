/**
 * Probes: latency by phase, failures by error code and region, success per endpoint and region,
 * and the TLS versions and ciphers the endpoints negotiate. Variables: service and region.
 */
import type * as dashboard from '@grafana/grafana-foundation-sdk/dashboard';
import type * as table from '@grafana/grafana-foundation-sdk/table';
import type * as timeseries from '@grafana/grafana-foundation-sdk/timeseries';
import { UID, baseDashboard, dashboardLinks, inVar, regionVariable, rootCauseAnnotations, serviceVariable, tablePanel, timeSeries } from './defaults.ts';
import { probeSuccessPanel } from './overview.ts';

const SELECTED = `${inVar('service', 'service')} AND ${inVar('region', 'region')}`;

export function latencyByPhasePanel(): timeseries.PanelBuilder {
  return timeSeries(
    'Latency by phase',
    'Mean seconds per phase of the checks of the selected services and regions (DNS, connect, TLS handshake, first byte) and the median and 95th percentile of the whole check.',
    `SELECT $__timeInterval(ts) AS time,
            avg(dns_ms) / 1000 AS dns, avg(connect_ms) / 1000 AS connect, avg(tls_ms) / 1000 AS tls, avg(ttfb_ms) / 1000 AS first_byte,
            quantile(0.5)(duration_ms) / 1000 AS total_p50, quantile(0.95)(duration_ms) / 1000 AS total_p95
     FROM probe_results
     WHERE $__timeFilter(ts) AND ${SELECTED}
     GROUP BY time
     ORDER BY time`,
  )
    .unit('s')
    .min(0);
}

export function failuresByCodeRegionPanel(): timeseries.PanelBuilder {
  return timeSeries(
    'Failures by code and region',
    'Failed checks per interval by error code (Node/OpenSSL code, HTTP_5xx, …) and probe region.',
    `SELECT $__timeInterval(ts) AS time, concat(error_code, ' · ', region) AS code_region, count() AS failures
     FROM probe_results
     WHERE $__timeFilter(ts) AND NOT ok AND ${SELECTED}
     GROUP BY time, code_region
     ORDER BY time`,
  )
    .unit('short')
    .min(0);
}

export function tlsVersionsPanel(): table.PanelBuilder {
  return tablePanel(
    'TLS versions and ciphers',
    'What the endpoints negotiated with the probes in the time range: checks and endpoints per TLS version and cipher.',
    `SELECT tls_protocol AS version, if(tls_cipher = '', '(not recorded)', tls_cipher) AS cipher,
            uniqExact(target) AS endpoints, count() AS checks, groupUniqArray(20)(target) AS targets
     FROM probe_results
     WHERE $__timeFilter(ts) AND tls_protocol != '' AND ${SELECTED}
     GROUP BY version, cipher
     ORDER BY version, checks DESC`,
  );
}

export function probesDashboard(): dashboard.Dashboard {
  return baseDashboard(UID.probes, 'Probes', 'Synthetic checks: latency by phase, failures by code and region, success per endpoint, TLS versions.')
    .withVariable(serviceVariable())
    .withVariable(regionVariable())
    .annotation(rootCauseAnnotations())
    .links(dashboardLinks())
    .withPanel(latencyByPhasePanel())
    .withPanel(failuresByCodeRegionPanel())
    .withPanel(probeSuccessPanel())
    .withPanel(tlsVersionsPanel())
    .build();
}

/**
 * Incident drill-down (variables service and incident): the incident and its revision timeline,
 * the reports around it against the baseline, every hint with its evidence, the probe errors by
 * class and region, and the certificates involved with their chains; links open the status
 * page's incident view (`${status_url}/#/incidents/<id>`).
 */
import type * as dashboard from '@grafana/grafana-foundation-sdk/dashboard';
import type * as table from '@grafana/grafana-foundation-sdk/table';
import type * as timeseries from '@grafana/grafana-foundation-sdk/timeseries';
import {
  ERROR_CLASS_SQL,
  UID,
  baseDashboard,
  dashboardLinks,
  incidentVariable,
  reportsVsBaselineSql,
  rootCauseAnnotations,
  serviceVariable,
  statusPageLink,
  statusPageVariable,
  tablePanel,
  timeSeries,
} from './defaults.ts';

const INCIDENT = '${incident:singlequote}';
/** The services of the incident: its own and those its hints name (a dependency). */
const INCIDENT_SERVICES = `(SELECT service FROM incidents FINAL WHERE id = ${INCIDENT}
  UNION ALL SELECT related_service FROM incident_hints FINAL WHERE incident_id = ${INCIDENT} AND related_service != '')`;
const LATEST_REVISION = `(SELECT revision FROM incidents FINAL WHERE id = ${INCIDENT})`;

export function incidentSummaryPanel(): table.PanelBuilder {
  return tablePanel(
    'Incident',
    'The selected incident as it stands now. The id opens the status page’s incident view.',
    `SELECT id, service, status, revision, started_at, detected_at, resolved_at,
            round(peak_per_min) AS peak_per_min, round(baseline_per_min, 2) AS baseline_per_min,
            top_hint_kind AS first_hint, round(top_hint_confidence, 2) AS confidence, top_hint_summary AS first_hint_summary
     FROM incidents FINAL
     WHERE id = ${INCIDENT}`,
  )
    .overrideByName('id', [{ id: 'links', value: [{ title: 'Status page: this incident', url: '${status_url}/#/incidents/${__value.raw}', targetBlank: true }] }])
    .overrideByName('confidence', [{ id: 'unit', value: 'percentunit' }])
    .links([statusPageLink()])
    .height(5)
    .span(24);
}

export function incidentReportsPanel(): timeseries.PanelBuilder {
  return timeSeries(
    'Reports around the incident vs baseline',
    'Distinct reports per minute of the incident’s service and its baseline (median of the same minute on the previous 7 days).',
    reportsVsBaselineSql(`service IN (SELECT service FROM incidents FINAL WHERE id = ${INCIDENT})`),
  )
    .unit('short')
    .min(0)
    .span(24);
}

export function timelinePanel(): table.PanelBuilder {
  return tablePanel(
    'Timeline',
    'Every revision of the incident: opened, hints changed, resolved, re-opened (annotations table).',
    `SELECT time, revision, event, title, text
     FROM annotations FINAL
     WHERE incident_id = ${INCIDENT}
     ORDER BY revision`,
  )
    .links([statusPageLink()])
    .span(24);
}

export function hintsPanel(): table.PanelBuilder {
  return tablePanel(
    'Hints with their evidence',
    'Every hint of the latest revision, best first (50 % and above: a likely cause), with the facts and factors behind its confidence.',
    `SELECT rank + 1 AS rank, kind, round(confidence, 3) AS confidence, summary, related_service, cert_sha256, evidence
     FROM incident_hints FINAL
     WHERE incident_id = ${INCIDENT} AND revision = ${LATEST_REVISION}
     ORDER BY rank`,
  )
    .overrideByName('confidence', [{ id: 'unit', value: 'percentunit' }])
    .overrideByName('evidence', [{ id: 'custom.cellOptions', value: { type: 'json-view' } }])
    .height(10)
    .span(24);
}

export function probeErrorsPanel(): timeseries.PanelBuilder {
  return timeSeries(
    'Probe errors by class and region',
    'Failed checks per minute of the incident’s service and the services its hints name, by error class and probe region.',
    `SELECT toStartOfMinute(ts) AS time, concat(${ERROR_CLASS_SQL}, ' · ', region) AS class_region, count() AS errors
     FROM probe_results
     WHERE $__timeFilter(ts) AND NOT ok AND service IN ${INCIDENT_SERVICES}
     GROUP BY time, class_region
     ORDER BY time`,
  )
    .unit('short')
    .min(0);
}

export function certificatesInvolvedPanel(): table.PanelBuilder {
  return tablePanel(
    'Certificates involved, with their chains',
    'Certificates the hints name and the leaves the probes of these services were served during the incident, each with its chain up to the root as the inventory links it (name and notAfter).',
    `WITH certs AS (
       SELECT toString(sha256) AS sha, any(if(name != '', name, subject)) AS label, any(subject) AS subj,
              any(issuer_sha256) AS issuer_sha, min(not_after) AS expires
       FROM cert_observations FINAL GROUP BY sha),
     involved AS (
       SELECT cert_sha256 AS sha256, concat('hint ', toString(rank + 1), ': ', kind) AS why
       FROM incident_hints FINAL
       WHERE incident_id = ${INCIDENT} AND revision = ${LATEST_REVISION} AND cert_sha256 != ''
       UNION ALL
       SELECT DISTINCT tls_leaf_sha256 AS sha256, concat('served to probes of ', service) AS why
       FROM probe_results
       WHERE service IN ${INCIDENT_SERVICES} AND tls_leaf_sha256 != ''
         AND ts >= (SELECT started_at - INTERVAL 1 HOUR FROM incidents FINAL WHERE id = ${INCIDENT})
         AND ts <= (SELECT coalesce(resolved_at, now64(3)) FROM incidents FINAL WHERE id = ${INCIDENT}))
     SELECT c1.label AS certificate, groupUniqArray(i.why) AS why, c1.expires AS not_after, c1.subj AS subject, c1.sha AS sha256,
            arrayFilter(x -> x != '', [
              concat(c1.label, ' (', toString(c1.expires), ')'),
              if(c2.sha = '', '', concat(c2.label, ' (', toString(c2.expires), ')')),
              if(c3.sha = '', '', concat(c3.label, ' (', toString(c3.expires), ')')),
              if(c4.sha = '', '', concat(c4.label, ' (', toString(c4.expires), ')'))]) AS chain,
            arrayMin(arrayFilter((d, s) -> s != '', [c1.expires, c2.expires, c3.expires, c4.expires],
                                 [c1.sha, c2.sha, c3.sha, c4.sha])) AS chain_expires
     FROM involved AS i
     INNER JOIN certs AS c1 ON c1.sha = i.sha256
     LEFT JOIN certs AS c2 ON c2.sha = c1.issuer_sha AND c1.issuer_sha != c1.sha
     LEFT JOIN certs AS c3 ON c3.sha = c2.issuer_sha AND c2.issuer_sha != c2.sha
     LEFT JOIN certs AS c4 ON c4.sha = c3.issuer_sha AND c3.issuer_sha != c3.sha
     GROUP BY c1.label, c1.expires, c1.subj, c1.sha, c2.label, c2.expires, c2.sha, c3.label, c3.expires, c3.sha, c4.label, c4.expires, c4.sha
     ORDER BY not_after`,
  )
    .height(9)
    .span(24);
}

export function incidentDashboard(): dashboard.Dashboard {
  return baseDashboard(UID.incident, 'Incident drill-down', 'One incident: its timeline, every hint with its evidence, the probe errors and the certificates involved.')
    .withVariable(serviceVariable())
    .withVariable(incidentVariable())
    .withVariable(statusPageVariable())
    .annotation(rootCauseAnnotations())
    .links([...dashboardLinks(), statusPageLink()])
    .withPanel(incidentSummaryPanel())
    .withPanel(incidentReportsPanel())
    .withPanel(hintsPanel())
    .withPanel(timelinePanel())
    .withPanel(probeErrorsPanel())
    .withPanel(certificatesInvolvedPanel())
    .build();
}

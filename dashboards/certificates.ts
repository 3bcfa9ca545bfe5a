/**
 * Certificates: the inventory by expiry horizon, the blast radius of each warned certificate,
 * renewals that exist but are not deployed, chain problems, the inventory per source, and the
 * expiries on the time axis (under the root-cause annotations). Variables: service and source.
 */
import * as common from '@grafana/grafana-foundation-sdk/common';
import type * as dashboard from '@grafana/grafana-foundation-sdk/dashboard';
import type * as table from '@grafana/grafana-foundation-sdk/table';
import type * as timeseries from '@grafana/grafana-foundation-sdk/timeseries';
import { UID, baseDashboard, dashboardLinks, inVar, onlySelected, rootCauseAnnotations, serviceVariable, sourceVariable, tablePanel, timeSeries } from './defaults.ts';

/** The latest early-warning computation (a certificate warned earlier and no longer is drops out). */
const LATEST_WARNINGS = 'computed_at = (SELECT max(computed_at) FROM cert_warnings)';
/** Certificates seen by a selected source. */
const OF_SOURCE = onlySelected('source', 'sha256 IN (SELECT toString(sha256) FROM cert_observations WHERE source IN (${source:singlequote}))');
/** Certificates a selected service uses or would lose (its blast radius), by the observation or the warnings. */
const OF_SERVICE = onlySelected(
  'service',
  "(service IN (${service:singlequote}) OR toString(sha256) IN (SELECT sha256 FROM cert_warnings FINAL WHERE hasAny(blast_radius, [${service:singlequote}])))",
);

export function expiryByHorizonPanel(): table.PanelBuilder {
  return tablePanel(
    'Expiry by horizon',
    'Certificates of the inventory by days left at the end of the time range (CAs counted too: an expired intermediate breaks every leaf under it).',
    `SELECT horizon, count() AS certificates, groupArray(10)(label) AS examples
     FROM (
       SELECT sha256 AS sha, any(if(name != '', name, subject)) AS label, dateDiff('second', $__toTime, min(not_after)) / 86400 AS days_left,
              multiIf(days_left <= 0, '1 expired', days_left <= 1, '2 within 1 day', days_left <= 7, '3 within 7 days',
                      days_left <= 14, '4 within 14 days', days_left <= 30, '5 within 30 days', '6 later') AS horizon
       FROM cert_observations FINAL
       WHERE ${inVar('source', 'source')} AND ${OF_SERVICE}
       GROUP BY sha)
     GROUP BY horizon
     ORDER BY horizon`,
  );
}

export function blastRadiusPanel(): table.PanelBuilder {
  return tablePanel(
    'Blast radius per certificate',
    'Every certificate of the latest early warnings: the services it serves and every service that depends on them (cert_warnings).',
    `SELECT name, level, round(days_left, 1) AS days_left, not_after, length(blast_radius) AS radius, services, blast_radius, endpoints, reason
     FROM cert_warnings FINAL
     WHERE ${LATEST_WARNINGS} AND ${OF_SOURCE} AND ${onlySelected('service', 'hasAny(blast_radius, [${service:singlequote}])')}
     ORDER BY radius DESC, days_left`,
  ).span(24);
}

export function renewalsNotDeployedPanel(): table.PanelBuilder {
  return tablePanel(
    'Renewals not deployed',
    'A newer certificate for the same names is in the inventory, but no probe saw an endpoint serve it: the fix that was made and never deployed.',
    `SELECT w.name AS name, w.level AS level, round(w.days_left, 1) AS days_left, w.not_after AS not_after,
            r.label AS renewal, w.renewal_sha256 AS renewal_sha256, r.expires AS renewal_not_after, r.places AS renewal_places, w.services AS services
     FROM cert_warnings AS w FINAL
     LEFT JOIN (SELECT toString(sha256) AS sha, any(if(name != '', name, subject)) AS label, min(not_after) AS expires, groupUniqArray(place) AS places
                FROM cert_observations FINAL GROUP BY sha) AS r ON r.sha = w.renewal_sha256
     WHERE w.${LATEST_WARNINGS} AND w.renewal_sha256 != '' AND NOT w.renewal_deployed
       AND ${onlySelected('service', 'hasAny(w.blast_radius, [${service:singlequote}])')}
     ORDER BY days_left`,
  );
}

export function chainProblemsPanel(): table.PanelBuilder {
  return tablePanel(
    'Chain problems',
    'Certificates whose issuer expires before them or has expired at the end of the time range, and certificates whose issuer is not in the inventory.',
    `WITH certs AS (
       SELECT toString(sha256) AS sha, any(if(name != '', name, subject)) AS label, any(subject) AS subj, any(issuer) AS iss,
              any(issuer_sha256) AS issuer_sha, min(not_after) AS expires, groupUniqArray(source) AS sources, groupUniqArray(place) AS places
       FROM cert_observations FINAL
       WHERE ${inVar('source', 'source')} AND ${OF_SERVICE}
       GROUP BY sha)
     SELECT c.label AS certificate, c.expires AS not_after, i.label AS issuer_name, c.iss AS issuer, i.expires AS issuer_not_after,
            multiIf(c.issuer_sha = '', 'issuer not in the inventory',
                    i.expires <= $__toTime, 'issuer expired',
                    'issuer expires before the certificate') AS problem,
            c.sources AS sources, c.places AS places
     FROM certs AS c
     LEFT JOIN (SELECT toString(sha256) AS sha, any(if(name != '', name, subject)) AS label, min(not_after) AS expires
                FROM cert_observations FINAL GROUP BY sha) AS i ON i.sha = c.issuer_sha
     WHERE (c.issuer_sha = '' AND c.subj != c.iss)
        OR (c.issuer_sha != '' AND c.issuer_sha != c.sha AND (i.expires < c.expires OR i.expires <= $__toTime))
     ORDER BY issuer_not_after, not_after`,
  );
}

export function perSourcePanel(): table.PanelBuilder {
  return tablePanel(
    'Inventory per source',
    'Certificates and places per source (files, URLs, probes, …), how many have expired and how many expire within 30 days of the end of the time range.',
    `SELECT source, uniqExact(sha256) AS certificates, uniqExact(place) AS places,
            uniqExactIf(sha256, not_after <= $__toTime) AS expired,
            uniqExactIf(sha256, not_after > $__toTime AND not_after <= $__toTime + INTERVAL 30 DAY) AS within_30_days,
            max(ts) AS last_seen
     FROM cert_observations FINAL
     WHERE ${inVar('source', 'source')} AND ${OF_SERVICE}
     GROUP BY source
     ORDER BY source`,
  );
}

export function expiriesOverTimePanel(): timeseries.PanelBuilder {
  return timeSeries(
    'Certificate expiries over time',
    'Certificates of the inventory whose notAfter falls in each interval of the time range, per source: beside the root-cause annotations, an expiry just before an incident stands out.',
    `SELECT $__timeInterval(not_after) AS time, source, uniqExact(sha256) AS expiring
     FROM cert_observations FINAL
     WHERE $__timeFilter(not_after) AND ${inVar('source', 'source')} AND ${OF_SERVICE}
     GROUP BY time, source
     ORDER BY time`,
  )
    .unit('short')
    .min(0)
    .drawStyle(common.GraphDrawStyle.Bars)
    .span(24);
}

export function certificatesDashboard(): dashboard.Dashboard {
  return baseDashboard(UID.certificates, 'Certificates', 'The certificate inventory: expiry horizons, blast radius, renewals not deployed, chain problems, per source.')
    .withVariable(serviceVariable())
    .withVariable(sourceVariable())
    .annotation(rootCauseAnnotations())
    .links(dashboardLinks())
    .withPanel(expiryByHorizonPanel())
    .withPanel(perSourcePanel())
    .withPanel(blastRadiusPanel())
    .withPanel(renewalsNotDeployedPanel())
    .withPanel(chainProblemsPanel())
    .withPanel(expiriesOverTimePanel())
    .build();
}

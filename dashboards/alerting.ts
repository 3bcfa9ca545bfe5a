/**
 * Grafana alert rules and an example contact point, provisioned as code
 * (`dashboards/provisioning/alerting/`, written by `npm run dashboards`). File provisioning format:
 * `apiVersion: 1` with `groups` of `rules`, each rule a list of `data` queries (a data source
 * query, then server-side expressions: reduce, threshold) and the `condition` refId that fires it;
 * `contactPoints` with `receivers`; `policies` routing every alert of the folder to them.
 *
 * The ClickHouse queries use only the plugin's backend macros (alerting runs without a dashboard, so
 * no template variable or `$__conditionalAll`) and return one row per alert instance: string
 * columns become labels, the number is the value.
 */
import { CERT_HINT_KINDS } from './defaults.ts';

/** Data source uids of `provisioning/datasources/`. */
export const DATASOURCE_UID = { clickhouse: 'clickhouse', prometheus: 'prometheus' } as const;

export const ALERT_FOLDER = 'Outage';

export interface AlertQuery {
  refId: string;
  relativeTimeRange?: { from: number; to: number };
  datasourceUid: string;
  model: Record<string, unknown>;
}

export interface AlertRule {
  uid: string;
  title: string;
  condition: string;
  data: AlertQuery[];
  noDataState: 'OK' | 'NoData' | 'Alerting';
  execErrState: 'OK' | 'Error' | 'Alerting';
  for: string;
  annotations: Record<string, string>;
  labels: Record<string, string>;
  isPaused: boolean;
}

const sql = (text: string): string => text.trim().replace(/\n\s+/g, '\n');

function clickhouse(rawSql: string, from = 600): AlertQuery {
  return {
    refId: 'A',
    relativeTimeRange: { from, to: 0 },
    datasourceUid: DATASOURCE_UID.clickhouse,
    model: { refId: 'A', editorType: 'sql', queryType: 'table', format: 1, rawSql: sql(rawSql) },
  };
}

function prometheus(expr: string, from = 900): AlertQuery {
  return { refId: 'A', relativeTimeRange: { from, to: 0 }, datasourceUid: DATASOURCE_UID.prometheus, model: { refId: 'A', expr, instant: true, range: false } };
}

/** A: the query; B: its last value per series; C: B above `threshold` (the condition). */
function rule(r: Omit<AlertRule, 'condition' | 'data' | 'isPaused'> & { query: AlertQuery; above: number }): AlertRule {
  const { query: q, above, ...rest } = r;
  return {
    ...rest,
    condition: 'C',
    data: [
      q,
      { refId: 'B', datasourceUid: '__expr__', model: { refId: 'B', type: 'reduce', expression: 'A', reducer: 'last', settings: { mode: 'dropNN' } } },
      { refId: 'C', datasourceUid: '__expr__', model: { refId: 'C', type: 'threshold', expression: 'B', conditions: [{ evaluator: { type: 'gt', params: [above] } }] } },
    ],
    isPaused: false,
  };
}

/** SQL of each ClickHouse rule, exported so the tests run it on the replayed example. */
export const ALERT_SQL = {
  certWithinHorizon: `SELECT name, level, arrayStringConcat(services, ',') AS services, toFloat64(1) AS within_horizon
    FROM cert_warnings FINAL
    WHERE computed_at = (SELECT max(computed_at) FROM cert_warnings) AND notEmpty(blast_radius)
    ORDER BY name`,
  openIncidentWithCertHint: `SELECT i.id AS incident, i.service AS service, h.kind AS hint, max(h.confidence) AS confidence
    FROM incidents AS i FINAL
    INNER JOIN incident_hints AS h FINAL ON h.incident_id = i.id AND h.revision = i.revision
    WHERE i.status != 'resolved' AND h.kind IN (${CERT_HINT_KINDS.map((k) => `'${k}'`).join(', ')}) AND h.cert_sha256 != ''
    GROUP BY incident, service, hint
    HAVING confidence >= 0.5`,
  deadLetters: `SELECT topic, reason, toFloat64(count()) AS dead_letters
    FROM dead_letters FINAL
    WHERE $__timeFilter(ts)
    GROUP BY topic, reason`,
} as const;

export function alertRules(): AlertRule[] {
  return [
    rule({
      uid: 'outage-cert-within-horizon',
      title: 'Certificate within its warning horizon',
      query: clickhouse(ALERT_SQL.certWithinHorizon),
      // Every row of the latest computation is within a horizon (or expired).
      above: 0,
      noDataState: 'OK',
      execErrState: 'Error',
      for: '0s',
      annotations: {
        summary: 'Certificate {{ $labels.name }} is within its warning horizon (level {{ $labels.level }}); serves {{ $labels.services }}',
        description: 'From the latest early warnings (cert_warnings): the certificate expires within one of its horizons or has expired. Renew it and deploy the renewal.',
        dashboard: '/d/outage-certificates',
      },
      labels: { severity: 'warning', team: 'sre' },
    }),
    rule({
      uid: 'outage-incident-cert-hint',
      title: 'Incident open with a certificate cause',
      query: clickhouse(ALERT_SQL.openIncidentWithCertHint),
      above: 0,
      noDataState: 'OK',
      execErrState: 'Error',
      for: '0s',
      annotations: {
        summary: 'Incident {{ $labels.incident }} on {{ $labels.service }}: {{ $labels.hint }} at {{ printf "%.0f" (mulf $values.B.Value 100) }} %',
        description: 'An open incident whose hints blame a certificate with a confidence of 50 % or more. Open the incident drill-down for the certificate and its chain.',
        dashboard: '/d/outage-incident?var-incident={{ $labels.incident }}',
      },
      labels: { severity: 'critical', team: 'sre' },
    }),
    rule({
      uid: 'outage-consumer-lag-growing',
      title: 'Consumer lag growing',
      query: prometheus('sum by (group, topic) (deriv(outage_consumer_lag_messages[10m]))'),
      above: 0,
      noDataState: 'OK',
      execErrState: 'Error',
      for: '10m',
      annotations: {
        summary: 'Consumer group {{ $labels.group }} falls behind on {{ $labels.topic }}',
        description: 'The lag (high watermark minus committed offset, read from the broker) has grown for 10 minutes: the group is stopped, crashing or too slow. See outage_consumer_up and outage_consumer_restarts_total.',
      },
      labels: { severity: 'warning', team: 'sre' },
    }),
    rule({
      uid: 'outage-dead-letters',
      title: 'Dead letters arriving',
      query: clickhouse(ALERT_SQL.deadLetters, 900),
      above: 0,
      noDataState: 'OK',
      execErrState: 'Error',
      for: '0s',
      annotations: {
        summary: '{{ printf "%.0f" $values.B.Value }} message(s) from {{ $labels.topic }} dead-lettered ({{ $labels.reason }}) in the last 15 minutes',
        description: 'Messages refused by their contract or by the store went to dlq.v1 (dead_letters table). store_rejected means the contract and the table disagree: a bug to fix.',
      },
      labels: { severity: 'warning', team: 'sre' },
    }),
  ];
}

/** `provisioning/alerting/outage-rules.yaml`. */
export function alertRulesFile(): Record<string, unknown> {
  return {
    apiVersion: 1,
    groups: [{ orgId: 1, name: 'outage', folder: ALERT_FOLDER, interval: '1m', rules: alertRules() }],
  };
}

/**
 * `provisioning/alerting/contact-points.yaml`: an example contact point (a webhook; replace the
 * URL, or add Slack, PagerDuty, e-mail receivers) and a policy sending the folder's alerts to it.
 */
export function contactPointsFile(): Record<string, unknown> {
  return {
    apiVersion: 1,
    contactPoints: [
      {
        orgId: 1,
        name: 'outage-oncall',
        receivers: [
          {
            uid: 'outage-oncall-webhook',
            type: 'webhook',
            disableResolveMessage: false,
            settings: { url: 'http://alert-receiver.example.internal:9000/grafana', httpMethod: 'POST' },
          },
        ],
      },
    ],
    policies: [
      {
        orgId: 1,
        receiver: 'outage-oncall',
        group_by: ['grafana_folder', 'alertname'],
        routes: [{ receiver: 'outage-oncall', object_matchers: [['grafana_folder', '=', ALERT_FOLDER]], group_by: ['alertname', 'service'], repeat_interval: '4h' }],
      },
    ],
  };
}

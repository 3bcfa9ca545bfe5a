-- Per-minute rollups that dashboards read. Counting distinct ids (not rows) keeps them exact when
-- a batch is redelivered: a materialized view sees every insert, duplicates included.

-- Per service and minute; region and problem breakdowns read the raw table (fast enough, and
-- a rollup per region x problem would be nearly as large as the raw rows).
CREATE TABLE IF NOT EXISTS report_counts_1m (
  service LowCardinality(String),
  minute DateTime('UTC'),
  reports AggregateFunction(uniqExact, String),
  reporters AggregateFunction(uniqExact, String)
) ENGINE = AggregatingMergeTree
ORDER BY (service, minute);

CREATE MATERIALIZED VIEW IF NOT EXISTS report_counts_1m_mv TO report_counts_1m AS
SELECT
  service,
  toStartOfMinute(ts) AS minute,
  uniqExactState(id) AS reports,
  uniqExactState(if(author = '', id, author)) AS reporters
FROM reports
GROUP BY service, minute;

CREATE TABLE IF NOT EXISTS probe_counts_1m (
  service LowCardinality(String),
  target String,
  region LowCardinality(String),
  minute DateTime('UTC'),
  checks AggregateFunction(uniqExact, String),
  failures AggregateFunction(uniqExactIf, String, UInt8),
  duration_ms AggregateFunction(quantiles(0.5, 0.95), Float64)
) ENGINE = AggregatingMergeTree
ORDER BY (service, target, region, minute);

CREATE MATERIALIZED VIEW IF NOT EXISTS probe_counts_1m_mv TO probe_counts_1m AS
SELECT
  service,
  target,
  region,
  toStartOfMinute(ts) AS minute,
  uniqExactState(id) AS checks,
  uniqExactIfState(id, toUInt8(NOT ok)) AS failures,
  quantilesState(0.5, 0.95)(duration_ms) AS duration_ms
FROM probe_results
GROUP BY service, target, region, minute;

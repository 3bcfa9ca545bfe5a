-- Every incident state change (opened, hints changed, resolved, re-opened) as a row shaped for the
-- Grafana ClickHouse plugin's annotation queries: time, timeEnd, title, tags, text.

CREATE TABLE IF NOT EXISTS annotations (
  incident_id String,
  revision UInt32,
  event LowCardinality(String),
  service LowCardinality(String),
  time DateTime64(3, 'UTC'),
  timeEnd Nullable(DateTime64(3, 'UTC')),
  title String,
  tags Array(String),
  text String
) ENGINE = ReplacingMergeTree
ORDER BY (incident_id, revision);

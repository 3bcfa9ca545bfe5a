-- Incidents and their ranked hints. Every state change is a new revision; the highest revision of
-- an incident is its current state (ReplacingMergeTree keeps it; read with FINAL).

CREATE TABLE IF NOT EXISTS incidents (
  id String,
  revision UInt32,
  service LowCardinality(String),
  status LowCardinality(String),
  started_at DateTime64(3, 'UTC'),
  detected_at DateTime64(3, 'UTC'),
  resolved_at Nullable(DateTime64(3, 'UTC')),
  peak_per_min Float64,
  baseline_per_min Float64,
  top_hint_kind LowCardinality(String),
  top_hint_confidence Float64,
  top_hint_summary String,
  hints String
) ENGINE = ReplacingMergeTree(revision)
ORDER BY id;

CREATE TABLE IF NOT EXISTS incident_hints (
  incident_id String,
  revision UInt32,
  rank UInt8,
  service LowCardinality(String),
  kind LowCardinality(String),
  confidence Float64,
  summary String,
  evidence String,
  cert_sha256 String,
  related_service LowCardinality(String)
) ENGINE = ReplacingMergeTree(revision)
ORDER BY (incident_id, revision, rank);

-- Raw events, one table per topic. ReplacingMergeTree on the natural key makes writes idempotent:
-- a redelivered batch collapses into the rows already there (read with FINAL for exact counts).
-- `extra` keeps the unknown fields of the message as JSON, so nothing a producer sent is lost.

CREATE TABLE IF NOT EXISTS reports (
  id String,
  ts DateTime64(3, 'UTC'),
  service LowCardinality(String),
  channel LowCardinality(String),
  problem LowCardinality(String),
  region LowCardinality(String),
  text String,
  author String,
  url String,
  extra String
) ENGINE = ReplacingMergeTree
PARTITION BY toYYYYMM(ts)
ORDER BY (service, ts, id);

CREATE TABLE IF NOT EXISTS status_posts (
  id String,
  ts DateTime64(3, 'UTC'),
  service LowCardinality(String),
  account String,
  text String,
  url String,
  extra String
) ENGINE = ReplacingMergeTree
ORDER BY (service, ts, id);

CREATE TABLE IF NOT EXISTS probe_results (
  id String,
  ts DateTime64(3, 'UTC'),
  probe String,
  service LowCardinality(String),
  target String,
  region LowCardinality(String),
  ok Bool,
  duration_ms Float64,
  dns_ms Nullable(Float64),
  connect_ms Nullable(Float64),
  tls_ms Nullable(Float64),
  ttfb_ms Nullable(Float64),
  http_status Nullable(UInt16),
  error_code LowCardinality(String),
  error_message String,
  tls_protocol LowCardinality(String),
  tls_cipher LowCardinality(String),
  tls_leaf_sha256 String,
  tls_chain_sha256 Array(String),
  tls_valid_to Nullable(DateTime64(3, 'UTC')),
  extra String
) ENGINE = ReplacingMergeTree
PARTITION BY toYYYYMM(ts)
ORDER BY (service, target, ts, id);

-- The certificate inventory: like the compacted topic, the latest observation per certificate and place.
CREATE TABLE IF NOT EXISTS cert_observations (
  ts DateTime64(3, 'UTC'),
  source LowCardinality(String),
  sha256 FixedString(64),
  place String,
  subject String,
  issuer String,
  serial String,
  not_before DateTime64(3, 'UTC'),
  not_after DateTime64(3, 'UTC'),
  dns_names Array(String),
  is_ca Bool,
  service LowCardinality(String),
  endpoint String,
  name String,
  issuer_sha256 String,
  pem String,
  extra String
) ENGINE = ReplacingMergeTree(ts)
ORDER BY (sha256, place);

CREATE TABLE IF NOT EXISTS dead_letters (
  ts DateTime64(3, 'UTC'),
  topic LowCardinality(String),
  partition Int32,
  offset String,
  source String,
  reason LowCardinality(String),
  detail String,
  value_base64 String
) ENGINE = ReplacingMergeTree
ORDER BY (topic, partition, offset, source);

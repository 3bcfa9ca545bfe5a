-- Early warnings: certificates expiring within their horizons (or expired), with their blast
-- radius and any renewal, as computed at `computed_at` (event time). The latest computation per
-- certificate wins.

CREATE TABLE IF NOT EXISTS cert_warnings (
  computed_at DateTime64(3, 'UTC'),
  sha256 String,
  name String,
  subject String,
  not_after DateTime64(3, 'UTC'),
  days_left Float64,
  level LowCardinality(String),
  reason String,
  services Array(String),
  blast_radius Array(String),
  endpoints Array(String),
  renewal_sha256 String,
  renewal_deployed Bool
) ENGINE = ReplacingMergeTree(computed_at)
ORDER BY sha256;

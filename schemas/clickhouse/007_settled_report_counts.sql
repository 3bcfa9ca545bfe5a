-- Settled per-minute report counts: the exact distinct counts of report_counts_1m, merged once and
-- stored as plain numbers, so readers sum numbers instead of merging uniqExact states on every
-- request. `lib/store/settle.ts` fills it (the sink calls it after its inserts) for minutes older
-- than the latest stored report minus a lateness, and re-settles a (service, minute) right after a
-- late report for it is stored. A re-settled minute is a new row with a later `settled_at`; the
-- latest one is the count (argMax(reports, settled_at), or FINAL).

CREATE TABLE IF NOT EXISTS report_counts_settled (
  service LowCardinality(String),
  minute DateTime('UTC'),
  reports UInt32,
  reporters UInt32,
  settled_at DateTime64(6, 'UTC')
) ENGINE = ReplacingMergeTree(settled_at)
ORDER BY (service, minute);

-- The settle watermarks, one row per kind (the highest minute wins):
--   settled: every minute before it is in report_counts_settled (readers take those minutes from
--            there and the later ones from report_counts_1m);
--   claimed: a settle step up to this minute has started (written before it reads the rollup, so
--            a sink that stores a report for an earlier minute re-settles that minute itself;
--            written on a ClickHouse server, where several sinks may write: chDB has one).
CREATE TABLE IF NOT EXISTS report_settle_marks (
  kind LowCardinality(String),
  minute DateTime('UTC'),
  updated_at DateTime64(3, 'UTC') DEFAULT now64(3)
) ENGINE = ReplacingMergeTree(minute)
ORDER BY kind;

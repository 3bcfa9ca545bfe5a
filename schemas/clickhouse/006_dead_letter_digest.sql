-- Dead letters are bounded so that they always fit the broker: a large refused message keeps only
-- its first bytes in value_base64, with the SHA-256 and size of the whole message, and truncated
-- set. The complete record stays on its source topic at (topic, partition, offset).
-- Rows written before this migration read sha256 '' and size_bytes -1 (unknown).

ALTER TABLE dead_letters ADD COLUMN IF NOT EXISTS sha256 String DEFAULT '';
ALTER TABLE dead_letters ADD COLUMN IF NOT EXISTS size_bytes Int64 DEFAULT -1;
ALTER TABLE dead_letters ADD COLUMN IF NOT EXISTS truncated Bool DEFAULT false;

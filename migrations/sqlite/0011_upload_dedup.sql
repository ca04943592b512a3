-- See migrations/mysql/0011_upload_dedup.sql.
-- @unless column pictures.dedup_key
ALTER TABLE pictures ADD COLUMN dedup_key CHAR(64) NULL;
-- @end
DROP INDEX IF EXISTS pictures_dedup;
CREATE INDEX IF NOT EXISTS pictures_owner_hash ON pictures (owner, hash);
UPDATE pictures SET dedup_key = hash WHERE dedup_key IS NULL AND hash IS NOT NULL;
CREATE UNIQUE INDEX IF NOT EXISTS pictures_dedup_key ON pictures (owner, dedup_key);

-- De-duplication is a choice of the upload, not a rule of the table: the
-- assignment's JSON upload makes a new picture on every call, while forms,
-- upload links and batches answer with the owner's picture of the same
-- bytes. `dedup_key` is the hash of pictures that de-duplicate (NULL for
-- the others, and NULLs never collide), so the unique key keeps concurrent
-- de-duplicating uploads of the same bytes to one picture and lets JSON
-- uploads repeat. Every picture before this step was de-duplicated.
-- @unless column pictures.dedup_key
ALTER TABLE pictures
  ADD COLUMN dedup_key CHAR(64) {bytewise} NULL,
  DROP INDEX pictures_dedup,
  ADD INDEX pictures_owner_hash (owner, hash),
  ADD UNIQUE INDEX pictures_dedup_key (owner, dedup_key);
-- @end
UPDATE pictures SET dedup_key = hash WHERE dedup_key IS NULL AND hash IS NOT NULL;

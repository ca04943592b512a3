-- Accounts (SPEC Part 2, "Who is calling"): users, from an outside auth
-- service (JWT) or created here, and their API keys, stored only as SHA-256
-- hashes. `settings` keeps what the service generates for itself once (the
-- URL signing key when URL_SIGNING_KEY is unset).
CREATE TABLE IF NOT EXISTS users (
  id                 VARCHAR(128) {bytewise} NOT NULL PRIMARY KEY,
  email              VARCHAR(255) NULL,
  image_upload_count BIGINT NOT NULL DEFAULT 0,
  created            VARCHAR(19) NOT NULL,
  UNIQUE KEY users_email (email)
);

CREATE TABLE IF NOT EXISTS api_keys (
  id        BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,
  user_id   VARCHAR(128) {bytewise} NOT NULL,
  name      VARCHAR(100) NOT NULL,
  key_hash  CHAR(64) {bytewise} NOT NULL,
  created   VARCHAR(19) NOT NULL,
  last_used VARCHAR(19) NULL,
  UNIQUE KEY api_keys_hash (key_hash),
  KEY api_keys_user (user_id, id),
  CONSTRAINT api_keys_user_fk FOREIGN KEY (user_id) REFERENCES users(id) ON DELETE CASCADE
);

CREATE TABLE IF NOT EXISTS settings (
  name  VARCHAR(64) {bytewise} NOT NULL PRIMARY KEY,
  value VARCHAR(255) NOT NULL
);

-- Who owns a picture ('' for anonymous uploads: every existing row), whether
-- only they may see it, and its name. One ALTER: one pass over a large table,
-- and all of it or nothing, so one guard stands for the whole statement.
-- @unless column pictures.owner
ALTER TABLE pictures
  ADD COLUMN owner VARCHAR(128) {bytewise} NOT NULL DEFAULT '',
  ADD COLUMN private TINYINT NOT NULL DEFAULT 0,
  ADD COLUMN name VARCHAR(255) NULL,
  ADD INDEX pictures_owner (owner, id);
-- @end

-- Each tag row carries the visibility of its picture ('' when public, the
-- owner's id when private): listings filter on it without reading the
-- picture, statistics are kept per scope. `source`: model, imagga or user
-- (NULL: rows older than this). `tags_scope_tag`: a tag's extremes within
-- one scope, when a removal takes the old one away; `tags_day_stats`:
-- statistics over partial days, per scope, from the index alone.
-- @unless column tags.scope
ALTER TABLE tags
  ADD COLUMN scope VARCHAR(128) {bytewise} NOT NULL DEFAULT '',
  ADD COLUMN source VARCHAR(8) NULL,
  ADD INDEX tags_scope_tag (scope, tag, confidence),
  ADD INDEX tags_day_stats (date, tag, scope, confidence);
-- @end
-- @if index tags.tags_date_tag
DROP INDEX tags_date_tag ON tags;
-- @end

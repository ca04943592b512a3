-- See migrations/mysql/0007_accounts.sql.
CREATE TABLE IF NOT EXISTS users (
  id                 VARCHAR(64) NOT NULL PRIMARY KEY,
  email              VARCHAR(255) NULL,
  image_upload_count INTEGER NOT NULL DEFAULT 0,
  created            VARCHAR(19) NOT NULL
);
CREATE UNIQUE INDEX IF NOT EXISTS users_email ON users (email);

CREATE TABLE IF NOT EXISTS api_keys (
  id        INTEGER PRIMARY KEY AUTOINCREMENT,
  user_id   VARCHAR(64) NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  name      VARCHAR(100) NOT NULL,
  key_hash  CHAR(64) NOT NULL,
  created   VARCHAR(19) NOT NULL,
  last_used VARCHAR(19) NULL
);
CREATE UNIQUE INDEX IF NOT EXISTS api_keys_hash ON api_keys (key_hash);
CREATE INDEX IF NOT EXISTS api_keys_user ON api_keys (user_id, id);

CREATE TABLE IF NOT EXISTS settings (
  name  VARCHAR(64) NOT NULL PRIMARY KEY,
  value VARCHAR(255) NOT NULL
);

-- @unless column pictures.owner
ALTER TABLE pictures ADD COLUMN owner VARCHAR(64) NOT NULL DEFAULT '';
-- @end
-- @unless column pictures.private
ALTER TABLE pictures ADD COLUMN private INTEGER NOT NULL DEFAULT 0;
-- @end
-- @unless column pictures.name
ALTER TABLE pictures ADD COLUMN name VARCHAR(255) NULL;
-- @end
CREATE INDEX IF NOT EXISTS pictures_owner ON pictures (owner, id);

-- @unless column tags.scope
ALTER TABLE tags ADD COLUMN scope VARCHAR(64) NOT NULL DEFAULT '';
-- @end
-- @unless column tags.source
ALTER TABLE tags ADD COLUMN source VARCHAR(8) NULL;
-- @end
CREATE INDEX IF NOT EXISTS tags_scope_tag ON tags (scope, tag, confidence);
CREATE INDEX IF NOT EXISTS tags_day_stats ON tags (date, tag, scope, confidence);
DROP INDEX IF EXISTS tags_date_tag;

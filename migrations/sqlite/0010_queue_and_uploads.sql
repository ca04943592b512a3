-- See migrations/mysql/0010_queue_and_uploads.sql.
CREATE TABLE IF NOT EXISTS tag_queue (
  picture_id     INTEGER NOT NULL PRIMARY KEY REFERENCES pictures(id) ON DELETE CASCADE,
  min_confidence REAL NOT NULL,
  attempts       INTEGER NOT NULL DEFAULT 0,
  not_before     INTEGER NOT NULL,
  lease_until    INTEGER NOT NULL DEFAULT 0,
  last_error     VARCHAR(255) NULL
);
CREATE INDEX IF NOT EXISTS tag_queue_due ON tag_queue (not_before);

CREATE TABLE IF NOT EXISTS upload_links (
  id      CHAR(32) NOT NULL PRIMARY KEY,
  owner   VARCHAR(64) NOT NULL,
  expires INTEGER NOT NULL,
  created VARCHAR(19) NOT NULL
);

CREATE TABLE IF NOT EXISTS upload_slots (
  image_id CHAR(32) NOT NULL PRIMARY KEY,
  owner    VARCHAR(64) NOT NULL,
  location VARCHAR(1024) NOT NULL,
  expires  INTEGER NOT NULL,
  created  VARCHAR(19) NOT NULL
);
CREATE INDEX IF NOT EXISTS upload_slots_expires ON upload_slots (expires);

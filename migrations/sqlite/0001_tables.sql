-- See migrations/mysql/0001_tables.sql. AUTOINCREMENT keeps ids from ever
-- being reused, as MySQL's AUTO_INCREMENT does.
CREATE TABLE IF NOT EXISTS pictures (
  id   INTEGER PRIMARY KEY AUTOINCREMENT,
  path VARCHAR(1024) NOT NULL,
  date VARCHAR(19)  NOT NULL
);

CREATE TABLE IF NOT EXISTS tags (
  tag        VARCHAR(32) NOT NULL,
  picture_id INTEGER NOT NULL REFERENCES pictures(id) ON DELETE CASCADE,
  confidence FLOAT NOT NULL,
  date       VARCHAR(19) NOT NULL,
  PRIMARY KEY (tag, picture_id)
);

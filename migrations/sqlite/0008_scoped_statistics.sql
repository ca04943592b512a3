-- See migrations/mysql/0008_scoped_statistics.sql.
-- @unless column tag_totals.scope and column tag_days.scope
DROP TABLE IF EXISTS tag_totals;
DROP TABLE IF EXISTS tag_days;
-- @end
CREATE TABLE IF NOT EXISTS tag_totals (
  scope          VARCHAR(64) NOT NULL,
  tag            VARCHAR(32) NOT NULL,
  n_images       INTEGER NOT NULL,
  sum_confidence REAL NOT NULL,
  min_confidence FLOAT NOT NULL,
  max_confidence FLOAT NOT NULL,
  PRIMARY KEY (scope, tag)
);
CREATE TABLE IF NOT EXISTS tag_days (
  scope          VARCHAR(64) NOT NULL,
  day            CHAR(10) NOT NULL,
  tag            VARCHAR(32) NOT NULL,
  n_images       INTEGER NOT NULL,
  sum_confidence REAL NOT NULL,
  min_confidence FLOAT NOT NULL,
  max_confidence FLOAT NOT NULL,
  PRIMARY KEY (scope, day, tag)
);
CREATE INDEX IF NOT EXISTS tag_days_day ON tag_days (day);
DELETE FROM tag_totals;
INSERT INTO tag_totals
  SELECT scope, tag, COUNT(*), SUM(confidence), MIN(confidence), MAX(confidence)
  FROM tags GROUP BY scope, tag;
DELETE FROM tag_days;
INSERT INTO tag_days
  SELECT scope, SUBSTR(date, 1, 10), tag, COUNT(*), SUM(confidence), MIN(confidence), MAX(confidence)
  FROM tags GROUP BY scope, SUBSTR(date, 1, 10), tag;

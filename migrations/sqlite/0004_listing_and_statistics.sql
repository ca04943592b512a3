-- See migrations/mysql/0004_listing_and_statistics.sql.
-- @unless column pictures.tag_list
ALTER TABLE pictures ADD COLUMN tag_list TEXT NULL;
-- @end

CREATE TABLE IF NOT EXISTS tag_totals (
  tag            VARCHAR(32) NOT NULL PRIMARY KEY,
  n_images       INTEGER NOT NULL,
  sum_confidence REAL NOT NULL,
  min_confidence FLOAT NOT NULL,
  max_confidence FLOAT NOT NULL
);
DELETE FROM tag_totals;
INSERT INTO tag_totals
  SELECT tag, COUNT(*), SUM(confidence), MIN(confidence), MAX(confidence) FROM tags GROUP BY tag;

CREATE TABLE IF NOT EXISTS tag_days (
  day            CHAR(10) NOT NULL,
  tag            VARCHAR(32) NOT NULL,
  n_images       INTEGER NOT NULL,
  sum_confidence REAL NOT NULL,
  min_confidence FLOAT NOT NULL,
  max_confidence FLOAT NOT NULL,
  PRIMARY KEY (day, tag)
);
DELETE FROM tag_days;
INSERT INTO tag_days
  SELECT SUBSTR(date, 1, 10), tag, COUNT(*), SUM(confidence), MIN(confidence), MAX(confidence)
  FROM tags GROUP BY SUBSTR(date, 1, 10), tag;

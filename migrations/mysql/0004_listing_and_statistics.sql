-- Each picture's tags in response order, as JSON ([["cat", 93.21], ...]),
-- written with the tag rows: listings read them with the picture instead of
-- a second query. Older rows are filled in at start, in the background.
-- @unless column pictures.tag_list
ALTER TABLE pictures ADD COLUMN tag_list TEXT NULL;
-- @end

-- Per-tag statistics, kept in the same transaction as every insert, so
-- GET /tags reads a few hundred rows instead of scanning every tag row.
-- Emptied and refilled here, so a step cut short is simply run again.
CREATE TABLE IF NOT EXISTS tag_totals (
  tag            VARCHAR(32) NOT NULL PRIMARY KEY,
  n_images       BIGINT NOT NULL,
  sum_confidence DOUBLE NOT NULL,
  min_confidence FLOAT NOT NULL,
  max_confidence FLOAT NOT NULL
);
DELETE FROM tag_totals;
INSERT INTO tag_totals
  SELECT tag, COUNT(*), SUM(confidence), MIN(confidence), MAX(confidence) FROM tags GROUP BY tag;

-- The same per UTC day ('YYYY-MM-DD'), for date ranges.
CREATE TABLE IF NOT EXISTS tag_days (
  day            CHAR(10) NOT NULL,
  tag            VARCHAR(32) NOT NULL,
  n_images       BIGINT NOT NULL,
  sum_confidence DOUBLE NOT NULL,
  min_confidence FLOAT NOT NULL,
  max_confidence FLOAT NOT NULL,
  PRIMARY KEY (day, tag)
);
DELETE FROM tag_days;
INSERT INTO tag_days
  SELECT SUBSTR(date, 1, 10), tag, COUNT(*), SUM(confidence), MIN(confidence), MAX(confidence)
  FROM tags GROUP BY SUBSTR(date, 1, 10), tag;

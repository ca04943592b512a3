-- Per-tag statistics per scope ('' for public pictures, a user's id for that
-- user's private ones), kept in the transaction of every change, so GET /tags
-- counts only what the caller may see and still reads a few hundred rows.
-- The tables hold nothing that the tag rows do not: they are replaced, then
-- emptied and refilled, so a step cut short is simply run again.
-- @unless column tag_totals.scope and column tag_days.scope
DROP TABLE IF EXISTS tag_totals;
DROP TABLE IF EXISTS tag_days;
-- @end
CREATE TABLE IF NOT EXISTS tag_totals (
  scope          VARCHAR(128) {bytewise} NOT NULL,
  tag            VARCHAR(32) NOT NULL,
  n_images       BIGINT NOT NULL,
  sum_confidence DOUBLE NOT NULL,
  min_confidence FLOAT NOT NULL,
  max_confidence FLOAT NOT NULL,
  PRIMARY KEY (scope, tag)
);
CREATE TABLE IF NOT EXISTS tag_days (
  scope          VARCHAR(128) {bytewise} NOT NULL,
  day            CHAR(10) NOT NULL,
  tag            VARCHAR(32) NOT NULL,
  n_images       BIGINT NOT NULL,
  sum_confidence DOUBLE NOT NULL,
  min_confidence FLOAT NOT NULL,
  max_confidence FLOAT NOT NULL,
  PRIMARY KEY (scope, day, tag),
  KEY tag_days_day (day)
);
DELETE FROM tag_totals;
INSERT INTO tag_totals
  SELECT scope, tag, COUNT(*), SUM(confidence), MIN(confidence), MAX(confidence)
  FROM tags GROUP BY scope, tag;
DELETE FROM tag_days;
INSERT INTO tag_days
  SELECT scope, SUBSTR(date, 1, 10), tag, COUNT(*), SUM(confidence), MIN(confidence), MAX(confidence)
  FROM tags GROUP BY scope, SUBSTR(date, 1, 10), tag;

-- See migrations/mysql/0002_seed_columns.sql. SQLite changes a column by
-- rebuilding its table; the step runs in one transaction with foreign keys
-- off, so it happens whole or not at all. Tag rows of no picture (SQLite
-- does not enforce foreign keys unless asked) were never listed and are
-- left behind.

-- @unless notnull pictures.path and notnull pictures.date and notnull tags.confidence and notnull tags.date and notnull tags.tag and cascade tags.picture_id
-- @require pictures rows need a path of at most 1,024 characters and a date as YYYY-MM-DD HH:MM:SS
SELECT 'id ' || id || ' ' || CASE
    WHEN path IS NULL THEN 'has no path'
    WHEN length(path) > 1024 THEN 'has a path longer than 1,024 characters'
    WHEN date IS NULL THEN 'has no date'
    ELSE 'has the date ' || quote(date) END
  FROM pictures
  WHERE path IS NULL OR length(path) > 1024 OR date IS NULL
     OR date NOT GLOB '[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9] [0-9][0-9]:[0-9][0-9]:[0-9][0-9]'
  ORDER BY id;
-- @require tags rows need a tag, a confidence and a date as YYYY-MM-DD HH:MM:SS
SELECT 'tag ' || quote(tag) || ' of picture ' || picture_id || ' ' || CASE
    WHEN tag IS NULL THEN 'has no tag'
    WHEN confidence IS NULL THEN 'has no confidence'
    WHEN date IS NULL THEN 'has no date'
    ELSE 'has the date ' || quote(date) END
  FROM tags
  WHERE picture_id IN (SELECT id FROM pictures)
    AND (tag IS NULL OR confidence IS NULL OR date IS NULL
     OR date NOT GLOB '[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9] [0-9][0-9]:[0-9][0-9]:[0-9][0-9]')
  ORDER BY picture_id, tag;
CREATE TABLE pictures_converted (
  id   INTEGER PRIMARY KEY AUTOINCREMENT,
  path VARCHAR(1024) NOT NULL,
  date VARCHAR(19)  NOT NULL
);
INSERT INTO pictures_converted (id, path, date) SELECT id, path, date FROM pictures;
CREATE TABLE tags_converted (
  tag        VARCHAR(32) NOT NULL,
  picture_id INTEGER NOT NULL REFERENCES pictures(id) ON DELETE CASCADE,
  confidence FLOAT NOT NULL,
  date       VARCHAR(19) NOT NULL,
  PRIMARY KEY (tag, picture_id)
);
INSERT INTO tags_converted (tag, picture_id, confidence, date)
  SELECT tag, picture_id, confidence, date FROM tags WHERE picture_id IN (SELECT id FROM pictures);
DROP TABLE tags;
DROP TABLE pictures;
ALTER TABLE pictures_converted RENAME TO pictures;
ALTER TABLE tags_converted RENAME TO tags;
-- @end

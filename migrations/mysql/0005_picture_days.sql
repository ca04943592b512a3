-- The smallest picture id of each UTC day, kept in the same transaction as
-- every insert: a date-range listing finds where its id-ordered scan starts
-- from a handful of these rows plus at most two partial days of the
-- (date, id) index, instead of scanning a month of that index.
CREATE TABLE IF NOT EXISTS picture_days (
  day        CHAR(10) NOT NULL PRIMARY KEY,
  first_id   BIGINT NOT NULL,
  n_pictures BIGINT NOT NULL
);
DELETE FROM picture_days;
INSERT INTO picture_days (day, first_id, n_pictures)
  SELECT SUBSTR(date, 1, 10), MIN(id), COUNT(*) FROM pictures GROUP BY SUBSTR(date, 1, 10);

-- See migrations/mysql/0005_picture_days.sql.
CREATE TABLE IF NOT EXISTS picture_days (
  day        CHAR(10) NOT NULL PRIMARY KEY,
  first_id   BIGINT NOT NULL,
  n_pictures BIGINT NOT NULL
);
DELETE FROM picture_days;
INSERT INTO picture_days (day, first_id, n_pictures)
  SELECT SUBSTR(date, 1, 10), MIN(id), COUNT(*) FROM pictures GROUP BY SUBSTR(date, 1, 10);

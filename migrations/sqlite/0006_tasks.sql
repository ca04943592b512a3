-- Progress of resumable tasks over every picture (re-tagging): the last
-- picture id done, so a task stopped by a crash resumes where it was.
CREATE TABLE IF NOT EXISTS tasks (
  name       VARCHAR(64) NOT NULL PRIMARY KEY,
  cursor_id  BIGINT NOT NULL,
  updated_at VARCHAR(19) NOT NULL
);

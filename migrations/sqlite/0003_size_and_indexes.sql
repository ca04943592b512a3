-- See migrations/mysql/0003_size_and_indexes.sql.
-- @unless column pictures.size
ALTER TABLE pictures ADD COLUMN size INTEGER NULL;
-- @end

CREATE INDEX IF NOT EXISTS pictures_date ON pictures (date, id);
CREATE INDEX IF NOT EXISTS tags_picture ON tags (picture_id, confidence, tag);
CREATE INDEX IF NOT EXISTS tags_date_tag ON tags (date, tag, confidence);

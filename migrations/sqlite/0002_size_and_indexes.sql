-- See migrations/mysql/0002_size_and_indexes.sql.
ALTER TABLE pictures ADD COLUMN size INTEGER NULL;

CREATE INDEX pictures_date ON pictures (date, id);
CREATE INDEX tags_picture ON tags (picture_id, confidence, tag);
CREATE INDEX tags_date_tag ON tags (date, tag, confidence);

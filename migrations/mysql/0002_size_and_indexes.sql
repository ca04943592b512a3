-- File size in bytes, recorded at upload so listings never touch the store.
-- Rows written before this column existed keep NULL; they are sized from the
-- store when read.
ALTER TABLE pictures ADD COLUMN size BIGINT NULL;

-- Date ranges on pictures (GET /images).
CREATE INDEX pictures_date ON pictures (date, id);
-- All tags of a page of pictures, already in response order.
CREATE INDEX tags_picture ON tags (picture_id, confidence, tag);
-- Per-tag statistics over a date range (GET /tags), answered from the index.
CREATE INDEX tags_date_tag ON tags (date, tag, confidence);

-- File size in bytes, recorded at upload so listings never touch the store.
-- Rows written before it existed are filled in at start, in the background.
-- @unless column pictures.size
ALTER TABLE pictures ADD COLUMN size BIGINT NULL;
-- @end

-- Date ranges on pictures (GET /images).
-- @unless index pictures.pictures_date
CREATE INDEX pictures_date ON pictures (date, id);
-- @end
-- All tags of a page of pictures, already in response order.
-- @unless index tags.tags_picture
CREATE INDEX tags_picture ON tags (picture_id, confidence, tag);
-- @end
-- Per-tag statistics over partial days (GET /tags), answered from the index.
-- @unless index tags.tags_date_tag
CREATE INDEX tags_date_tag ON tags (date, tag, confidence);
-- @end

-- The original assignment's tables: `path TEXT, date TEXT`, `confidence
-- FLOAT, date TEXT`, all nullable, and a foreign key that does not cascade.
-- TEXT cannot be indexed, so the columns become the types of 0001. Every
-- row of both tables is checked before anything changes.

-- @unless type pictures.path varchar(1024) and notnull pictures.path and type pictures.date varchar(19) and notnull pictures.date and type tags.date varchar(19) and notnull tags.date and notnull tags.confidence
-- @require pictures rows need a path of at most 1,024 characters and a date as YYYY-MM-DD HH:MM:SS
SELECT CONCAT('id ', id, ' ', CASE
    WHEN path IS NULL THEN 'has no path'
    WHEN CHAR_LENGTH(path) > 1024 THEN 'has a path longer than 1,024 characters'
    WHEN date IS NULL THEN 'has no date'
    ELSE CONCAT('has the date ', QUOTE(date)) END)
  FROM pictures
  WHERE path IS NULL OR CHAR_LENGTH(path) > 1024 OR date IS NULL
     OR date NOT REGEXP '^[0-9]{4}-[0-9]{2}-[0-9]{2} [0-9]{2}:[0-9]{2}:[0-9]{2}$'
  ORDER BY id;
-- @require tags rows need a confidence and a date as YYYY-MM-DD HH:MM:SS
SELECT CONCAT('tag ', QUOTE(tag), ' of picture ', picture_id, ' ', CASE
    WHEN confidence IS NULL THEN 'has no confidence'
    WHEN date IS NULL THEN 'has no date'
    ELSE CONCAT('has the date ', QUOTE(date)) END)
  FROM tags
  WHERE confidence IS NULL OR date IS NULL
     OR date NOT REGEXP '^[0-9]{4}-[0-9]{2}-[0-9]{2} [0-9]{2}:[0-9]{2}:[0-9]{2}$'
  ORDER BY picture_id, tag;
-- @end

-- @unless type pictures.path varchar(1024) and notnull pictures.path and type pictures.date varchar(19) and notnull pictures.date
ALTER TABLE pictures MODIFY path VARCHAR(1024) NOT NULL, MODIFY date VARCHAR(19) NOT NULL;
-- @end

-- @unless type tags.date varchar(19) and notnull tags.date and notnull tags.confidence
ALTER TABLE tags MODIFY confidence FLOAT NOT NULL, MODIFY date VARCHAR(19) NOT NULL;
-- @end

-- Deleting a picture deletes its tags. Dropping the old key and adding the
-- new one are two statements (MySQL cannot do both in one copying ALTER);
-- if only the first ran, the guard still sees no cascade and adds it.
-- @unless cascade tags.picture_id
-- @drop-restrict-fk tags.picture_id
ALTER TABLE tags ADD CONSTRAINT tags_picture_fk FOREIGN KEY (picture_id) REFERENCES pictures(id) ON DELETE CASCADE;
-- @end

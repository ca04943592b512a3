-- See migrations/mysql/0014_objects.sql.
-- @unless column pictures.objects
ALTER TABLE pictures ADD COLUMN objects TEXT NULL;

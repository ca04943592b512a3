-- See migrations/mysql/0012_bytewise_ids.sql. SQLite compares text byte for
-- byte (BINARY) unless a column or a query says otherwise, and no column
-- holding an id does; its VARCHAR lengths are not enforced, so user ids of
-- 128 characters fit as they are. The step only proves the comparison.
-- @require identifiers must compare byte for byte
SELECT 'text compares without regard to case or trailing spaces'
  WHERE 'Alice' = 'alice' OR 'alice ' = 'alice';

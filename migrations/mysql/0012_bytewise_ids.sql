-- Identifiers compare byte for byte. The server's default collation
-- (utf8mb4_general_ci here) would make 'Alice', 'alice ' and 'álice' one
-- user: a token for one would read, count and delete the other's pictures.
-- Every column holding a user id, a scope (a user id or ''), a content hash
-- or a random id gets `{bytewise}`: utf8mb4 with a binary NO PAD collation
-- (utf8mb4_nopad_bin on MariaDB, utf8mb4_0900_bin on MySQL 8), so case,
-- accents and trailing spaces all count. User ids widen to 128 characters:
-- a token's user is `jwt:<issuer>:<subject>` (shared/src/domain/caller.rs).
-- The steps before this one create these columns so on a new database,
-- where every guard below holds; a database made before is converted here.
-- Each table is one ALTER under its own guard, so a step cut off half-way
-- converts the rest when it runs again.

-- The key's user refers to the user: the foreign key goes while both sides
-- change, and comes back below.
-- @unless bytewise users.id and bytewise api_keys.user_id and type users.id varchar(128)
-- @drop-fk api_keys.user_id
ALTER TABLE users MODIFY id VARCHAR(128) {bytewise} NOT NULL;
ALTER TABLE api_keys MODIFY user_id VARCHAR(128) {bytewise} NOT NULL,
  MODIFY key_hash CHAR(64) {bytewise} NOT NULL;
-- @end
-- @unless cascade api_keys.user_id
ALTER TABLE api_keys ADD CONSTRAINT api_keys_user_fk FOREIGN KEY (user_id) REFERENCES users(id) ON DELETE CASCADE;
-- @end

-- @unless bytewise pictures.owner and type pictures.owner varchar(128)
ALTER TABLE pictures MODIFY owner VARCHAR(128) {bytewise} NOT NULL DEFAULT '',
  MODIFY hash CHAR(64) {bytewise} NULL,
  MODIFY dedup_key CHAR(64) {bytewise} NULL,
  MODIFY external_id VARCHAR(64) {bytewise} NULL;
-- @end
-- @unless bytewise tags.scope and type tags.scope varchar(128)
ALTER TABLE tags MODIFY scope VARCHAR(128) {bytewise} NOT NULL DEFAULT '';
-- @end
-- @unless bytewise tag_totals.scope and type tag_totals.scope varchar(128)
ALTER TABLE tag_totals MODIFY scope VARCHAR(128) {bytewise} NOT NULL;
-- @end
-- @unless bytewise tag_days.scope and type tag_days.scope varchar(128)
ALTER TABLE tag_days MODIFY scope VARCHAR(128) {bytewise} NOT NULL;
-- @end
-- @unless bytewise picture_stats.scope and type picture_stats.scope varchar(128)
ALTER TABLE picture_stats MODIFY scope VARCHAR(128) {bytewise} NOT NULL;
-- @end
-- @unless bytewise upload_links.owner and type upload_links.owner varchar(128)
ALTER TABLE upload_links MODIFY id CHAR(32) {bytewise} NOT NULL,
  MODIFY owner VARCHAR(128) {bytewise} NOT NULL;
-- @end
-- @unless bytewise upload_slots.owner and type upload_slots.owner varchar(128)
ALTER TABLE upload_slots MODIFY image_id CHAR(32) {bytewise} NOT NULL,
  MODIFY owner VARCHAR(128) {bytewise} NOT NULL;
-- @end
-- @unless bytewise settings.name
ALTER TABLE settings MODIFY name VARCHAR(64) {bytewise} NOT NULL;
-- @end

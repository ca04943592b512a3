-- What the service reads from each file at upload (SPEC Part 2, "Picture
-- objects"): content hash, format and size in pixels, EXIF, dominant
-- colours, perceptual hash, faces; and the tagging status of queued uploads.
-- Rows older than these columns are filled in by `make backfill`.
-- One ALTER: one pass over a large table, and all of it or nothing, so one
-- guard stands for the whole statement.
--   hash        SHA-256 of the file's bytes, hex: de-duplication, ETag, seed 002's image id
--   status      tagged, pending (waiting in the tagging queue) or failed; failure: why
--   external_id the image_id of a presigned upload (seed 004's id)
--   camera, taken_at, gps_*  EXIF: "Make - Model", DateTimeOriginal, GPS
--   colors      the dominant colours, JSON [["#rrggbb", fraction], ...]
--   phash       64-bit perceptual hash, ph0..ph3 its four 16-bit bands
--   faces       faces the people detector saw
--   analyzed    1 once the facts were read from the file (0: older rows, for the backfill)
-- Indexes: one picture per owner and content (two concurrent uploads of the
-- same bytes give one picture); the filters of GET /images, each in id
-- order; near duplicates by band (a picture within distance d of another has
-- a band within d/4 of the other's: pigeonhole).
-- @unless column pictures.hash
ALTER TABLE pictures
  ADD COLUMN hash CHAR(64) {bytewise} NULL,
  ADD COLUMN format VARCHAR(8) NULL,
  ADD COLUMN width INT NULL,
  ADD COLUMN height INT NULL,
  ADD COLUMN status VARCHAR(8) NOT NULL DEFAULT 'tagged',
  ADD COLUMN failure VARCHAR(255) NULL,
  ADD COLUMN external_id VARCHAR(64) {bytewise} NULL,
  ADD COLUMN camera VARCHAR(128) NULL,
  ADD COLUMN taken_at VARCHAR(19) NULL,
  ADD COLUMN gps_lat DOUBLE NULL,
  ADD COLUMN gps_lon DOUBLE NULL,
  ADD COLUMN colors VARCHAR(512) NULL,
  ADD COLUMN phash BIGINT NULL,
  ADD COLUMN ph0 INT NULL,
  ADD COLUMN ph1 INT NULL,
  ADD COLUMN ph2 INT NULL,
  ADD COLUMN ph3 INT NULL,
  ADD COLUMN faces INT NULL,
  ADD COLUMN analyzed TINYINT NOT NULL DEFAULT 0,
  ADD UNIQUE INDEX pictures_dedup (owner, hash),
  ADD INDEX pictures_hash (hash),
  ADD UNIQUE INDEX pictures_external (external_id),
  ADD INDEX pictures_status (status, id),
  ADD INDEX pictures_format (format, id),
  ADD INDEX pictures_camera (camera, id),
  ADD INDEX pictures_faces (faces, id),
  ADD INDEX pictures_analyzed (analyzed, id),
  ADD INDEX pictures_ph0 (ph0, phash),
  ADD INDEX pictures_ph1 (ph1, phash),
  ADD INDEX pictures_ph2 (ph2, phash),
  ADD INDEX pictures_ph3 (ph3, phash);
-- @end

-- The dominant colours one by one, for `color=#rrggbb`: `cell` is the colour
-- on a 8x8x8 grid (32 levels a channel), so a search reads the few cells
-- around the colour asked for, then compares exactly.
CREATE TABLE IF NOT EXISTS picture_colors (
  picture_id INT NOT NULL,
  rank_no    TINYINT NOT NULL,
  cell       SMALLINT NOT NULL,
  r          SMALLINT NOT NULL,
  g          SMALLINT NOT NULL,
  b          SMALLINT NOT NULL,
  fraction   FLOAT NOT NULL,
  PRIMARY KEY (picture_id, rank_no),
  KEY picture_colors_cell (cell, picture_id),
  CONSTRAINT picture_colors_fk FOREIGN KEY (picture_id) REFERENCES pictures(id) ON DELETE CASCADE
);

-- Names by their lower-cased three-character pieces, for `name=` substring
-- searches that read the pictures holding every piece instead of every name.
CREATE TABLE IF NOT EXISTS name_trigrams (
  trigram    VARCHAR(3) NOT NULL,
  picture_id INT NOT NULL,
  PRIMARY KEY (trigram, picture_id),
  CONSTRAINT name_trigrams_fk FOREIGN KEY (picture_id) REFERENCES pictures(id) ON DELETE CASCADE
);

-- GET /stats, kept per scope like the tag statistics: uploads per UTC day,
-- pictures per format, per camera.
CREATE TABLE IF NOT EXISTS picture_stats (
  scope VARCHAR(128) {bytewise} NOT NULL,
  kind  VARCHAR(8) NOT NULL,
  value VARCHAR(128) NOT NULL,
  n     BIGINT NOT NULL,
  PRIMARY KEY (scope, kind, value)
);
DELETE FROM picture_stats;
INSERT INTO picture_stats
  SELECT CASE WHEN private = 1 THEN owner ELSE '' END, 'day', SUBSTR(date, 1, 10), COUNT(*)
  FROM pictures GROUP BY CASE WHEN private = 1 THEN owner ELSE '' END, SUBSTR(date, 1, 10)
  UNION ALL
  SELECT CASE WHEN private = 1 THEN owner ELSE '' END, 'format', format, COUNT(*)
  FROM pictures WHERE format IS NOT NULL GROUP BY CASE WHEN private = 1 THEN owner ELSE '' END, format
  UNION ALL
  SELECT CASE WHEN private = 1 THEN owner ELSE '' END, 'camera', camera, COUNT(*)
  FROM pictures WHERE camera IS NOT NULL GROUP BY CASE WHEN private = 1 THEN owner ELSE '' END, camera;

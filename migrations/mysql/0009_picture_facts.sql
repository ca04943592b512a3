-- What the service reads from each file at upload (SPEC Part 2, "Picture
-- objects"): content hash, format and size in pixels, EXIF, dominant
-- colours, perceptual hash, faces; and the tagging status of queued uploads.
-- Rows older than these columns are filled in by `make backfill`.
-- SHA-256 of the file's bytes, hex: de-duplication, ETag, seed 002's image id
-- @unless column pictures.hash
ALTER TABLE pictures ADD COLUMN hash CHAR(64) NULL;
-- @end
-- @unless column pictures.format
ALTER TABLE pictures ADD COLUMN format VARCHAR(8) NULL;
-- @end
-- @unless column pictures.width
ALTER TABLE pictures ADD COLUMN width INT NULL;
-- @end
-- @unless column pictures.height
ALTER TABLE pictures ADD COLUMN height INT NULL;
-- @end
-- tagged, pending (waiting in the tagging queue) or failed
-- @unless column pictures.status
ALTER TABLE pictures ADD COLUMN status VARCHAR(8) NOT NULL DEFAULT 'tagged';
-- @end
-- why tagging failed, for a failed picture
-- @unless column pictures.failure
ALTER TABLE pictures ADD COLUMN failure VARCHAR(255) NULL;
-- @end
-- the image_id of a presigned upload (seed 004's id)
-- @unless column pictures.external_id
ALTER TABLE pictures ADD COLUMN external_id VARCHAR(64) NULL;
-- @end
-- EXIF: "Make - Model", DateTimeOriginal, GPS
-- @unless column pictures.camera
ALTER TABLE pictures ADD COLUMN camera VARCHAR(128) NULL;
-- @end
-- @unless column pictures.taken_at
ALTER TABLE pictures ADD COLUMN taken_at VARCHAR(19) NULL;
-- @end
-- @unless column pictures.gps_lat
ALTER TABLE pictures ADD COLUMN gps_lat DOUBLE NULL;
-- @end
-- @unless column pictures.gps_lon
ALTER TABLE pictures ADD COLUMN gps_lon DOUBLE NULL;
-- @end
-- the dominant colours, JSON [["#rrggbb", fraction], ...]
-- @unless column pictures.colors
ALTER TABLE pictures ADD COLUMN colors VARCHAR(512) NULL;
-- @end
-- 64-bit perceptual hash, and its four 16-bit bands for near-duplicate lookups
-- @unless column pictures.phash
ALTER TABLE pictures ADD COLUMN phash BIGINT NULL;
-- @end
-- @unless column pictures.ph0
ALTER TABLE pictures ADD COLUMN ph0 INT NULL;
-- @end
-- @unless column pictures.ph1
ALTER TABLE pictures ADD COLUMN ph1 INT NULL;
-- @end
-- @unless column pictures.ph2
ALTER TABLE pictures ADD COLUMN ph2 INT NULL;
-- @end
-- @unless column pictures.ph3
ALTER TABLE pictures ADD COLUMN ph3 INT NULL;
-- @end
-- faces the people detector saw
-- @unless column pictures.faces
ALTER TABLE pictures ADD COLUMN faces INT NULL;
-- @end
-- 1 once the facts above were read from the file (0: rows older than them, for the backfill)
-- @unless column pictures.analyzed
ALTER TABLE pictures ADD COLUMN analyzed TINYINT NOT NULL DEFAULT 0;
-- @end

-- One picture per owner and content: two concurrent uploads of the same bytes give one picture.
-- @unless index pictures.pictures_dedup
CREATE UNIQUE INDEX pictures_dedup ON pictures (owner, hash);
-- @end
-- @unless index pictures.pictures_hash
CREATE INDEX pictures_hash ON pictures (hash);
-- @end
-- @unless index pictures.pictures_external
CREATE UNIQUE INDEX pictures_external ON pictures (external_id);
-- @end
-- The filters of GET /images, each an index in id order.
-- @unless index pictures.pictures_status
CREATE INDEX pictures_status ON pictures (status, id);
-- @end
-- @unless index pictures.pictures_format
CREATE INDEX pictures_format ON pictures (format, id);
-- @end
-- @unless index pictures.pictures_camera
CREATE INDEX pictures_camera ON pictures (camera, id);
-- @end
-- @unless index pictures.pictures_faces
CREATE INDEX pictures_faces ON pictures (faces, id);
-- @end
-- @unless index pictures.pictures_analyzed
CREATE INDEX pictures_analyzed ON pictures (analyzed, id);
-- @end
-- Near duplicates: a picture within distance d of another has a band within d/4 of the other's (pigeonhole).
-- @unless index pictures.pictures_ph0
CREATE INDEX pictures_ph0 ON pictures (ph0, phash);
-- @end
-- @unless index pictures.pictures_ph1
CREATE INDEX pictures_ph1 ON pictures (ph1, phash);
-- @end
-- @unless index pictures.pictures_ph2
CREATE INDEX pictures_ph2 ON pictures (ph2, phash);
-- @end
-- @unless index pictures.pictures_ph3
CREATE INDEX pictures_ph3 ON pictures (ph3, phash);
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
  scope VARCHAR(64) NOT NULL,
  kind  VARCHAR(8) NOT NULL,
  value VARCHAR(128) NOT NULL,
  n     BIGINT NOT NULL,
  PRIMARY KEY (scope, kind, value)
);
DELETE FROM picture_stats;
INSERT INTO picture_stats
  SELECT CASE WHEN private = 1 THEN owner ELSE '' END, 'day', SUBSTR(date, 1, 10), COUNT(*)
  FROM pictures GROUP BY CASE WHEN private = 1 THEN owner ELSE '' END, SUBSTR(date, 1, 10);
INSERT INTO picture_stats
  SELECT CASE WHEN private = 1 THEN owner ELSE '' END, 'format', format, COUNT(*)
  FROM pictures WHERE format IS NOT NULL GROUP BY CASE WHEN private = 1 THEN owner ELSE '' END, format;
INSERT INTO picture_stats
  SELECT CASE WHEN private = 1 THEN owner ELSE '' END, 'camera', camera, COUNT(*)
  FROM pictures WHERE camera IS NOT NULL GROUP BY CASE WHEN private = 1 THEN owner ELSE '' END, camera;

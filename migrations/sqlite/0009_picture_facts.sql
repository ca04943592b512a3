-- See migrations/mysql/0009_picture_facts.sql.
-- @unless column pictures.hash
ALTER TABLE pictures ADD COLUMN hash CHAR(64) NULL;
-- @end
-- @unless column pictures.format
ALTER TABLE pictures ADD COLUMN format VARCHAR(8) NULL;
-- @end
-- @unless column pictures.width
ALTER TABLE pictures ADD COLUMN width INTEGER NULL;
-- @end
-- @unless column pictures.height
ALTER TABLE pictures ADD COLUMN height INTEGER NULL;
-- @end
-- @unless column pictures.status
ALTER TABLE pictures ADD COLUMN status VARCHAR(8) NOT NULL DEFAULT 'tagged';
-- @end
-- @unless column pictures.failure
ALTER TABLE pictures ADD COLUMN failure VARCHAR(255) NULL;
-- @end
-- @unless column pictures.external_id
ALTER TABLE pictures ADD COLUMN external_id VARCHAR(64) NULL;
-- @end
-- @unless column pictures.camera
ALTER TABLE pictures ADD COLUMN camera VARCHAR(128) NULL;
-- @end
-- @unless column pictures.taken_at
ALTER TABLE pictures ADD COLUMN taken_at VARCHAR(19) NULL;
-- @end
-- @unless column pictures.gps_lat
ALTER TABLE pictures ADD COLUMN gps_lat REAL NULL;
-- @end
-- @unless column pictures.gps_lon
ALTER TABLE pictures ADD COLUMN gps_lon REAL NULL;
-- @end
-- @unless column pictures.colors
ALTER TABLE pictures ADD COLUMN colors VARCHAR(512) NULL;
-- @end
-- @unless column pictures.phash
ALTER TABLE pictures ADD COLUMN phash INTEGER NULL;
-- @end
-- @unless column pictures.ph0
ALTER TABLE pictures ADD COLUMN ph0 INTEGER NULL;
-- @end
-- @unless column pictures.ph1
ALTER TABLE pictures ADD COLUMN ph1 INTEGER NULL;
-- @end
-- @unless column pictures.ph2
ALTER TABLE pictures ADD COLUMN ph2 INTEGER NULL;
-- @end
-- @unless column pictures.ph3
ALTER TABLE pictures ADD COLUMN ph3 INTEGER NULL;
-- @end
-- @unless column pictures.faces
ALTER TABLE pictures ADD COLUMN faces INTEGER NULL;
-- @end
-- @unless column pictures.analyzed
ALTER TABLE pictures ADD COLUMN analyzed INTEGER NOT NULL DEFAULT 0;
-- @end

CREATE UNIQUE INDEX IF NOT EXISTS pictures_dedup ON pictures (owner, hash);
CREATE INDEX IF NOT EXISTS pictures_hash ON pictures (hash);
CREATE UNIQUE INDEX IF NOT EXISTS pictures_external ON pictures (external_id);
CREATE INDEX IF NOT EXISTS pictures_status ON pictures (status, id);
CREATE INDEX IF NOT EXISTS pictures_format ON pictures (format, id);
CREATE INDEX IF NOT EXISTS pictures_camera ON pictures (camera COLLATE NOCASE, id);
CREATE INDEX IF NOT EXISTS pictures_faces ON pictures (faces, id);
CREATE INDEX IF NOT EXISTS pictures_analyzed ON pictures (analyzed, id);
CREATE INDEX IF NOT EXISTS pictures_ph0 ON pictures (ph0, phash);
CREATE INDEX IF NOT EXISTS pictures_ph1 ON pictures (ph1, phash);
CREATE INDEX IF NOT EXISTS pictures_ph2 ON pictures (ph2, phash);
CREATE INDEX IF NOT EXISTS pictures_ph3 ON pictures (ph3, phash);

-- The dominant colours one by one, for `color=#rrggbb`: `cell` is the colour
-- on a 8x8x8 grid (32 levels a channel), so a search reads the few cells
-- around the colour asked for, then compares exactly.
CREATE TABLE IF NOT EXISTS picture_colors (
  picture_id INTEGER NOT NULL REFERENCES pictures(id) ON DELETE CASCADE,
  rank_no    INTEGER NOT NULL,
  cell       INTEGER NOT NULL,
  r          INTEGER NOT NULL,
  g          INTEGER NOT NULL,
  b          INTEGER NOT NULL,
  fraction   FLOAT NOT NULL,
  PRIMARY KEY (picture_id, rank_no)
);
CREATE INDEX IF NOT EXISTS picture_colors_cell ON picture_colors (cell, picture_id);

-- Names by their lower-cased three-character pieces, for `name=` substring
-- searches that read the pictures holding every piece instead of every name.
CREATE TABLE IF NOT EXISTS name_trigrams (
  trigram    VARCHAR(3) NOT NULL,
  picture_id INTEGER NOT NULL REFERENCES pictures(id) ON DELETE CASCADE,
  PRIMARY KEY (trigram, picture_id)
) WITHOUT ROWID;

-- GET /stats, kept per scope like the tag statistics: uploads per UTC day,
-- pictures per format, per camera.
CREATE TABLE IF NOT EXISTS picture_stats (
  scope VARCHAR(64) NOT NULL,
  kind  VARCHAR(8) NOT NULL,
  value VARCHAR(128) NOT NULL,
  n     INTEGER NOT NULL,
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

-- Asynchronous tagging: one row per picture waiting for the tagger. A worker
-- claims a row by setting `lease_until` (unix seconds) in the future; a
-- worker that dies leaves a lease that runs out, and the row is claimed
-- again. `not_before` holds retries back (exponential backoff).
CREATE TABLE IF NOT EXISTS tag_queue (
  picture_id     INT NOT NULL PRIMARY KEY,
  min_confidence DOUBLE NOT NULL,
  attempts       INT NOT NULL DEFAULT 0,
  not_before     BIGINT NOT NULL,
  lease_until    BIGINT NOT NULL DEFAULT 0,
  last_error     VARCHAR(255) NULL,
  KEY tag_queue_due (not_before),
  CONSTRAINT tag_queue_fk FOREIGN KEY (picture_id) REFERENCES pictures(id) ON DELETE CASCADE
);

-- Upload links (seed 002): anyone holding the id uploads as its creator
-- until it expires (unix seconds).
CREATE TABLE IF NOT EXISTS upload_links (
  id      CHAR(32) {bytewise} NOT NULL PRIMARY KEY,
  owner   VARCHAR(128) {bytewise} NOT NULL,
  expires BIGINT NOT NULL,
  created VARCHAR(19) NOT NULL
);

-- Presigned upload slots (seed 004): the client PUTs a file to the slot's
-- URL, then registers it with POST /images/batch. A slot never registered is
-- removed, with its object, once expired (the reconcile sweep).
CREATE TABLE IF NOT EXISTS upload_slots (
  image_id CHAR(32) {bytewise} NOT NULL PRIMARY KEY,
  owner    VARCHAR(128) {bytewise} NOT NULL,
  location VARCHAR(1024) NOT NULL,
  expires  BIGINT NOT NULL,
  created  VARCHAR(19) NOT NULL,
  KEY upload_slots_expires (expires)
);

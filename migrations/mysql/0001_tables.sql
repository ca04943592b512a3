-- The service's tables, created with their final column types on a new
-- database. A database made by the original assignment already has both
-- tables (TEXT columns, nullable); 0002 converts them.
CREATE TABLE IF NOT EXISTS pictures (
  id   INT AUTO_INCREMENT PRIMARY KEY,
  path VARCHAR(1024) NOT NULL,
  date VARCHAR(19)  NOT NULL
);

CREATE TABLE IF NOT EXISTS tags (
  tag        VARCHAR(32) NOT NULL,
  picture_id INT NOT NULL,
  confidence FLOAT NOT NULL,
  date       VARCHAR(19) NOT NULL,
  PRIMARY KEY (tag, picture_id),
  CONSTRAINT tags_picture_fk FOREIGN KEY (picture_id) REFERENCES pictures(id) ON DELETE CASCADE
);

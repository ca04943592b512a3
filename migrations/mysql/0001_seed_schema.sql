-- The seed assignment's schema. IF NOT EXISTS keeps databases created by the
-- seed's own CREATE TABLE statements working: their rows stay, the next
-- migration extends them.
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
  FOREIGN KEY (picture_id) REFERENCES pictures(id) ON DELETE CASCADE
);

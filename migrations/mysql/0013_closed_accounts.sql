-- Accounts being deleted. Closing an account removes its keys, upload links,
-- upload slots and user row in one transaction and records it here, so no
-- key, link or slot of it works a moment later; its pictures then go one by
-- one, row before file. A deletion cut short (a crash, a lost connection)
-- is finished by the next sweep from this row, which goes last.
CREATE TABLE IF NOT EXISTS closed_accounts (
  id     VARCHAR(128) {bytewise} NOT NULL PRIMARY KEY,
  closed VARCHAR(19) NOT NULL
);

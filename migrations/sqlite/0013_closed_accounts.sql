-- See migrations/mysql/0013_closed_accounts.sql.
CREATE TABLE IF NOT EXISTS closed_accounts (
  id     VARCHAR(128) NOT NULL PRIMARY KEY,
  closed VARCHAR(19) NOT NULL
);

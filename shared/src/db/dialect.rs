//! What differs between SQLite and MySQL: a few words of SQL, how a URL
//! becomes connect options, the catalog queries the migrations ask, what
//! surrounds a migration, and the two calls of sqlx glue each driver spells
//! its own way. Everything else in db/ is written once, generic over
//! `DB: Dialect`.

use std::str::FromStr;
use std::time::Duration;

use sqlx::mysql::{MySql, MySqlConnectOptions};
use sqlx::sqlite::{Sqlite, SqliteConnectOptions, SqliteJournalMode, SqliteSynchronous};

use super::DbError;
use super::sql::{Check, ConnectOptions, Dialect, Done, Raw, Rows, Sql, execute};
use super::steps::Step;

impl Dialect for Sqlite {
    const INSERT_IGNORE: &'static str = "INSERT OR IGNORE";
    const IGNORING_CASE: &'static str = " COLLATE NOCASE";
    const LEAST: &'static str = "MIN";
    const GREATEST: &'static str = "MAX";

    fn on_conflict(keys: &str) -> String {
        format!(" ON CONFLICT ({keys}) DO UPDATE SET")
    }

    fn inserted(column: &str) -> String {
        format!("excluded.{column}")
    }

    fn options(url: &str, timeout: Duration) -> Result<ConnectOptions<Self>, DbError> {
        let options = SqliteConnectOptions::from_str(url)
            .map_err(|e| DbError::Url(e.to_string()))?
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Normal)
            .foreign_keys(true)
            .busy_timeout(timeout);
        if let Some(dir) = options.get_filename().parent()
            && !dir.as_os_str().is_empty()
        {
            std::fs::create_dir_all(dir)
                .map_err(|e| DbError::Url(format!("cannot create {}: {e}", dir.display())))?;
        }
        Ok(options)
    }

    fn step_sql(step: &Step) -> &'static str {
        step.sqlite
    }

    const TRANSACTIONAL: bool = true;

    fn check(kind: &str) -> Option<Check> {
        Some(Check::Count(match kind {
            "table" => "SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = ?",
            "column" => "SELECT COUNT(*) FROM pragma_table_info(?) WHERE name = ?",
            // Column types are affinities in SQLite: any text type holds text;
            // text compares BINARY unless a column says otherwise.
            "type" | "bytewise" => return Some(Check::Always),
            "notnull" => {
                "SELECT COUNT(*) FROM pragma_table_info(?) WHERE name = ? AND \"notnull\" = 1"
            }
            "index" => {
                "SELECT COUNT(*) FROM sqlite_master WHERE type = 'index' AND tbl_name = ? AND name = ?"
            }
            "cascade" => {
                "SELECT COUNT(*) FROM pragma_foreign_key_list(?) WHERE \"from\" = ? AND on_delete = 'CASCADE'"
            }
            _ => return None,
        }))
    }

    // SQLite cannot drop a constraint; its steps rebuild the table instead.
    const RESTRICT_FKS: Option<&'static str> = None;
    const FKS: Option<&'static str> = None;

    async fn bytewise(_: &mut Self::Connection) -> Result<&'static str, sqlx::Error> {
        // Text compares BINARY unless told otherwise.
        Ok("")
    }

    /// Foreign keys are off while the migration rebuilds tables (SQLite's
    /// way of changing a column), on again after.
    async fn begin_migration(conn: &mut Self::Connection) -> Result<(), DbError> {
        execute::<Self>(conn, "PRAGMA foreign_keys = OFF").await?;
        Ok(())
    }

    /// `foreign_key_check` proves nothing was left dangling.
    async fn end_migration(
        conn: &mut Self::Connection,
        steps: Result<(), DbError>,
    ) -> Result<(), DbError> {
        execute::<Self>(conn, "PRAGMA foreign_keys = ON").await?;
        steps?;
        let dangling: i64 = Sql::new("SELECT COUNT(*) FROM pragma_foreign_key_check")
            .scalar(Raw::<Self>(conn))
            .await?;
        if dangling > 0 {
            return Err(DbError::Migrate(format!(
                "{dangling} rows refer to missing rows after migrating"
            )));
        }
        Ok(())
    }

    fn decode<T: Rows>(row: &Self::Row) -> Result<T, sqlx::Error> {
        T::from_row(row)
    }

    fn done(result: &Self::QueryResult) -> Done {
        Done::new(result.rows_affected(), result.last_insert_rowid())
    }
}

impl Dialect for MySql {
    const INSERT_IGNORE: &'static str = "INSERT IGNORE";
    const IGNORING_CASE: &'static str = "";
    const LEAST: &'static str = "LEAST";
    const GREATEST: &'static str = "GREATEST";

    // VALUES() in ON DUPLICATE KEY UPDATE: understood by MySQL 8 and MariaDB alike.
    fn on_conflict(_keys: &str) -> String {
        " ON DUPLICATE KEY UPDATE".to_string()
    }

    fn inserted(column: &str) -> String {
        format!("VALUES({column})")
    }

    fn options(url: &str, _timeout: Duration) -> Result<ConnectOptions<Self>, DbError> {
        let url = url.replacen("mariadb:", "mysql:", 1);
        MySqlConnectOptions::from_str(&url)
            .map_err(|_| DbError::Url("not a valid mysql:// URL".to_string()))
    }

    fn step_sql(step: &Step) -> &'static str {
        step.mysql
    }

    const TRANSACTIONAL: bool = false;

    fn check(kind: &str) -> Option<Check> {
        Some(Check::Count(match kind {
            "table" => {
                "SELECT COUNT(*) FROM information_schema.tables WHERE table_schema = DATABASE() AND table_name = ?"
            }
            "column" => {
                "SELECT COUNT(*) FROM information_schema.columns WHERE table_schema = DATABASE() AND table_name = ? AND column_name = ?"
            }
            "type" => {
                "SELECT COUNT(*) FROM information_schema.columns WHERE table_schema = DATABASE() AND table_name = ? AND column_name = ? AND LOWER(column_type) = ?"
            }
            "notnull" => {
                "SELECT COUNT(*) FROM information_schema.columns WHERE table_schema = DATABASE() AND table_name = ? AND column_name = ? AND is_nullable = 'NO'"
            }
            "index" => {
                "SELECT COUNT(*) FROM information_schema.statistics WHERE table_schema = DATABASE() AND table_name = ? AND index_name = ?"
            }
            "bytewise" => {
                "SELECT COUNT(*) FROM information_schema.columns WHERE table_schema = DATABASE() \
                 AND table_name = ? AND column_name = ? AND (data_type IN ('binary', 'varbinary') \
                 OR collation_name IN ('utf8mb4_nopad_bin', 'utf8mb4_0900_bin', 'binary'))"
            }
            "cascade" => {
                "SELECT COUNT(*) FROM information_schema.referential_constraints r \
                 JOIN information_schema.key_column_usage k ON k.constraint_schema = r.constraint_schema \
                   AND k.constraint_name = r.constraint_name AND k.table_name = r.table_name \
                 WHERE r.constraint_schema = DATABASE() AND r.table_name = ? AND k.column_name = ? \
                   AND r.delete_rule = 'CASCADE'"
            }
            _ => return None,
        }))
    }

    const RESTRICT_FKS: Option<&'static str> = Some(
        "SELECT r.constraint_name FROM information_schema.referential_constraints r \
         JOIN information_schema.key_column_usage k ON k.constraint_schema = r.constraint_schema \
           AND k.constraint_name = r.constraint_name AND k.table_name = r.table_name \
         WHERE r.constraint_schema = DATABASE() AND r.table_name = ? AND k.column_name = ? \
           AND r.delete_rule <> 'CASCADE'",
    );
    const FKS: Option<&'static str> = Some(
        "SELECT constraint_name FROM information_schema.key_column_usage \
         WHERE table_schema = DATABASE() AND table_name = ? AND column_name = ? \
           AND referenced_table_name IS NOT NULL",
    );

    /// MariaDB and MySQL 8 name their byte-for-byte collations differently.
    async fn bytewise(conn: &mut Self::Connection) -> Result<&'static str, sqlx::Error> {
        let version: String = Sql::new("SELECT VERSION()")
            .scalar(Raw::<Self>(conn))
            .await?;
        Ok(if version.to_ascii_lowercase().contains("mariadb") {
            "CHARACTER SET utf8mb4 COLLATE utf8mb4_nopad_bin"
        } else {
            "CHARACTER SET utf8mb4 COLLATE utf8mb4_0900_bin"
        })
    }

    /// One process at a time migrates, under a named lock.
    async fn begin_migration(conn: &mut Self::Connection) -> Result<(), DbError> {
        let locked: Option<i64> = Sql::new("SELECT GET_LOCK('pictures.migrate', 600)")
            .scalar(Raw::<Self>(conn))
            .await?;
        if locked != Some(1) {
            return Err(DbError::Migrate(
                "another process has been migrating for 10 minutes".into(),
            ));
        }
        Ok(())
    }

    async fn end_migration(
        conn: &mut Self::Connection,
        steps: Result<(), DbError>,
    ) -> Result<(), DbError> {
        let _ = Sql::new("SELECT RELEASE_LOCK('pictures.migrate')")
            .execute(Raw::<Self>(conn))
            .await;
        steps
    }

    fn decode<T: Rows>(row: &Self::Row) -> Result<T, sqlx::Error> {
        T::from_row(row)
    }

    fn done(result: &Self::QueryResult) -> Done {
        Done::new(result.rows_affected(), result.last_insert_id() as i64)
    }
}

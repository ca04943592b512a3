//! Schema migrations that can always be run again.
//!
//! MySQL does not roll DDL back, so a migration cut off half-way (a full
//! disk, a killed process, a lost connection) must finish when the service
//! next starts, with no repair by hand. The steps are the SQL files in
//! `migrations/<dialect>/`, applied in order; a step is recorded in
//! `schema_steps` only once all of it has run, and every statement in it is
//! either safe to repeat (`CREATE TABLE IF NOT EXISTS`, a statistics table
//! emptied and refilled) or sits under a guard saying when it is already done:
//!
//! ```sql
//! -- @unless column pictures.size
//! ALTER TABLE pictures ADD COLUMN size BIGINT NULL;
//! ```
//!
//! A guard covers the statements up to the next guard or `-- @end`, and
//! skips them when all its conditions (joined by `and`) hold (`@if`: runs
//! them only then): `table T`,
//! `column T.C`, `type T.C <column type>` (MySQL), `notnull T.C`,
//! `index T.I`, `cascade T.C` (a foreign key on T.C that deletes with its
//! parent), `bytewise T.C` (MySQL: the column compares byte for byte, a
//! binary NO PAD collation or a binary type). `-- @require <what>` runs the
//! next statement, a `SELECT` of the
//! rows that stop the step, and refuses to go on (changing nothing) when it
//! finds any. `-- @drop-restrict-fk T.C` drops the foreign keys on T.C that
//! do not cascade; `-- @drop-fk T.C` every foreign key on T.C.
//! `{bytewise}` in a MySQL statement stands for the character set and
//! collation that compare byte for byte on the server at hand (MariaDB and
//! MySQL 8 name them differently).
//!
//! On SQLite each step also runs in one transaction; on MySQL one process
//! at a time migrates, under a named lock.

use async_trait::async_trait;
use sqlx::{AssertSqlSafe, Row};
use std::collections::HashSet;

use super::DbError;

/// One step: its name (the file's stem) and its SQL.
pub(crate) type Step = (&'static str, &'static str);

macro_rules! steps {
    ($dialect:literal: $($name:literal),* $(,)?) => {
        &[$(($name, include_str!(concat!("../../../migrations/", $dialect, "/", $name, ".sql")))),*]
    };
}

pub(crate) const MYSQL_STEPS: &[Step] = steps!("mysql":
    "0001_tables",
    "0002_seed_columns",
    "0003_size_and_indexes",
    "0004_listing_and_statistics",
    "0005_picture_days",
    "0006_tasks",
    "0007_accounts",
    "0008_scoped_statistics",
    "0009_picture_facts",
    "0010_queue_and_uploads",
    "0011_upload_dedup",
    "0012_bytewise_ids",
    "0013_closed_accounts",
    "0014_objects",
);

pub(crate) const SQLITE_STEPS: &[Step] = steps!("sqlite":
    "0001_tables",
    "0002_seed_columns",
    "0003_size_and_indexes",
    "0004_listing_and_statistics",
    "0005_picture_days",
    "0006_tasks",
    "0007_accounts",
    "0008_scoped_statistics",
    "0009_picture_facts",
    "0010_queue_and_uploads",
    "0011_upload_dedup",
    "0012_bytewise_ids",
    "0013_closed_accounts",
    "0014_objects",
);

/// Where a crash test stops a migration: after this many statements have
/// been executed (counting the records of finished steps).
#[derive(Debug, Clone, Copy, Default)]
pub struct Faults {
    pub fail_after_statements: Option<usize>,
}

/// A parsed piece of a step file.
#[derive(Debug, PartialEq)]
enum Item {
    /// Skip what follows when all the conditions hold (`@unless`), or
    /// unless they all hold (`@if`).
    Guard(Vec<String>, bool),
    End,
    Require(String),
    DropRestrictFk(String),
    DropFk(String),
    Statement(String),
}

fn parse(sql: &str) -> Vec<Item> {
    let mut items = Vec::new();
    let mut statement = String::new();
    for line in sql.lines() {
        let trimmed = line.trim();
        if let Some(directive) = trimmed.strip_prefix("-- @") {
            let (word, rest) = directive.split_once(' ').unwrap_or((directive, ""));
            let rest = rest.trim().to_string();
            items.push(match word {
                "unless" | "if" => Item::Guard(
                    rest.split(" and ").map(|c| c.trim().to_string()).collect(),
                    word == "if",
                ),
                "end" => Item::End,
                "require" => Item::Require(rest),
                "drop-restrict-fk" => Item::DropRestrictFk(rest),
                "drop-fk" => Item::DropFk(rest),
                other => panic!("unknown migration directive @{other}"),
            });
            continue;
        }
        if trimmed.starts_with("--") || (trimmed.is_empty() && statement.is_empty()) {
            continue;
        }
        statement.push_str(line);
        statement.push('\n');
        if trimmed.ends_with(';') {
            let text = statement.trim().trim_end_matches(';').trim().to_string();
            items.push(Item::Statement(text));
            statement.clear();
        }
    }
    assert!(statement.trim().is_empty(), "a migration ends without `;`");
    items
}

/// What the runner needs of a connection, per dialect.
#[async_trait]
trait Catalog: Send {
    async fn execute(&mut self, sql: &str) -> Result<(), sqlx::Error>;
    /// Each row's columns as text (NULL as "NULL").
    async fn rows(&mut self, sql: &str) -> Result<Vec<Vec<String>>, sqlx::Error>;
    async fn holds(&mut self, condition: &str) -> Result<bool, sqlx::Error>;
    async fn restrict_fks(&mut self, table: &str, column: &str)
    -> Result<Vec<String>, sqlx::Error>;
    /// Every foreign key on the column.
    async fn fks(&mut self, table: &str, column: &str) -> Result<Vec<String>, sqlx::Error>;
    /// What `{bytewise}` stands for on this server.
    async fn bytewise(&mut self) -> Result<&'static str, sqlx::Error>;
    /// Whether each step runs inside a transaction (DDL is transactional).
    const TRANSACTIONAL: bool;
}

struct Runner<'a, C: Catalog> {
    conn: &'a mut C,
    executed: usize,
    faults: Faults,
}

impl<C: Catalog> Runner<'_, C> {
    async fn exec(&mut self, sql: &str) -> Result<(), DbError> {
        self.conn
            .execute(sql)
            .await
            .map_err(|e| step_error(sql, e))?;
        self.executed += 1;
        if self.faults.fail_after_statements == Some(self.executed) {
            return Err(DbError::Migrate(format!(
                "stopped after statement {} (fault injected)",
                self.executed
            )));
        }
        Ok(())
    }

    async fn done_steps(&mut self) -> Result<HashSet<String>, DbError> {
        self.exec("CREATE TABLE IF NOT EXISTS schema_steps (name VARCHAR(64) NOT NULL PRIMARY KEY, applied_at VARCHAR(19) NOT NULL)")
            .await?;
        let rows = self.conn.rows("SELECT name FROM schema_steps").await?;
        Ok(rows.into_iter().filter_map(|mut r| r.pop()).collect())
    }

    async fn run_step(&mut self, name: &str, sql: &str) -> Result<(), DbError> {
        let mut skipping = false;
        let mut require: Option<String> = None;
        for item in parse(sql) {
            match item {
                Item::Guard(conditions, negated) => {
                    let mut all = true;
                    for c in &conditions {
                        if !self.conn.holds(c).await? {
                            all = false;
                            break;
                        }
                    }
                    skipping = all != negated;
                }
                Item::End => skipping = false,
                _ if skipping => {}
                Item::Require(what) => require = Some(what),
                Item::DropRestrictFk(target) => {
                    let (table, column) = split_target(&target);
                    for fk in self.conn.restrict_fks(table, column).await? {
                        self.exec(&format!("ALTER TABLE {table} DROP FOREIGN KEY {fk}"))
                            .await?;
                    }
                }
                Item::DropFk(target) => {
                    let (table, column) = split_target(&target);
                    for fk in self.conn.fks(table, column).await? {
                        self.exec(&format!("ALTER TABLE {table} DROP FOREIGN KEY {fk}"))
                            .await?;
                    }
                }
                Item::Statement(sql) => match require.take() {
                    Some(what) => {
                        let rows = self
                            .conn
                            .rows(&sql)
                            .await
                            .map_err(|e| step_error(&sql, e))?;
                        if !rows.is_empty() {
                            return Err(DbError::Refused(refusal(name, &what, &rows)));
                        }
                    }
                    None if sql.contains("{bytewise}") => {
                        let bytewise = self.conn.bytewise().await?;
                        self.exec(&sql.replace("{bytewise}", bytewise)).await?
                    }
                    None => self.exec(&sql).await?,
                },
            }
        }
        self.exec(&format!(
            "INSERT INTO schema_steps (name, applied_at) VALUES ('{name}', '{}')",
            crate::domain::utc_now()
        ))
        .await
    }

    async fn run(&mut self, steps: &[Step]) -> Result<(), DbError> {
        let done = self.done_steps().await?;
        for (name, sql) in steps.iter().filter(|(n, _)| !done.contains(*n)) {
            let started = std::time::Instant::now();
            if C::TRANSACTIONAL {
                self.exec("BEGIN IMMEDIATE").await?;
                // Another process may have applied it while this one waited.
                let again = self
                    .conn
                    .rows(&format!(
                        "SELECT name FROM schema_steps WHERE name = '{name}'"
                    ))
                    .await?;
                if !again.is_empty() {
                    self.exec("COMMIT").await?;
                    continue;
                }
                if let Err(e) = self.run_step(name, sql).await {
                    let _ = self.conn.execute("ROLLBACK").await;
                    return Err(e);
                }
                self.exec("COMMIT").await?;
            } else {
                self.run_step(name, sql).await?;
            }
            tracing::info!(step = name, elapsed = ?started.elapsed(), "migration step applied");
        }
        Ok(())
    }
}

fn split_target(target: &str) -> (&str, &str) {
    target
        .split_once('.')
        .unwrap_or_else(|| panic!("migration target {target:?} is not table.column"))
}

fn step_error(sql: &str, e: sqlx::Error) -> DbError {
    match DbError::from(e) {
        DbError::Query(e) => {
            let first_line = sql.lines().next().unwrap_or("");
            DbError::Migrate(format!("{e} (in `{first_line}`)"))
        }
        other => other,
    }
}

/// The clear message of a refused conversion: which rows, and why.
fn refusal(step: &str, what: &str, rows: &[Vec<String>]) -> String {
    let shown: Vec<String> = rows.iter().take(10).map(|r| r.join(": ")).collect();
    format!(
        "migration {step} cannot convert the existing rows: {what}. {} row(s), e.g. {}. \
         Nothing was changed; correct or delete those rows, then start again.",
        rows.len(),
        shown.join("; ")
    )
}

/// Brings a MySQL database up to date, one process at a time.
pub(crate) async fn mysql(conn: &mut sqlx::MySqlConnection, faults: Faults) -> Result<(), DbError> {
    // Steps already recorded: nothing to lock for (the common start).
    if let Ok(rows) = conn.rows("SELECT name FROM schema_steps").await
        && MYSQL_STEPS
            .iter()
            .all(|(n, _)| rows.iter().any(|r| r[0] == *n))
    {
        return Ok(());
    }
    let locked: Option<i64> = sqlx::query_scalar("SELECT GET_LOCK('pictures.migrate', 600)")
        .fetch_one(&mut *conn)
        .await?;
    if locked != Some(1) {
        return Err(DbError::Migrate(
            "another process has been migrating for 10 minutes".into(),
        ));
    }
    let result = Runner {
        conn: &mut *conn,
        executed: 0,
        faults,
    }
    .run(MYSQL_STEPS)
    .await;
    let _ = sqlx::query("SELECT RELEASE_LOCK('pictures.migrate')")
        .execute(&mut *conn)
        .await;
    result
}

/// Brings a SQLite database up to date. Foreign keys are off while the
/// migration rebuilds tables (SQLite's way of changing a column), on again
/// after; `foreign_key_check` then proves nothing was left dangling.
pub(crate) async fn sqlite(
    conn: &mut sqlx::SqliteConnection,
    faults: Faults,
) -> Result<(), DbError> {
    if let Ok(rows) = conn.rows("SELECT name FROM schema_steps").await
        && SQLITE_STEPS
            .iter()
            .all(|(n, _)| rows.iter().any(|r| r[0] == *n))
    {
        return Ok(());
    }
    conn.execute("PRAGMA foreign_keys = OFF").await?;
    let result = Runner {
        conn: &mut *conn,
        executed: 0,
        faults,
    }
    .run(SQLITE_STEPS)
    .await;
    conn.execute("PRAGMA foreign_keys = ON").await?;
    result?;
    let dangling: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM pragma_foreign_key_check")
        .fetch_one(&mut *conn)
        .await?;
    if dangling > 0 {
        return Err(DbError::Migrate(format!(
            "{dangling} rows refer to missing rows after migrating"
        )));
    }
    Ok(())
}

/// A row's columns as text; the queries that list rows select text.
fn texts<R: Row>(row: &R) -> Vec<String>
where
    for<'r> Option<String>: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    usize: sqlx::ColumnIndex<R>,
{
    (0..row.len())
        .map(|i| match row.try_get::<Option<String>, _>(i) {
            Ok(v) => v.unwrap_or_else(|| "NULL".into()),
            Err(_) => "?".into(),
        })
        .collect()
}

#[async_trait]
impl Catalog for sqlx::MySqlConnection {
    const TRANSACTIONAL: bool = false;

    async fn execute(&mut self, sql: &str) -> Result<(), sqlx::Error> {
        sqlx::raw_sql(AssertSqlSafe(sql.to_string()))
            .execute(self)
            .await
            .map(|_| ())
    }

    async fn rows(&mut self, sql: &str) -> Result<Vec<Vec<String>>, sqlx::Error> {
        let rows = sqlx::query(AssertSqlSafe(sql.to_string()))
            .fetch_all(self)
            .await?;
        Ok(rows.iter().map(texts).collect())
    }

    async fn holds(&mut self, condition: &str) -> Result<bool, sqlx::Error> {
        let words: Vec<&str> = condition.split_whitespace().collect();
        let (kind, target) = (words[0], words.get(1).copied().unwrap_or(""));
        let (table, name) = target.split_once('.').unwrap_or((target, ""));
        let count: i64 = match kind {
            "table" => {
                sqlx::query_scalar("SELECT COUNT(*) FROM information_schema.tables WHERE table_schema = DATABASE() AND table_name = ?")
                    .bind(table)
                    .fetch_one(&mut *self)
                    .await?
            }
            "column" => {
                sqlx::query_scalar("SELECT COUNT(*) FROM information_schema.columns WHERE table_schema = DATABASE() AND table_name = ? AND column_name = ?")
                    .bind(table)
                    .bind(name)
                    .fetch_one(&mut *self)
                    .await?
            }
            "type" => {
                let wanted = words[2..].join(" ").to_ascii_lowercase();
                sqlx::query_scalar("SELECT COUNT(*) FROM information_schema.columns WHERE table_schema = DATABASE() AND table_name = ? AND column_name = ? AND LOWER(column_type) = ?")
                    .bind(table)
                    .bind(name)
                    .bind(wanted)
                    .fetch_one(&mut *self)
                    .await?
            }
            "notnull" => {
                sqlx::query_scalar("SELECT COUNT(*) FROM information_schema.columns WHERE table_schema = DATABASE() AND table_name = ? AND column_name = ? AND is_nullable = 'NO'")
                    .bind(table)
                    .bind(name)
                    .fetch_one(&mut *self)
                    .await?
            }
            "index" => {
                sqlx::query_scalar("SELECT COUNT(*) FROM information_schema.statistics WHERE table_schema = DATABASE() AND table_name = ? AND index_name = ?")
                    .bind(table)
                    .bind(name)
                    .fetch_one(&mut *self)
                    .await?
            }
            "bytewise" => {
                sqlx::query_scalar(
                    "SELECT COUNT(*) FROM information_schema.columns WHERE table_schema = DATABASE() \
                     AND table_name = ? AND column_name = ? AND (data_type IN ('binary', 'varbinary') \
                     OR collation_name IN ('utf8mb4_nopad_bin', 'utf8mb4_0900_bin', 'binary'))",
                )
                .bind(table)
                .bind(name)
                .fetch_one(&mut *self)
                .await?
            }
            "cascade" => {
                sqlx::query_scalar(
                    "SELECT COUNT(*) FROM information_schema.referential_constraints r \
                     JOIN information_schema.key_column_usage k ON k.constraint_schema = r.constraint_schema \
                       AND k.constraint_name = r.constraint_name AND k.table_name = r.table_name \
                     WHERE r.constraint_schema = DATABASE() AND r.table_name = ? AND k.column_name = ? \
                       AND r.delete_rule = 'CASCADE'",
                )
                .bind(table)
                .bind(name)
                .fetch_one(&mut *self)
                .await?
            }
            other => panic!("unknown migration condition {other:?}"),
        };
        Ok(count > 0)
    }

    async fn restrict_fks(
        &mut self,
        table: &str,
        column: &str,
    ) -> Result<Vec<String>, sqlx::Error> {
        sqlx::query_scalar(
            "SELECT r.constraint_name FROM information_schema.referential_constraints r \
             JOIN information_schema.key_column_usage k ON k.constraint_schema = r.constraint_schema \
               AND k.constraint_name = r.constraint_name AND k.table_name = r.table_name \
             WHERE r.constraint_schema = DATABASE() AND r.table_name = ? AND k.column_name = ? \
               AND r.delete_rule <> 'CASCADE'",
        )
        .bind(table)
        .bind(column)
        .fetch_all(self)
        .await
    }

    async fn fks(&mut self, table: &str, column: &str) -> Result<Vec<String>, sqlx::Error> {
        sqlx::query_scalar(
            "SELECT constraint_name FROM information_schema.key_column_usage \
             WHERE table_schema = DATABASE() AND table_name = ? AND column_name = ? \
               AND referenced_table_name IS NOT NULL",
        )
        .bind(table)
        .bind(column)
        .fetch_all(self)
        .await
    }

    async fn bytewise(&mut self) -> Result<&'static str, sqlx::Error> {
        let version: String = sqlx::query_scalar("SELECT VERSION()")
            .fetch_one(&mut *self)
            .await?;
        Ok(if version.to_ascii_lowercase().contains("mariadb") {
            "CHARACTER SET utf8mb4 COLLATE utf8mb4_nopad_bin"
        } else {
            "CHARACTER SET utf8mb4 COLLATE utf8mb4_0900_bin"
        })
    }
}

#[async_trait]
impl Catalog for sqlx::SqliteConnection {
    const TRANSACTIONAL: bool = true;

    async fn execute(&mut self, sql: &str) -> Result<(), sqlx::Error> {
        sqlx::raw_sql(AssertSqlSafe(sql.to_string()))
            .execute(self)
            .await
            .map(|_| ())
    }

    async fn rows(&mut self, sql: &str) -> Result<Vec<Vec<String>>, sqlx::Error> {
        let rows = sqlx::query(AssertSqlSafe(sql.to_string()))
            .fetch_all(self)
            .await?;
        Ok(rows.iter().map(texts).collect())
    }

    async fn holds(&mut self, condition: &str) -> Result<bool, sqlx::Error> {
        let words: Vec<&str> = condition.split_whitespace().collect();
        let (kind, target) = (words[0], words.get(1).copied().unwrap_or(""));
        let (table, name) = target.split_once('.').unwrap_or((target, ""));
        let count: i64 = match kind {
            "table" => {
                sqlx::query_scalar("SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = ?")
                    .bind(table)
                    .fetch_one(&mut *self)
                    .await?
            }
            "column" => {
                sqlx::query_scalar("SELECT COUNT(*) FROM pragma_table_info(?) WHERE name = ?")
                    .bind(table)
                    .bind(name)
                    .fetch_one(&mut *self)
                    .await?
            }
            // Column types are affinities in SQLite: any text type holds text;
            // text compares BINARY unless a column says otherwise.
            "type" | "bytewise" => 1,
            "notnull" => {
                sqlx::query_scalar("SELECT COUNT(*) FROM pragma_table_info(?) WHERE name = ? AND \"notnull\" = 1")
                    .bind(table)
                    .bind(name)
                    .fetch_one(&mut *self)
                    .await?
            }
            "index" => {
                sqlx::query_scalar("SELECT COUNT(*) FROM sqlite_master WHERE type = 'index' AND tbl_name = ? AND name = ?")
                    .bind(table)
                    .bind(name)
                    .fetch_one(&mut *self)
                    .await?
            }
            "cascade" => {
                sqlx::query_scalar("SELECT COUNT(*) FROM pragma_foreign_key_list(?) WHERE \"from\" = ? AND on_delete = 'CASCADE'")
                    .bind(table)
                    .bind(name)
                    .fetch_one(&mut *self)
                    .await?
            }
            other => panic!("unknown migration condition {other:?}"),
        };
        Ok(count > 0)
    }

    async fn restrict_fks(&mut self, _: &str, _: &str) -> Result<Vec<String>, sqlx::Error> {
        // SQLite cannot drop a constraint; its steps rebuild the table instead.
        Ok(Vec::new())
    }

    async fn fks(&mut self, _: &str, _: &str) -> Result<Vec<String>, sqlx::Error> {
        Ok(Vec::new())
    }

    async fn bytewise(&mut self) -> Result<&'static str, sqlx::Error> {
        // Text compares BINARY unless told otherwise.
        Ok("")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn step_files_parse() {
        for (name, sql) in MYSQL_STEPS.iter().chain(SQLITE_STEPS) {
            let items = parse(sql);
            assert!(
                items.iter().any(|i| matches!(i, Item::Statement(_))),
                "{name} has no statement"
            );
        }
        let items = parse(
            "-- a comment\n-- @unless column a.b and index a.i\nALTER TABLE a\n  ADD b INT;\n-- @end\nSELECT 1;\n",
        );
        assert_eq!(
            items,
            vec![
                Item::Guard(vec!["column a.b".into(), "index a.i".into()], false),
                Item::Statement("ALTER TABLE a\n  ADD b INT".into()),
                Item::End,
                Item::Statement("SELECT 1".into()),
            ]
        );
    }

    #[test]
    fn both_dialects_have_the_same_steps() {
        let names = |steps: &[Step]| steps.iter().map(|(n, _)| *n).collect::<Vec<_>>();
        assert_eq!(names(MYSQL_STEPS), names(SQLITE_STEPS));
    }
}

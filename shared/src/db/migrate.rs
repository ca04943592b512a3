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
//! at a time migrates, under a named lock. One runner serves both: the
//! dialect supplies the catalog queries (`Dialect::check`) and what
//! surrounds a migration.

use std::collections::HashSet;

use sqlx::{ColumnIndex, Decode, FromRow, Row, Type};

use super::DbError;
use super::sql::{Check, Dialect, Raw, Sql, execute};
use super::steps::STEPS;

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

/// Every column of a row as text ("NULL" for NULL, "?" for what is not
/// text): the rows of a query the runner does not know the shape of.
struct Texts(Vec<String>);

impl<'r, R: Row> FromRow<'r, R> for Texts
where
    usize: ColumnIndex<R>,
    Option<String>: Decode<'r, R::Database> + Type<R::Database>,
{
    fn from_row(row: &'r R) -> Result<Self, sqlx::Error> {
        Ok(Texts(
            (0..row.len())
                .map(|i| match row.try_get::<Option<String>, _>(i) {
                    Ok(v) => v.unwrap_or_else(|| "NULL".into()),
                    Err(_) => "?".into(),
                })
                .collect(),
        ))
    }
}

struct Runner<'a, DB: Dialect> {
    conn: &'a mut DB::Connection,
    executed: usize,
    faults: Faults,
}

impl<DB: Dialect> Runner<'_, DB> {
    fn on(&mut self) -> Raw<'_, DB> {
        Raw(&mut *self.conn)
    }

    async fn exec(&mut self, sql: &str) -> Result<(), DbError> {
        execute::<DB>(self.conn, sql)
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

    /// Each row's columns as text (NULL as "NULL").
    async fn rows(&mut self, sql: &str) -> Result<Vec<Vec<String>>, sqlx::Error> {
        let rows: Vec<Texts> = Sql::new(sql.to_string()).fetch_all(self.on()).await?;
        Ok(rows.into_iter().map(|Texts(r)| r).collect())
    }

    /// Whether a guard's condition (`column T.C` and the like) holds, as the
    /// dialect's catalog answers it.
    async fn holds(&mut self, condition: &str) -> Result<bool, sqlx::Error> {
        let words: Vec<&str> = condition.split_whitespace().collect();
        let (kind, target) = (words[0], words.get(1).copied().unwrap_or(""));
        let (table, name) = target.split_once('.').unwrap_or((target, ""));
        let query = match DB::check(kind) {
            Some(Check::Count(query)) => query,
            Some(Check::Always) => return Ok(true),
            None => panic!("unknown migration condition {kind:?}"),
        };
        let mut sql = Sql::new(query).bind(table);
        if kind != "table" {
            sql = sql.bind(name);
        }
        if kind == "type" {
            sql = sql.bind(words[2..].join(" ").to_ascii_lowercase());
        }
        let count: i64 = sql.scalar(self.on()).await?;
        Ok(count > 0)
    }

    /// Drops the foreign keys on `target` (`T.C`) that the dialect's query
    /// names (`None`: the dialect has none to drop).
    async fn drop_fks(&mut self, query: Option<&'static str>, target: &str) -> Result<(), DbError> {
        let (table, column) = split_target(target);
        let Some(query) = query else {
            return Ok(());
        };
        let fks: Vec<String> = Sql::new(query)
            .bind(table)
            .bind(column)
            .scalars(self.on())
            .await?;
        for fk in fks {
            self.exec(&format!("ALTER TABLE {table} DROP FOREIGN KEY {fk}"))
                .await?;
        }
        Ok(())
    }

    async fn done_steps(&mut self) -> Result<HashSet<String>, DbError> {
        self.exec("CREATE TABLE IF NOT EXISTS schema_steps (name VARCHAR(64) NOT NULL PRIMARY KEY, applied_at VARCHAR(19) NOT NULL)")
            .await?;
        let rows = self.rows("SELECT name FROM schema_steps").await?;
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
                        if !self.holds(c).await? {
                            all = false;
                            break;
                        }
                    }
                    skipping = all != negated;
                }
                Item::End => skipping = false,
                _ if skipping => {}
                Item::Require(what) => require = Some(what),
                Item::DropRestrictFk(target) => self.drop_fks(DB::RESTRICT_FKS, &target).await?,
                Item::DropFk(target) => self.drop_fks(DB::FKS, &target).await?,
                Item::Statement(sql) => match require.take() {
                    Some(what) => {
                        let rows = self.rows(&sql).await.map_err(|e| step_error(&sql, e))?;
                        if !rows.is_empty() {
                            return Err(DbError::Refused(refusal(name, &what, &rows)));
                        }
                    }
                    None if sql.contains("{bytewise}") => {
                        let bytewise = DB::bytewise(self.conn).await?;
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

    async fn run(&mut self) -> Result<(), DbError> {
        let done = self.done_steps().await?;
        for step in STEPS.iter().filter(|s| !done.contains(s.name)) {
            let (name, sql) = (step.name, DB::step_sql(step));
            let started = std::time::Instant::now();
            if DB::TRANSACTIONAL {
                self.exec("BEGIN IMMEDIATE").await?;
                // Another process may have applied it while this one waited.
                let again = self
                    .rows(&format!(
                        "SELECT name FROM schema_steps WHERE name = '{name}'"
                    ))
                    .await?;
                if !again.is_empty() {
                    self.exec("COMMIT").await?;
                    continue;
                }
                if let Err(e) = self.run_step(name, sql).await {
                    let _ = execute::<DB>(self.conn, "ROLLBACK").await;
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

/// Brings the database up to date: nothing to do (and nothing to lock) when
/// every step is recorded, the common start.
pub(super) async fn migrate<DB: Dialect>(
    conn: &mut DB::Connection,
    faults: Faults,
) -> Result<(), DbError> {
    let mut runner = Runner::<DB> {
        conn,
        executed: 0,
        faults,
    };
    if let Ok(rows) = runner.rows("SELECT name FROM schema_steps").await
        && STEPS.iter().all(|s| rows.iter().any(|r| r[0] == s.name))
    {
        return Ok(());
    }
    DB::begin_migration(runner.conn).await?;
    let steps = runner.run().await;
    DB::end_migration(runner.conn, steps).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn step_files_parse() {
        for step in STEPS {
            for sql in [step.mysql, step.sqlite] {
                let items = parse(sql);
                assert!(
                    items.iter().any(|i| matches!(i, Item::Statement(_))),
                    "{} has no statement",
                    step.name
                );
            }
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
    fn steps_are_in_order() {
        let names: Vec<&str> = STEPS.iter().map(|s| s.name).collect();
        let mut sorted = names.clone();
        sorted.sort();
        sorted.dedup();
        assert_eq!(names, sorted);
    }
}

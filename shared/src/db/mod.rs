//! The database port and its two adapters, SQLite (the embedded default) and
//! MySQL (compose, RDS). Both share their SQL through one macro; the dialects
//! differ only where the drivers do.

use async_trait::async_trait;
use std::sync::Arc;
use std::time::Duration;

use crate::domain::{DateRange, NewPicture, SearchQuery, StoredPicture, Tag, TagStat};

mod migrate;
mod sql;
mod stats;

pub use migrate::Faults;
pub use sql::{MySqlDatabase, SqliteDatabase, encode_tag_list};

#[derive(Debug, thiserror::Error)]
pub enum DbError {
    /// The server cannot be reached, or is too busy to answer in time.
    #[error("database unavailable: {0}")]
    Unavailable(#[source] sqlx::Error),
    #[error("database query failed: {0}")]
    Query(#[source] sqlx::Error),
    #[error("database migration failed: {0}")]
    Migrate(String),
    /// Existing rows cannot be converted; nothing was changed.
    #[error("{0}")]
    Refused(String),
    #[error("invalid DATABASE_URL: {0}")]
    Url(String),
}

impl From<sqlx::Error> for DbError {
    fn from(e: sqlx::Error) -> Self {
        use sqlx::Error as E;
        match &e {
            E::Io(_) | E::Tls(_) | E::PoolTimedOut | E::PoolClosed | E::WorkerCrashed => {
                DbError::Unavailable(e)
            }
            // SQLite: busy, locked, read-only, disk full, cannot open.
            E::Database(db)
                if matches!(db.code().as_deref(), Some("5" | "6" | "8" | "13" | "14")) =>
            {
                DbError::Unavailable(e)
            }
            // MySQL: server gone away, lost connection, too many connections, lock wait timeout.
            E::Database(db)
                if matches!(
                    db.code().as_deref(),
                    Some("2006" | "2013" | "1040" | "1205")
                ) =>
            {
                DbError::Unavailable(e)
            }
            _ => DbError::Query(e),
        }
    }
}

/// Everything the operations ask of the database.
#[async_trait]
pub trait Database: Send + Sync {
    /// Creates the schema or brings it up to date. Called once at start and
    /// again (cheaply) before any query until it has succeeded once.
    async fn migrate(&self) -> Result<(), DbError>;

    /// Inserts the picture row and all its tag rows in one transaction.
    async fn insert_picture(&self, picture: &NewPicture<'_>) -> Result<i64, DbError>;

    async fn picture(&self, id: i64) -> Result<Option<StoredPicture>, DbError>;

    /// Replaces a picture's tags (rows, tag list and statistics) in one
    /// transaction. `false` when there is no such picture.
    async fn replace_tags(&self, id: i64, tags: &[Tag]) -> Result<bool, DbError>;

    /// Picture ids after `after`, ascending: the walk of a task over all pictures.
    async fn picture_ids(&self, after: i64, limit: u32) -> Result<Vec<i64>, DbError>;

    /// Where a resumable task over all pictures stopped (the last id done).
    async fn task_cursor(&self, name: &str) -> Result<Option<i64>, DbError>;

    /// Records its progress; `None` when the task is finished.
    async fn set_task_cursor(&self, name: &str, cursor: Option<i64>) -> Result<(), DbError>;

    /// Up to `limit + 1` pictures matching the query, by id ascending, each
    /// with all its tags; the extra row tells the caller another page exists.
    async fn search(&self, query: &SearchQuery) -> Result<Vec<StoredPicture>, DbError>;

    async fn tag_stats(&self, dates: &DateRange) -> Result<Vec<TagStat>, DbError>;

    /// Up to `limit` pictures after id `after` that were written without a
    /// size or a tag list (by the original assignment's app), each with the
    /// tags of its tag rows.
    async fn incomplete_pictures(
        &self,
        after: i64,
        limit: u32,
    ) -> Result<Vec<StoredPicture>, DbError>;

    /// Fills in what those rows lack: `(id, size in bytes or None when the
    /// file is missing, tag list)`, in one transaction; values already there stay.
    async fn complete_pictures(&self, done: &[(i64, Option<u64>, String)]) -> Result<(), DbError>;

    /// Whether a one-time task has been recorded as done.
    async fn noted(&self, name: &str) -> Result<bool, DbError>;

    /// Records a one-time task as done.
    async fn note(&self, name: &str) -> Result<(), DbError>;

    /// Every stored file location the pictures refer to.
    async fn locations(&self) -> Result<Vec<String>, DbError>;

    /// Recomputes the per-tag statistics from the tag rows, for databases
    /// that were written to by something other than this service.
    async fn rebuild_statistics(&self) -> Result<(), DbError>;
}

/// Opens the database `url` names (`sqlite://...` or `mysql://...`) without
/// connecting: the first query connects, so a function starts even while its
/// database is down and answers 503 until it is back.
pub fn open(
    url: &str,
    max_connections: u32,
    timeout: Duration,
) -> Result<Arc<dyn Database>, DbError> {
    if url.starts_with("sqlite:") {
        Ok(Arc::new(SqliteDatabase::open(
            url,
            max_connections,
            timeout,
        )?))
    } else if url.starts_with("mysql:") || url.starts_with("mariadb:") {
        Ok(Arc::new(MySqlDatabase::open(
            url,
            max_connections,
            timeout,
        )?))
    } else {
        Err(DbError::Url(
            "it must start with sqlite:// or mysql://".to_string(),
        ))
    }
}

//! The adapters of the database ports (`domain::ports`): SQLite (the
//! embedded default) and MySQL (compose, RDS).

use std::sync::Arc;
use std::time::Duration;

pub use crate::domain::ports::{
    Accounts, Analysis, Database, DbError, PictureChange, Pictures, Queue, Uploads,
};

mod accounts;
mod analysis;
mod migrate;
mod queue;
mod sql;
mod stats;
mod uploads;

pub use migrate::Faults;
pub use sql::{MySqlDatabase, SqliteDatabase, color_cell, encode_tag_list, trigrams};

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

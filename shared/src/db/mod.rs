//! The adapters of the database ports (`domain::ports`): SQLite (the
//! embedded default) and MySQL (compose, RDS), one [`SqlDatabase`] generic
//! over the driver. The statements are the same text on both; the few words
//! that differ are the [`Dialect`]'s (dialect.rs). One file per port:
//! pictures.rs (its reads; the writes in picture_writes.rs, searches in
//! search.rs), statistics in stats.rs and tallies.rs, accounts.rs,
//! uploads.rs, queue.rs, analysis.rs, and the migrations in migrate.rs.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use sqlx::pool::PoolOptions;
use sqlx::{Connection, Pool};
use tokio::sync::OnceCell;

pub use crate::domain::ports::{
    Accounts, Analysis, Database, DbError, PictureChange, Pictures, Queue, Uploads,
};

mod accounts;
mod analysis;
mod dialect;
mod migrate;
mod picture_writes;
mod pictures;
mod privacy;
mod queue;
mod rows;
mod search;
mod sql;
mod stats;
mod steps;
mod tallies;
mod uploads;

pub use migrate::Faults;
pub use rows::{color_cell, encode_tag_list, trigrams};
pub use sql::Dialect;

/// The adapter over one driver's pool.
pub struct SqlDatabase<DB: Dialect> {
    pool: Pool<DB>,
    options: sql::ConnectOptions<DB>,
    migrated: OnceCell<()>,
}

pub type SqliteDatabase = SqlDatabase<sqlx::Sqlite>;
pub type MySqlDatabase = SqlDatabase<sqlx::MySql>;

impl<DB: Dialect> SqlDatabase<DB> {
    /// Opens the database without connecting (see [`open`]).
    pub fn open(url: &str, max_connections: u32, timeout: Duration) -> Result<Self, DbError> {
        let options = DB::options(url, timeout)?;
        let pool = PoolOptions::<DB>::new()
            .max_connections(max_connections)
            .acquire_timeout(timeout)
            .connect_lazy_with(options.clone());
        Ok(SqlDatabase {
            pool,
            options,
            migrated: OnceCell::new(),
        })
    }

    /// Runs the migrations on a connection of their own: on SQLite they turn
    /// foreign keys off, which must not leak into the pool; on MySQL it holds
    /// the migration lock until it closes, even if a step fails.
    pub async fn migrate_with(&self, faults: Faults) -> Result<(), DbError> {
        let mut conn = DB::Connection::connect_with(&self.options).await?;
        let result = migrate::migrate::<DB>(&mut conn, faults).await;
        let _ = conn.close().await;
        result
    }

    /// Migrates once, before the first query that needs it.
    async fn ready(&self) -> Result<(), DbError> {
        self.migrated
            .get_or_try_init(|| self.migrate_with(Faults::default()))
            .await
            .map(|_| ())
    }

    /// A change retried when MySQL picks it as a deadlock victim.
    async fn retrying<T, F, Fut>(&self, mut attempt_once: F) -> Result<T, DbError>
    where
        F: FnMut() -> Fut,
        Fut: std::future::Future<Output = Result<T, sqlx::Error>>,
    {
        let mut attempt = 0;
        loop {
            match attempt_once().await {
                Err(sqlx::Error::Database(e))
                    if attempt < 4 && matches!(e.code().as_deref(), Some("40001")) =>
                {
                    attempt += 1;
                    tokio::time::sleep(Duration::from_millis(5 << attempt)).await;
                }
                other => return Ok(other?),
            }
        }
    }
}

#[async_trait]
impl<DB: Dialect> Database for SqlDatabase<DB> {
    async fn migrate(&self) -> Result<(), DbError> {
        self.ready().await
    }
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

//! The SQL both adapters run. The statements are the same text on SQLite and
//! MySQL (`?` placeholders, no dialect-only syntax); a macro stamps out one
//! concrete implementation per driver so each keeps its own pool type, row
//! decoding and last-insert-id call.

use async_trait::async_trait;
use sqlx::migrate::Migrator;
use sqlx::mysql::{MySql, MySqlConnectOptions, MySqlPool, MySqlPoolOptions};
use sqlx::sqlite::{
    Sqlite, SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions,
    SqliteSynchronous,
};
use sqlx::{QueryBuilder, Row};
use std::collections::HashMap;
use std::str::FromStr;
use std::time::Duration;
use tokio::sync::OnceCell;

use super::{Database, DbError};
use crate::domain::{DateRange, NewPicture, SearchQuery, StoredPicture, Tag, TagStat};

static MYSQL_MIGRATIONS: Migrator = sqlx::migrate!("../migrations/mysql");
static SQLITE_MIGRATIONS: Migrator = sqlx::migrate!("../migrations/sqlite");

pub struct SqliteDatabase {
    pool: SqlitePool,
    migrated: OnceCell<()>,
}

pub struct MySqlDatabase {
    pool: MySqlPool,
    migrated: OnceCell<()>,
}

impl SqliteDatabase {
    pub fn open(url: &str, max_connections: u32, timeout: Duration) -> Result<Self, DbError> {
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
        let pool = SqlitePoolOptions::new()
            .max_connections(max_connections)
            .acquire_timeout(timeout)
            .connect_lazy_with(options);
        Ok(SqliteDatabase {
            pool,
            migrated: OnceCell::new(),
        })
    }
}

impl MySqlDatabase {
    pub fn open(url: &str, max_connections: u32, timeout: Duration) -> Result<Self, DbError> {
        let url = url.replacen("mariadb:", "mysql:", 1);
        let options = MySqlConnectOptions::from_str(&url)
            .map_err(|_| DbError::Url("not a valid mysql:// URL".to_string()))?;
        let pool = MySqlPoolOptions::new()
            .max_connections(max_connections)
            .acquire_timeout(timeout)
            .connect_lazy_with(options);
        Ok(MySqlDatabase {
            pool,
            migrated: OnceCell::new(),
        })
    }
}

/// Appends `WHERE`/`AND` date bounds on `column` to a statement.
fn push_dates<DB: sqlx::Database>(
    q: &mut QueryBuilder<DB>,
    column: &str,
    dates: &DateRange,
    mut first: bool,
) where
    String: for<'a> sqlx::Encode<'a, DB> + sqlx::Type<DB>,
{
    for (op, bound) in [(">=", &dates.min), ("<=", &dates.max)] {
        if let Some(bound) = bound {
            q.push(if first { " WHERE " } else { " AND " });
            first = false;
            q.push(format_args!("{column} {op} "));
            q.push_bind(bound.clone());
        }
    }
}

/// Groups `(picture_id, tag, confidence)` rows, already in response order.
fn group_tags(rows: impl IntoIterator<Item = (i64, String, f32)>) -> HashMap<i64, Vec<Tag>> {
    let mut by_picture: HashMap<i64, Vec<Tag>> = HashMap::new();
    for (id, name, confidence) in rows {
        by_picture.entry(id).or_default().push(Tag {
            name,
            confidence: crate::domain::round2(f64::from(confidence)),
        });
    }
    by_picture
}

macro_rules! sql_database {
    ($adapter:ty, $db:ty, $migrator:expr, $insert_id:expr) => {
        impl $adapter {
            async fn ready(&self) -> Result<(), DbError> {
                self.migrated
                    .get_or_try_init(|| async {
                        $migrator.run(&self.pool).await.map_err(|e| match e {
                            sqlx::migrate::MigrateError::Execute(e) => DbError::from(e),
                            other => DbError::Migrate(other),
                        })
                    })
                    .await
                    .map(|_| ())
            }

            /// All tags of the given pictures, in response order.
            async fn tags_of(&self, ids: &[i64]) -> Result<HashMap<i64, Vec<Tag>>, DbError> {
                if ids.is_empty() {
                    return Ok(HashMap::new());
                }
                let mut q = QueryBuilder::<$db>::new(
                    "SELECT picture_id, tag, confidence FROM tags WHERE picture_id IN (",
                );
                let mut list = q.separated(", ");
                for id in ids {
                    list.push_bind(*id);
                }
                q.push(") ORDER BY picture_id, confidence DESC, tag");
                let rows = q.build().fetch_all(&self.pool).await?;
                let rows = rows
                    .iter()
                    .map(|r| Ok((r.try_get(0)?, r.try_get(1)?, r.try_get(2)?)))
                    .collect::<Result<Vec<_>, sqlx::Error>>()?;
                Ok(group_tags(rows))
            }
        }

        #[async_trait]
        impl Database for $adapter {
            async fn migrate(&self) -> Result<(), DbError> {
                self.ready().await
            }

            async fn insert_picture(&self, picture: &NewPicture<'_>) -> Result<i64, DbError> {
                self.ready().await?;
                let mut tx = self.pool.begin().await?;
                let done = sqlx::query("INSERT INTO pictures (path, date, size) VALUES (?, ?, ?)")
                    .bind(picture.path)
                    .bind(picture.date)
                    .bind(picture.size as i64)
                    .execute(&mut *tx)
                    .await?;
                let id: i64 = ($insert_id)(&done);
                if !picture.tags.is_empty() {
                    let mut q = QueryBuilder::<$db>::new(
                        "INSERT INTO tags (tag, picture_id, confidence, date) ",
                    );
                    q.push_values(picture.tags, |mut row, tag| {
                        row.push_bind(tag.name.clone())
                            .push_bind(id)
                            .push_bind(tag.confidence as f32)
                            .push_bind(picture.date.to_string());
                    });
                    q.build().execute(&mut *tx).await?;
                }
                tx.commit().await?;
                Ok(id)
            }

            async fn picture(&self, id: i64) -> Result<Option<StoredPicture>, DbError> {
                self.ready().await?;
                let row = sqlx::query("SELECT id, path, size, date FROM pictures WHERE id = ?")
                    .bind(id)
                    .fetch_optional(&self.pool)
                    .await?;
                let Some(row) = row else { return Ok(None) };
                let mut picture = StoredPicture {
                    id: row.try_get(0)?,
                    path: row.try_get(1)?,
                    size: row.try_get::<Option<i64>, _>(2)?.map(|s| s as u64),
                    date: row.try_get(3)?,
                    tags: Vec::new(),
                };
                picture.tags = self.tags_of(&[id]).await?.remove(&id).unwrap_or_default();
                Ok(Some(picture))
            }

            async fn search(&self, query: &SearchQuery) -> Result<Vec<StoredPicture>, DbError> {
                self.ready().await?;
                let mut q = QueryBuilder::<$db>::new("SELECT p.id, p.path, p.size, p.date FROM ");
                match &query.tags {
                    None => {
                        q.push("pictures p WHERE p.id > ");
                        q.push_bind(query.after);
                    }
                    Some(tags) => {
                        // One join per required tag, each an equality lookup on
                        // the (tag, picture_id) key; the first tag's key range
                        // drives the scan in picture-id order.
                        let tags = tags.as_slice();
                        q.push("tags t0");
                        for (i, tag) in tags.iter().enumerate().skip(1) {
                            q.push(format_args!(
                                " JOIN tags t{i} ON t{i}.picture_id = t0.picture_id AND t{i}.tag = "
                            ));
                            q.push_bind(tag.clone());
                        }
                        q.push(" JOIN pictures p ON p.id = t0.picture_id WHERE t0.tag = ");
                        q.push_bind(tags[0].clone());
                        q.push(" AND t0.picture_id > ");
                        q.push_bind(query.after);
                    }
                }
                push_dates(&mut q, "p.date", &query.dates, false);
                q.push(" ORDER BY p.id LIMIT ");
                q.push_bind(i64::from(query.limit.0) + 1);
                let rows = q.build().fetch_all(&self.pool).await?;
                let mut pictures = rows
                    .iter()
                    .map(|r| {
                        Ok(StoredPicture {
                            id: r.try_get(0)?,
                            path: r.try_get(1)?,
                            size: r.try_get::<Option<i64>, _>(2)?.map(|s| s as u64),
                            date: r.try_get(3)?,
                            tags: Vec::new(),
                        })
                    })
                    .collect::<Result<Vec<_>, sqlx::Error>>()?;
                let ids: Vec<i64> = pictures.iter().map(|p| p.id).collect();
                let mut tags = self.tags_of(&ids).await?;
                for p in &mut pictures {
                    p.tags = tags.remove(&p.id).unwrap_or_default();
                }
                Ok(pictures)
            }

            async fn tag_stats(&self, dates: &DateRange) -> Result<Vec<TagStat>, DbError> {
                self.ready().await?;
                let mut q = QueryBuilder::<$db>::new(
                    "SELECT tag, COUNT(*) AS n, MIN(confidence), MAX(confidence), \
                     AVG(confidence) FROM tags",
                );
                push_dates(&mut q, "date", dates, true);
                q.push(" GROUP BY tag ORDER BY n DESC, tag");
                let rows = q.build().fetch_all(&self.pool).await?;
                let stats = rows
                    .iter()
                    .map(|r| {
                        Ok(TagStat {
                            tag: r.try_get(0)?,
                            n_images: r.try_get(1)?,
                            min_confidence: f64::from(r.try_get::<f32, _>(2)?),
                            max_confidence: f64::from(r.try_get::<f32, _>(3)?),
                            mean_confidence: r.try_get::<f64, _>(4)?,
                        })
                    })
                    .collect::<Result<Vec<_>, sqlx::Error>>()?;
                Ok(stats)
            }
        }
    };
}

sql_database!(
    SqliteDatabase,
    Sqlite,
    SQLITE_MIGRATIONS,
    |done: &sqlx::sqlite::SqliteQueryResult| done.last_insert_rowid()
);
sql_database!(
    MySqlDatabase,
    MySql,
    MYSQL_MIGRATIONS,
    |done: &sqlx::mysql::MySqlQueryResult| done.last_insert_id() as i64
);

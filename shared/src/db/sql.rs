//! The SQL both adapters run. The statements are the same text on SQLite and
//! MySQL (`?` placeholders, no dialect-only syntax); a macro stamps out one
//! concrete implementation per driver so each keeps its own pool type, row
//! decoding and last-insert-id call.

use async_trait::async_trait;
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

use super::migrate::Faults;
use super::stats::StatsPlan;
use super::{Database, DbError};
use crate::domain::{DateRange, NewPicture, SearchQuery, StoredPicture, Tag, TagStat};

pub struct SqliteDatabase {
    pool: SqlitePool,
    options: SqliteConnectOptions,
    migrated: OnceCell<()>,
}

pub struct MySqlDatabase {
    pool: MySqlPool,
    options: MySqlConnectOptions,
    migrated: OnceCell<()>,
}

impl SqliteDatabase {
    /// Runs the migrations on a connection of their own (they turn foreign
    /// keys off, which must not leak into the pool).
    pub async fn migrate_with(&self, faults: Faults) -> Result<(), DbError> {
        use sqlx::Connection;
        let mut conn = sqlx::SqliteConnection::connect_with(&self.options).await?;
        let result = super::migrate::sqlite(&mut conn, faults).await;
        let _ = conn.close().await;
        result
    }
}

impl MySqlDatabase {
    /// Runs the migrations on a connection of their own, which holds the
    /// migration lock until it closes, even if the step fails.
    pub async fn migrate_with(&self, faults: Faults) -> Result<(), DbError> {
        use sqlx::Connection;
        let mut conn = sqlx::MySqlConnection::connect_with(&self.options).await?;
        let result = super::migrate::mysql(&mut conn, faults).await;
        let _ = conn.close().await;
        result
    }
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
            .connect_lazy_with(options.clone());
        Ok(SqliteDatabase {
            pool,
            options,
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
            .connect_lazy_with(options.clone());
        Ok(MySqlDatabase {
            pool,
            options,
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

/// `pictures.tag_list`: the tags in response order, as `[["cat", 93.21], ...]`.
pub fn encode_tag_list(tags: &[Tag]) -> String {
    let mut tags = tags.to_vec();
    crate::domain::sort_tags(&mut tags);
    let pairs: Vec<(&str, f64)> = tags
        .iter()
        .map(|t| (t.name.as_str(), t.confidence))
        .collect();
    serde_json::to_string(&pairs).expect("tags serialise")
}

/// `None` for rows written before `tag_list` existed (or unreadable ones):
/// their tags are read from the tags table.
fn decode_tag_list(list: Option<String>) -> Option<Vec<Tag>> {
    let pairs: Vec<(String, f64)> = serde_json::from_str(&list?).ok()?;
    Some(
        pairs
            .into_iter()
            .map(|(name, confidence)| Tag { name, confidence })
            .collect(),
    )
}

/// Running statistics of one tag, merged from several partial answers.
#[derive(Default)]
struct Acc {
    n: i64,
    sum: f64,
    min: f32,
    max: f32,
}

fn merge(stats: &mut HashMap<String, Acc>, tag: String, n: i64, min: f32, max: f32, sum: f64) {
    let acc = stats.entry(tag).or_insert(Acc {
        n: 0,
        sum: 0.0,
        min,
        max,
    });
    acc.n += n;
    acc.sum += sum;
    acc.min = acc.min.min(min);
    acc.max = acc.max.max(max);
}

fn finish(stats: HashMap<String, Acc>) -> Vec<TagStat> {
    let mut out: Vec<TagStat> = stats
        .into_iter()
        .filter(|(_, a)| a.n > 0)
        .map(|(tag, a)| TagStat {
            tag,
            n_images: a.n,
            min_confidence: f64::from(a.min),
            max_confidence: f64::from(a.max),
            mean_confidence: a.sum / a.n as f64,
        })
        .collect();
    out.sort_by(|a, b| b.n_images.cmp(&a.n_images).then_with(|| a.tag.cmp(&b.tag)));
    out
}

/// Groups `(picture_id, tag, confidence)` rows by picture, each list in
/// response order.
fn group_tags(rows: impl IntoIterator<Item = (i64, String, f32)>) -> HashMap<i64, Vec<Tag>> {
    let mut by_picture: HashMap<i64, Vec<Tag>> = HashMap::new();
    for (id, name, confidence) in rows {
        by_picture.entry(id).or_default().push(Tag {
            name,
            confidence: crate::domain::round2(f64::from(confidence)),
        });
    }
    by_picture
        .values_mut()
        .for_each(|tags| crate::domain::sort_tags(tags));
    by_picture
}

macro_rules! sql_database {
    ($adapter:ty, $db:ty, $insert_id:expr, $upsert_totals:expr, $upsert_days:expr, $upsert_picture_days:expr) => {
        impl $adapter {
            async fn ready(&self) -> Result<(), DbError> {
                self.migrated
                    .get_or_try_init(|| self.migrate_with(Faults::default()))
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
                q.push(")");
                let rows = q.build().fetch_all(&self.pool).await?;
                let rows = rows
                    .iter()
                    .map(|r| Ok((r.try_get(0)?, r.try_get(1)?, r.try_get(2)?)))
                    .collect::<Result<Vec<_>, sqlx::Error>>()?;
                Ok(group_tags(rows))
            }

            /// Fills in the tags of rows that have no `tag_list`.
            async fn fill_tags(&self, pictures: &mut [(StoredPicture, bool)]) -> Result<(), DbError> {
                let missing: Vec<i64> = pictures.iter().filter(|(_, has)| !has).map(|(p, _)| p.id).collect();
                if missing.is_empty() {
                    return Ok(());
                }
                let mut tags = self.tags_of(&missing).await?;
                for (p, has) in pictures.iter_mut().filter(|(_, has)| !has) {
                    p.tags = tags.remove(&p.id).unwrap_or_default();
                    *has = true;
                }
                Ok(())
            }

            /// `pictures` rows as (picture, whether its tags were read with it).
            fn pictures_from(rows: &[<$db as sqlx::Database>::Row]) -> Result<Vec<(StoredPicture, bool)>, sqlx::Error> {
                rows.iter()
                    .map(|r| {
                        let tags = decode_tag_list(r.try_get(4)?);
                        Ok((
                            StoredPicture {
                                id: r.try_get(0)?,
                                path: r.try_get(1)?,
                                size: r.try_get::<Option<i64>, _>(2)?.map(|s| s as u64),
                                date: r.try_get(3)?,
                                tags: tags.clone().unwrap_or_default(),
                            },
                            tags.is_some(),
                        ))
                    })
                    .collect()
            }

            /// Adds tag rows of one picture and their share of the statistics.
            async fn add_tags(
                tx: &mut sqlx::Transaction<'_, $db>,
                id: i64,
                date: &str,
                tags_in: &[Tag],
            ) -> Result<(), sqlx::Error> {
                if tags_in.is_empty() {
                    return Ok(());
                }
                let day = date.get(..10).unwrap_or(date).to_string();
                // Rows locked in one order (by tag) by every writer cannot deadlock each other.
                let mut tags: Vec<&Tag> = tags_in.iter().collect();
                tags.sort_by(|a, b| a.name.cmp(&b.name));
                let mut q = QueryBuilder::<$db>::new("INSERT INTO tags (tag, picture_id, confidence, date) ");
                q.push_values(&tags, |mut row, tag| {
                    row.push_bind(tag.name.clone())
                        .push_bind(id)
                        .push_bind(tag.confidence as f32)
                        .push_bind(date.to_string());
                });
                q.build().execute(&mut **tx).await?;
                let mut q = QueryBuilder::<$db>::new(
                    "INSERT INTO tag_totals (tag, n_images, sum_confidence, min_confidence, max_confidence) ",
                );
                q.push_values(&tags, |mut row, tag| {
                    row.push_bind(tag.name.clone())
                        .push_bind(1i64)
                        .push_bind(f64::from(tag.confidence as f32))
                        .push_bind(tag.confidence as f32)
                        .push_bind(tag.confidence as f32);
                });
                q.push($upsert_totals);
                q.build().execute(&mut **tx).await?;
                let mut q = QueryBuilder::<$db>::new(
                    "INSERT INTO tag_days (day, tag, n_images, sum_confidence, min_confidence, max_confidence) ",
                );
                q.push_values(&tags, |mut row, tag| {
                    row.push_bind(day.clone())
                        .push_bind(tag.name.clone())
                        .push_bind(1i64)
                        .push_bind(f64::from(tag.confidence as f32))
                        .push_bind(tag.confidence as f32)
                        .push_bind(tag.confidence as f32);
                });
                q.push($upsert_days);
                q.build().execute(&mut **tx).await?;
                Ok(())
            }

            /// Replaces one picture's tags and moves the statistics with
            /// them, in one transaction. `false` when there is no such picture.
            async fn replace_once(&self, id: i64, tags: &[Tag], tag_list: &str) -> Result<bool, sqlx::Error> {
                let mut tx = self.pool.begin().await?;
                // Writing the row first locks it: two retags of one picture take turns.
                let updated = sqlx::query("UPDATE pictures SET tag_list = ? WHERE id = ?")
                    .bind(tag_list)
                    .bind(id)
                    .execute(&mut *tx)
                    .await?;
                if updated.rows_affected() == 0 {
                    return Ok(false);
                }
                let date: String = sqlx::query_scalar("SELECT date FROM pictures WHERE id = ?")
                    .bind(id)
                    .fetch_one(&mut *tx)
                    .await?;
                let day = date.get(..10).unwrap_or(&date).to_string();
                let old: Vec<(String, f32)> = sqlx::query("SELECT tag, confidence FROM tags WHERE picture_id = ? ORDER BY tag")
                    .bind(id)
                    .fetch_all(&mut *tx)
                    .await?
                    .iter()
                    .map(|r| Ok((r.try_get(0)?, r.try_get(1)?)))
                    .collect::<Result<_, sqlx::Error>>()?;
                sqlx::query("DELETE FROM tags WHERE picture_id = ?")
                    .bind(id)
                    .execute(&mut *tx)
                    .await?;
                for (tag, confidence) in &old {
                    for (table, key) in [("tag_totals", "tag = ?"), ("tag_days", "day = ? AND tag = ?")] {
                        let sql = format!(
                            "UPDATE {table} SET n_images = n_images - 1, sum_confidence = sum_confidence - ? WHERE {key}"
                        );
                        let mut q = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(f64::from(*confidence));
                        if table == "tag_days" {
                            q = q.bind(&day);
                        }
                        q.bind(tag).execute(&mut *tx).await?;
                    }
                }
                Self::add_tags(&mut tx, id, &date, tags).await?;
                for (tag, confidence) in &old {
                    sqlx::query("DELETE FROM tag_totals WHERE tag = ? AND n_images <= 0")
                        .bind(tag)
                        .execute(&mut *tx)
                        .await?;
                    sqlx::query("DELETE FROM tag_days WHERE day = ? AND tag = ? AND n_images <= 0")
                        .bind(&day)
                        .bind(tag)
                        .execute(&mut *tx)
                        .await?;
                    // A removed value that was the minimum or maximum: read the
                    // extremes again from the tag rows (an index range).
                    sqlx::query(
                        "UPDATE tag_totals SET \
                         min_confidence = (SELECT MIN(confidence) FROM tags WHERE tags.tag = tag_totals.tag), \
                         max_confidence = (SELECT MAX(confidence) FROM tags WHERE tags.tag = tag_totals.tag) \
                         WHERE tag = ? AND (min_confidence >= ? OR max_confidence <= ?)",
                    )
                    .bind(tag)
                    .bind(*confidence)
                    .bind(*confidence)
                    .execute(&mut *tx)
                    .await?;
                    sqlx::query(
                        "UPDATE tag_days SET \
                         min_confidence = (SELECT MIN(confidence) FROM tags WHERE tags.date >= ? AND tags.date <= ? AND tags.tag = tag_days.tag), \
                         max_confidence = (SELECT MAX(confidence) FROM tags WHERE tags.date >= ? AND tags.date <= ? AND tags.tag = tag_days.tag) \
                         WHERE day = ? AND tag = ? AND (min_confidence >= ? OR max_confidence <= ?)",
                    )
                    .bind(format!("{day} 00:00:00"))
                    .bind(format!("{day} 23:59:59"))
                    .bind(format!("{day} 00:00:00"))
                    .bind(format!("{day} 23:59:59"))
                    .bind(&day)
                    .bind(tag)
                    .bind(*confidence)
                    .bind(*confidence)
                    .execute(&mut *tx)
                    .await?;
                }
                tx.commit().await?;
                Ok(true)
            }

            async fn insert_once(&self, picture: &NewPicture<'_>, tag_list: &str) -> Result<i64, sqlx::Error> {
                let mut tx = self.pool.begin().await?;
                let done = sqlx::query("INSERT INTO pictures (path, date, size, tag_list) VALUES (?, ?, ?, ?)")
                    .bind(picture.path)
                    .bind(picture.date)
                    .bind(picture.size as i64)
                    .bind(tag_list)
                    .execute(&mut *tx)
                    .await?;
                let id: i64 = ($insert_id)(&done);
                let day = picture.date.get(..10).unwrap_or(picture.date).to_string();
                sqlx::query(concat!("INSERT INTO picture_days (day, first_id, n_pictures) VALUES (?, ?, 1)", $upsert_picture_days))
                    .bind(&day)
                    .bind(id)
                    .execute(&mut *tx)
                    .await?;
                Self::add_tags(&mut tx, id, picture.date, picture.tags).await?;
                tx.commit().await?;
                Ok(id)
            }

            /// The smallest id dated within the range (which has a lower
            /// bound): where an id-ordered scan of the range can start. The
            /// days strictly inside the range come from `picture_days`; only
            /// the partial first and last days are read from the (date, id)
            /// index. `None` when nothing is dated within the range.
            async fn first_id_in(&self, dates: &DateRange) -> Result<Option<i64>, DbError> {
                let Some(min) = dates.min.as_deref() else {
                    return Ok(None);
                };
                let first_day = &min[..10];
                let first_day_end = format!("{first_day} 23:59:59");
                let mut q = QueryBuilder::<$db>::new(
                    "SELECT MIN(m) FROM (SELECT MIN(id) AS m FROM pictures WHERE date >= ",
                );
                q.push_bind(min.to_string());
                q.push(" AND date <= ");
                q.push_bind(match dates.max.as_deref() {
                    Some(max) if max < first_day_end.as_str() => max.to_string(),
                    _ => first_day_end,
                });
                q.push(" UNION ALL SELECT MIN(first_id) FROM picture_days WHERE day > ");
                q.push_bind(first_day.to_string());
                if let Some(max) = dates.max.as_deref() {
                    let last_day = &max[..10];
                    q.push(" AND day < ");
                    q.push_bind(last_day.to_string());
                    if last_day > first_day {
                        q.push(" UNION ALL SELECT MIN(id) FROM pictures WHERE date >= ");
                        q.push_bind(format!("{last_day} 00:00:00"));
                        q.push(" AND date <= ");
                        q.push_bind(max.to_string());
                    }
                }
                q.push(") firsts");
                let row = q.build().fetch_one(&self.pool).await?;
                Ok(row.try_get::<Option<i64>, _>(0)?)
            }
        }

        #[async_trait]
        impl Database for $adapter {
            async fn migrate(&self) -> Result<(), DbError> {
                self.ready().await
            }

            async fn insert_picture(&self, picture: &NewPicture<'_>) -> Result<i64, DbError> {
                self.ready().await?;
                let tag_list = encode_tag_list(picture.tags);
                let mut attempt = 0;
                loop {
                    match self.insert_once(picture, &tag_list).await {
                        // MySQL picks a victim when two writers' locks cross; try again.
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

            async fn replace_tags(&self, id: i64, tags: &[Tag]) -> Result<bool, DbError> {
                self.ready().await?;
                let tag_list = encode_tag_list(tags);
                let mut attempt = 0;
                loop {
                    match self.replace_once(id, tags, &tag_list).await {
                        // MySQL picks a victim when two writers' locks cross; try again.
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

            async fn task_cursor(&self, name: &str) -> Result<Option<i64>, DbError> {
                self.ready().await?;
                Ok(sqlx::query_scalar("SELECT cursor_id FROM tasks WHERE name = ?")
                    .bind(name)
                    .fetch_optional(&self.pool)
                    .await?)
            }

            async fn set_task_cursor(&self, name: &str, cursor: Option<i64>) -> Result<(), DbError> {
                self.ready().await?;
                let mut tx = self.pool.begin().await?;
                sqlx::query("DELETE FROM tasks WHERE name = ?").bind(name).execute(&mut *tx).await?;
                if let Some(cursor) = cursor {
                    sqlx::query("INSERT INTO tasks (name, cursor_id, updated_at) VALUES (?, ?, ?)")
                        .bind(name)
                        .bind(cursor)
                        .bind(crate::domain::utc_now())
                        .execute(&mut *tx)
                        .await?;
                }
                tx.commit().await?;
                Ok(())
            }

            async fn picture_ids(&self, after: i64, limit: u32) -> Result<Vec<i64>, DbError> {
                self.ready().await?;
                Ok(sqlx::query_scalar("SELECT id FROM pictures WHERE id > ? ORDER BY id LIMIT ?")
                    .bind(after)
                    .bind(i64::from(limit))
                    .fetch_all(&self.pool)
                    .await?)
            }

            async fn picture(&self, id: i64) -> Result<Option<StoredPicture>, DbError> {
                self.ready().await?;
                let rows = sqlx::query("SELECT id, path, size, date, tag_list FROM pictures WHERE id = ?")
                    .bind(id)
                    .fetch_all(&self.pool)
                    .await?;
                let mut pictures = Self::pictures_from(&rows)?;
                self.fill_tags(&mut pictures).await?;
                Ok(pictures.pop().map(|(p, _)| p))
            }

            async fn search(&self, query: &SearchQuery) -> Result<Vec<StoredPicture>, DbError> {
                self.ready().await?;
                let mut after = query.after;
                if query.dates.min.is_some() {
                    match self.first_id_in(&query.dates).await? {
                        Some(first) => after = after.max(first - 1),
                        None => return Ok(Vec::new()),
                    }
                }
                let mut q = QueryBuilder::<$db>::new("SELECT p.id, p.path, p.size, p.date, p.tag_list FROM ");
                match &query.tags {
                    None => {
                        q.push("pictures p WHERE p.id > ");
                        q.push_bind(after);
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
                        q.push_bind(after);
                    }
                }
                push_dates(&mut q, "p.date", &query.dates, false);
                q.push(" ORDER BY p.id LIMIT ");
                q.push_bind(i64::from(query.limit.0) + 1);
                let rows = q.build().fetch_all(&self.pool).await?;
                let mut pictures = Self::pictures_from(&rows)?;
                self.fill_tags(&mut pictures).await?;
                Ok(pictures.into_iter().map(|(p, _)| p).collect())
            }

            async fn incomplete_pictures(&self, after: i64, limit: u32) -> Result<Vec<StoredPicture>, DbError> {
                self.ready().await?;
                let rows = sqlx::query(
                    "SELECT id, path, size, date, tag_list FROM pictures \
                     WHERE id > ? AND (size IS NULL OR tag_list IS NULL) ORDER BY id LIMIT ?",
                )
                .bind(after)
                .bind(i64::from(limit))
                .fetch_all(&self.pool)
                .await?;
                let mut pictures = Self::pictures_from(&rows)?;
                // Their tags from the tag rows, whatever tag_list says.
                pictures.iter_mut().for_each(|(_, has)| *has = false);
                self.fill_tags(&mut pictures).await?;
                Ok(pictures.into_iter().map(|(p, _)| p).collect())
            }

            async fn complete_pictures(&self, done: &[(i64, Option<u64>, String)]) -> Result<(), DbError> {
                self.ready().await?;
                let mut tx = self.pool.begin().await?;
                for (id, size, tag_list) in done {
                    sqlx::query("UPDATE pictures SET size = COALESCE(size, ?), tag_list = COALESCE(tag_list, ?) WHERE id = ?")
                        .bind(size.map(|s| s as i64))
                        .bind(tag_list)
                        .bind(id)
                        .execute(&mut *tx)
                        .await?;
                }
                tx.commit().await?;
                Ok(())
            }

            async fn noted(&self, name: &str) -> Result<bool, DbError> {
                self.ready().await?;
                let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM schema_steps WHERE name = ?")
                    .bind(name)
                    .fetch_one(&self.pool)
                    .await?;
                Ok(n > 0)
            }

            async fn note(&self, name: &str) -> Result<(), DbError> {
                self.ready().await?;
                if !self.noted(name).await? {
                    sqlx::query("INSERT INTO schema_steps (name, applied_at) VALUES (?, ?)")
                        .bind(name)
                        .bind(crate::domain::utc_now())
                        .execute(&self.pool)
                        .await?;
                }
                Ok(())
            }

            async fn locations(&self) -> Result<Vec<String>, DbError> {
                self.ready().await?;
                Ok(sqlx::query_scalar("SELECT path FROM pictures")
                    .fetch_all(&self.pool)
                    .await?)
            }

            async fn rebuild_statistics(&self) -> Result<(), DbError> {
                self.ready().await?;
                let mut tx = self.pool.begin().await?;
                for statement in [
                    "DELETE FROM tag_totals",
                    "INSERT INTO tag_totals SELECT tag, COUNT(*), SUM(confidence), MIN(confidence), \
                     MAX(confidence) FROM tags GROUP BY tag",
                    "DELETE FROM tag_days",
                    "INSERT INTO tag_days SELECT SUBSTR(date, 1, 10), tag, COUNT(*), SUM(confidence), \
                     MIN(confidence), MAX(confidence) FROM tags GROUP BY SUBSTR(date, 1, 10), tag",
                    "DELETE FROM picture_days",
                    "INSERT INTO picture_days SELECT SUBSTR(date, 1, 10), MIN(id), COUNT(*) FROM pictures \
                     GROUP BY SUBSTR(date, 1, 10)",
                ] {
                    sqlx::query(statement).execute(&mut *tx).await?;
                }
                tx.commit().await?;
                Ok(())
            }

            async fn tag_stats(&self, dates: &DateRange) -> Result<Vec<TagStat>, DbError> {
                self.ready().await?;
                let plan = StatsPlan::new(dates);
                let mut stats: HashMap<String, Acc> = HashMap::new();
                let mut answers = Vec::new();
                if plan.totals {
                    answers.push(
                        sqlx::query(
                            "SELECT tag, n_images, min_confidence, max_confidence, sum_confidence FROM tag_totals",
                        )
                        .fetch_all(&self.pool)
                        .await?,
                    );
                }
                if let Some(days) = &plan.days {
                    let mut q = QueryBuilder::<$db>::new(
                        "SELECT tag, CAST(SUM(n_images) AS SIGNED), MIN(min_confidence), \
                         MAX(max_confidence), SUM(sum_confidence) FROM tag_days",
                    );
                    push_dates(&mut q, "day", days, true);
                    q.push(" GROUP BY tag");
                    answers.push(q.build().fetch_all(&self.pool).await?);
                }
                for scan in &plan.scans {
                    let mut q = QueryBuilder::<$db>::new(
                        "SELECT tag, COUNT(*), MIN(confidence), MAX(confidence), SUM(confidence) FROM tags",
                    );
                    push_dates(&mut q, "date", scan, true);
                    q.push(" GROUP BY tag");
                    answers.push(q.build().fetch_all(&self.pool).await?);
                }
                for rows in answers {
                    for r in rows {
                        merge(&mut stats, r.try_get(0)?, r.try_get(1)?, r.try_get(2)?, r.try_get(3)?, r.try_get(4)?);
                    }
                }
                Ok(finish(stats))
            }
        }
    };
}

sql_database!(
    SqliteDatabase,
    Sqlite,
    |done: &sqlx::sqlite::SqliteQueryResult| done.last_insert_rowid(),
    " ON CONFLICT (tag) DO UPDATE SET n_images = n_images + excluded.n_images, \
     sum_confidence = sum_confidence + excluded.sum_confidence, \
     min_confidence = MIN(min_confidence, excluded.min_confidence), \
     max_confidence = MAX(max_confidence, excluded.max_confidence)",
    " ON CONFLICT (day, tag) DO UPDATE SET n_images = n_images + excluded.n_images, \
     sum_confidence = sum_confidence + excluded.sum_confidence, \
     min_confidence = MIN(min_confidence, excluded.min_confidence), \
     max_confidence = MAX(max_confidence, excluded.max_confidence)",
    " ON CONFLICT (day) DO UPDATE SET first_id = MIN(first_id, excluded.first_id), \
     n_pictures = n_pictures + 1"
);

// VALUES() in ON DUPLICATE KEY UPDATE: understood by MySQL 8 and MariaDB alike.
sql_database!(
    MySqlDatabase,
    MySql,
    |done: &sqlx::mysql::MySqlQueryResult| done.last_insert_id() as i64,
    " ON DUPLICATE KEY UPDATE n_images = n_images + VALUES(n_images), \
     sum_confidence = sum_confidence + VALUES(sum_confidence), \
     min_confidence = LEAST(min_confidence, VALUES(min_confidence)), \
     max_confidence = GREATEST(max_confidence, VALUES(max_confidence))",
    " ON DUPLICATE KEY UPDATE n_images = n_images + VALUES(n_images), \
     sum_confidence = sum_confidence + VALUES(sum_confidence), \
     min_confidence = LEAST(min_confidence, VALUES(min_confidence)), \
     max_confidence = GREATEST(max_confidence, VALUES(max_confidence))",
    " ON DUPLICATE KEY UPDATE first_id = LEAST(first_id, VALUES(first_id)), \
     n_pictures = n_pictures + 1"
);

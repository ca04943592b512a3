//! The SQL both adapters run. The statements are the same text on SQLite and
//! MySQL (`?` placeholders, no dialect-only syntax but the upserts passed in);
//! a macro stamps out one concrete implementation per driver so each keeps
//! its own pool type, row decoding and last-insert-id call.

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
use super::{DbError, PictureChange, Pictures};
use crate::analysis::hash_bands;
use crate::domain::TagOrigin;
use crate::domain::{
    ColorShare, DateRange, DetectedObject, Facts, Gps, ImageFormat, Inserted, NearColor,
    NewPicture, Order, Picture, SearchQuery, Status, Tag, TagSource, TagStat, Visibility, scope_of,
};

pub struct SqliteDatabase {
    pub(super) pool: SqlitePool,
    options: SqliteConnectOptions,
    migrated: OnceCell<()>,
}

pub struct MySqlDatabase {
    pub(super) pool: MySqlPool,
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

    pub(super) fn insert_id(done: &sqlx::sqlite::SqliteQueryResult) -> i64 {
        done.last_insert_rowid()
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

    pub(super) fn insert_id(done: &sqlx::mysql::MySqlQueryResult) -> i64 {
        done.last_insert_id() as i64
    }
}

/// Appends `WHERE`/`AND` date bounds on `column` to a statement.
fn push_dates<DB: sqlx::Database>(
    q: &mut QueryBuilder<DB>,
    column: &str,
    dates: &DateRange,
    mut first: bool,
) -> bool
where
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
    first
}

/// Appends `AND column IN (scopes)` when the caller does not see every scope.
fn push_scopes<DB: sqlx::Database>(
    q: &mut QueryBuilder<DB>,
    column: &str,
    visibility: &Visibility,
    first: bool,
) -> bool
where
    String: for<'a> sqlx::Encode<'a, DB> + sqlx::Type<DB>,
{
    let Some(scopes) = visibility.scopes() else {
        return first;
    };
    q.push(if first { " WHERE " } else { " AND " });
    q.push(format_args!("{column} IN ("));
    let mut list = q.separated(", ");
    for scope in scopes {
        list.push_bind(scope.to_string());
    }
    q.push(")");
    false
}

/// `pictures.tag_list`: the tags in response order, as
/// `[["cat", 93.21, "model"], ...]` (older rows: without the source).
pub fn encode_tag_list(tags: &[Tag]) -> String {
    let mut tags = tags.to_vec();
    crate::domain::sort_tags(&mut tags);
    let items: Vec<serde_json::Value> = tags
        .iter()
        .map(|t| match t.source {
            Some(s) => serde_json::json!([t.name, t.confidence, s.as_str()]),
            None => serde_json::json!([t.name, t.confidence]),
        })
        .collect();
    serde_json::to_string(&items).expect("tags serialise")
}

/// `None` for rows written before `tag_list` existed (or unreadable ones):
/// their tags are read from the tags table.
fn decode_tag_list(list: Option<String>) -> Option<Vec<Tag>> {
    let items: Vec<(String, f64, Option<String>)> =
        serde_json::from_str::<Vec<serde_json::Value>>(&list?)
            .ok()?
            .into_iter()
            .map(|v| {
                Some((
                    v.get(0)?.as_str()?.to_string(),
                    v.get(1)?.as_f64()?,
                    v.get(2).and_then(|s| s.as_str()).map(String::from),
                ))
            })
            .collect::<Option<_>>()?;
    Some(
        items
            .into_iter()
            .map(|(name, confidence, source)| Tag {
                name,
                confidence,
                source: source.as_deref().and_then(TagSource::parse),
            })
            .collect(),
    )
}

/// `pictures.colors`: `[["#rrggbb", fraction], ...]`.
fn encode_colors(colors: &[ColorShare]) -> Option<String> {
    if colors.is_empty() {
        return None;
    }
    let items: Vec<(String, f64)> = colors
        .iter()
        .map(|c| (c.hex(), (c.fraction * 10_000.0).round() / 10_000.0))
        .collect();
    serde_json::to_string(&items).ok()
}

/// The objects as stored: JSON `[{label, confidence, box}]`; `None` for none.
fn encode_objects(objects: &[DetectedObject]) -> Option<String> {
    (!objects.is_empty())
        .then(|| serde_json::to_string(objects).ok())
        .flatten()
}

fn decode_objects(text: Option<String>) -> Vec<DetectedObject> {
    text.and_then(|t| serde_json::from_str(&t).ok())
        .unwrap_or_default()
}

fn decode_colors(text: Option<String>) -> Vec<ColorShare> {
    let Some(text) = text else { return Vec::new() };
    let items: Vec<(String, f64)> = serde_json::from_str(&text).unwrap_or_default();
    items
        .into_iter()
        .filter_map(|(hex, fraction)| {
            let h = hex.strip_prefix('#')?;
            let n = u32::from_str_radix(h, 16).ok().filter(|_| h.len() == 6)?;
            Some(ColorShare {
                rgb: [(n >> 16) as u8, (n >> 8) as u8, n as u8],
                fraction,
            })
        })
        .collect()
}

/// A colour's cell on the 8x8x8 grid of `picture_colors`.
pub fn color_cell([r, g, b]: [u8; 3]) -> i64 {
    (i64::from(r >> 5) << 6) | (i64::from(g >> 5) << 3) | i64::from(b >> 5)
}

/// The cells a colour within `radius` of `rgb` can fall in.
fn cells_near(rgb: [u8; 3], radius: u32) -> Vec<i64> {
    let span = |c: u8| {
        let lo = (i32::from(c) - radius as i32).max(0) >> 5;
        let hi = (i32::from(c) + radius as i32).min(255) >> 5;
        lo..=hi
    };
    let mut cells = Vec::new();
    for r in span(rgb[0]) {
        for g in span(rgb[1]) {
            for b in span(rgb[2]) {
                cells.push(i64::from((r << 6) | (g << 3) | b));
            }
        }
    }
    cells
}

/// The lower-cased three-character pieces of a name, each once.
pub fn trigrams(name: &str) -> Vec<String> {
    let chars: Vec<char> = name.to_lowercase().chars().collect();
    let mut out: Vec<String> = chars.windows(3).map(|w| w.iter().collect()).collect();
    out.sort();
    out.dedup();
    out
}

/// `%piece%` for LIKE, with the wildcards of the piece escaped.
fn like_pattern(piece: &str) -> String {
    let mut p = String::from("%");
    for c in piece.to_lowercase().chars() {
        if matches!(c, '%' | '_' | '!') {
            p.push('!');
        }
        p.push(c);
    }
    p.push('%');
    p
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

/// Groups `(picture_id, tag, confidence, source)` rows by picture, each list
/// in response order.
fn group_tags(
    rows: impl IntoIterator<Item = (i64, String, f32, Option<String>)>,
) -> HashMap<i64, Vec<Tag>> {
    let mut by_picture: HashMap<i64, Vec<Tag>> = HashMap::new();
    for (id, name, confidence, source) in rows {
        by_picture.entry(id).or_default().push(Tag {
            name,
            confidence: crate::domain::round2(f64::from(confidence)),
            source: source.as_deref().and_then(TagSource::parse),
        });
    }
    by_picture
        .values_mut()
        .for_each(|tags| crate::domain::sort_tags(tags));
    by_picture
}

/// The columns of a picture, in the order `pictures_from` reads them.
pub(super) const PICTURE_COLUMNS: &str = "p.id, p.path, p.size, p.date, p.tag_list, p.owner, \
    p.private, p.name, p.status, p.failure, p.external_id, p.hash, p.format, p.width, p.height, \
    p.camera, p.taken_at, p.gps_lat, p.gps_lon, p.colors, p.phash, p.faces, p.analyzed, p.objects";

/// A tag row to remove from the statistics: (tag, confidence as stored).
type OldTag = (String, f32);

macro_rules! sql_database {
    ($adapter:ty, $db:ty, $upsert_totals:expr, $upsert_days:expr, $upsert_picture_days:expr, $upsert_picture_stats:expr, $insert_ignore:literal, $nocase:literal) => {
        impl $adapter {
            pub(super) async fn ready(&self) -> Result<(), DbError> {
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
                    "SELECT picture_id, tag, confidence, source FROM tags WHERE picture_id IN (",
                );
                let mut list = q.separated(", ");
                for id in ids {
                    list.push_bind(*id);
                }
                q.push(")");
                let rows = q.build().fetch_all(&self.pool).await?;
                let rows = rows
                    .iter()
                    .map(|r| Ok((r.try_get(0)?, r.try_get(1)?, r.try_get(2)?, r.try_get(3)?)))
                    .collect::<Result<Vec<_>, sqlx::Error>>()?;
                Ok(group_tags(rows))
            }

            /// Fills in the tags of rows that have no `tag_list`.
            pub(super) async fn fill_tags(&self, pictures: &mut [(Picture, bool)]) -> Result<(), DbError> {
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

            /// Rows of [`PICTURE_COLUMNS`] as (picture, whether its tags were read with it).
            pub(super) fn pictures_from(rows: &[<$db as sqlx::Database>::Row]) -> Result<Vec<(Picture, bool)>, sqlx::Error> {
                rows.iter()
                    .map(|r| {
                        let tags = decode_tag_list(r.try_get(4)?);
                        let owner: String = r.try_get(5)?;
                        let status: String = r.try_get(8)?;
                        let format: Option<String> = r.try_get(12)?;
                        let lat: Option<f64> = r.try_get(17)?;
                        let lon: Option<f64> = r.try_get(18)?;
                        Ok((
                            Picture {
                                id: r.try_get(0)?,
                                path: r.try_get(1)?,
                                size: r.try_get::<Option<i64>, _>(2)?.map(|s| s as u64),
                                date: r.try_get(3)?,
                                tags: tags.clone().unwrap_or_default(),
                                owner: (!owner.is_empty()).then_some(owner),
                                private: r.try_get::<i64, _>(6)? != 0,
                                name: r.try_get(7)?,
                                status: Status::parse(&status).unwrap_or(Status::Tagged),
                                failure: r.try_get(9)?,
                                external_id: r.try_get(10)?,
                                facts: Facts {
                                    hash: r.try_get(11)?,
                                    format: format.as_deref().and_then(ImageFormat::parse),
                                    width: r.try_get::<Option<i64>, _>(13)?.map(|v| v as u32),
                                    height: r.try_get::<Option<i64>, _>(14)?.map(|v| v as u32),
                                    camera: r.try_get(15)?,
                                    taken_at: r.try_get(16)?,
                                    gps: lat.zip(lon).map(|(lat, lon)| Gps { lat, lon }),
                                    colors: decode_colors(r.try_get(19)?),
                                    phash: r.try_get::<Option<i64>, _>(20)?.map(|v| v as u64),
                                    faces: r.try_get::<Option<i64>, _>(21)?.map(|v| v as u32),
                                    analyzed: r.try_get::<i64, _>(22)? != 0,
                                    objects: decode_objects(r.try_get(23)?),
                                },
                            },
                            tags.is_some(),
                        ))
                    })
                    .collect()
            }

            /// Pictures by a condition on `p` (`p.id = ?` and the like), tags filled in.
            async fn pictures_where(&self, condition: &str, value: &str) -> Result<Vec<Picture>, DbError> {
                let sql = format!("SELECT {PICTURE_COLUMNS} FROM pictures p WHERE {condition} ORDER BY p.id");
                let rows = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(value).fetch_all(&self.pool).await?;
                let mut pictures = Self::pictures_from(&rows)?;
                self.fill_tags(&mut pictures).await?;
                Ok(pictures.into_iter().map(|(p, _)| p).collect())
            }

            /// Adds tag rows of one picture and their share of the statistics of `scope`.
            async fn add_tags(
                tx: &mut sqlx::Transaction<'_, $db>,
                id: i64,
                date: &str,
                scope: &str,
                tags_in: &[Tag],
            ) -> Result<(), sqlx::Error> {
                if tags_in.is_empty() {
                    return Ok(());
                }
                let day = date.get(..10).unwrap_or(date).to_string();
                // Rows locked in one order (by tag) by every writer cannot deadlock each other.
                let mut tags: Vec<&Tag> = tags_in.iter().collect();
                tags.sort_by(|a, b| a.name.cmp(&b.name));
                let mut q = QueryBuilder::<$db>::new("INSERT INTO tags (tag, picture_id, confidence, date, scope, source) ");
                q.push_values(&tags, |mut row, tag| {
                    row.push_bind(tag.name.clone())
                        .push_bind(id)
                        .push_bind(tag.confidence as f32)
                        .push_bind(date.to_string())
                        .push_bind(scope.to_string())
                        .push_bind(tag.source.map(|s| s.as_str()));
                });
                q.build().execute(&mut **tx).await?;
                let mut q = QueryBuilder::<$db>::new(
                    "INSERT INTO tag_totals (scope, tag, n_images, sum_confidence, min_confidence, max_confidence) ",
                );
                q.push_values(&tags, |mut row, tag| {
                    row.push_bind(scope.to_string())
                        .push_bind(tag.name.clone())
                        .push_bind(1i64)
                        .push_bind(f64::from(tag.confidence as f32))
                        .push_bind(tag.confidence as f32)
                        .push_bind(tag.confidence as f32);
                });
                q.push($upsert_totals);
                q.build().execute(&mut **tx).await?;
                let mut q = QueryBuilder::<$db>::new(
                    "INSERT INTO tag_days (scope, day, tag, n_images, sum_confidence, min_confidence, max_confidence) ",
                );
                q.push_values(&tags, |mut row, tag| {
                    row.push_bind(scope.to_string())
                        .push_bind(day.clone())
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

            /// Takes tag rows (already deleted, or about to move) out of the
            /// statistics of `scope`: counts and sums go down, rows that reach
            /// zero go, and an extreme that left is read again from the tag
            /// rows still there (an index range of that tag in that scope).
            async fn subtract_tags(
                tx: &mut sqlx::Transaction<'_, $db>,
                date: &str,
                scope: &str,
                old: &[OldTag],
            ) -> Result<(), sqlx::Error> {
                let day = date.get(..10).unwrap_or(date).to_string();
                let mut old: Vec<&OldTag> = old.iter().collect();
                old.sort_by(|a, b| a.0.cmp(&b.0));
                for (tag, confidence) in &old {
                    sqlx::query("UPDATE tag_totals SET n_images = n_images - 1, sum_confidence = sum_confidence - ? WHERE scope = ? AND tag = ?")
                        .bind(f64::from(*confidence))
                        .bind(scope)
                        .bind(tag)
                        .execute(&mut **tx)
                        .await?;
                    sqlx::query("UPDATE tag_days SET n_images = n_images - 1, sum_confidence = sum_confidence - ? WHERE scope = ? AND day = ? AND tag = ?")
                        .bind(f64::from(*confidence))
                        .bind(scope)
                        .bind(&day)
                        .bind(tag)
                        .execute(&mut **tx)
                        .await?;
                    sqlx::query("DELETE FROM tag_totals WHERE scope = ? AND tag = ? AND n_images <= 0")
                        .bind(scope)
                        .bind(tag)
                        .execute(&mut **tx)
                        .await?;
                    sqlx::query("DELETE FROM tag_days WHERE scope = ? AND day = ? AND tag = ? AND n_images <= 0")
                        .bind(scope)
                        .bind(&day)
                        .bind(tag)
                        .execute(&mut **tx)
                        .await?;
                    sqlx::query(
                        "UPDATE tag_totals SET \
                         min_confidence = (SELECT MIN(confidence) FROM tags WHERE tags.scope = tag_totals.scope AND tags.tag = tag_totals.tag), \
                         max_confidence = (SELECT MAX(confidence) FROM tags WHERE tags.scope = tag_totals.scope AND tags.tag = tag_totals.tag) \
                         WHERE scope = ? AND tag = ? AND (min_confidence >= ? OR max_confidence <= ?)",
                    )
                    .bind(scope)
                    .bind(tag)
                    .bind(*confidence)
                    .bind(*confidence)
                    .execute(&mut **tx)
                    .await?;
                    sqlx::query(
                        "UPDATE tag_days SET \
                         min_confidence = (SELECT MIN(confidence) FROM tags WHERE tags.date >= ? AND tags.date <= ? AND tags.tag = tag_days.tag AND tags.scope = tag_days.scope), \
                         max_confidence = (SELECT MAX(confidence) FROM tags WHERE tags.date >= ? AND tags.date <= ? AND tags.tag = tag_days.tag AND tags.scope = tag_days.scope) \
                         WHERE scope = ? AND day = ? AND tag = ? AND (min_confidence >= ? OR max_confidence <= ?)",
                    )
                    .bind(format!("{day} 00:00:00"))
                    .bind(format!("{day} 23:59:59"))
                    .bind(format!("{day} 00:00:00"))
                    .bind(format!("{day} 23:59:59"))
                    .bind(scope)
                    .bind(&day)
                    .bind(tag)
                    .bind(*confidence)
                    .bind(*confidence)
                    .execute(&mut **tx)
                    .await?;
                }
                Ok(())
            }

            /// Moves one picture in or out of `GET /stats`: its day, format and camera.
            async fn count_picture(
                tx: &mut sqlx::Transaction<'_, $db>,
                scope: &str,
                date: &str,
                format: Option<&str>,
                camera: Option<&str>,
                delta: i64,
            ) -> Result<(), sqlx::Error> {
                let day = date.get(..10).unwrap_or(date);
                let mut kinds = vec![("day", day)];
                kinds.extend(format.map(|f| ("format", f)));
                kinds.extend(camera.map(|c| ("camera", c)));
                for (kind, value) in kinds {
                    if delta > 0 {
                        sqlx::query(concat!("INSERT INTO picture_stats (scope, kind, value, n) VALUES (?, ?, ?, ?)", $upsert_picture_stats))
                            .bind(scope)
                            .bind(kind)
                            .bind(value)
                            .bind(delta)
                            .execute(&mut **tx)
                            .await?;
                    } else {
                        sqlx::query("UPDATE picture_stats SET n = n + ? WHERE scope = ? AND kind = ? AND value = ?")
                            .bind(delta)
                            .bind(scope)
                            .bind(kind)
                            .bind(value)
                            .execute(&mut **tx)
                            .await?;
                        sqlx::query("DELETE FROM picture_stats WHERE scope = ? AND kind = ? AND value = ? AND n <= 0")
                            .bind(scope)
                            .bind(kind)
                            .bind(value)
                            .execute(&mut **tx)
                            .await?;
                    }
                }
                Ok(())
            }

            /// The name's trigrams, for substring searches. `fresh`: a new
            /// picture, with none to remove (and a DELETE of nothing would
            /// take gap locks that concurrent inserts then deadlock on).
            async fn index_name(
                tx: &mut sqlx::Transaction<'_, $db>,
                id: i64,
                name: Option<&str>,
                fresh: bool,
            ) -> Result<(), sqlx::Error> {
                if !fresh {
                    sqlx::query("DELETE FROM name_trigrams WHERE picture_id = ?")
                        .bind(id)
                        .execute(&mut **tx)
                        .await?;
                }
                let grams = name.map(trigrams).unwrap_or_default();
                if grams.is_empty() {
                    return Ok(());
                }
                let mut q = QueryBuilder::<$db>::new(concat!($insert_ignore, " INTO name_trigrams (trigram, picture_id) "));
                q.push_values(&grams, |mut row, g| {
                    row.push_bind(g.clone()).push_bind(id);
                });
                q.build().execute(&mut **tx).await?;
                Ok(())
            }

            /// The facts read from a picture's file, with its colour rows
            /// (`fresh`: a new picture, with no colour rows to remove yet).
            async fn write_facts(
                tx: &mut sqlx::Transaction<'_, $db>,
                id: i64,
                facts: &Facts,
                fresh: bool,
            ) -> Result<(), sqlx::Error> {
                let bands = facts.phash.map(hash_bands);
                sqlx::query(
                    "UPDATE pictures SET hash = COALESCE(hash, ?), format = ?, width = ?, height = ?, camera = ?, \
                     taken_at = ?, gps_lat = ?, gps_lon = ?, colors = ?, phash = ?, ph0 = ?, ph1 = ?, ph2 = ?, ph3 = ?, \
                     faces = COALESCE(?, faces), objects = COALESCE(?, objects), analyzed = ? WHERE id = ?",
                )
                .bind(&facts.hash)
                .bind(facts.format.map(|f| f.as_str()))
                .bind(facts.width.map(i64::from))
                .bind(facts.height.map(i64::from))
                .bind(&facts.camera)
                .bind(&facts.taken_at)
                .bind(facts.gps.map(|g| g.lat))
                .bind(facts.gps.map(|g| g.lon))
                .bind(encode_colors(&facts.colors))
                .bind(facts.phash.map(|h| h as i64))
                .bind(bands.map(|b| b[0]))
                .bind(bands.map(|b| b[1]))
                .bind(bands.map(|b| b[2]))
                .bind(bands.map(|b| b[3]))
                .bind(facts.faces.map(i64::from))
                .bind(encode_objects(&facts.objects))
                .bind(i64::from(facts.analyzed))
                .bind(id)
                .execute(&mut **tx)
                .await?;
                if !fresh {
                    sqlx::query("DELETE FROM picture_colors WHERE picture_id = ?")
                        .bind(id)
                        .execute(&mut **tx)
                        .await?;
                }
                if !facts.colors.is_empty() {
                    let mut q = QueryBuilder::<$db>::new("INSERT INTO picture_colors (picture_id, rank_no, cell, r, g, b, fraction) ");
                    q.push_values(facts.colors.iter().enumerate(), |mut row, (i, c)| {
                        row.push_bind(id)
                            .push_bind(i as i64)
                            .push_bind(color_cell(c.rgb))
                            .push_bind(i64::from(c.rgb[0]))
                            .push_bind(i64::from(c.rgb[1]))
                            .push_bind(i64::from(c.rgb[2]))
                            .push_bind(c.fraction as f32);
                    });
                    q.build().execute(&mut **tx).await?;
                }
                Ok(())
            }

            async fn insert_once(&self, picture: &NewPicture<'_>, tag_list: &str) -> Result<Inserted, sqlx::Error> {
                let mut tx = self.pool.begin().await?;
                let owner = picture.owner.unwrap_or("");
                let scope = scope_of(picture.owner, picture.private).to_string();
                let done = sqlx::query(
                    "INSERT INTO pictures (path, date, size, tag_list, owner, private, name, status, external_id, hash, dedup_key) \
                     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                )
                .bind(picture.path)
                .bind(picture.date)
                .bind(picture.size as i64)
                .bind(tag_list)
                .bind(owner)
                .bind(i64::from(picture.private))
                .bind(picture.name)
                .bind(picture.status.as_str())
                .bind(picture.external_id)
                .bind(&picture.facts.hash)
                .bind(picture.facts.hash.as_ref().filter(|_| picture.dedup))
                .execute(&mut *tx)
                .await;
                let done = match done {
                    Ok(done) => done,
                    Err(sqlx::Error::Database(e)) if e.is_unique_violation() && picture.dedup && picture.facts.hash.is_some() => {
                        drop(tx);
                        // The owner has these bytes already (a concurrent upload won the race).
                        let existing: Option<i64> = sqlx::query_scalar("SELECT id FROM pictures WHERE owner = ? AND dedup_key = ?")
                            .bind(owner)
                            .bind(&picture.facts.hash)
                            .fetch_optional(&self.pool)
                            .await?;
                        return match existing {
                            Some(id) => Ok(Inserted::Existing(id)),
                            None => Err(sqlx::Error::Database(e)),
                        };
                    }
                    Err(e) => return Err(e),
                };
                let id = Self::insert_id(&done);
                Self::write_facts(&mut tx, id, picture.facts, true).await?;
                let day = picture.date.get(..10).unwrap_or(picture.date).to_string();
                sqlx::query(concat!("INSERT INTO picture_days (day, first_id, n_pictures) VALUES (?, ?, 1)", $upsert_picture_days))
                    .bind(&day)
                    .bind(id)
                    .execute(&mut *tx)
                    .await?;
                Self::add_tags(&mut tx, id, picture.date, &scope, picture.tags).await?;
                Self::count_picture(&mut tx, &scope, picture.date, picture.facts.format.map(|f| f.as_str()), picture.facts.camera.as_deref(), 1).await?;
                Self::index_name(&mut tx, id, picture.name, true).await?;
                if !owner.is_empty() {
                    sqlx::query("UPDATE users SET image_upload_count = image_upload_count + 1 WHERE id = ?")
                        .bind(owner)
                        .execute(&mut *tx)
                        .await?;
                }
                if let Some(min) = picture.queue {
                    sqlx::query("INSERT INTO tag_queue (picture_id, min_confidence, attempts, not_before, lease_until) VALUES (?, ?, 0, 0, 0)")
                        .bind(id)
                        .bind(min)
                        .execute(&mut *tx)
                        .await?;
                }
                tx.commit().await?;
                Ok(Inserted::New(id))
            }

            /// The picture's tag rows, as the statistics hold them.
            async fn old_tags(
                tx: &mut sqlx::Transaction<'_, $db>,
                id: i64,
                only: Option<&str>,
            ) -> Result<Vec<(String, f32, Option<String>)>, sqlx::Error> {
                let rows = sqlx::query("SELECT tag, confidence, source FROM tags WHERE picture_id = ? ORDER BY tag")
                    .bind(id)
                    .fetch_all(&mut **tx)
                    .await?;
                rows.iter()
                    .map(|r| Ok((r.try_get(0)?, r.try_get(1)?, r.try_get(2)?)))
                    .filter(|t: &Result<(String, f32, Option<String>), sqlx::Error>| match (only, t) {
                        (Some(name), Ok((tag, _, _))) => tag == name,
                        _ => true,
                    })
                    .collect()
            }

            /// Rewrites `tag_list` from the tag rows.
            async fn refresh_tag_list(tx: &mut sqlx::Transaction<'_, $db>, id: i64) -> Result<(), sqlx::Error> {
                let rows: Vec<(i64, String, f32, Option<String>)> = Self::old_tags(tx, id, None)
                    .await?
                    .into_iter()
                    .map(|(t, c, s)| (id, t, c, s))
                    .collect();
                let tags = group_tags(rows).remove(&id).unwrap_or_default();
                sqlx::query("UPDATE pictures SET tag_list = ? WHERE id = ?")
                    .bind(encode_tag_list(&tags))
                    .bind(id)
                    .execute(&mut **tx)
                    .await?;
                Ok(())
            }

            /// Locks the picture's row (writing it first makes two changes of
            /// one picture take turns) and reads what its statistics need.
            async fn lock_picture(
                tx: &mut sqlx::Transaction<'_, $db>,
                id: i64,
            ) -> Result<Option<(String, String, bool, Option<String>, Option<String>, String)>, sqlx::Error> {
                let updated = sqlx::query("UPDATE pictures SET id = id WHERE id = ?")
                    .bind(id)
                    .execute(&mut **tx)
                    .await?;
                if updated.rows_affected() == 0 {
                    return Ok(None);
                }
                let r = sqlx::query("SELECT date, owner, private, format, camera, path FROM pictures WHERE id = ?")
                    .bind(id)
                    .fetch_one(&mut **tx)
                    .await?;
                Ok(Some((
                    r.try_get(0)?,
                    r.try_get(1)?,
                    r.try_get::<i64, _>(2)? != 0,
                    r.try_get(3)?,
                    r.try_get(4)?,
                    r.try_get(5)?,
                )))
            }

            async fn set_tags_once(
                &self,
                id: i64,
                tags: &[Tag],
                status: Status,
                failure: Option<&str>,
                faces: Option<u32>,
                objects: Option<&[DetectedObject]>,
            ) -> Result<bool, sqlx::Error> {
                let mut tx = self.pool.begin().await?;
                let Some((date, owner, private, ..)) = Self::lock_picture(&mut tx, id).await? else {
                    return Ok(false);
                };
                let scope = scope_of((!owner.is_empty()).then_some(owner.as_str()), private).to_string();
                // A person's tags stay; every other one is replaced.
                let old = Self::old_tags(&mut tx, id, None).await?;
                let (kept, replaced): (Vec<_>, Vec<_>) = old.into_iter().partition(|(_, _, s)| s.as_deref() == Some("user"));
                sqlx::query("DELETE FROM tags WHERE picture_id = ? AND (source IS NULL OR source <> 'user')")
                    .bind(id)
                    .execute(&mut *tx)
                    .await?;
                let replaced: Vec<OldTag> = replaced.into_iter().map(|(t, c, _)| (t, c)).collect();
                Self::subtract_tags(&mut tx, &date, &scope, &replaced).await?;
                let fresh: Vec<Tag> = tags
                    .iter()
                    .filter(|t| !kept.iter().any(|(k, _, _)| *k == t.name))
                    .cloned()
                    .collect();
                Self::add_tags(&mut tx, id, &date, &scope, &fresh).await?;
                Self::refresh_tag_list(&mut tx, id).await?;
                sqlx::query("UPDATE pictures SET status = ?, failure = ?, faces = COALESCE(?, faces), objects = COALESCE(?, objects) WHERE id = ?")
                    .bind(status.as_str())
                    .bind(failure)
                    .bind(faces.map(i64::from))
                    // Given: replaced whole (`[]` for none); not given: kept.
                    .bind(objects.map(|o| encode_objects(o).unwrap_or_else(|| "[]".into())))
                    .bind(id)
                    .execute(&mut *tx)
                    .await?;
                sqlx::query("DELETE FROM tag_queue WHERE picture_id = ?")
                    .bind(id)
                    .execute(&mut *tx)
                    .await?;
                tx.commit().await?;
                Ok(true)
            }

            async fn change_once(&self, id: i64, change: &PictureChange) -> Result<bool, sqlx::Error> {
                let mut tx = self.pool.begin().await?;
                let Some((date, owner, private, format, camera, _)) = Self::lock_picture(&mut tx, id).await? else {
                    return Ok(false);
                };
                let owner = (!owner.is_empty()).then_some(owner);
                let old_scope = scope_of(owner.as_deref(), private).to_string();
                let new_private = change.private.unwrap_or(private);
                let new_scope = scope_of(owner.as_deref(), new_private).to_string();
                if new_scope != old_scope {
                    // Every tag and the picture itself move to the other scope.
                    let old: Vec<OldTag> = Self::old_tags(&mut tx, id, None).await?.into_iter().map(|(t, c, _)| (t, c)).collect();
                    let tags: Vec<Tag> = group_tags(
                        Self::old_tags(&mut tx, id, None).await?.into_iter().map(|(t, c, s)| (id, t, c, s)),
                    )
                    .remove(&id)
                    .unwrap_or_default();
                    sqlx::query("DELETE FROM tags WHERE picture_id = ?").bind(id).execute(&mut *tx).await?;
                    Self::subtract_tags(&mut tx, &date, &old_scope, &old).await?;
                    // Stored confidences exactly as they were (FLOAT), not rounded.
                    let exact: Vec<Tag> = tags
                        .iter()
                        .map(|t| {
                            let stored = old.iter().find(|(n, _)| *n == t.name).map(|(_, c)| f64::from(*c)).unwrap_or(t.confidence);
                            Tag { confidence: stored, ..t.clone() }
                        })
                        .collect();
                    Self::add_tags(&mut tx, id, &date, &new_scope, &exact).await?;
                    Self::count_picture(&mut tx, &old_scope, &date, format.as_deref(), camera.as_deref(), -1).await?;
                    Self::count_picture(&mut tx, &new_scope, &date, format.as_deref(), camera.as_deref(), 1).await?;
                    sqlx::query("UPDATE pictures SET private = ? WHERE id = ?")
                        .bind(i64::from(new_private))
                        .bind(id)
                        .execute(&mut *tx)
                        .await?;
                }
                if let Some(name) = &change.name {
                    sqlx::query("UPDATE pictures SET name = ? WHERE id = ?")
                        .bind(name.as_deref())
                        .bind(id)
                        .execute(&mut *tx)
                        .await?;
                    Self::index_name(&mut tx, id, name.as_deref(), false).await?;
                }
                for name in &change.remove_tags {
                    let old: Vec<OldTag> = Self::old_tags(&mut tx, id, Some(name)).await?.into_iter().map(|(t, c, _)| (t, c)).collect();
                    if old.is_empty() {
                        continue;
                    }
                    sqlx::query("DELETE FROM tags WHERE picture_id = ? AND tag = ?")
                        .bind(id)
                        .bind(name)
                        .execute(&mut *tx)
                        .await?;
                    Self::subtract_tags(&mut tx, &date, &new_scope, &old).await?;
                }
                for name in &change.add_tags {
                    // A person's tag replaces the model's of the same name.
                    let old: Vec<OldTag> = Self::old_tags(&mut tx, id, Some(name)).await?.into_iter().map(|(t, c, _)| (t, c)).collect();
                    if !old.is_empty() {
                        sqlx::query("DELETE FROM tags WHERE picture_id = ? AND tag = ?")
                            .bind(id)
                            .bind(name)
                            .execute(&mut *tx)
                            .await?;
                        Self::subtract_tags(&mut tx, &date, &new_scope, &old).await?;
                    }
                    let tag = Tag::new(name.clone(), 100.0, Some(TagSource::User));
                    Self::add_tags(&mut tx, id, &date, &new_scope, std::slice::from_ref(&tag)).await?;
                }
                if !change.add_tags.is_empty() || !change.remove_tags.is_empty() || new_scope != old_scope {
                    Self::refresh_tag_list(&mut tx, id).await?;
                }
                tx.commit().await?;
                Ok(true)
            }

            /// Deletes one picture's rows and its share of every statistic.
            /// `None` when there was no such picture.
            async fn delete_once(&self, id: i64) -> Result<Option<String>, sqlx::Error> {
                let mut tx = self.pool.begin().await?;
                let Some((date, owner, private, format, camera, path)) = Self::lock_picture(&mut tx, id).await? else {
                    return Ok(None);
                };
                let scope = scope_of((!owner.is_empty()).then_some(owner.as_str()), private).to_string();
                let old: Vec<OldTag> = Self::old_tags(&mut tx, id, None).await?.into_iter().map(|(t, c, _)| (t, c)).collect();
                for table in ["tags", "picture_colors", "name_trigrams", "tag_queue"] {
                    let sql = format!("DELETE FROM {table} WHERE picture_id = ?");
                    sqlx::query(sqlx::AssertSqlSafe(sql)).bind(id).execute(&mut *tx).await?;
                }
                Self::subtract_tags(&mut tx, &date, &scope, &old).await?;
                Self::count_picture(&mut tx, &scope, &date, format.as_deref(), camera.as_deref(), -1).await?;
                let day = date.get(..10).unwrap_or(&date);
                sqlx::query("UPDATE picture_days SET n_pictures = n_pictures - 1 WHERE day = ?")
                    .bind(day)
                    .execute(&mut *tx)
                    .await?;
                sqlx::query("DELETE FROM picture_days WHERE day = ? AND n_pictures <= 0")
                    .bind(day)
                    .execute(&mut *tx)
                    .await?;
                sqlx::query("DELETE FROM pictures WHERE id = ?").bind(id).execute(&mut *tx).await?;
                tx.commit().await?;
                Ok(Some(path))
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
        impl super::Database for $adapter {
            async fn migrate(&self) -> Result<(), DbError> {
                self.ready().await
            }
        }

        #[async_trait]
        impl Pictures for $adapter {
            async fn insert_picture(&self, picture: &NewPicture<'_>) -> Result<Inserted, DbError> {
                self.ready().await?;
                let tag_list = encode_tag_list(picture.tags);
                self.retrying(|| self.insert_once(picture, &tag_list)).await
            }

            async fn set_tags(&self, id: i64, tags: &[Tag], status: Status, failure: Option<&str>, faces: Option<u32>, objects: Option<&[DetectedObject]>) -> Result<bool, DbError> {
                self.ready().await?;
                self.retrying(|| self.set_tags_once(id, tags, status, failure, faces, objects)).await
            }

            async fn change_picture(&self, id: i64, change: &PictureChange) -> Result<bool, DbError> {
                self.ready().await?;
                self.retrying(|| self.change_once(id, change)).await
            }

            async fn delete_picture(&self, id: i64) -> Result<Option<String>, DbError> {
                self.ready().await?;
                self.retrying(|| self.delete_once(id)).await
            }

            async fn set_facts(&self, id: i64, facts: &Facts) -> Result<(), DbError> {
                self.ready().await?;
                self.retrying(|| async {
                    let mut tx = self.pool.begin().await?;
                    let Some((date, owner, private, format, camera, _)) = Self::lock_picture(&mut tx, id).await? else {
                        return Ok(());
                    };
                    let scope = scope_of((!owner.is_empty()).then_some(owner.as_str()), private).to_string();
                    // The picture leaves /stats under what it was counted as and comes back as it is.
                    Self::count_picture(&mut tx, &scope, &date, format.as_deref(), camera.as_deref(), -1).await?;
                    Self::write_facts(&mut tx, id, facts, false).await?;
                    Self::count_picture(&mut tx, &scope, &date, facts.format.map(|f| f.as_str()), facts.camera.as_deref(), 1).await?;
                    tx.commit().await?;
                    Ok(())
                })
                .await
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

            async fn picture_ids(&self, after: i64, limit: u32, owner: Option<&str>) -> Result<Vec<i64>, DbError> {
                self.ready().await?;
                let q = match owner {
                    Some(owner) => sqlx::query_scalar("SELECT id FROM pictures WHERE owner = ? AND id > ? ORDER BY id LIMIT ?").bind(owner.to_string()),
                    None => sqlx::query_scalar("SELECT id FROM pictures WHERE id > ? ORDER BY id LIMIT ?"),
                };
                Ok(q.bind(after).bind(i64::from(limit)).fetch_all(&self.pool).await?)
            }

            async fn picture(&self, id: i64) -> Result<Option<Picture>, DbError> {
                self.ready().await?;
                Ok(self.pictures_where("p.id = ?", &id.to_string()).await?.pop())
            }

            async fn picture_by_hash(&self, owner: Option<&str>, hash: &str) -> Result<Option<Picture>, DbError> {
                self.ready().await?;
                let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
                    "SELECT {PICTURE_COLUMNS} FROM pictures p WHERE p.owner = ? AND p.hash = ? ORDER BY p.id LIMIT 1"
                )))
                .bind(owner.unwrap_or(""))
                .bind(hash)
                .fetch_all(&self.pool)
                .await?;
                let mut pictures = Self::pictures_from(&rows)?;
                self.fill_tags(&mut pictures).await?;
                Ok(pictures.pop().map(|(p, _)| p))
            }

            async fn picture_by_external_id(&self, external_id: &str) -> Result<Option<Picture>, DbError> {
                self.ready().await?;
                Ok(self.pictures_where("p.external_id = ?", external_id).await?.pop())
            }

            async fn pictures_with_hash(&self, hash: &str) -> Result<Vec<Picture>, DbError> {
                self.ready().await?;
                self.pictures_where("p.hash = ?", hash).await
            }

            async fn search(&self, query: &SearchQuery) -> Result<Vec<Picture>, DbError> {
                self.ready().await?;
                let mut after = query.after;
                if query.dates.min.is_some() {
                    match self.first_id_in(&query.dates).await? {
                        Some(first) => after = after.max(first - 1),
                        None => return Ok(Vec::new()),
                    }
                }
                let mut q = QueryBuilder::<$db>::new(format!("SELECT {PICTURE_COLUMNS} FROM "));
                match &query.tags {
                    None => {
                        q.push("pictures p WHERE p.id > ");
                        q.push_bind(after);
                        if let Some(before) = query.before {
                            q.push(" AND p.id < ");
                            q.push_bind(before);
                        }
                    }
                    Some(tags) => {
                        // One join per required tag, each an equality lookup on
                        // the (tag, picture_id) key; the first tag's key range
                        // drives the scan in picture-id order (either way),
                        // its rows already saying whether the caller may see them.
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
                        if let Some(before) = query.before {
                            q.push(" AND t0.picture_id < ");
                            q.push_bind(before);
                        }
                        push_scopes(&mut q, "t0.scope", &query.visibility, false);
                    }
                }
                if let (Some(tags), Some(origin)) = (&query.tags, query.tags_from) {
                    for i in 0..tags.as_slice().len() {
                        q.push(match origin {
                            TagOrigin::Person => format!(" AND t{i}.source = 'user'"),
                            TagOrigin::Tagger => format!(" AND (t{i}.source IS NULL OR t{i}.source <> 'user')"),
                        });
                    }
                }
                push_dates(&mut q, "p.date", &query.dates, false);
                match &query.visibility {
                    Visibility::All => {}
                    Visibility::Public => {
                        q.push(" AND p.private = 0");
                    }
                    Visibility::Owner(id) => {
                        q.push(" AND (p.private = 0 OR p.owner = ");
                        q.push_bind(id.as_str().to_string());
                        q.push(")");
                    }
                }
                if let Some(owner) = &query.owner {
                    q.push(" AND p.owner = ");
                    q.push_bind(owner.as_str().to_string());
                }
                if let Some(hash) = &query.hash {
                    q.push(" AND p.hash = ");
                    q.push_bind(hash.clone());
                }
                if let Some(camera) = &query.camera {
                    q.push(" AND p.camera = ");
                    q.push_bind(camera.clone());
                    q.push($nocase);
                }
                if let Some(format) = query.format {
                    q.push(" AND p.format = ");
                    q.push_bind(format.as_str().to_string());
                }
                if let Some(status) = query.status {
                    q.push(" AND p.status = ");
                    q.push_bind(status.as_str().to_string());
                }
                if let Some(faces) = query.faces_min {
                    q.push(" AND p.faces >= ");
                    q.push_bind(i64::from(faces));
                }
                if let Some(name) = &query.name {
                    let grams = trigrams(name);
                    if !grams.is_empty() {
                        // The pictures holding every piece (at most four, spread
                        // over the name), each a key range of the trigram index.
                        let picked: Vec<&String> = if grams.len() <= 4 {
                            grams.iter().collect()
                        } else {
                            (0..4).map(|i| &grams[i * (grams.len() - 1) / 3]).collect()
                        };
                        q.push(" AND p.id IN (SELECT n0.picture_id FROM name_trigrams n0");
                        for i in 1..picked.len() {
                            q.push(format_args!(
                                " JOIN name_trigrams n{i} ON n{i}.picture_id = n0.picture_id AND n{i}.trigram = "
                            ));
                            q.push_bind(picked[i].clone());
                        }
                        q.push(" WHERE n0.trigram = ");
                        q.push_bind(picked[0].clone());
                        q.push(")");
                    }
                    q.push(" AND LOWER(p.name) LIKE ");
                    q.push_bind(like_pattern(name));
                    q.push(" ESCAPE '!'");
                }
                if let Some(NearColor { rgb, distance }) = query.color {
                    let radius = distance.get();
                    let radius2 = i64::from(radius * radius);
                    q.push(" AND p.id IN (SELECT c.picture_id FROM picture_colors c WHERE c.cell IN (");
                    let mut list = q.separated(", ");
                    for cell in cells_near(rgb, radius) {
                        list.push_bind(cell);
                    }
                    q.push(") AND (c.r - ");
                    q.push_bind(i64::from(rgb[0]));
                    q.push(") * (c.r - ");
                    q.push_bind(i64::from(rgb[0]));
                    q.push(") + (c.g - ");
                    q.push_bind(i64::from(rgb[1]));
                    q.push(") * (c.g - ");
                    q.push_bind(i64::from(rgb[1]));
                    q.push(") + (c.b - ");
                    q.push_bind(i64::from(rgb[2]));
                    q.push(") * (c.b - ");
                    q.push_bind(i64::from(rgb[2]));
                    q.push(") <= ");
                    q.push_bind(radius2);
                    q.push(")");
                }
                q.push(match query.order {
                    Order::Oldest => " ORDER BY p.id LIMIT ",
                    Order::Newest => " ORDER BY p.id DESC LIMIT ",
                });
                q.push_bind(i64::from(query.limit.0) + 1);
                let rows = q.build().fetch_all(&self.pool).await?;
                let mut pictures = Self::pictures_from(&rows)?;
                self.fill_tags(&mut pictures).await?;
                Ok(pictures.into_iter().map(|(p, _)| p).collect())
            }

            async fn incomplete_pictures(&self, after: i64, limit: u32) -> Result<Vec<Picture>, DbError> {
                self.ready().await?;
                let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
                    "SELECT {PICTURE_COLUMNS} FROM pictures p \
                     WHERE p.id > ? AND (p.size IS NULL OR p.tag_list IS NULL) ORDER BY p.id LIMIT ?"
                )))
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

            async fn unanalyzed_pictures(&self, after: i64, limit: u32) -> Result<Vec<Picture>, DbError> {
                self.ready().await?;
                let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
                    "SELECT {PICTURE_COLUMNS} FROM pictures p WHERE p.analyzed = 0 AND p.id > ? ORDER BY p.id LIMIT ?"
                )))
                .bind(after)
                .bind(i64::from(limit))
                .fetch_all(&self.pool)
                .await?;
                Ok(Self::pictures_from(&rows)?.into_iter().map(|(p, _)| p).collect())
            }

            async fn complete_pictures(&self, done: &[(i64, Option<u64>, Vec<Tag>)]) -> Result<(), DbError> {
                self.ready().await?;
                let mut tx = self.pool.begin().await?;
                for (id, size, tags) in done {
                    let tag_list = encode_tag_list(tags);
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
                    "INSERT INTO tag_totals SELECT scope, tag, COUNT(*), SUM(confidence), MIN(confidence), \
                     MAX(confidence) FROM tags GROUP BY scope, tag",
                    "DELETE FROM tag_days",
                    "INSERT INTO tag_days SELECT scope, SUBSTR(date, 1, 10), tag, COUNT(*), SUM(confidence), \
                     MIN(confidence), MAX(confidence) FROM tags GROUP BY scope, SUBSTR(date, 1, 10), tag",
                    "DELETE FROM picture_days",
                    "INSERT INTO picture_days SELECT SUBSTR(date, 1, 10), MIN(id), COUNT(*) FROM pictures \
                     GROUP BY SUBSTR(date, 1, 10)",
                    "DELETE FROM picture_stats",
                    "INSERT INTO picture_stats SELECT CASE WHEN private = 1 THEN owner ELSE '' END, 'day', \
                     SUBSTR(date, 1, 10), COUNT(*) FROM pictures \
                     GROUP BY CASE WHEN private = 1 THEN owner ELSE '' END, SUBSTR(date, 1, 10)",
                    "INSERT INTO picture_stats SELECT CASE WHEN private = 1 THEN owner ELSE '' END, 'format', \
                     format, COUNT(*) FROM pictures WHERE format IS NOT NULL \
                     GROUP BY CASE WHEN private = 1 THEN owner ELSE '' END, format",
                    "INSERT INTO picture_stats SELECT CASE WHEN private = 1 THEN owner ELSE '' END, 'camera', \
                     camera, COUNT(*) FROM pictures WHERE camera IS NOT NULL \
                     GROUP BY CASE WHEN private = 1 THEN owner ELSE '' END, camera",
                ] {
                    sqlx::query(statement).execute(&mut *tx).await?;
                }
                tx.commit().await?;
                Ok(())
            }

            async fn tag_stats(&self, dates: &DateRange, visibility: &Visibility) -> Result<Vec<TagStat>, DbError> {
                self.ready().await?;
                let plan = StatsPlan::new(dates);
                let mut stats: HashMap<String, Acc> = HashMap::new();
                let mut answers = Vec::new();
                if plan.totals {
                    let mut q = QueryBuilder::<$db>::new(
                        "SELECT tag, n_images, min_confidence, max_confidence, sum_confidence FROM tag_totals",
                    );
                    push_scopes(&mut q, "scope", visibility, true);
                    answers.push(q.build().fetch_all(&self.pool).await?);
                }
                if let Some(days) = &plan.days {
                    let mut q = QueryBuilder::<$db>::new(
                        "SELECT tag, CAST(SUM(n_images) AS SIGNED), MIN(min_confidence), \
                         MAX(max_confidence), SUM(sum_confidence) FROM tag_days",
                    );
                    let first = push_scopes(&mut q, "scope", visibility, true);
                    push_dates(&mut q, "day", days, first);
                    q.push(" GROUP BY tag");
                    answers.push(q.build().fetch_all(&self.pool).await?);
                }
                for scan in &plan.scans {
                    let mut q = QueryBuilder::<$db>::new(
                        "SELECT tag, COUNT(*), MIN(confidence), MAX(confidence), SUM(confidence) FROM tags",
                    );
                    let first = push_dates(&mut q, "date", scan, true);
                    push_scopes(&mut q, "scope", visibility, first);
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
    " ON CONFLICT (scope, tag) DO UPDATE SET n_images = n_images + excluded.n_images, \
     sum_confidence = sum_confidence + excluded.sum_confidence, \
     min_confidence = MIN(min_confidence, excluded.min_confidence), \
     max_confidence = MAX(max_confidence, excluded.max_confidence)",
    " ON CONFLICT (scope, day, tag) DO UPDATE SET n_images = n_images + excluded.n_images, \
     sum_confidence = sum_confidence + excluded.sum_confidence, \
     min_confidence = MIN(min_confidence, excluded.min_confidence), \
     max_confidence = MAX(max_confidence, excluded.max_confidence)",
    " ON CONFLICT (day) DO UPDATE SET first_id = MIN(first_id, excluded.first_id), \
     n_pictures = n_pictures + 1",
    " ON CONFLICT (scope, kind, value) DO UPDATE SET n = n + excluded.n",
    "INSERT OR IGNORE",
    " COLLATE NOCASE"
);

// VALUES() in ON DUPLICATE KEY UPDATE: understood by MySQL 8 and MariaDB alike.
sql_database!(
    MySqlDatabase,
    MySql,
    " ON DUPLICATE KEY UPDATE n_images = n_images + VALUES(n_images), \
     sum_confidence = sum_confidence + VALUES(sum_confidence), \
     min_confidence = LEAST(min_confidence, VALUES(min_confidence)), \
     max_confidence = GREATEST(max_confidence, VALUES(max_confidence))",
    " ON DUPLICATE KEY UPDATE n_images = n_images + VALUES(n_images), \
     sum_confidence = sum_confidence + VALUES(sum_confidence), \
     min_confidence = LEAST(min_confidence, VALUES(min_confidence)), \
     max_confidence = GREATEST(max_confidence, VALUES(max_confidence))",
    " ON DUPLICATE KEY UPDATE first_id = LEAST(first_id, VALUES(first_id)), \
     n_pictures = n_pictures + 1",
    " ON DUPLICATE KEY UPDATE n = n + VALUES(n)",
    "INSERT IGNORE",
    ""
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tag_lists_round_trip() {
        let tags = vec![
            Tag::new("cat", 93.21, Some(TagSource::Model)),
            Tag::new("pet", 100.0, Some(TagSource::User)),
            Tag::new("old", 50.0, None),
        ];
        let decoded = decode_tag_list(Some(encode_tag_list(&tags))).unwrap();
        assert_eq!(decoded[0], tags[1]);
        assert_eq!(decoded[1], tags[0]);
        assert_eq!(decoded[2], tags[2]);
        // What the service wrote before sources were recorded.
        let old = decode_tag_list(Some(r#"[["cat",93.21]]"#.into())).unwrap();
        assert_eq!(old, vec![Tag::new("cat", 93.21, None)]);
        assert_eq!(decode_tag_list(Some("nonsense".into())), None);
    }

    #[test]
    fn colour_cells() {
        assert_eq!(color_cell([0, 0, 0]), 0);
        assert_eq!(color_cell([255, 255, 255]), 511);
        let near = cells_near([100, 100, 100], 48);
        for rgb in [
            [100, 100, 100],
            [148, 100, 100],
            [52, 100, 100],
            [120, 80, 130],
        ] {
            assert!(near.contains(&color_cell(rgb)), "{rgb:?}");
        }
        let c = decode_colors(encode_colors(&[ColorShare {
            rgb: [255, 0, 16],
            fraction: 0.5,
        }]));
        assert_eq!(c[0].hex(), "#ff0010");
    }

    #[test]
    fn name_pieces() {
        assert_eq!(trigrams("Cat"), vec!["cat"]);
        assert_eq!(trigrams("ab"), Vec::<String>::new());
        assert_eq!(trigrams("IMG_01"), vec!["_01", "g_0", "img", "mg_"]);
        assert_eq!(like_pattern("50%_A!"), "%50!%!_a!!%");
    }
}

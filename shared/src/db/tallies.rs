//! The statistics kept with the pictures, in the writing transaction: per
//! scope and tag (`tag_totals`), per scope, day and tag (`tag_days`), and
//! per scope the days, formats and cameras of `GET /stats`
//! (`picture_stats`); and their rebuild from the rows.

use sqlx::Transaction;

use super::sql::{Arg, Sql};
use super::{DbError, Dialect, SqlDatabase};
use crate::domain::Tag;

/// A tag row to remove from the statistics: (tag, confidence as stored).
pub(super) type OldTag = (String, f32);

/// The update of an upsert adding one tag's row to the sums of `keys`.
fn add_to_sums<DB: Dialect>(keys: &str) -> String {
    format!(
        "{} n_images = n_images + {}, sum_confidence = sum_confidence + {}, \
         min_confidence = {}(min_confidence, {}), max_confidence = {}(max_confidence, {})",
        DB::on_conflict(keys),
        DB::inserted("n_images"),
        DB::inserted("sum_confidence"),
        DB::LEAST,
        DB::inserted("min_confidence"),
        DB::GREATEST,
        DB::inserted("max_confidence"),
    )
}

/// Adds tag rows of one picture and their share of the statistics of `scope`.
pub(super) async fn add_tags<DB: Dialect>(
    tx: &mut Transaction<'_, DB>,
    id: i64,
    date: &str,
    scope: &str,
    tags: &[Tag],
) -> Result<(), sqlx::Error> {
    if tags.is_empty() {
        return Ok(());
    }
    let day = date.get(..10).unwrap_or(date);
    // Rows locked in one order (by tag) by every writer cannot deadlock each other.
    let mut tags: Vec<&Tag> = tags.iter().collect();
    tags.sort_by(|a, b| a.name.cmp(&b.name));
    let mut q = Sql::new("INSERT INTO tags (tag, picture_id, confidence, date, scope, source) ");
    q.push_values(&tags, |tag| {
        [
            tag.name.as_str().into(),
            id.into(),
            (tag.confidence as f32).into(),
            date.into(),
            scope.into(),
            tag.source.map(|s| s.as_str()).into(),
        ]
    });
    q.execute(&mut *tx).await?;
    // One tag's share: one picture, its confidence as stored (FLOAT).
    let share = |tag: &Tag| {
        let c = tag.confidence as f32;
        [1i64.into(), f64::from(c).into(), c.into(), c.into()]
    };
    let mut q = Sql::new(
        "INSERT INTO tag_totals (scope, tag, n_images, sum_confidence, min_confidence, max_confidence) ",
    );
    q.push_values(&tags, |tag| {
        let [n, sum, min, max] = share(tag);
        [scope.into(), tag.name.as_str().into(), n, sum, min, max]
    });
    q.push(&add_to_sums::<DB>("scope, tag"));
    q.execute(&mut *tx).await?;
    let mut q = Sql::new(
        "INSERT INTO tag_days (scope, day, tag, n_images, sum_confidence, min_confidence, max_confidence) ",
    );
    q.push_values(&tags, |tag| {
        let [n, sum, min, max] = share(tag);
        [
            scope.into(),
            day.into(),
            tag.name.as_str().into(),
            n,
            sum,
            min,
            max,
        ]
    });
    q.push(&add_to_sums::<DB>("scope, day, tag"));
    q.execute(&mut *tx).await?;
    Ok(())
}

/// Takes tag rows (already deleted, or about to move) out of the statistics
/// of `scope`, one tag after the other, each from `tag_totals` then
/// `tag_days`: counts and sums go down, rows that reach zero go, and an
/// extreme that left is read again from the tag rows still there (an index
/// range of that tag in that scope).
pub(super) async fn subtract_tags<DB: Dialect>(
    tx: &mut Transaction<'_, DB>,
    date: &str,
    scope: &str,
    old: &[OldTag],
) -> Result<(), sqlx::Error> {
    let day = date.get(..10).unwrap_or(date);
    let (day_start, day_end) = (format!("{day} 00:00:00"), format!("{day} 23:59:59"));
    let mut old: Vec<&OldTag> = old.iter().collect();
    old.sort_by(|a, b| a.0.cmp(&b.0));
    for (tag, confidence) in old {
        let (tag, c) = (tag.as_str(), *confidence);
        let totals = || -> [Arg<'_>; 2] { [scope.into(), tag.into()] };
        let days = || -> [Arg<'_>; 3] { [scope.into(), day.into(), tag.into()] };
        let steps: [(&'static str, Vec<Arg<'_>>); 6] = [
            (
                "UPDATE tag_totals SET n_images = n_images - 1, sum_confidence = sum_confidence - ? \
                 WHERE scope = ? AND tag = ?",
                [f64::from(c).into()].into_iter().chain(totals()).collect(),
            ),
            (
                "UPDATE tag_days SET n_images = n_images - 1, sum_confidence = sum_confidence - ? \
                 WHERE scope = ? AND day = ? AND tag = ?",
                [f64::from(c).into()].into_iter().chain(days()).collect(),
            ),
            (
                "DELETE FROM tag_totals WHERE scope = ? AND tag = ? AND n_images <= 0",
                totals().into(),
            ),
            (
                "DELETE FROM tag_days WHERE scope = ? AND day = ? AND tag = ? AND n_images <= 0",
                days().into(),
            ),
            (
                "UPDATE tag_totals SET \
                 min_confidence = (SELECT MIN(confidence) FROM tags WHERE tags.scope = tag_totals.scope AND tags.tag = tag_totals.tag), \
                 max_confidence = (SELECT MAX(confidence) FROM tags WHERE tags.scope = tag_totals.scope AND tags.tag = tag_totals.tag) \
                 WHERE scope = ? AND tag = ? AND (min_confidence >= ? OR max_confidence <= ?)",
                totals().into_iter().chain([c.into(), c.into()]).collect(),
            ),
            (
                "UPDATE tag_days SET \
                 min_confidence = (SELECT MIN(confidence) FROM tags WHERE tags.date >= ? AND tags.date <= ? AND tags.tag = tag_days.tag AND tags.scope = tag_days.scope), \
                 max_confidence = (SELECT MAX(confidence) FROM tags WHERE tags.date >= ? AND tags.date <= ? AND tags.tag = tag_days.tag AND tags.scope = tag_days.scope) \
                 WHERE scope = ? AND day = ? AND tag = ? AND (min_confidence >= ? OR max_confidence <= ?)",
                [
                    day_start.as_str(),
                    day_end.as_str(),
                    day_start.as_str(),
                    day_end.as_str(),
                ]
                .map(Arg::from)
                .into_iter()
                .chain(days())
                .chain([c.into(), c.into()])
                .collect(),
            ),
        ];
        for (sql, args) in steps {
            Sql::new(sql).bind_all(args).execute(&mut *tx).await?;
        }
    }
    Ok(())
}

/// Moves one picture in (`delta` 1) or out (-1) of `GET /stats`: its day,
/// format and camera.
pub(super) async fn count_picture<DB: Dialect>(
    tx: &mut Transaction<'_, DB>,
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
            Sql::new(format!(
                "INSERT INTO picture_stats (scope, kind, value, n) VALUES (?, ?, ?, ?){} n = n + {}",
                DB::on_conflict("scope, kind, value"),
                DB::inserted("n"),
            ))
            .bind(scope)
            .bind(kind)
            .bind(value)
            .bind(delta)
            .execute(&mut *tx)
            .await?;
        } else {
            Sql::new(
                "UPDATE picture_stats SET n = n + ? WHERE scope = ? AND kind = ? AND value = ?",
            )
            .bind(delta)
            .bind(scope)
            .bind(kind)
            .bind(value)
            .execute(&mut *tx)
            .await?;
            Sql::new(
                "DELETE FROM picture_stats WHERE scope = ? AND kind = ? AND value = ? AND n <= 0",
            )
            .bind(scope)
            .bind(kind)
            .bind(value)
            .execute(&mut *tx)
            .await?;
        }
    }
    Ok(())
}

/// Every statistic, computed again from the rows.
const REBUILD: &[&str] = &[
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
];

impl<DB: Dialect> SqlDatabase<DB> {
    /// For databases written to by something other than this service (whose
    /// tag rows carry their picture's scope: `''` when public, the default).
    pub(super) async fn rebuild_tallies(&self) -> Result<(), DbError> {
        let mut tx = self.pool.begin().await?;
        for statement in REBUILD {
            Sql::new(*statement).execute(&mut tx).await?;
        }
        tx.commit().await?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use sqlx::{MySql, Sqlite};

    #[test]
    fn upserts_as_each_dialect_spells_them() {
        assert_eq!(
            add_to_sums::<Sqlite>("scope, tag"),
            " ON CONFLICT (scope, tag) DO UPDATE SET n_images = n_images + excluded.n_images, \
             sum_confidence = sum_confidence + excluded.sum_confidence, \
             min_confidence = MIN(min_confidence, excluded.min_confidence), \
             max_confidence = MAX(max_confidence, excluded.max_confidence)"
        );
        assert_eq!(
            add_to_sums::<MySql>("scope, day, tag"),
            " ON DUPLICATE KEY UPDATE n_images = n_images + VALUES(n_images), \
             sum_confidence = sum_confidence + VALUES(sum_confidence), \
             min_confidence = LEAST(min_confidence, VALUES(min_confidence)), \
             max_confidence = GREATEST(max_confidence, VALUES(max_confidence))"
        );
    }
}

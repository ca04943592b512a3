//! `GET /tags`: per-tag statistics over the pictures a caller sees, read
//! from the statistics tables: whole days from `tag_days`, all time from
//! `tag_totals`, and only the partial days at the edges of a range by
//! scanning `tags`.

use chrono::NaiveDate;
use std::collections::HashMap;

use super::privacy::push_scopes;
use super::sql::Sql;
use super::{DbError, Dialect, SqlDatabase};
use crate::domain::{DateRange, TagStat, Visibility};

/// One tag's statistics in one answer: stored, summed over days, or
/// counted from tag rows.
#[derive(sqlx::FromRow)]
struct TagStatRow {
    tag: String,
    n_images: i64,
    min_confidence: f32,
    max_confidence: f32,
    sum_confidence: f64,
}

/// Running statistics of one tag, merged from several partial answers.
struct Acc {
    n: i64,
    sum: f64,
    min: f32,
    max: f32,
}

fn merge(stats: &mut HashMap<String, Acc>, row: TagStatRow) {
    let acc = stats.entry(row.tag).or_insert(Acc {
        n: 0,
        sum: 0.0,
        min: row.min_confidence,
        max: row.max_confidence,
    });
    acc.n += row.n_images;
    acc.sum += row.sum_confidence;
    acc.min = acc.min.min(row.min_confidence);
    acc.max = acc.max.max(row.max_confidence);
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

/// Appends ` WHERE`/` AND` date bounds on `column`; `first`: whether the
/// statement has no `WHERE` yet. Whether it still has none after.
pub(super) fn push_dates<'a>(
    q: &mut Sql<'a>,
    column: &str,
    dates: &'a DateRange,
    mut first: bool,
) -> bool {
    for (op, bound) in [(">=", &dates.min), ("<=", &dates.max)] {
        if let Some(bound) = bound {
            q.push(if first { " WHERE " } else { " AND " });
            first = false;
            q.push(column)
                .push(" ")
                .push(op)
                .push(" ")
                .push_bind(bound.as_str());
        }
    }
    first
}

impl<DB: Dialect> SqlDatabase<DB> {
    pub(super) async fn read_tag_stats(
        &self,
        dates: &DateRange,
        visibility: &Visibility,
    ) -> Result<Vec<TagStat>, DbError> {
        let plan = StatsPlan::new(dates);
        let mut queries = Vec::new();
        if plan.totals {
            let mut q = Sql::new(
                "SELECT tag, n_images, min_confidence, max_confidence, sum_confidence FROM tag_totals",
            );
            push_scopes(&mut q, "scope", visibility, true);
            queries.push(q);
        }
        if let Some(days) = &plan.days {
            let mut q = Sql::new(
                "SELECT tag, CAST(SUM(n_images) AS SIGNED) AS n_images, MIN(min_confidence) AS min_confidence, \
                 MAX(max_confidence) AS max_confidence, SUM(sum_confidence) AS sum_confidence FROM tag_days",
            );
            let first = push_scopes(&mut q, "scope", visibility, true);
            push_dates(&mut q, "day", days, first);
            q.push(" GROUP BY tag");
            queries.push(q);
        }
        for scan in &plan.scans {
            let mut q = Sql::new(
                "SELECT tag, COUNT(*) AS n_images, MIN(confidence) AS min_confidence, \
                 MAX(confidence) AS max_confidence, SUM(confidence) AS sum_confidence FROM tags",
            );
            let first = push_dates(&mut q, "date", scan, true);
            push_scopes(&mut q, "scope", visibility, first);
            q.push(" GROUP BY tag");
            queries.push(q);
        }
        let mut stats: HashMap<String, Acc> = HashMap::new();
        for q in queries {
            let rows: Vec<TagStatRow> = q.fetch_all(&self.pool).await?;
            rows.into_iter().for_each(|row| merge(&mut stats, row));
        }
        Ok(finish(stats))
    }
}

#[derive(Debug, Default, PartialEq, Eq)]
pub(crate) struct StatsPlan {
    /// Read the all-time totals.
    pub totals: bool,
    /// Whole days to read from `tag_days` (bounds are `YYYY-MM-DD`).
    pub days: Option<DateRange>,
    /// Time ranges to aggregate from the `tags` rows themselves.
    pub scans: Vec<DateRange>,
}

fn shift(day: &str, by: i64) -> Option<String> {
    let d = NaiveDate::parse_from_str(day, "%Y-%m-%d").ok()?;
    Some(
        (d + chrono::Duration::days(by))
            .format("%Y-%m-%d")
            .to_string(),
    )
}

impl StatsPlan {
    /// Bounds are the parsed `YYYY-MM-DD HH:MM:SS` strings of [`DateRange`].
    pub fn new(dates: &DateRange) -> Self {
        let (min, max) = (dates.min.as_deref(), dates.max.as_deref());
        if min.is_none() && max.is_none() {
            return StatsPlan {
                totals: true,
                ..StatsPlan::default()
            };
        }
        // The first and last days wholly inside the range (None: unbounded).
        let first = min.map(|m| {
            if m.ends_with(" 00:00:00") {
                Some(m[..10].to_string())
            } else {
                shift(&m[..10], 1)
            }
        });
        let last = max.map(|m| {
            if m.ends_with(" 23:59:59") {
                Some(m[..10].to_string())
            } else {
                shift(&m[..10], -1)
            }
        });
        let (first, last) = (first.flatten(), last.flatten());
        let whole_days = match (&first, &last) {
            (Some(f), Some(l)) => f <= l,
            _ => true,
        };
        if !whole_days {
            // Within a day or two: scanning the rows is the whole answer.
            return StatsPlan {
                scans: vec![dates.clone()],
                ..StatsPlan::default()
            };
        }
        let mut scans = Vec::new();
        if let Some(m) = min.filter(|m| !m.ends_with(" 00:00:00")) {
            scans.push(DateRange {
                min: Some(m.to_string()),
                max: Some(format!("{} 23:59:59", &m[..10])),
            });
        }
        if let Some(m) = max.filter(|m| !m.ends_with(" 23:59:59")) {
            scans.push(DateRange {
                min: Some(format!("{} 00:00:00", &m[..10])),
                max: Some(m.to_string()),
            });
        }
        StatsPlan {
            totals: false,
            days: Some(DateRange {
                min: first,
                max: last,
            }),
            scans,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn range(min: Option<&str>, max: Option<&str>) -> DateRange {
        DateRange {
            min: min.map(String::from),
            max: max.map(String::from),
        }
    }

    #[test]
    fn plans() {
        assert_eq!(
            StatsPlan::new(&range(None, None)),
            StatsPlan {
                totals: true,
                ..Default::default()
            }
        );
        // Whole days only.
        assert_eq!(
            StatsPlan::new(&range(
                Some("2024-01-01 00:00:00"),
                Some("2024-01-31 23:59:59")
            )),
            StatsPlan {
                days: Some(range(Some("2024-01-01"), Some("2024-01-31"))),
                ..Default::default()
            }
        );
        // Partial edges are scanned, the days between read whole.
        assert_eq!(
            StatsPlan::new(&range(
                Some("2024-01-01 08:00:00"),
                Some("2024-01-31 12:00:00")
            )),
            StatsPlan {
                days: Some(range(Some("2024-01-02"), Some("2024-01-30"))),
                scans: vec![
                    range(Some("2024-01-01 08:00:00"), Some("2024-01-01 23:59:59")),
                    range(Some("2024-01-31 00:00:00"), Some("2024-01-31 12:00:00")),
                ],
                ..Default::default()
            }
        );
        // Open ends.
        assert_eq!(
            StatsPlan::new(&range(None, Some("2024-03-01 10:00:00"))),
            StatsPlan {
                days: Some(range(None, Some("2024-02-29"))),
                scans: vec![range(
                    Some("2024-03-01 00:00:00"),
                    Some("2024-03-01 10:00:00")
                )],
                ..Default::default()
            }
        );
        // Inside one day, or across two partial days: one scan.
        for end in ["2024-01-01 09:00:00", "2024-01-02 09:00:00"] {
            let r = range(Some("2024-01-01 08:00:00"), Some(end));
            assert_eq!(
                StatsPlan::new(&r),
                StatsPlan {
                    scans: vec![r.clone()],
                    ..Default::default()
                }
            );
        }
    }
}

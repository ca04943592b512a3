//! How `GET /tags` is answered from the statistics tables: whole days from
//! `tag_days`, all time from `tag_totals`, and only the partial days at the
//! edges of a range by scanning `tags`.

use chrono::NaiveDate;

use crate::domain::DateRange;

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
        let r = range(Some("2024-01-01 08:00:00"), Some("2024-01-01 09:00:00"));
        assert_eq!(
            StatsPlan::new(&r),
            StatsPlan {
                scans: vec![r.clone()],
                ..Default::default()
            }
        );
        let r = range(Some("2024-01-01 08:00:00"), Some("2024-01-02 09:00:00"));
        assert_eq!(
            StatsPlan::new(&r),
            StatsPlan {
                scans: vec![r.clone()],
                ..Default::default()
            }
        );
    }
}

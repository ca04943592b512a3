//! `GET /images`: the pictures matching a query, a page at a time, by id.

use super::privacy::{push_scopes, push_visible};
use super::rows::{PICTURE_COLUMNS, cells_near, like_pattern, trigrams};
use super::sql::Sql;
use super::stats::push_dates;
use super::{DbError, Dialect, SqlDatabase};
use crate::domain::TagOrigin;
use crate::domain::{DateRange, NearColor, Order, Picture, SearchQuery};

/// Appends the pictures whose name holds every piece (at most four, spread
/// over the name), each a key range of the trigram index, then the exact
/// substring test.
fn push_name<'a>(q: &mut Sql<'a>, name: &str) {
    let grams = trigrams(name);
    if !grams.is_empty() {
        let picked: Vec<String> = if grams.len() <= 4 {
            grams
        } else {
            (0..4)
                .map(|i| grams[i * (grams.len() - 1) / 3].clone())
                .collect()
        };
        q.push(" AND p.id IN (SELECT n0.picture_id FROM name_trigrams n0");
        for (i, gram) in picked.iter().enumerate().skip(1) {
            q.push(&format!(
                " JOIN name_trigrams n{i} ON n{i}.picture_id = n0.picture_id AND n{i}.trigram = "
            ))
            .push_bind(gram.clone());
        }
        q.push(" WHERE n0.trigram = ");
        q.push_bind(picked[0].clone()).push(")");
    }
    q.push(" AND LOWER(p.name) LIKE ")
        .push_bind(like_pattern(name))
        .push(" ESCAPE '!'");
}

/// Appends the pictures with a dominant colour within the distance: the
/// grid cells it can fall in, then the distance itself.
fn push_color(q: &mut Sql<'_>, NearColor { rgb, distance }: NearColor) {
    let radius = distance.get();
    q.push(" AND p.id IN (SELECT c.picture_id FROM picture_colors c WHERE c.cell IN (")
        .push_list(cells_near(rgb, radius))
        .push(")");
    for (i, channel) in ["r", "g", "b"].into_iter().enumerate() {
        let value = i64::from(rgb[i]);
        q.push(if i == 0 { " AND (c." } else { " + (c." })
            .push(channel)
            .push(" - ")
            .push_bind(value)
            .push(") * (c.")
            .push(channel)
            .push(" - ")
            .push_bind(value)
            .push(")");
    }
    q.push(" <= ")
        .push_bind(i64::from(radius * radius))
        .push(")");
}

impl<DB: Dialect> SqlDatabase<DB> {
    /// Up to `limit + 1` pictures matching the query, by id.
    pub(super) async fn search_pictures(
        &self,
        query: &SearchQuery,
    ) -> Result<Vec<Picture>, DbError> {
        let mut after = query.after;
        if query.dates.min.is_some() {
            match self.first_id_in(&query.dates).await? {
                Some(first) => after = after.max(first - 1),
                None => return Ok(Vec::new()),
            }
        }
        let mut q = Sql::new(format!("SELECT {PICTURE_COLUMNS} FROM "));
        match &query.tags {
            None => {
                q.push("pictures p WHERE p.id > ").push_bind(after);
                if let Some(before) = query.before {
                    q.push(" AND p.id < ").push_bind(before);
                }
            }
            Some(tags) => {
                // One join per required tag, each an equality lookup on the
                // (tag, picture_id) key; the first tag's key range drives the
                // scan in picture-id order (either way), its rows already
                // saying whether the caller may see them.
                let tags = tags.as_slice();
                q.push("tags t0");
                for (i, tag) in tags.iter().enumerate().skip(1) {
                    q.push(&format!(
                        " JOIN tags t{i} ON t{i}.picture_id = t0.picture_id AND t{i}.tag = "
                    ))
                    .push_bind(tag.as_str());
                }
                q.push(" JOIN pictures p ON p.id = t0.picture_id WHERE t0.tag = ")
                    .push_bind(tags[0].as_str())
                    .push(" AND t0.picture_id > ")
                    .push_bind(after);
                if let Some(before) = query.before {
                    q.push(" AND t0.picture_id < ").push_bind(before);
                }
                push_scopes(&mut q, "t0.scope", &query.visibility, false);
                if let Some(origin) = query.tags_from {
                    for i in 0..tags.len() {
                        q.push(&match origin {
                            TagOrigin::Person => format!(" AND t{i}.source = 'user'"),
                            TagOrigin::Tagger => {
                                format!(" AND (t{i}.source IS NULL OR t{i}.source <> 'user')")
                            }
                        });
                    }
                }
            }
        }
        push_dates(&mut q, "p.date", &query.dates, false);
        push_visible(&mut q, &query.visibility);
        if let Some(owner) = &query.owner {
            q.push(" AND p.owner = ").push_bind(owner.as_str());
        }
        if let Some(hash) = &query.hash {
            q.push(" AND p.hash = ").push_bind(hash.as_str());
        }
        if let Some(camera) = &query.camera {
            q.push(" AND p.camera = ")
                .push_bind(camera.as_str())
                .push(DB::IGNORING_CASE);
        }
        if let Some(format) = query.format {
            q.push(" AND p.format = ").push_bind(format.as_str());
        }
        if let Some(status) = query.status {
            q.push(" AND p.status = ").push_bind(status.as_str());
        }
        if let Some(faces) = query.faces_min {
            q.push(" AND p.faces >= ").push_bind(i64::from(faces));
        }
        if let Some(name) = &query.name {
            push_name(&mut q, name);
        }
        if let Some(color) = query.color {
            push_color(&mut q, color);
        }
        q.push(match query.order {
            Order::Oldest => " ORDER BY p.id LIMIT ",
            Order::Newest => " ORDER BY p.id DESC LIMIT ",
        })
        .push_bind(i64::from(query.limit.0) + 1);
        let rows = q.fetch_all(&self.pool).await?;
        self.pictures_of(rows, false).await
    }

    /// The smallest id dated within the range (which has a lower bound):
    /// where an id-ordered scan of the range can start. The days strictly
    /// inside the range come from `picture_days`; only the partial first and
    /// last days are read from the (date, id) index. `None` when nothing is
    /// dated within the range.
    async fn first_id_in(&self, dates: &DateRange) -> Result<Option<i64>, DbError> {
        let Some(min) = dates.min.as_deref() else {
            return Ok(None);
        };
        let first_day = &min[..10];
        let first_day_end = format!("{first_day} 23:59:59");
        let mut q =
            Sql::new("SELECT MIN(m) FROM (SELECT MIN(id) AS m FROM pictures WHERE date >= ");
        q.push_bind(min).push(" AND date <= ");
        q.push_bind(match dates.max.as_deref() {
            Some(max) if max < first_day_end.as_str() => max.to_string(),
            _ => first_day_end,
        });
        q.push(" UNION ALL SELECT MIN(first_id) FROM picture_days WHERE day > ")
            .push_bind(first_day);
        if let Some(max) = dates.max.as_deref() {
            let last_day = &max[..10];
            q.push(" AND day < ").push_bind(last_day);
            if last_day > first_day {
                q.push(" UNION ALL SELECT MIN(id) FROM pictures WHERE date >= ")
                    .push_bind(format!("{last_day} 00:00:00"))
                    .push(" AND date <= ")
                    .push_bind(max);
            }
        }
        q.push(") firsts");
        Ok(q.scalar::<DB, Option<i64>>(&self.pool).await?)
    }
}

//! The writes of the `Pictures` port, each one transaction: a new picture,
//! its tags replaced, a person's change, its facts, its deletion. Every one
//! moves the statistics with it (tallies.rs).

use sqlx::Transaction;

use super::rows::{
    TagRow, color_cell, encode_colors, encode_objects, encode_tag_list, group_tags, trigrams,
};
use super::sql::Sql;
use super::tallies::{self, OldTag};
use super::{Dialect, PictureChange, SqlDatabase};
use crate::analysis::hash_bands;
use crate::domain::{
    DetectedObject, Facts, Inserted, NewPicture, Status, Tag, TagSource, scope_of,
};

/// What tagging a picture found (`Pictures::set_tags`).
pub(super) struct Tagged<'a> {
    pub tags: &'a [Tag],
    pub status: Status,
    pub failure: Option<&'a str>,
    /// The faces seen, when the tagger counts them.
    pub faces: Option<u32>,
    /// The objects found, which replace the old ones when given.
    pub objects: Option<&'a [DetectedObject]>,
}

/// A tag row of one picture, as the statistics hold it.
#[derive(sqlx::FromRow)]
struct StoredTag {
    tag: String,
    confidence: f32,
    source: Option<String>,
}

impl StoredTag {
    fn old(&self) -> OldTag {
        (self.tag.clone(), self.confidence)
    }
}

/// What a change of a picture reads of it, its row locked.
#[derive(sqlx::FromRow)]
struct Locked {
    date: String,
    owner: String,
    private: i64,
    format: Option<String>,
    camera: Option<String>,
    path: String,
}

impl Locked {
    fn owner(&self) -> Option<&str> {
        (!self.owner.is_empty()).then_some(self.owner.as_str())
    }

    fn private(&self) -> bool {
        self.private != 0
    }

    /// The scope its statistics count in (with this privacy).
    fn scope(&self, private: bool) -> String {
        scope_of(self.owner(), private).to_string()
    }
}

/// Locks the picture's row (writing it first makes two changes of one
/// picture take turns) and reads what its statistics need.
async fn lock_picture<DB: Dialect>(
    tx: &mut Transaction<'_, DB>,
    id: i64,
) -> Result<Option<Locked>, sqlx::Error> {
    let updated = Sql::new("UPDATE pictures SET id = id WHERE id = ?")
        .bind(id)
        .execute(&mut *tx)
        .await?;
    if updated.rows_affected == 0 {
        return Ok(None);
    }
    let locked =
        Sql::new("SELECT date, owner, private, format, camera, path FROM pictures WHERE id = ?")
            .bind(id)
            .fetch_one(&mut *tx)
            .await?;
    Ok(Some(locked))
}

/// The picture's tag rows (of one name, when given), by name.
async fn stored_tags<DB: Dialect>(
    tx: &mut Transaction<'_, DB>,
    id: i64,
    only: Option<&str>,
) -> Result<Vec<StoredTag>, sqlx::Error> {
    let rows: Vec<StoredTag> =
        Sql::new("SELECT tag, confidence, source FROM tags WHERE picture_id = ? ORDER BY tag")
            .bind(id)
            .fetch_all(&mut *tx)
            .await?;
    Ok(rows
        .into_iter()
        .filter(|t| only.is_none_or(|name| t.tag == name))
        .collect())
}

/// The stored tags as the picture's tags, in response order.
fn as_tags(id: i64, stored: Vec<StoredTag>) -> Vec<Tag> {
    let rows = stored.into_iter().map(|t| TagRow {
        picture_id: id,
        tag: t.tag,
        confidence: t.confidence,
        source: t.source,
    });
    group_tags(rows).remove(&id).unwrap_or_default()
}

/// Rewrites `tag_list` from the tag rows.
async fn refresh_tag_list<DB: Dialect>(
    tx: &mut Transaction<'_, DB>,
    id: i64,
) -> Result<(), sqlx::Error> {
    let tags = as_tags(id, stored_tags(tx, id, None).await?);
    Sql::new("UPDATE pictures SET tag_list = ? WHERE id = ?")
        .bind(encode_tag_list(&tags))
        .bind(id)
        .execute(&mut *tx)
        .await?;
    Ok(())
}

/// Deletes the picture's tag rows of one name and takes them out of the
/// statistics of `scope`.
async fn remove_tag<DB: Dialect>(
    tx: &mut Transaction<'_, DB>,
    id: i64,
    name: &str,
    date: &str,
    scope: &str,
) -> Result<(), sqlx::Error> {
    let old: Vec<OldTag> = stored_tags(tx, id, Some(name))
        .await?
        .iter()
        .map(StoredTag::old)
        .collect();
    if old.is_empty() {
        return Ok(());
    }
    Sql::new("DELETE FROM tags WHERE picture_id = ? AND tag = ?")
        .bind(id)
        .bind(name)
        .execute(&mut *tx)
        .await?;
    tallies::subtract_tags(tx, date, scope, &old).await
}

/// The name's trigrams, for substring searches. `fresh`: a new picture,
/// with none to remove (and a DELETE of nothing would take gap locks that
/// concurrent inserts then deadlock on).
async fn index_name<DB: Dialect>(
    tx: &mut Transaction<'_, DB>,
    id: i64,
    name: Option<&str>,
    fresh: bool,
) -> Result<(), sqlx::Error> {
    if !fresh {
        Sql::new("DELETE FROM name_trigrams WHERE picture_id = ?")
            .bind(id)
            .execute(&mut *tx)
            .await?;
    }
    let grams = name.map(trigrams).unwrap_or_default();
    if grams.is_empty() {
        return Ok(());
    }
    let mut q = Sql::new(format!(
        "{} INTO name_trigrams (trigram, picture_id) ",
        DB::INSERT_IGNORE
    ));
    q.push_values(&grams, |g| [g.into(), id.into()]);
    q.execute(&mut *tx).await?;
    Ok(())
}

/// The facts read from a picture's file, with its colour rows (`fresh`: a
/// new picture, with no colour rows to remove yet).
async fn write_facts<DB: Dialect>(
    tx: &mut Transaction<'_, DB>,
    id: i64,
    facts: &Facts,
    fresh: bool,
) -> Result<(), sqlx::Error> {
    let bands = facts.phash.map(hash_bands);
    Sql::new(
        "UPDATE pictures SET hash = COALESCE(hash, ?), format = ?, width = ?, height = ?, camera = ?, \
         taken_at = ?, gps_lat = ?, gps_lon = ?, colors = ?, phash = ?, ph0 = ?, ph1 = ?, ph2 = ?, ph3 = ?, \
         faces = COALESCE(?, faces), objects = COALESCE(?, objects), analyzed = ? WHERE id = ?",
    )
    .bind(facts.hash.as_deref())
    .bind(facts.format.map(|f| f.as_str()))
    .bind(facts.width.map(i64::from))
    .bind(facts.height.map(i64::from))
    .bind(facts.camera.as_deref())
    .bind(facts.taken_at.as_deref())
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
    .execute(&mut *tx)
    .await?;
    if !fresh {
        Sql::new("DELETE FROM picture_colors WHERE picture_id = ?")
            .bind(id)
            .execute(&mut *tx)
            .await?;
    }
    if !facts.colors.is_empty() {
        let mut q =
            Sql::new("INSERT INTO picture_colors (picture_id, rank_no, cell, r, g, b, fraction) ");
        q.push_values(facts.colors.iter().enumerate(), |(i, c)| {
            [
                id.into(),
                (i as i64).into(),
                color_cell(c.rgb).into(),
                i64::from(c.rgb[0]).into(),
                i64::from(c.rgb[1]).into(),
                i64::from(c.rgb[2]).into(),
                (c.fraction as f32).into(),
            ]
        });
        q.execute(&mut *tx).await?;
    }
    Ok(())
}

impl<DB: Dialect> SqlDatabase<DB> {
    pub(super) async fn insert_once(
        &self,
        picture: &NewPicture<'_>,
        tag_list: &str,
    ) -> Result<Inserted, sqlx::Error> {
        let mut tx = self.pool.begin().await?;
        let owner = picture.owner.unwrap_or("");
        let scope = scope_of(picture.owner, picture.private).to_string();
        let hash = picture.facts.hash.as_deref();
        let done = Sql::new(
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
        .bind(hash)
        .bind(hash.filter(|_| picture.dedup))
        .execute(&mut tx)
        .await;
        let done = match done {
            Ok(done) => done,
            Err(sqlx::Error::Database(e))
                if e.is_unique_violation() && picture.dedup && hash.is_some() =>
            {
                drop(tx);
                // The owner has these bytes already (a concurrent upload won the race).
                let existing: Option<i64> =
                    Sql::new("SELECT id FROM pictures WHERE owner = ? AND dedup_key = ?")
                        .bind(owner)
                        .bind(hash)
                        .scalar_optional(&self.pool)
                        .await?;
                return match existing {
                    Some(id) => Ok(Inserted::Existing(id)),
                    None => Err(sqlx::Error::Database(e)),
                };
            }
            Err(e) => return Err(e),
        };
        let id = done.insert_id;
        write_facts(&mut tx, id, picture.facts, true).await?;
        let day = picture.date.get(..10).unwrap_or(picture.date);
        Sql::new(format!(
            "INSERT INTO picture_days (day, first_id, n_pictures) VALUES (?, ?, 1){} first_id = {}(first_id, {}), \
             n_pictures = n_pictures + 1",
            DB::on_conflict("day"),
            DB::LEAST,
            DB::inserted("first_id"),
        ))
        .bind(day)
        .bind(id)
        .execute(&mut tx)
        .await?;
        tallies::add_tags(&mut tx, id, picture.date, &scope, picture.tags).await?;
        let format = picture.facts.format.map(|f| f.as_str());
        let camera = picture.facts.camera.as_deref();
        tallies::count_picture(&mut tx, &scope, picture.date, format, camera, 1).await?;
        index_name(&mut tx, id, picture.name, true).await?;
        if !owner.is_empty() {
            Sql::new("UPDATE users SET image_upload_count = image_upload_count + 1 WHERE id = ?")
                .bind(owner)
                .execute(&mut tx)
                .await?;
        }
        if let Some(min) = picture.queue {
            Sql::new(
                "INSERT INTO tag_queue (picture_id, min_confidence, attempts, not_before, lease_until) VALUES (?, ?, 0, 0, 0)",
            )
            .bind(id)
            .bind(min)
            .execute(&mut tx)
            .await?;
        }
        tx.commit().await?;
        Ok(Inserted::New(id))
    }

    pub(super) async fn set_tags_once(
        &self,
        id: i64,
        tagged: &Tagged<'_>,
    ) -> Result<bool, sqlx::Error> {
        let mut tx = self.pool.begin().await?;
        let Some(locked) = lock_picture(&mut tx, id).await? else {
            return Ok(false);
        };
        let scope = locked.scope(locked.private());
        // A person's tags stay; every other one is replaced.
        let (kept, replaced): (Vec<_>, Vec<_>) = stored_tags(&mut tx, id, None)
            .await?
            .into_iter()
            .partition(|t| t.source.as_deref() == Some("user"));
        Sql::new("DELETE FROM tags WHERE picture_id = ? AND (source IS NULL OR source <> 'user')")
            .bind(id)
            .execute(&mut tx)
            .await?;
        let replaced: Vec<OldTag> = replaced.iter().map(StoredTag::old).collect();
        tallies::subtract_tags(&mut tx, &locked.date, &scope, &replaced).await?;
        let fresh: Vec<Tag> = tagged
            .tags
            .iter()
            .filter(|t| !kept.iter().any(|k| k.tag == t.name))
            .cloned()
            .collect();
        tallies::add_tags(&mut tx, id, &locked.date, &scope, &fresh).await?;
        refresh_tag_list(&mut tx, id).await?;
        Sql::new(
            "UPDATE pictures SET status = ?, failure = ?, faces = COALESCE(?, faces), objects = COALESCE(?, objects) WHERE id = ?",
        )
        .bind(tagged.status.as_str())
        .bind(tagged.failure)
        .bind(tagged.faces.map(i64::from))
        // Given: replaced whole (`[]` for none); not given: kept.
        .bind(
            tagged
                .objects
                .map(|o| encode_objects(o).unwrap_or_else(|| "[]".into())),
        )
        .bind(id)
        .execute(&mut tx)
        .await?;
        Sql::new("DELETE FROM tag_queue WHERE picture_id = ?")
            .bind(id)
            .execute(&mut tx)
            .await?;
        tx.commit().await?;
        Ok(true)
    }

    pub(super) async fn change_once(
        &self,
        id: i64,
        change: &PictureChange,
    ) -> Result<bool, sqlx::Error> {
        let mut tx = self.pool.begin().await?;
        let Some(locked) = lock_picture(&mut tx, id).await? else {
            return Ok(false);
        };
        let date = locked.date.as_str();
        let old_scope = locked.scope(locked.private());
        let new_private = change.private.unwrap_or(locked.private());
        let new_scope = locked.scope(new_private);
        if new_scope != old_scope {
            // Every tag and the picture itself move to the other scope.
            let stored = stored_tags(&mut tx, id, None).await?;
            let old: Vec<OldTag> = stored.iter().map(StoredTag::old).collect();
            let tags = as_tags(id, stored);
            Sql::new("DELETE FROM tags WHERE picture_id = ?")
                .bind(id)
                .execute(&mut tx)
                .await?;
            tallies::subtract_tags(&mut tx, date, &old_scope, &old).await?;
            // Stored confidences exactly as they were (FLOAT), not rounded.
            let exact: Vec<Tag> = tags
                .iter()
                .map(|t| {
                    let stored = old
                        .iter()
                        .find(|(n, _)| *n == t.name)
                        .map(|(_, c)| f64::from(*c))
                        .unwrap_or(t.confidence);
                    Tag {
                        confidence: stored,
                        ..t.clone()
                    }
                })
                .collect();
            tallies::add_tags(&mut tx, id, date, &new_scope, &exact).await?;
            let (format, camera) = (locked.format.as_deref(), locked.camera.as_deref());
            tallies::count_picture(&mut tx, &old_scope, date, format, camera, -1).await?;
            tallies::count_picture(&mut tx, &new_scope, date, format, camera, 1).await?;
            Sql::new("UPDATE pictures SET private = ? WHERE id = ?")
                .bind(i64::from(new_private))
                .bind(id)
                .execute(&mut tx)
                .await?;
        }
        if let Some(name) = &change.name {
            Sql::new("UPDATE pictures SET name = ? WHERE id = ?")
                .bind(name.as_deref())
                .bind(id)
                .execute(&mut tx)
                .await?;
            index_name(&mut tx, id, name.as_deref(), false).await?;
        }
        for name in &change.remove_tags {
            remove_tag(&mut tx, id, name, date, &new_scope).await?;
        }
        for name in &change.add_tags {
            // A person's tag replaces the model's of the same name.
            remove_tag(&mut tx, id, name, date, &new_scope).await?;
            let tag = Tag::new(name.clone(), 100.0, Some(TagSource::User));
            tallies::add_tags(&mut tx, id, date, &new_scope, std::slice::from_ref(&tag)).await?;
        }
        if !change.add_tags.is_empty() || !change.remove_tags.is_empty() || new_scope != old_scope {
            refresh_tag_list(&mut tx, id).await?;
        }
        tx.commit().await?;
        Ok(true)
    }

    /// Deletes one picture's rows and its share of every statistic.
    /// `None` when there was no such picture.
    pub(super) async fn delete_once(&self, id: i64) -> Result<Option<String>, sqlx::Error> {
        let mut tx = self.pool.begin().await?;
        let Some(locked) = lock_picture(&mut tx, id).await? else {
            return Ok(None);
        };
        let date = locked.date.as_str();
        let scope = locked.scope(locked.private());
        let old: Vec<OldTag> = stored_tags(&mut tx, id, None)
            .await?
            .iter()
            .map(StoredTag::old)
            .collect();
        for table in ["tags", "picture_colors", "name_trigrams", "tag_queue"] {
            Sql::new(format!("DELETE FROM {table} WHERE picture_id = ?"))
                .bind(id)
                .execute(&mut tx)
                .await?;
        }
        tallies::subtract_tags(&mut tx, date, &scope, &old).await?;
        let (format, camera) = (locked.format.as_deref(), locked.camera.as_deref());
        tallies::count_picture(&mut tx, &scope, date, format, camera, -1).await?;
        let day = date.get(..10).unwrap_or(date);
        Sql::new("UPDATE picture_days SET n_pictures = n_pictures - 1 WHERE day = ?")
            .bind(day)
            .execute(&mut tx)
            .await?;
        Sql::new("DELETE FROM picture_days WHERE day = ? AND n_pictures <= 0")
            .bind(day)
            .execute(&mut tx)
            .await?;
        Sql::new("DELETE FROM pictures WHERE id = ?")
            .bind(id)
            .execute(&mut tx)
            .await?;
        tx.commit().await?;
        Ok(Some(locked.path))
    }

    pub(super) async fn set_facts_once(&self, id: i64, facts: &Facts) -> Result<(), sqlx::Error> {
        let mut tx = self.pool.begin().await?;
        let Some(locked) = lock_picture(&mut tx, id).await? else {
            return Ok(());
        };
        let (date, scope) = (locked.date.as_str(), locked.scope(locked.private()));
        // The picture leaves /stats under what it was counted as and comes back as it is.
        let (format, camera) = (locked.format.as_deref(), locked.camera.as_deref());
        tallies::count_picture(&mut tx, &scope, date, format, camera, -1).await?;
        write_facts(&mut tx, id, facts, false).await?;
        let (format, camera) = (facts.format.map(|f| f.as_str()), facts.camera.as_deref());
        tallies::count_picture(&mut tx, &scope, date, format, camera, 1).await?;
        tx.commit().await?;
        Ok(())
    }
}

//! The `Pictures` port: its reads here, its writes in picture_writes.rs,
//! searches in search.rs and the statistics in stats.rs and tallies.rs.

use async_trait::async_trait;
use std::collections::HashMap;

use super::picture_writes::Tagged;
use super::rows::{PICTURE_COLUMNS, PictureRow, TagRow, encode_tag_list, group_tags};
use super::sql::Sql;
use super::{DbError, Dialect, PictureChange, Pictures, SqlDatabase};
use crate::domain::{
    DateRange, DetectedObject, Facts, Inserted, NewPicture, Picture, SearchQuery, Status, Tag,
    TagStat, Visibility,
};

impl<DB: Dialect> SqlDatabase<DB> {
    /// All tags of the given pictures, in response order.
    async fn tags_of(&self, ids: &[i64]) -> Result<HashMap<i64, Vec<Tag>>, DbError> {
        if ids.is_empty() {
            return Ok(HashMap::new());
        }
        let mut q =
            Sql::new("SELECT picture_id, tag, confidence, source FROM tags WHERE picture_id IN (");
        q.push_list(ids.iter().copied()).push(")");
        let rows: Vec<TagRow> = q.fetch_all(&self.pool).await?;
        Ok(group_tags(rows))
    }

    /// Pictures of [`PICTURE_COLUMNS`] rows, the tags of rows without a
    /// `tag_list` (or all of them, with `reread_tags`) from the tag rows.
    pub(super) async fn pictures_of(
        &self,
        rows: Vec<PictureRow>,
        reread_tags: bool,
    ) -> Result<Vec<Picture>, DbError> {
        let mut pictures: Vec<(Picture, bool)> =
            rows.into_iter().map(PictureRow::into_picture).collect();
        if reread_tags {
            pictures.iter_mut().for_each(|(_, has)| *has = false);
        }
        let missing: Vec<i64> = pictures
            .iter()
            .filter(|(_, has)| !has)
            .map(|(p, _)| p.id)
            .collect();
        if !missing.is_empty() {
            let mut tags = self.tags_of(&missing).await?;
            for (p, _) in pictures.iter_mut().filter(|(_, has)| !has) {
                p.tags = tags.remove(&p.id).unwrap_or_default();
            }
        }
        Ok(pictures.into_iter().map(|(p, _)| p).collect())
    }

    /// Pictures by a condition on `p` (`p.id = ?` and the like), tags filled in.
    async fn pictures_where(&self, condition: &str, value: &str) -> Result<Vec<Picture>, DbError> {
        let sql =
            format!("SELECT {PICTURE_COLUMNS} FROM pictures p WHERE {condition} ORDER BY p.id");
        let rows = Sql::new(sql).bind(value).fetch_all(&self.pool).await?;
        self.pictures_of(rows, false).await
    }
}

#[async_trait]
impl<DB: Dialect> Pictures for SqlDatabase<DB> {
    async fn insert_picture(&self, picture: &NewPicture<'_>) -> Result<Inserted, DbError> {
        self.ready().await?;
        let tag_list = encode_tag_list(picture.tags);
        self.retrying(|| self.insert_once(picture, &tag_list)).await
    }

    async fn picture(&self, id: i64) -> Result<Option<Picture>, DbError> {
        self.ready().await?;
        Ok(self
            .pictures_where("p.id = ?", &id.to_string())
            .await?
            .pop())
    }

    async fn picture_by_hash(
        &self,
        owner: Option<&str>,
        hash: &str,
    ) -> Result<Option<Picture>, DbError> {
        self.ready().await?;
        let rows = Sql::new(format!(
            "SELECT {PICTURE_COLUMNS} FROM pictures p WHERE p.owner = ? AND p.hash = ? ORDER BY p.id LIMIT 1"
        ))
        .bind(owner.unwrap_or(""))
        .bind(hash)
        .fetch_all(&self.pool)
        .await?;
        Ok(self.pictures_of(rows, false).await?.pop())
    }

    async fn picture_by_external_id(&self, external_id: &str) -> Result<Option<Picture>, DbError> {
        self.ready().await?;
        Ok(self
            .pictures_where("p.external_id = ?", external_id)
            .await?
            .pop())
    }

    async fn pictures_with_hash(&self, hash: &str) -> Result<Vec<Picture>, DbError> {
        self.ready().await?;
        self.pictures_where("p.hash = ?", hash).await
    }

    async fn set_tags(
        &self,
        id: i64,
        tags: &[Tag],
        status: Status,
        failure: Option<&str>,
        faces: Option<u32>,
        objects: Option<&[DetectedObject]>,
    ) -> Result<bool, DbError> {
        self.ready().await?;
        let tagged = Tagged {
            tags,
            status,
            failure,
            faces,
            objects,
        };
        self.retrying(|| self.set_tags_once(id, &tagged)).await
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
        self.retrying(|| self.set_facts_once(id, facts)).await
    }

    async fn picture_ids(
        &self,
        after: i64,
        limit: u32,
        owner: Option<&str>,
    ) -> Result<Vec<i64>, DbError> {
        self.ready().await?;
        let q = match owner {
            Some(owner) => {
                Sql::new("SELECT id FROM pictures WHERE owner = ? AND id > ? ORDER BY id LIMIT ?")
                    .bind(owner)
            }
            None => Sql::new("SELECT id FROM pictures WHERE id > ? ORDER BY id LIMIT ?"),
        };
        Ok(q.bind(after)
            .bind(i64::from(limit))
            .scalars(&self.pool)
            .await?)
    }

    async fn task_cursor(&self, name: &str) -> Result<Option<i64>, DbError> {
        self.ready().await?;
        Ok(Sql::new("SELECT cursor_id FROM tasks WHERE name = ?")
            .bind(name)
            .scalar_optional(&self.pool)
            .await?)
    }

    async fn set_task_cursor(&self, name: &str, cursor: Option<i64>) -> Result<(), DbError> {
        self.ready().await?;
        let mut tx = self.pool.begin().await?;
        Sql::new("DELETE FROM tasks WHERE name = ?")
            .bind(name)
            .execute(&mut tx)
            .await?;
        if let Some(cursor) = cursor {
            Sql::new("INSERT INTO tasks (name, cursor_id, updated_at) VALUES (?, ?, ?)")
                .bind(name)
                .bind(cursor)
                .bind(crate::domain::utc_now())
                .execute(&mut tx)
                .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    async fn search(&self, query: &SearchQuery) -> Result<Vec<Picture>, DbError> {
        self.ready().await?;
        self.search_pictures(query).await
    }

    async fn tag_stats(
        &self,
        dates: &DateRange,
        visibility: &Visibility,
    ) -> Result<Vec<TagStat>, DbError> {
        self.ready().await?;
        self.read_tag_stats(dates, visibility).await
    }

    async fn incomplete_pictures(&self, after: i64, limit: u32) -> Result<Vec<Picture>, DbError> {
        self.ready().await?;
        let rows = Sql::new(format!(
            "SELECT {PICTURE_COLUMNS} FROM pictures p \
             WHERE p.id > ? AND (p.size IS NULL OR p.tag_list IS NULL) ORDER BY p.id LIMIT ?"
        ))
        .bind(after)
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await?;
        // Their tags from the tag rows, whatever tag_list says.
        self.pictures_of(rows, true).await
    }

    async fn unanalyzed_pictures(&self, after: i64, limit: u32) -> Result<Vec<Picture>, DbError> {
        self.ready().await?;
        let rows: Vec<PictureRow> = Sql::new(format!(
            "SELECT {PICTURE_COLUMNS} FROM pictures p WHERE p.analyzed = 0 AND p.id > ? ORDER BY p.id LIMIT ?"
        ))
        .bind(after)
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await?;
        Ok(rows.into_iter().map(|r| r.into_picture().0).collect())
    }

    async fn complete_pictures(
        &self,
        done: &[(i64, Option<u64>, Vec<Tag>)],
    ) -> Result<(), DbError> {
        self.ready().await?;
        let mut tx = self.pool.begin().await?;
        for (id, size, tags) in done {
            Sql::new(
                "UPDATE pictures SET size = COALESCE(size, ?), tag_list = COALESCE(tag_list, ?) WHERE id = ?",
            )
            .bind(size.map(|s| s as i64))
            .bind(encode_tag_list(tags))
            .bind(*id)
            .execute(&mut tx)
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    async fn noted(&self, name: &str) -> Result<bool, DbError> {
        self.ready().await?;
        let n: i64 = Sql::new("SELECT COUNT(*) FROM schema_steps WHERE name = ?")
            .bind(name)
            .scalar(&self.pool)
            .await?;
        Ok(n > 0)
    }

    async fn note(&self, name: &str) -> Result<(), DbError> {
        self.ready().await?;
        if !self.noted(name).await? {
            Sql::new("INSERT INTO schema_steps (name, applied_at) VALUES (?, ?)")
                .bind(name)
                .bind(crate::domain::utc_now())
                .execute(&self.pool)
                .await?;
        }
        Ok(())
    }

    async fn locations(&self) -> Result<Vec<String>, DbError> {
        self.ready().await?;
        Ok(Sql::new("SELECT path FROM pictures")
            .scalars(&self.pool)
            .await?)
    }

    async fn rebuild_statistics(&self) -> Result<(), DbError> {
        self.ready().await?;
        self.rebuild_tallies().await
    }
}

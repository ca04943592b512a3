//! The `Uploads` port: upload links and presigned upload slots.

use async_trait::async_trait;

use super::sql::Sql;
use super::{DbError, Dialect, SqlDatabase, Uploads};
use crate::domain::{UploadLink, UploadSlot};

/// `''` is how the rows say "no owner".
fn owner_of(owner: String) -> Option<String> {
    (!owner.is_empty()).then_some(owner)
}

#[derive(sqlx::FromRow)]
struct LinkRow {
    id: String,
    owner: String,
    expires: i64,
    created: String,
}

#[derive(sqlx::FromRow)]
struct SlotRow {
    image_id: String,
    owner: String,
    location: String,
    expires: i64,
    created: String,
}

impl From<LinkRow> for UploadLink {
    fn from(r: LinkRow) -> Self {
        UploadLink {
            id: r.id,
            owner: owner_of(r.owner),
            expires: r.expires,
            created: r.created,
        }
    }
}

impl From<SlotRow> for UploadSlot {
    fn from(r: SlotRow) -> Self {
        UploadSlot {
            image_id: r.image_id,
            owner: owner_of(r.owner),
            location: r.location,
            expires: r.expires,
            created: r.created,
        }
    }
}

#[async_trait]
impl<DB: Dialect> Uploads for SqlDatabase<DB> {
    async fn create_link(&self, link: &UploadLink) -> Result<(), DbError> {
        self.ready().await?;
        Sql::new("INSERT INTO upload_links (id, owner, expires, created) VALUES (?, ?, ?, ?)")
            .bind(link.id.as_str())
            .bind(link.owner.as_deref().unwrap_or(""))
            .bind(link.expires)
            .bind(link.created.as_str())
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    async fn link(&self, id: &str) -> Result<Option<UploadLink>, DbError> {
        self.ready().await?;
        let row: Option<LinkRow> =
            Sql::new("SELECT id, owner, expires, created FROM upload_links WHERE id = ?")
                .bind(id)
                .fetch_optional(&self.pool)
                .await?;
        Ok(row.map(UploadLink::from))
    }

    async fn create_slots(&self, slots: &[UploadSlot]) -> Result<(), DbError> {
        self.ready().await?;
        for chunk in slots.chunks(200) {
            let mut q =
                Sql::new("INSERT INTO upload_slots (image_id, owner, location, expires, created) ");
            q.push_values(chunk, |s| {
                [
                    s.image_id.as_str().into(),
                    s.owner.as_deref().unwrap_or_default().into(),
                    s.location.as_str().into(),
                    s.expires.into(),
                    s.created.as_str().into(),
                ]
            });
            q.execute(&self.pool).await?;
        }
        Ok(())
    }

    async fn slot(&self, image_id: &str) -> Result<Option<UploadSlot>, DbError> {
        self.ready().await?;
        let row: Option<SlotRow> = Sql::new(
            "SELECT image_id, owner, location, expires, created FROM upload_slots WHERE image_id = ?",
        )
        .bind(image_id)
        .fetch_optional(&self.pool)
        .await?;
        Ok(row.map(UploadSlot::from))
    }

    async fn delete_slot(&self, image_id: &str) -> Result<(), DbError> {
        self.ready().await?;
        Sql::new("DELETE FROM upload_slots WHERE image_id = ?")
            .bind(image_id)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    async fn expired_slots(&self, now: i64, limit: u32) -> Result<Vec<UploadSlot>, DbError> {
        self.ready().await?;
        let rows: Vec<SlotRow> = Sql::new(
            "SELECT image_id, owner, location, expires, created FROM upload_slots \
             WHERE expires < ? ORDER BY expires LIMIT ?",
        )
        .bind(now)
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await?;
        Ok(rows.into_iter().map(UploadSlot::from).collect())
    }

    async fn delete_expired_links(&self, now: i64) -> Result<(), DbError> {
        self.ready().await?;
        Sql::new("DELETE FROM upload_links WHERE expires < ?")
            .bind(now)
            .execute(&self.pool)
            .await?;
        Ok(())
    }
}

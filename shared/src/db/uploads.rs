//! Upload links and presigned upload slots, in both dialects.

use async_trait::async_trait;
use sqlx::{QueryBuilder, Row};

use super::sql::{MySqlDatabase, SqliteDatabase};
use super::{DbError, Uploads};
use crate::domain::{UploadLink, UploadSlot};

macro_rules! uploads {
    ($adapter:ty, $db:ty) => {
        #[async_trait]
        impl Uploads for $adapter {
            async fn create_link(&self, link: &UploadLink) -> Result<(), DbError> {
                self.ready().await?;
                sqlx::query("INSERT INTO upload_links (id, owner, expires, created) VALUES (?, ?, ?, ?)")
                    .bind(&link.id)
                    .bind(link.owner.as_deref().unwrap_or(""))
                    .bind(link.expires)
                    .bind(&link.created)
                    .execute(&self.pool)
                    .await?;
                Ok(())
            }

            async fn link(&self, id: &str) -> Result<Option<UploadLink>, DbError> {
                self.ready().await?;
                let row = sqlx::query("SELECT id, owner, expires, created FROM upload_links WHERE id = ?")
                    .bind(id)
                    .fetch_optional(&self.pool)
                    .await?;
                Ok(match row {
                    Some(r) => {
                        let owner: String = r.try_get(1)?;
                        Some(UploadLink {
                            id: r.try_get(0)?,
                            owner: (!owner.is_empty()).then_some(owner),
                            expires: r.try_get(2)?,
                            created: r.try_get(3)?,
                        })
                    }
                    None => None,
                })
            }

            async fn create_slots(&self, slots: &[UploadSlot]) -> Result<(), DbError> {
                self.ready().await?;
                for chunk in slots.chunks(200) {
                    let mut q = QueryBuilder::<$db>::new("INSERT INTO upload_slots (image_id, owner, location, expires, created) ");
                    q.push_values(chunk, |mut row, s| {
                        row.push_bind(s.image_id.clone())
                            .push_bind(s.owner.clone().unwrap_or_default())
                            .push_bind(s.location.clone())
                            .push_bind(s.expires)
                            .push_bind(s.created.clone());
                    });
                    q.build().execute(&self.pool).await?;
                }
                Ok(())
            }

            async fn slot(&self, image_id: &str) -> Result<Option<UploadSlot>, DbError> {
                self.ready().await?;
                let row = sqlx::query("SELECT image_id, owner, location, expires, created FROM upload_slots WHERE image_id = ?")
                    .bind(image_id)
                    .fetch_optional(&self.pool)
                    .await?;
                Ok(match row {
                    Some(r) => Some(slot_from(
                        r.try_get(0)?,
                        r.try_get(1)?,
                        r.try_get(2)?,
                        r.try_get(3)?,
                        r.try_get(4)?,
                    )),
                    None => None,
                })
            }

            async fn delete_slot(&self, image_id: &str) -> Result<(), DbError> {
                self.ready().await?;
                sqlx::query("DELETE FROM upload_slots WHERE image_id = ?")
                    .bind(image_id)
                    .execute(&self.pool)
                    .await?;
                Ok(())
            }

            async fn expired_slots(&self, now: i64, limit: u32) -> Result<Vec<UploadSlot>, DbError> {
                self.ready().await?;
                let rows = sqlx::query(
                    "SELECT image_id, owner, location, expires, created FROM upload_slots WHERE expires < ? ORDER BY expires LIMIT ?",
                )
                .bind(now)
                .bind(i64::from(limit))
                .fetch_all(&self.pool)
                .await?;
                rows.iter()
                    .map(|r| Ok(slot_from(r.try_get(0)?, r.try_get(1)?, r.try_get(2)?, r.try_get(3)?, r.try_get(4)?)))
                    .collect::<Result<_, sqlx::Error>>()
                    .map_err(DbError::from)
            }

            async fn delete_expired_links(&self, now: i64) -> Result<(), DbError> {
                self.ready().await?;
                sqlx::query("DELETE FROM upload_links WHERE expires < ?")
                    .bind(now)
                    .execute(&self.pool)
                    .await?;
                Ok(())
            }
        }
    };
}

fn slot_from(
    image_id: String,
    owner: String,
    location: String,
    expires: i64,
    created: String,
) -> UploadSlot {
    UploadSlot {
        image_id,
        owner: (!owner.is_empty()).then_some(owner),
        location,
        expires,
        created,
    }
}

uploads!(SqliteDatabase, sqlx::Sqlite);
uploads!(MySqlDatabase, sqlx::MySql);

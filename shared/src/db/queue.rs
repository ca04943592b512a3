//! The tagging queue's table, in both dialects.

use async_trait::async_trait;
use sqlx::Row;

use super::sql::{MySqlDatabase, SqliteDatabase};
use super::{DbError, Queue};
use crate::domain::TagJob;

macro_rules! queue {
    ($adapter:ty, $insert_ignore:literal) => {
        impl $adapter {
            /// Takes the job if it is due and nobody holds it: a conditional
            /// update, so two workers never both get it.
            async fn take(&self, picture_id: i64, now: i64, lease_secs: i64) -> Result<Option<TagJob>, DbError> {
                let taken = sqlx::query(
                    "UPDATE tag_queue SET lease_until = ?, attempts = attempts + 1 \
                     WHERE picture_id = ? AND lease_until <= ? AND not_before <= ?",
                )
                .bind(now + lease_secs)
                .bind(picture_id)
                .bind(now)
                .bind(now)
                .execute(&self.pool)
                .await?;
                if taken.rows_affected() == 0 {
                    return Ok(None);
                }
                let row = sqlx::query("SELECT picture_id, min_confidence, attempts FROM tag_queue WHERE picture_id = ?")
                    .bind(picture_id)
                    .fetch_optional(&self.pool)
                    .await?;
                Ok(match row {
                    Some(r) => Some(TagJob {
                        picture_id: r.try_get(0)?,
                        min_confidence: r.try_get(1)?,
                        attempts: r.try_get::<i64, _>(2)? as u32,
                    }),
                    None => None,
                })
            }
        }

        #[async_trait]
        impl Queue for $adapter {
            async fn claim_jobs(&self, now: i64, lease_secs: i64, limit: u32) -> Result<Vec<TagJob>, DbError> {
                self.ready().await?;
                let due: Vec<i64> = sqlx::query_scalar(
                    "SELECT picture_id FROM tag_queue WHERE not_before <= ? AND lease_until <= ? \
                     ORDER BY not_before, picture_id LIMIT ?",
                )
                .bind(now)
                .bind(now)
                .bind(i64::from(limit))
                .fetch_all(&self.pool)
                .await?;
                let mut jobs = Vec::new();
                for id in due {
                    if let Some(job) = self.take(id, now, lease_secs).await? {
                        jobs.push(job);
                    }
                }
                Ok(jobs)
            }

            async fn claim_job(&self, picture_id: i64, now: i64, lease_secs: i64) -> Result<Option<TagJob>, DbError> {
                self.ready().await?;
                self.take(picture_id, now, lease_secs).await
            }

            async fn retry_job(&self, picture_id: i64, not_before: i64, error: &str) -> Result<(), DbError> {
                self.ready().await?;
                let error: String = error.chars().take(255).collect();
                sqlx::query("UPDATE tag_queue SET lease_until = 0, not_before = ?, last_error = ? WHERE picture_id = ?")
                    .bind(not_before)
                    .bind(error)
                    .bind(picture_id)
                    .execute(&self.pool)
                    .await?;
                Ok(())
            }

            async fn requeue(&self, picture_id: i64, min_confidence: f64) -> Result<(), DbError> {
                self.ready().await?;
                sqlx::query(concat!($insert_ignore, " INTO tag_queue (picture_id, min_confidence, attempts, not_before, lease_until) VALUES (?, ?, 0, 0, 0)"))
                    .bind(picture_id)
                    .bind(min_confidence)
                    .execute(&self.pool)
                    .await?;
                Ok(())
            }

            async fn queued_jobs(&self) -> Result<i64, DbError> {
                self.ready().await?;
                Ok(sqlx::query_scalar("SELECT COUNT(*) FROM tag_queue").fetch_one(&self.pool).await?)
            }
        }
    };
}

queue!(SqliteDatabase, "INSERT OR IGNORE");
queue!(MySqlDatabase, "INSERT IGNORE");

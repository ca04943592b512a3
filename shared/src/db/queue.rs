//! The `Queue` port: the tagging queue's table.

use async_trait::async_trait;

use super::sql::Sql;
use super::{DbError, Dialect, Queue, SqlDatabase};
use crate::domain::TagJob;

#[derive(sqlx::FromRow)]
struct JobRow {
    picture_id: i64,
    min_confidence: f64,
    attempts: i64,
}

impl From<JobRow> for TagJob {
    fn from(r: JobRow) -> Self {
        TagJob {
            picture_id: r.picture_id,
            min_confidence: r.min_confidence,
            attempts: r.attempts as u32,
        }
    }
}

impl<DB: Dialect> SqlDatabase<DB> {
    /// Takes the job if it is due and nobody holds it: a conditional update,
    /// so two workers never both get it.
    async fn take(
        &self,
        picture_id: i64,
        now: i64,
        lease_secs: i64,
    ) -> Result<Option<TagJob>, DbError> {
        let taken = Sql::new(
            "UPDATE tag_queue SET lease_until = ?, attempts = attempts + 1 \
             WHERE picture_id = ? AND lease_until <= ? AND not_before <= ?",
        )
        .bind(now + lease_secs)
        .bind(picture_id)
        .bind(now)
        .bind(now)
        .execute(&self.pool)
        .await?;
        if taken.rows_affected == 0 {
            return Ok(None);
        }
        let row: Option<JobRow> = Sql::new(
            "SELECT picture_id, min_confidence, attempts FROM tag_queue WHERE picture_id = ?",
        )
        .bind(picture_id)
        .fetch_optional(&self.pool)
        .await?;
        Ok(row.map(TagJob::from))
    }
}

#[async_trait]
impl<DB: Dialect> Queue for SqlDatabase<DB> {
    async fn claim_jobs(
        &self,
        now: i64,
        lease_secs: i64,
        limit: u32,
    ) -> Result<Vec<TagJob>, DbError> {
        self.ready().await?;
        let due: Vec<i64> = Sql::new(
            "SELECT picture_id FROM tag_queue WHERE not_before <= ? AND lease_until <= ? \
             ORDER BY not_before, picture_id LIMIT ?",
        )
        .bind(now)
        .bind(now)
        .bind(i64::from(limit))
        .scalars(&self.pool)
        .await?;
        let mut jobs = Vec::new();
        for id in due {
            if let Some(job) = self.take(id, now, lease_secs).await? {
                jobs.push(job);
            }
        }
        Ok(jobs)
    }

    async fn claim_job(
        &self,
        picture_id: i64,
        now: i64,
        lease_secs: i64,
    ) -> Result<Option<TagJob>, DbError> {
        self.ready().await?;
        self.take(picture_id, now, lease_secs).await
    }

    async fn retry_job(
        &self,
        picture_id: i64,
        not_before: i64,
        error: &str,
    ) -> Result<(), DbError> {
        self.ready().await?;
        let error: String = error.chars().take(255).collect();
        Sql::new(
            "UPDATE tag_queue SET lease_until = 0, not_before = ?, last_error = ? WHERE picture_id = ?",
        )
        .bind(not_before)
        .bind(error)
        .bind(picture_id)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn queued_jobs(&self) -> Result<i64, DbError> {
        self.ready().await?;
        Ok(Sql::new("SELECT COUNT(*) FROM tag_queue")
            .scalar(&self.pool)
            .await?)
    }

    async fn requeue(&self, picture_id: i64, min_confidence: f64) -> Result<(), DbError> {
        self.ready().await?;
        Sql::new(format!(
            "{} INTO tag_queue (picture_id, min_confidence, attempts, not_before, lease_until) \
             VALUES (?, ?, 0, 0, 0)",
            DB::INSERT_IGNORE
        ))
        .bind(picture_id)
        .bind(min_confidence)
        .execute(&self.pool)
        .await?;
        Ok(())
    }
}

//! Asynchronous tagging. A queued picture is recorded `pending` with a row
//! in the queue table, in the same transaction; a worker claims the row
//! with a lease, tags the picture and records the tags, status and the
//! row's removal in one transaction. A worker that dies mid-job leaves a
//! lease that runs out, and the job is claimed again; doing it again
//! replaces the tags rather than adding to them, so nothing counts twice.
//! A job that keeps failing ends `failed`, with its reason.

use super::ports::Ports;
use super::{Confidence, Status, TagJob};
use super::{Error, ImageData};
use crate::auth::unix_now;
use crate::store::StoreError;
use crate::tagger::TaggerError;

/// How a job ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum JobOutcome {
    Tagged,
    /// Given up on: the picture is `failed` with this reason.
    Failed(String),
    /// To be tried again (a tagging service down): why.
    Retry(String),
    /// The picture was deleted meanwhile.
    Gone,
}

/// Backoff before the next try: `first`, twice that, four times... at most 5 minutes.
pub fn backoff_secs(first: i64, attempts: u32) -> i64 {
    first
        .saturating_mul(1i64 << attempts.saturating_sub(1).min(16))
        .min(300)
}

/// Tags one claimed picture and records the outcome (`retry_at` tells a
/// transient failure when to come back: `None` leaves the job free at once,
/// for SQS to redeliver).
pub async fn run_job(ports: &Ports<'_>, job: &TagJob, backoff: bool) -> Result<JobOutcome, Error> {
    let outcome = tag_job(ports, job).await?;
    let id = job.picture_id;
    match &outcome {
        JobOutcome::Tagged | JobOutcome::Gone => {}
        JobOutcome::Failed(reason) => {
            ports
                .db
                .set_tags(id, &[], Status::Failed, Some(reason), None, None)
                .await?;
        }
        JobOutcome::Retry(reason) if job.attempts >= ports.settings.tag_max_attempts => {
            let reason = format!("gave up after {} tries: {reason}", job.attempts);
            ports
                .db
                .set_tags(id, &[], Status::Failed, Some(&reason), None, None)
                .await?;
            return Ok(JobOutcome::Failed(reason));
        }
        JobOutcome::Retry(reason) => {
            let wait = backoff_secs(ports.settings.tag_retry_secs, job.attempts);
            let at = unix_now() + if backoff { wait } else { 0 };
            ports.db.retry_job(id, at, reason).await?;
        }
    }
    Ok(outcome)
}

async fn tag_job(ports: &Ports<'_>, job: &TagJob) -> Result<JobOutcome, Error> {
    let Some(picture) = ports.db.picture(job.picture_id).await? else {
        return Ok(JobOutcome::Gone);
    };
    let bytes = match ports.store.get(&picture.path).await {
        Ok(bytes) => bytes,
        Err(StoreError::NotFound(_)) => {
            return Ok(JobOutcome::Failed("the picture's file is missing".into()));
        }
        Err(e) => return Ok(JobOutcome::Retry(e.to_string())),
    };
    let image = match ImageData::from_bytes(bytes) {
        Ok(image) => image,
        Err(e) => return Ok(JobOutcome::Failed(e.to_string())),
    };
    let min = Confidence::parse(&job.min_confidence.to_string()).unwrap_or(Confidence::DEFAULT);
    // One decode, within the budget, gives the tagger's pixels and, for
    // pictures queued at upload (only read then), their colours and
    // perceptual hash.
    let hash = picture.facts.hash.clone();
    let (facts, small) = match super::analysis::examine(ports.decodes, &image, hash).await {
        Ok(read) => read,
        // The decode budget is taken for now: the job waits its turn.
        Err(e @ Error::Busy(_)) => return Ok(JobOutcome::Retry(e.to_string())),
        Err(e) => return Ok(JobOutcome::Failed(e.to_string())),
    };
    if !picture.facts.analyzed {
        ports.db.set_facts(job.picture_id, &facts).await?;
    }
    let tagged = ports.tagger.tag_decoded(&image, small).await;
    match tagged {
        Ok(tagging) => match super::retag::record(ports.db, job.picture_id, tagging, min).await? {
            true => Ok(JobOutcome::Tagged),
            false => Ok(JobOutcome::Gone),
        },
        Err(TaggerError::BadImage(why)) => Ok(JobOutcome::Failed(why)),
        Err(e) => Ok(JobOutcome::Retry(e.to_string())),
    }
}

/// Runs every due job once (the scheduled drain of the `tag-image`
/// function, a safety net for announcements that were lost).
pub async fn drain(ports: &Ports<'_>, limit: u32) -> Result<usize, Error> {
    let jobs = ports
        .db
        .claim_jobs(unix_now(), ports.settings.tag_lease_secs, limit)
        .await?;
    for job in &jobs {
        run_job(ports, job, true).await?;
    }
    Ok(jobs.len())
}

#[cfg(test)]
mod tests {
    #[test]
    fn backoff_grows_then_stops() {
        let b = |n| super::backoff_secs(2, n);
        assert_eq!((b(1), b(2), b(3)), (2, 4, 8));
        assert_eq!(b(30), 300);
        assert_eq!(b(u32::MAX), 300);
    }
}

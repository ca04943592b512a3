//! Re-tagging: a picture's stored tags replaced by what the tagger says of
//! its file now (after a calibration or a new detector), with the statistics
//! moved in the same transaction, so a picture is never half re-tagged. A
//! person's tags stay.

use super::caller::Caller;
use super::ports::{DbError, Pictures, Ports};
use super::{Confidence, Picture, PictureId, Status};
use super::{Error, ImageData, select_objects, select_tags};
use crate::tagger::Tagging;

/// Re-tags one picture from its stored file (its owner or an admin).
pub async fn retag(
    ports: &Ports<'_>,
    caller: &Caller,
    id: Option<PictureId>,
    min: Confidence,
) -> Result<Picture, Error> {
    let picture = super::access::changeable(ports.db, caller, id).await?;
    let bytes = ports.store.get(&picture.path).await?;
    let image = ImageData::from_bytes(bytes)?;
    let (_, small) =
        super::analysis::examine(ports.decodes, &image, picture.facts.hash.clone()).await?;
    let tagging = ports.tagger.tag_decoded(&image, small).await?;
    if !record(ports.db, picture.id, tagging, min).await? {
        return Err(Error::no_picture(picture.id));
    }
    ports
        .db
        .picture(picture.id)
        .await?
        .ok_or_else(|| Error::no_picture(picture.id))
}

/// Records what the tagger said of picture `id`: its tags and objects at or
/// above `min` replace the model's old ones, and it is `tagged`. `false`
/// when the picture is gone.
pub(super) async fn record(
    db: &dyn Pictures,
    id: i64,
    tagging: Tagging,
    min: Confidence,
) -> Result<bool, DbError> {
    let tags = select_tags(tagging.tags, min);
    let objects = select_objects(tagging.objects, min);
    db.set_tags(
        id,
        &tags,
        Status::Tagged,
        None,
        tagging.faces,
        Some(&objects),
    )
    .await
}

const TASK: &str = "retag";
const BATCH: u32 = 100;

/// What a run over every picture did.
#[derive(Debug, Default)]
pub struct Retagged {
    pub retagged: usize,
    /// Pictures handed to the tagging queue instead (on AWS).
    pub queued: usize,
    /// Pictures that could not be re-tagged (file gone, not decodable):
    /// `(id, why)`; their tags stay as they were.
    pub skipped: Vec<(i64, String)>,
    /// Where the run started: 0, or the picture after the last one an
    /// interrupted run finished.
    pub resumed_after: i64,
}

/// Re-tags every picture, by id. Progress is recorded after each batch, so
/// a run that is stopped resumes after the last batch it finished; a
/// picture done twice gets the same tags, never more. Where a tagging queue
/// runs elsewhere (SQS on AWS), each picture becomes a queue job instead
/// of being tagged here.
pub async fn retag_all(
    ports: &Ports<'_>,
    min: Confidence,
    through_queue: bool,
) -> Result<Retagged, Error> {
    let resumed_after = ports.db.task_cursor(TASK).await?.unwrap_or(0);
    let mut report = Retagged {
        resumed_after,
        ..Retagged::default()
    };
    let mut after = resumed_after;
    loop {
        let ids = ports.db.picture_ids(after, BATCH, None).await?;
        let Some(&last) = ids.last() else { break };
        for id in ids {
            if through_queue {
                ports.db.requeue(id, min.value()).await?;
                ports.queue.enqueue(id).await;
                report.queued += 1;
                continue;
            }
            match retag(ports, &Caller::Admin, Some(PictureId(id)), min).await {
                Ok(_) => report.retagged += 1,
                Err(
                    e @ (Error::Database(_) | Error::Tagger(crate::tagger::TaggerError::Failed(_))),
                ) => {
                    return Err(e);
                }
                Err(e) => report.skipped.push((id, e.to_string())),
            }
        }
        after = last;
        ports.db.set_task_cursor(TASK, Some(after)).await?;
    }
    ports.db.set_task_cursor(TASK, None).await?;
    Ok(report)
}

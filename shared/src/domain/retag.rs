//! Re-tagging: a picture's stored tags replaced by what the tagger says of
//! its file now (after a calibration or a new detector), with the statistics
//! moved in the same transaction, so a picture is never half re-tagged.

use super::types::{Confidence, Picture, PictureId};
use super::{Error, ImageData, select_tags};
use crate::app::App;

/// Re-tags one picture from its stored file.
pub async fn retag(app: &App, id: Option<PictureId>, min: Confidence) -> Result<Picture, Error> {
    let not_found =
        || Error::NotFound(id.map_or_else(|| "out of range".into(), |i| i.0.to_string()));
    let id = id.ok_or_else(not_found)?;
    let stored = app.db.picture(id.0).await?.ok_or_else(not_found)?;
    let bytes = app.store.get(&stored.path).await?;
    let size = bytes.len() as u64;
    let image = ImageData::from_bytes(bytes)?;
    let tags = select_tags(app.tagger.tag(&image).await?, min);
    if !app.db.replace_tags(id.0, &tags).await? {
        return Err(not_found());
    }
    Ok(Picture {
        id: id.0,
        size_bytes: stored.size.unwrap_or(size),
        date: stored.date,
        tags,
    })
}

const TASK: &str = "retag";
const BATCH: u32 = 100;

/// What a run over every picture did.
#[derive(Debug, Default)]
pub struct Retagged {
    pub retagged: usize,
    /// Pictures that could not be re-tagged (file gone, not decodable):
    /// `(id, why)`; their tags stay as they were.
    pub skipped: Vec<(i64, String)>,
    /// Where the run started: 0, or the picture after the last one an
    /// interrupted run finished.
    pub resumed_after: i64,
}

/// Re-tags every picture, by id. Progress is recorded after each picture
/// (a small write beside a tagging), so a run that is stopped resumes after
/// the last picture it finished; the one in flight at a crash was either
/// committed whole or not at all, and doing it again gives the same tags.
pub async fn retag_all(app: &App, min: Confidence) -> Result<Retagged, Error> {
    let resumed_after = app.db.task_cursor(TASK).await?.unwrap_or(0);
    let mut report = Retagged {
        resumed_after,
        ..Retagged::default()
    };
    let mut after = resumed_after;
    loop {
        let ids = app.db.picture_ids(after, BATCH).await?;
        let Some(&last) = ids.last() else { break };
        for id in ids {
            match retag(app, Some(PictureId(id)), min).await {
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
        app.db.set_task_cursor(TASK, Some(after)).await?;
    }
    app.db.set_task_cursor(TASK, None).await?;
    Ok(report)
}

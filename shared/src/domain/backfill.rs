//! Rows written by the original assignment's app have no size and no tag
//! list, so listing them costs a file lookup and a second query each. This
//! pass fills them in, a batch at a time, in the background: serving never
//! waits for it, a restart resumes it (it selects only rows still lacking),
//! and once a pass finds nothing left it is recorded and never runs again
//! (new rows always have both).

use super::Error;
use super::ports::Pictures;
use crate::analysis::DecodeBudget;
use crate::store::{ImageStore, StoreError};

const DONE: &str = "backfill_sizes_and_tag_lists";
const BATCH: u32 = 500;

/// What a backfill pass did.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Backfilled {
    pub completed: usize,
    /// Rows whose file is missing: given their tag list; their size stays
    /// unknown, and reading them answers 503 `image_unavailable` as before.
    pub missing_files: usize,
}

pub async fn backfill(db: &dyn Pictures, store: &dyn ImageStore) -> Result<Backfilled, Error> {
    let mut report = Backfilled::default();
    if db.noted(DONE).await? {
        return Ok(report);
    }
    let mut after = 0;
    loop {
        let rows = db.incomplete_pictures(after, BATCH).await?;
        let Some(last) = rows.last() else { break };
        after = last.id;
        let mut done = Vec::with_capacity(rows.len());
        for row in rows {
            let size = match row.size {
                Some(size) => Some(size),
                None => match store.size(&row.path).await {
                    Ok(size) => Some(size),
                    Err(StoreError::NotFound(_)) => {
                        report.missing_files += 1;
                        None
                    }
                    Err(e) => return Err(e.into()),
                },
            };
            done.push((row.id, size, row.tags));
        }
        db.complete_pictures(&done).await?;
        report.completed += done.len();
    }
    db.note(DONE).await?;
    Ok(report)
}

/// What an analysis pass did.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Analyzed {
    pub analyzed: usize,
    /// Rows whose file is missing or does not decode: recorded as analysed
    /// with nothing known, so the pass does not stop on them again.
    pub unreadable: usize,
}

/// `make backfill`: reads what newer pictures get at upload (content hash,
/// format, size in pixels, EXIF, colours, perceptual hash) from the files of
/// pictures recorded before. Resumable: it selects only rows not yet
/// analysed, a batch at a time, each picture recorded on its own.
pub async fn analyze_all(
    db: &dyn Pictures,
    store: &dyn ImageStore,
    budget: &DecodeBudget,
) -> Result<Analyzed, Error> {
    let mut report = Analyzed::default();
    let mut after = 0;
    loop {
        let rows = db.unanalyzed_pictures(after, BATCH).await?;
        let Some(last) = rows.last() else { break };
        after = last.id;
        for row in rows {
            let facts = match store.get(&row.path).await {
                Ok(bytes) => match super::ImageData::from_bytes(bytes) {
                    Ok(image) => match super::analysis::examine(budget, &image, None).await {
                        Ok((facts, _)) => Some(facts),
                        // The budget is taken for now: the pass stops and resumes later.
                        Err(e @ super::Error::Busy(_)) => return Err(e),
                        Err(_) => None,
                    },
                    Err(_) => None,
                },
                Err(StoreError::NotFound(_)) => None,
                Err(e) => return Err(e.into()),
            };
            let mut facts = match facts {
                Some(facts) => {
                    report.analyzed += 1;
                    facts
                }
                None => {
                    report.unreadable += 1;
                    super::Facts {
                        analyzed: true,
                        ..super::Facts::default()
                    }
                }
            };
            // The faces the tagger counted stay (the backfill does not tag).
            facts.faces = row.facts.faces;
            match db.set_facts(row.id, &facts).await {
                // Two old rows of one owner with the same bytes: the second keeps no hash.
                Err(e) if e.is_unique_violation() => {
                    facts.hash = None;
                    db.set_facts(row.id, &facts).await?;
                }
                other => other?,
            }
        }
    }
    Ok(report)
}

//! The four operations behind the four endpoints.

use super::types::{
    Confidence, DateRange, Picture, PictureId, SearchQuery, StoredPicture, TagStat,
};
use super::{Error, ImageData, NewPicture, select_tags, utc_now};
use crate::app::App;
use crate::store::{StoreError, file_name};

/// Checks that the image decodes whole, tags it, stores its file and records
/// it, in that order. Nothing is left behind when a step fails: no file
/// without its row, no row without its file (the tagger cleans up what it
/// staged itself).
pub async fn register(app: &App, image: &ImageData, min: Confidence) -> Result<Picture, Error> {
    let whole = image.clone();
    tokio::task::spawn_blocking(move || whole.check_decodes())
        .await
        .map_err(|e| {
            Error::invalid(
                "invalid_image",
                format!("the image could not be decoded: {e}"),
            )
        })??;
    let tags = select_tags(app.tagger.tag(image).await?, min);
    let date = utc_now();
    let location = app.store.put(image).await?;
    let new = NewPicture {
        path: &location,
        date: &date,
        size: image.len(),
        tags: &tags,
    };
    match app.db.insert_picture(&new).await {
        Ok(id) => Ok(Picture {
            id,
            size_bytes: image.len(),
            date,
            tags,
        }),
        Err(e) => {
            if let Err(cleanup) = app.store.delete(&location).await {
                tracing::error!(%location, error = %cleanup, "could not remove the file of a failed registration");
            }
            Err(e.into())
        }
    }
}

/// One picture with its file's bytes.
pub async fn get_picture(app: &App, id: Option<PictureId>) -> Result<(Picture, Vec<u8>), Error> {
    let not_found =
        || Error::NotFound(id.map_or_else(|| "out of range".into(), |i| i.0.to_string()));
    let Some(id) = id else {
        return Err(not_found());
    };
    let stored = app.db.picture(id.0).await?.ok_or_else(not_found)?;
    let data = app.store.get(&stored.path).await?;
    let size = stored.size.unwrap_or(data.len() as u64);
    Ok((into_picture(stored, size), data))
}

/// A page of search results, and the cursor of the next page when there is one.
#[derive(Debug)]
pub struct Page {
    pub pictures: Vec<Picture>,
    pub next_after: Option<i64>,
}

pub async fn search(app: &App, query: &SearchQuery) -> Result<Page, Error> {
    if query.dates.is_empty() {
        return Ok(Page {
            pictures: Vec::new(),
            next_after: None,
        });
    }
    let mut rows = app.db.search(query).await?;
    let limit = query.limit.0 as usize;
    let more = rows.len() > limit;
    rows.truncate(limit);
    let next_after = more.then(|| rows.last().map(|p| p.id)).flatten();
    let mut pictures = Vec::with_capacity(rows.len());
    for row in rows {
        let size = match row.size {
            Some(size) => size,
            // Only rows written before sizes were recorded reach the store here.
            None => match app.store.size(&row.path).await {
                Ok(size) => size,
                Err(StoreError::NotFound(_)) => 0,
                Err(e) => return Err(e.into()),
            },
        };
        pictures.push(into_picture(row, size));
    }
    Ok(Page {
        pictures,
        next_after,
    })
}

pub async fn tag_stats(app: &App, dates: &DateRange) -> Result<Vec<TagStat>, Error> {
    if dates.is_empty() {
        return Ok(Vec::new());
    }
    Ok(app.db.tag_stats(dates).await?)
}

fn into_picture(row: StoredPicture, size_bytes: u64) -> Picture {
    Picture {
        id: row.id,
        size_bytes,
        date: row.date,
        tags: row.tags,
    }
}

/// What a sweep for orphan files found.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Reconciled {
    /// Files of the store looked at (older than the grace period).
    pub checked: usize,
    /// Files no picture refers to, now removed.
    pub removed: Vec<String>,
}

/// Removes the files no picture refers to: what a crash between writing a
/// file and committing its row leaves (and `.tmp-` files of interrupted
/// writes). Such files are never served, since only rows lead to files.
/// Files younger than `grace` are left alone: their upload may still be
/// committing in another process. The store is listed before the rows are
/// read, so a file committed in between counts as referenced.
pub async fn reconcile(app: &App, grace: std::time::Duration) -> Result<Reconciled, Error> {
    let cutoff = std::time::SystemTime::now()
        .checked_sub(grace)
        .unwrap_or(std::time::UNIX_EPOCH);
    let candidates: Vec<_> = app
        .store
        .list()
        .await?
        .into_iter()
        .filter(|f| f.modified <= cutoff)
        .collect();
    let mut report = Reconciled {
        checked: candidates.len(),
        removed: Vec::new(),
    };
    if candidates.is_empty() {
        return Ok(report);
    }
    // By name: rows written by older tools may spell the same folder differently.
    let referenced: std::collections::HashSet<String> = app
        .db
        .locations()
        .await?
        .iter()
        .map(|l| file_name(l).to_owned())
        .collect();
    for file in candidates {
        if !referenced.contains(file_name(&file.location)) {
            app.store.delete(&file.location).await?;
            report.removed.push(file.location);
        }
    }
    Ok(report)
}

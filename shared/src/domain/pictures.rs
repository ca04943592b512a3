//! The operations on pictures: register (tag, store, record), read, search,
//! statistics, change and delete, each applying who may see and change what.

use image::RgbImage;
use sha2::{Digest, Sha256};
use std::sync::Arc;

use super::caller::Caller;
use super::types::{
    Confidence, DateRange, Facts, Inserted, Picture, PictureId, SearchQuery, Status, Tag,
    TagSource, TagStat,
};
use super::{Error, ImageData, NewPicture, normalize_tag, select_objects, select_tags, utc_now};
use crate::analysis::DecodeBudget;
use crate::app::App;
use crate::auth::hex;
use super::ports::PictureChange;
use crate::store::{FileKind, StoreError, file_name};

/// One picture to register, as the caller sent it.
#[derive(Debug, Clone)]
pub struct Upload {
    pub image: ImageData,
    pub min: Confidence,
    pub private: bool,
    pub name: Option<String>,
    /// Record it now as `pending`; the tagging queue tags it.
    pub asynchronous: bool,
    /// The id of the presigned slot it came through (seed 004).
    pub external_id: Option<String>,
    /// A person's tags (confidence 100, source `user`).
    pub user_tags: Vec<String>,
    /// Answer with the owner's picture of the same bytes instead of making a
    /// new one: what the seeds' forms, links and batches did. The
    /// assignment's JSON upload makes a new picture on every call.
    pub dedup: bool,
}

impl Upload {
    pub fn new(image: ImageData, min: Confidence) -> Self {
        Upload {
            image,
            min,
            private: false,
            name: None,
            asynchronous: false,
            external_id: None,
            user_tags: Vec::new(),
            dedup: false,
        }
    }
}

/// A registration's outcome: a new picture, or (when the upload asked for
/// de-duplication) the caller's existing picture of the same bytes, with
/// nothing tagged, stored or counted again.
#[derive(Debug, Clone)]
pub struct Registered {
    pub picture: Picture,
    pub new: bool,
}

/// The longest name kept (`pictures.name VARCHAR(255)`), in characters.
pub const MAX_NAME_CHARS: usize = 255;

/// A picture's name: trimmed, at most 255 characters, `None` when blank.
pub fn parse_name(name: Option<&str>) -> Result<Option<String>, Error> {
    let Some(name) = name.map(str::trim).filter(|n| !n.is_empty()) else {
        return Ok(None);
    };
    if name.chars().count() > MAX_NAME_CHARS || name.chars().any(char::is_control) {
        return Err(Error::invalid(
            "invalid_name",
            format!("a name is at most {MAX_NAME_CHARS} characters, without control characters"),
        ));
    }
    Ok(Some(name.to_string()))
}

/// The most tags of its own a picture takes.
pub const MAX_USER_TAGS: usize = 64;

/// A person's tags: normalised like every tag, each once, at most
/// [`MAX_USER_TAGS`]. The list's length is checked before a name is read,
/// and the work is linear in it.
pub fn parse_user_tags<'a>(
    names: impl IntoIterator<Item = &'a str, IntoIter: ExactSizeIterator>,
) -> Result<Vec<String>, Error> {
    let too_many = || {
        Error::invalid(
            "invalid_tags",
            format!("a picture takes at most {MAX_USER_TAGS} tags of its own"),
        )
    };
    let names = names.into_iter();
    // Repeats are forgiven, within reason.
    if names.len() > 4 * MAX_USER_TAGS {
        return Err(too_many());
    }
    let mut seen = std::collections::HashSet::new();
    let mut tags = Vec::new();
    for raw in names {
        let Some(name) = normalize_tag(raw) else {
            return Err(Error::invalid("invalid_tags", "a tag cannot be blank"));
        };
        if seen.insert(name.clone()) {
            tags.push(name);
        }
    }
    if tags.len() > MAX_USER_TAGS {
        return Err(too_many());
    }
    Ok(tags)
}

pub fn sha256_hex(bytes: &[u8]) -> String {
    hex(&Sha256::digest(bytes))
}

/// Reads what the service keeps of a file (hash, format, size in pixels,
/// EXIF, dominant colours, perceptual hash), decoding every pixel so a
/// truncated or corrupt file is refused before it is tagged or stored,
/// whatever the tagger; with the small upright copy the colours were read
/// from, which the tagger reads too. Within the decode budget, on the CPU
/// pool.
pub async fn examine(
    budget: &DecodeBudget,
    image: &ImageData,
    hash: Option<String>,
) -> Result<(Facts, Arc<RgbImage>), Error> {
    let (facts, small) = super::analysis::with_decoded(
        budget,
        image,
        super::analysis::ANALYSIS_SIDE,
        move |image, small| {
            Ok((
                super::analysis::facts_of_decoded(image, hash, &small),
                small,
            ))
        },
    )
    .await?;
    Ok((facts, Arc::new(small)))
}

/// Registers one picture: de-duplicates by content per owner when asked,
/// checks that it decodes whole, tags it (or queues it), stores its file and
/// records it, in that order. Nothing is left behind when a step fails: no file without its
/// row, no row without its file (the tagger cleans up what it staged itself).
pub async fn register(app: &App, caller: &Caller, upload: Upload) -> Result<Registered, Error> {
    if upload.private {
        caller.require_user().map_err(|e| match e {
            Error::Forbidden { .. } => Error::forbidden(
                "a private picture needs an owner: upload it with a user's key or token",
            ),
            other => other,
        })?;
    }
    let owner = caller.user().map(|u| u.id.as_str().to_string());
    let hash = sha256_hex(upload.image.bytes());
    if upload.dedup
        && let Some(existing) = app.db.picture_by_hash(owner.as_deref(), &hash).await?
    {
        return Ok(Registered {
            picture: existing,
            new: false,
        });
    }
    // A queued picture is only read here (hash, header, EXIF): the worker
    // decodes it once, for its colours and for the tagger, and a file
    // whose pixels do not decode ends `failed` with the reason.
    let (mut facts, decoded) = if upload.asynchronous {
        // One that could never be decoded here is refused now, not failed later.
        let cost = crate::analysis::decode_cost(&upload.image, super::analysis::ANALYSIS_SIDE);
        app.decodes.admits(cost)?;
        (
            super::analysis::header_facts(&upload.image, Some(hash)),
            None,
        )
    } else {
        let (facts, small) = examine(&app.decodes, &upload.image, Some(hash)).await?;
        (facts, Some(small))
    };
    let user_tags: Vec<Tag> = upload
        .user_tags
        .iter()
        .map(|name| Tag::new(name.clone(), 100.0, Some(TagSource::User)))
        .collect();
    let (mut tags, status) = match decoded {
        None => (Vec::new(), Status::Pending),
        Some(small) => {
            let tagging = app.tagger.tag_decoded(&upload.image, small).await?;
            facts.faces = tagging.faces;
            facts.objects = select_objects(tagging.objects, upload.min);
            (select_tags(tagging.tags, upload.min), Status::Tagged)
        }
    };
    // A person's tag wins over the model's of the same name.
    tags.retain(|t| !user_tags.iter().any(|u| u.name == t.name));
    tags.extend(user_tags);
    super::sort_tags(&mut tags);

    let date = utc_now();
    let location = app.store.put(&upload.image).await?;
    let new = NewPicture {
        path: &location,
        date: &date,
        size: upload.image.len(),
        tags: &tags,
        owner: owner.as_deref(),
        private: upload.private,
        name: upload.name.as_deref(),
        status,
        external_id: upload.external_id.as_deref(),
        facts: &facts,
        queue: upload.asynchronous.then_some(upload.min.value()),
        dedup: upload.dedup,
    };
    let inserted = app.db.insert_picture(&new).await;
    let id = match inserted {
        Ok(Inserted::New(id)) => id,
        Ok(Inserted::Existing(id)) => {
            // Another upload of the same bytes won the race: keep that one.
            discard(app, &location).await;
            let picture = app
                .db
                .picture(id)
                .await?
                .ok_or_else(|| Error::no_picture(id))?;
            return Ok(Registered {
                picture,
                new: false,
            });
        }
        Err(e) => {
            discard(app, &location).await;
            return Err(e.into());
        }
    };
    if upload.asynchronous {
        app.queue.enqueue(id).await;
    }
    Ok(Registered {
        picture: Picture {
            id,
            path: location,
            size: Some(upload.image.len()),
            date,
            tags,
            owner,
            private: upload.private,
            name: upload.name,
            status,
            failure: None,
            external_id: upload.external_id,
            facts,
        },
        new: true,
    })
}

async fn discard(app: &App, location: &str) {
    if let Err(cleanup) = app.store.delete(location).await {
        tracing::error!(%location, error = %cleanup, "could not remove the file of a failed registration");
    }
}

/// The picture `id` names, if the caller may see it; the same 404 whether
/// it does not exist or is someone else's private picture.
pub async fn visible(app: &App, caller: &Caller, id: Option<PictureId>) -> Result<Picture, Error> {
    let Some(id) = id else {
        return Err(Error::NotFound("out of range".into()));
    };
    let picture = app.db.picture(id.0).await?;
    match picture {
        Some(p) if caller.visibility().sees(p.owner.as_deref(), p.private) => Ok(p),
        _ => Err(Error::no_picture(id.0)),
    }
}

/// The first picture (by id) of these bytes that the caller may see.
pub async fn visible_with_hash(
    app: &App,
    caller: &Caller,
    hash: &str,
) -> Result<Option<Picture>, Error> {
    let visibility = caller.visibility();
    Ok(app
        .db
        .pictures_with_hash(hash)
        .await?
        .into_iter()
        .find(|p| visibility.sees(p.owner.as_deref(), p.private)))
}

/// The picture, if the caller may change it (its owner or an admin); a 404
/// for everyone else, as for a picture they cannot see.
pub async fn changeable(
    app: &App,
    caller: &Caller,
    id: Option<PictureId>,
) -> Result<Picture, Error> {
    let picture = visible(app, caller, id).await?;
    if caller.may_change(picture.owner.as_deref()) {
        Ok(picture)
    } else {
        Err(Error::no_picture(picture.id))
    }
}

/// One picture with its file's bytes.
pub async fn get_picture(
    app: &App,
    caller: &Caller,
    id: Option<PictureId>,
) -> Result<(Picture, Vec<u8>), Error> {
    let mut picture = visible(app, caller, id).await?;
    let data = app.store.get(&picture.path).await?;
    picture.size.get_or_insert(data.len() as u64);
    Ok((picture, data))
}

/// A page of search results, and the cursor of the next page when there is
/// one: the page's last id, which the next page starts past (after it when
/// oldest first, before it when newest first).
#[derive(Debug)]
pub struct Page {
    pub pictures: Vec<Picture>,
    pub next_cursor: Option<i64>,
}

pub async fn search(app: &App, query: &SearchQuery) -> Result<Page, Error> {
    if query.dates.is_empty() {
        return Ok(Page {
            pictures: Vec::new(),
            next_cursor: None,
        });
    }
    let mut rows = app.db.search(query).await?;
    let limit = query.limit.0 as usize;
    let more = rows.len() > limit;
    rows.truncate(limit);
    let next_cursor = more.then(|| rows.last().map(|p| p.id)).flatten();
    for row in rows.iter_mut().filter(|r| r.size.is_none()) {
        // Only rows written before sizes were recorded reach the store here.
        row.size = Some(match app.store.size(&row.path).await {
            Ok(size) => size,
            Err(StoreError::NotFound(_)) => 0,
            Err(e) => return Err(e.into()),
        });
    }
    Ok(Page {
        pictures: rows,
        next_cursor,
    })
}

pub async fn tag_stats(
    app: &App,
    caller: &Caller,
    dates: &DateRange,
) -> Result<Vec<TagStat>, Error> {
    if dates.is_empty() {
        return Ok(Vec::new());
    }
    Ok(app.db.tag_stats(dates, &caller.visibility()).await?)
}

/// `PATCH /images/{id}`: privacy, name and a person's tags (owner or admin).
pub async fn change(
    app: &App,
    caller: &Caller,
    id: Option<PictureId>,
    change: &PictureChange,
) -> Result<Picture, Error> {
    let picture = changeable(app, caller, id).await?;
    if change.private == Some(true) && picture.owner.is_none() {
        return Err(Error::forbidden(
            "a picture uploaded anonymously has no owner and cannot be private",
        ));
    }
    if !app.db.change_picture(picture.id, change).await? {
        return Err(Error::no_picture(picture.id));
    }
    app.db
        .picture(picture.id)
        .await?
        .ok_or_else(|| Error::no_picture(picture.id))
}

/// Removes a deleted picture's file and the files made from it. The row went
/// first, so a crash here leaves a file without a row (swept later), never a
/// row without its file.
pub async fn delete_files_of(app: &App, location: Option<String>) {
    let Some(location) = location else { return };
    // Derived files first: the picture's own file, while it exists, is what
    // the sweep finds an orphan by.
    for result in [
        app.store.delete_derived(&location).await,
        app.store.delete(&location).await,
    ] {
        if let Err(e) = result {
            tracing::warn!(%location, error = %e, "a deleted picture's file stays until the next sweep");
        }
    }
}

/// `DELETE /images/{id}` (owner or admin; others get the 404 of a picture
/// they cannot see).
pub async fn delete(app: &App, caller: &Caller, id: Option<PictureId>) -> Result<(), Error> {
    let picture = changeable(app, caller, id).await?;
    match app.db.delete_picture(picture.id).await? {
        Some(location) => {
            delete_files_of(app, Some(location)).await;
            Ok(())
        }
        None => Err(Error::no_picture(picture.id)),
    }
}

/// The most ids one bulk delete takes.
pub const MAX_BULK_DELETE: usize = 1000;

/// What a bulk delete did.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Deleted {
    pub deleted: Vec<i64>,
    /// Ids with no picture the caller may delete.
    pub not_found: Vec<i64>,
}

/// `DELETE /images {"ids": [...]}`: each picture stands alone.
pub async fn delete_many(app: &App, caller: &Caller, ids: &[i64]) -> Result<Deleted, Error> {
    if ids.len() > MAX_BULK_DELETE {
        return Err(Error::invalid(
            "too_many_ids",
            format!("at most {MAX_BULK_DELETE} ids at a time"),
        ));
    }
    let mut report = Deleted::default();
    let mut seen = std::collections::HashSet::new();
    for &id in ids.iter().filter(|id| seen.insert(**id)) {
        let target = i32::try_from(id)
            .ok()
            .filter(|&i| i > 0)
            .map(|i| PictureId(i64::from(i)));
        match delete(app, caller, target).await {
            Ok(()) => report.deleted.push(id),
            Err(Error::NotFound(_)) => report.not_found.push(id),
            Err(e) => return Err(e),
        }
    }
    Ok(report)
}

/// What a sweep for orphan files found.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Reconciled {
    /// Files of the store looked at (older than the grace period).
    pub checked: usize,
    /// Files no row refers to, now removed.
    pub removed: Vec<String>,
    /// Presigned upload slots that expired unregistered, removed with their objects.
    pub expired_slots: usize,
    /// Account deletions cut short, now finished.
    pub closed_accounts: usize,
}

/// Removes what no row refers to: the file of a picture whose row was never
/// committed (a crash between writing the file and the row), the files made
/// from a picture that is gone (a thumbnail written while its picture was
/// being deleted), objects put at upload slots that no longer exist, and
/// temporary files of interrupted writes, at every depth of the store.
/// Such files are never served, since only rows lead to files. Files
/// younger than `grace` are left alone: their upload may still be
/// committing in another process. The store is listed before the rows are
/// read, so a file committed in between counts as referenced. Upload slots
/// whose URL expired without being registered go too, with whatever was put
/// at them, and account deletions cut short are finished first.
pub async fn reconcile(app: &App, grace: std::time::Duration) -> Result<Reconciled, Error> {
    let mut report = Reconciled {
        closed_accounts: super::accounts::finish_closed_accounts(app).await?,
        expired_slots: super::uploads::sweep_expired(app).await?,
        ..Reconciled::default()
    };
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
    report.checked = candidates.len();
    if candidates.is_empty() {
        return Ok(report);
    }
    // By name: rows written by older tools may spell the same folder differently.
    let referenced: std::collections::HashSet<String> = app
        .db
        .locations()
        .await?
        .iter()
        .map(|l| stem(file_name(l)).to_owned())
        .collect();
    for file in candidates {
        let orphan = match &file.kind {
            FileKind::Original { stem } | FileKind::Derived { stem } => {
                !referenced.contains(stem.as_str())
            }
            FileKind::Slot { image_id } => app.db.slot(image_id).await?.is_none(),
            FileKind::Partial => true,
        };
        if !orphan {
            continue;
        }
        if matches!(file.kind, FileKind::Original { .. }) {
            // What was made from it first: the file is how the next sweep
            // would find them if this one stopped half-way.
            app.store.delete_derived(&file.location).await?;
        }
        app.store.delete(&file.location).await?;
        report.removed.push(file.location);
    }
    Ok(report)
}

/// A stored name without its extensions: a picture's file and the files
/// made from it share it.
fn stem(name: &str) -> &str {
    let name = name.strip_prefix(".tmp-").unwrap_or(name);
    name.split('.').next().unwrap_or(name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_tags() {
        assert_eq!(
            parse_name(Some("  cat.jpg ")).unwrap().as_deref(),
            Some("cat.jpg")
        );
        assert_eq!(parse_name(Some("   ")).unwrap(), None);
        assert!(parse_name(Some(&"x".repeat(256))).is_err());
        assert!(parse_name(Some("a\nb")).is_err());
        assert_eq!(
            parse_user_tags(["Leafy", "leafy ", "Green  Salad"]).unwrap(),
            ["leafy", "green salad"]
        );
        assert!(parse_user_tags([" "]).is_err());
        let many: Vec<String> = (0..65).map(|i| format!("t{i}")).collect();
        assert!(parse_user_tags(many.iter().map(String::as_str)).is_err());
        assert_eq!(
            parse_user_tags(many[..64].iter().map(String::as_str))
                .unwrap()
                .len(),
            64
        );
        let repeats = vec!["a"; 4 * MAX_USER_TAGS];
        assert_eq!(parse_user_tags(repeats.iter().copied()).unwrap(), ["a"]);
        let flood = vec!["a"; 200_000];
        assert!(parse_user_tags(flood.iter().copied()).is_err());
        assert_eq!(stem("0123.jpg"), "0123");
        assert_eq!(stem("0123.t256.jpg"), "0123");
        assert_eq!(stem(".tmp-0123.part"), "0123");
    }
}

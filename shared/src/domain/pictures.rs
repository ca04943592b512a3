//! The operations on pictures: register (tag, store, record), read, search,
//! statistics, change and delete, each applying who may see and change what.

use super::access::{changeable, visible};
use super::caller::Caller;
use super::ports::{PictureChange, Pictures, Ports};
use super::{
    Confidence, DateRange, Inserted, Picture, PictureId, SearchQuery, Status, Tag, TagSource,
    TagStat,
};
use super::{Error, ImageData, NewPicture, normalize_tag, select_objects, select_tags, utc_now};
use crate::store::{ImageStore, StoreError};

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

/// Registers one picture: de-duplicates by content per owner when asked,
/// checks that it decodes whole, tags it (or queues it), stores its file and
/// records it, in that order. Nothing is left behind when a step fails: no file without its
/// row, no row without its file (the tagger cleans up what it staged itself).
pub async fn register(
    ports: &Ports<'_>,
    caller: &Caller,
    upload: Upload,
) -> Result<Registered, Error> {
    if upload.private {
        caller.require_user().map_err(|e| match e {
            Error::Forbidden { .. } => Error::forbidden(
                "a private picture needs an owner: upload it with a user's key or token",
            ),
            other => other,
        })?;
    }
    let owner = caller.user().map(|u| u.id.as_str().to_string());
    let hash = super::image::sha256_hex(upload.image.bytes());
    if upload.dedup
        && let Some(existing) = ports.db.picture_by_hash(owner.as_deref(), &hash).await?
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
        ports.decodes.admits(cost)?;
        (
            super::analysis::header_facts(&upload.image, Some(hash)),
            None,
        )
    } else {
        let (facts, small) =
            super::analysis::examine(ports.decodes, &upload.image, Some(hash)).await?;
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
            let tagging = ports.tagger.tag_decoded(&upload.image, small).await?;
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
    let location = ports.store.put(&upload.image).await?;
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
    let inserted = ports.db.insert_picture(&new).await;
    let id = match inserted {
        Ok(Inserted::New(id)) => id,
        Ok(Inserted::Existing(id)) => {
            // Another upload of the same bytes won the race: keep that one.
            discard(ports.store, &location).await;
            let picture = ports
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
            discard(ports.store, &location).await;
            return Err(e.into());
        }
    };
    if upload.asynchronous {
        ports.queue.enqueue(id).await;
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

async fn discard(store: &dyn ImageStore, location: &str) {
    if let Err(cleanup) = store.delete(location).await {
        tracing::error!(%location, error = %cleanup, "could not remove the file of a failed registration");
    }
}

/// One picture with its file's bytes.
pub async fn get_picture(
    db: &dyn Pictures,
    store: &dyn ImageStore,
    caller: &Caller,
    id: Option<PictureId>,
) -> Result<(Picture, Vec<u8>), Error> {
    let mut picture = visible(db, caller, id).await?;
    let data = store.get(&picture.path).await?;
    picture.size.get_or_insert(data.len() as u64);
    Ok((picture, data))
}

/// A page of search results, and the search of the next page when there is
/// one.
#[derive(Debug)]
pub struct Page {
    pub pictures: Vec<Picture>,
    pub next: Option<SearchQuery>,
}

impl Page {
    /// The page of `rows`: up to `limit + 1` in the search's order, as the
    /// database answers it; the extra row says another page exists, which
    /// starts past this page's last picture.
    pub fn of(mut rows: Vec<Picture>, query: &SearchQuery) -> Page {
        let limit = query.limit.0 as usize;
        let more = rows.len() > limit;
        rows.truncate(limit);
        let next = match (more, rows.last()) {
            (true, Some(last)) => Some(query.past(last.id)),
            _ => None,
        };
        Page {
            pictures: rows,
            next,
        }
    }
}

pub async fn search(
    db: &dyn Pictures,
    store: &dyn ImageStore,
    query: &SearchQuery,
) -> Result<Page, Error> {
    if query.dates.is_empty() {
        return Ok(Page::of(Vec::new(), query));
    }
    let mut page = Page::of(db.search(query).await?, query);
    for row in page.pictures.iter_mut().filter(|r| r.size.is_none()) {
        // Only rows written before sizes were recorded reach the store here.
        row.size = Some(match store.size(&row.path).await {
            Ok(size) => size,
            Err(StoreError::NotFound(_)) => 0,
            Err(e) => return Err(e.into()),
        });
    }
    Ok(page)
}

pub async fn tag_stats(
    db: &dyn Pictures,
    caller: &Caller,
    dates: &DateRange,
) -> Result<Vec<TagStat>, Error> {
    if dates.is_empty() {
        return Ok(Vec::new());
    }
    Ok(db.tag_stats(dates, &caller.visibility()).await?)
}

/// `PATCH /images/{id}`: privacy, name and a person's tags (owner or admin).
pub async fn change(
    db: &dyn Pictures,
    caller: &Caller,
    id: Option<PictureId>,
    change: &PictureChange,
) -> Result<Picture, Error> {
    let picture = changeable(db, caller, id).await?;
    if change.private == Some(true) && picture.owner.is_none() {
        return Err(Error::forbidden(
            "a picture uploaded anonymously has no owner and cannot be private",
        ));
    }
    if !db.change_picture(picture.id, change).await? {
        return Err(Error::no_picture(picture.id));
    }
    db.picture(picture.id)
        .await?
        .ok_or_else(|| Error::no_picture(picture.id))
}

/// Removes a deleted picture's file and the files made from it. The row went
/// first, so a crash here leaves a file without a row (swept later), never a
/// row without its file.
pub async fn delete_files_of(store: &dyn ImageStore, location: Option<String>) {
    let Some(location) = location else { return };
    // Derived files first: the picture's own file, while it exists, is what
    // the sweep finds an orphan by.
    for result in [
        store.delete_derived(&location).await,
        store.delete(&location).await,
    ] {
        if let Err(e) = result {
            tracing::warn!(%location, error = %e, "a deleted picture's file stays until the next sweep");
        }
    }
}

/// `DELETE /images/{id}` (owner or admin; others get the 404 of a picture
/// they cannot see).
pub async fn delete(
    db: &dyn Pictures,
    store: &dyn ImageStore,
    caller: &Caller,
    id: Option<PictureId>,
) -> Result<(), Error> {
    let picture = changeable(db, caller, id).await?;
    match db.delete_picture(picture.id).await? {
        Some(location) => {
            delete_files_of(store, Some(location)).await;
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
pub async fn delete_many(
    db: &dyn Pictures,
    store: &dyn ImageStore,
    caller: &Caller,
    ids: &[i64],
) -> Result<Deleted, Error> {
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
        match delete(db, store, caller, target).await {
            Ok(()) => report.deleted.push(id),
            Err(Error::NotFound(_)) => report.not_found.push(id),
            Err(e) => return Err(e),
        }
    }
    Ok(report)
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
    }
}

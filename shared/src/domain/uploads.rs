//! Uploads at scale: expiring upload links (seed 002) and presigned upload
//! slots registered in batches with MD5 checks (seed 004).

use md5::{Digest, Md5};

use super::Confidence;
use super::caller::{Caller, User, UserId};
use super::pictures::{Registered, Upload, parse_name, parse_user_tags, register};
use super::ports::{Ports, Uploads};
use super::{Error, ImageData, UploadLink, UploadSlot, utc_now};
use crate::auth::unix_now;
use crate::store::ImageStore;

fn random_id() -> String {
    use rand::Rng as _;
    format!("{:032x}", rand::rng().random::<u128>())
}

/// Link and slot ids: 32 hex digits. Anything else names nothing.
pub fn is_upload_id(s: &str) -> bool {
    s.len() == 32
        && s.bytes()
            .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase())
}

/// The longest a link lives, in seconds (a day).
pub const MAX_LINK_SECS: i64 = 86_400;

/// `POST /upload-links {"expiry": seconds}` (1..86400).
pub async fn create_link(
    db: &dyn Uploads,
    caller: &Caller,
    expiry: i64,
) -> Result<UploadLink, Error> {
    if !(1..=MAX_LINK_SECS).contains(&expiry) {
        return Err(Error::invalid(
            "invalid_expiry",
            format!("expiry must be a number of seconds from 1 to {MAX_LINK_SECS}"),
        ));
    }
    let link = UploadLink {
        id: random_id(),
        owner: caller.user().map(|u| u.id.to_string()),
        expires: unix_now() + expiry,
        created: utc_now(),
    };
    db.create_link(&link).await?;
    Ok(link)
}

/// The caller an upload through link `id` acts as: its creator. `404` for
/// an unknown link, `410 link_expired` for one past its time.
pub async fn link_caller(db: &dyn Uploads, id: &str) -> Result<Caller, Error> {
    let missing = || Error::Missing(format!("there is no upload link {id}"));
    if !is_upload_id(id) {
        return Err(missing());
    }
    let link = db.link(id).await?.ok_or_else(missing)?;
    if link.expires < unix_now() {
        return Err(Error::Gone {
            code: "link_expired",
            message: "this upload link has expired; ask for a new one".into(),
        });
    }
    Ok(match link.owner {
        Some(owner) => Caller::User(User {
            id: UserId::parse(&owner)?,
            email: None,
            by_token: false,
        }),
        None => Caller::Anonymous,
    })
}

/// The most slots one request may ask for.
pub const MAX_SLOTS: u32 = 1000;

/// A slot and the URL its object is PUT to.
#[derive(Debug, Clone)]
pub struct SlotUrl {
    pub image_id: String,
    pub url: String,
}

/// The path of a slot's PUT on a folder store, which its signature covers.
pub fn slot_put_path(image_id: &str) -> String {
    format!("/uploads/put/{image_id}")
}

/// `POST /upload-urls {"count": N}`: N slots, each a URL valid for
/// `UPLOAD_URL_TTL_SECS`: a presigned S3 PUT, or a signed PUT to this
/// service on a folder store.
pub async fn create_slots(
    ports: &Ports<'_>,
    caller: &Caller,
    count: i64,
) -> Result<Vec<SlotUrl>, Error> {
    if !(1..=i64::from(MAX_SLOTS)).contains(&count) {
        return Err(Error::invalid(
            "invalid_count",
            format!("the number of upload URLs must be from 1 to {MAX_SLOTS}"),
        ));
    }
    let ttl = ports.settings.upload_url_ttl_secs;
    let expires = unix_now() + ttl;
    let owner = caller.user().map(|u| u.id.to_string());
    let created = utc_now();
    let slots: Vec<UploadSlot> = (0..count)
        .map(|_| {
            let image_id = random_id();
            UploadSlot {
                location: ports.store.slot_location(&image_id),
                image_id,
                owner: owner.clone(),
                expires,
                created: created.clone(),
            }
        })
        .collect();
    ports.db.create_slots(&slots).await?;
    let signer = ports.signer.get(ports.db).await?;
    let mut urls = Vec::with_capacity(slots.len());
    for slot in slots {
        let url = match ports.store.presigned_put(&slot.location, ttl).await? {
            Some(url) => url,
            None => {
                let path = slot_put_path(&slot.image_id);
                let sig = signer.sign(&path, expires);
                format!("{path}?expires={expires}&sig={sig}")
            }
        };
        urls.push(SlotUrl {
            image_id: slot.image_id,
            url,
        });
    }
    Ok(urls)
}

/// The slot a signed upload URL names, if its signature holds: checked
/// before a byte of the body is read.
pub async fn slot_for_put(
    ports: &Ports<'_>,
    image_id: &str,
    expires: &str,
    sig: &str,
) -> Result<UploadSlot, Error> {
    ports
        .signer
        .get(ports.db)
        .await?
        .check(&slot_put_path(image_id), expires, sig, unix_now())?;
    ports
        .db
        .slot(image_id)
        .await?
        .ok_or_else(|| Error::Missing(format!("there is no upload slot {image_id}")))
}

/// `PUT /uploads/put/{image_id}?expires&sig` on a folder store: the object
/// of a slot whose URL [`slot_for_put`] checked.
pub async fn put_slot(
    store: &dyn ImageStore,
    slot: &UploadSlot,
    bytes: &[u8],
) -> Result<(), Error> {
    if bytes.is_empty() {
        return Err(Error::invalid("empty_data", "the uploaded file is empty"));
    }
    store.put_slot(&slot.location, bytes).await?;
    Ok(())
}

/// One item of `POST /images/batch`.
#[derive(Debug, Clone, Default)]
pub struct BatchItem {
    pub image_id: String,
    pub name: Option<String>,
    /// MD5 of the bytes, hex, when the client gives one.
    pub md5: Option<String>,
    pub private: bool,
    pub tags: Vec<String>,
}

/// The most items one batch registers.
pub const MAX_BATCH: usize = 100;

/// What a batch registration did, item by item.
#[derive(Debug, Default)]
pub struct BatchOutcome {
    pub registered: Vec<(String, Registered)>,
    pub errors: Vec<(String, Error)>,
}

/// `POST /images/batch`: each slot's object must exist, match its MD5 (else
/// `hash_mismatch`, and the object is removed) and be an image; then it is
/// registered like any upload, with the person's name and tags, and the slot
/// goes. Each item stands alone.
pub async fn register_batch(
    ports: &Ports<'_>,
    caller: &Caller,
    items: Vec<BatchItem>,
    min: Confidence,
    asynchronous: bool,
) -> Result<BatchOutcome, Error> {
    if items.len() > MAX_BATCH {
        return Err(Error::invalid(
            "too_many_images",
            format!("a batch registers at most {MAX_BATCH} images"),
        ));
    }
    let mut outcome = BatchOutcome::default();
    for item in items {
        let id = item.image_id.clone();
        match register_item(ports, caller, item, min, asynchronous).await {
            Ok(r) => outcome.registered.push((id, r)),
            Err(
                e @ (Error::Database(_) | Error::Store(crate::store::StoreError::Unavailable(_))),
            ) => {
                return Err(e);
            }
            Err(e) => outcome.errors.push((id, e)),
        }
    }
    Ok(outcome)
}

async fn register_item(
    ports: &Ports<'_>,
    caller: &Caller,
    item: BatchItem,
    min: Confidence,
    asynchronous: bool,
) -> Result<Registered, Error> {
    let missing = || {
        Error::Missing(format!(
            "there is no upload slot {} of yours",
            item.image_id
        ))
    };
    if !is_upload_id(&item.image_id) {
        return Err(missing());
    }
    let slot = ports.db.slot(&item.image_id).await?.ok_or_else(missing)?;
    let owner = caller.user().map(|u| u.id.to_string());
    if slot.owner != owner && !caller.is_admin() {
        return Err(missing());
    }
    let name = parse_name(item.name.as_deref())?;
    let tags = parse_user_tags(item.tags.iter().map(String::as_str))?;
    let bytes = match ports.store.get(&slot.location).await {
        Ok(bytes) => bytes,
        Err(crate::store::StoreError::NotFound(_)) => {
            return Err(Error::invalid(
                "not_uploaded",
                "nothing was uploaded to this image's URL yet",
            ));
        }
        Err(e) => return Err(e.into()),
    };
    if let Some(expected) = &item.md5 {
        let actual = hex::encode(Md5::digest(&bytes));
        if !actual.eq_ignore_ascii_case(expected.trim()) {
            forget_slot(ports.db, ports.store, &slot).await;
            return Err(Error::invalid(
                "hash_mismatch",
                format!(
                    "the uploaded file's MD5 is {actual}, not {expected}; it was removed, upload it again"
                ),
            ));
        }
    }
    let image = match ImageData::from_bytes(bytes) {
        Ok(image) => image,
        Err(e) => {
            forget_slot(ports.db, ports.store, &slot).await;
            return Err(e);
        }
    };
    let upload = Upload {
        private: item.private,
        name,
        asynchronous,
        external_id: Some(item.image_id.clone()),
        user_tags: tags,
        // Batches de-duplicate, as seed 004's did.
        dedup: true,
        ..Upload::new(image, min)
    };
    let registered = register(ports, caller, upload).await?;
    forget_slot(ports.db, ports.store, &slot).await;
    Ok(registered)
}

/// Removes a slot's object and the slot.
async fn forget_slot(db: &dyn Uploads, store: &dyn ImageStore, slot: &UploadSlot) {
    if let Err(e) = store.delete(&slot.location).await {
        tracing::warn!(image_id = %slot.image_id, error = %e, "an upload slot's object stays until the sweep");
        return;
    }
    if let Err(e) = db.delete_slot(&slot.image_id).await {
        tracing::warn!(image_id = %slot.image_id, error = %e, "an upload slot stays until the sweep");
    }
}

/// Removes slots whose URL expired without being registered, with whatever
/// was put at them, and expired links. Returns how many slots went.
pub async fn sweep_expired(db: &dyn Uploads, store: &dyn ImageStore) -> Result<usize, Error> {
    let now = unix_now();
    let mut removed = 0;
    loop {
        let slots = db.expired_slots(now, 500).await?;
        if slots.is_empty() {
            break;
        }
        for slot in &slots {
            store.delete(&slot.location).await?;
            db.delete_slot(&slot.image_id).await?;
            removed += 1;
        }
    }
    db.delete_expired_links(now).await?;
    Ok(removed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids() {
        let id = random_id();
        assert!(is_upload_id(&id), "{id}");
        assert!(!is_upload_id("../../etc/passwd"));
        assert!(!is_upload_id(&id.to_uppercase()));
        assert!(!is_upload_id(&id[1..]));
    }
}

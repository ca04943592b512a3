//! A picture's file and the files made from it: who may fetch them, the
//! signed view URLs that let anyone holding one fetch a file for an hour,
//! and thumbnails made once and kept in the store.

use super::caller::Caller;
use super::ports::Ports;
use super::{Error, ImageData};
use super::{Picture, PictureId};
use crate::auth::{UrlSigner, unix_now};
use crate::store::{ImageStore, StoreError};

/// The path a picture's file is served at (and its signature covers).
pub fn file_path(id: i64) -> String {
    format!("/images/{id}/file")
}

/// How long a presigned GET of the store lives (S3): the file route's
/// redirect to it is followed at once.
const PRESIGNED_GET_SECS: i64 = 60;

/// View URLs expire at a multiple of this many seconds, so the same picture
/// has the same URL for a while and browsers can cache what it shows.
const EXPIRY_STEP_SECS: i64 = 300;

/// Who could have made a view link of a picture: anyone while it is
/// public, only its owner (and admins) while it is private. A link's
/// signature covers that audience as well as the picture, so a link made
/// while a picture was public stops the moment it turns private, and one
/// its owner made keeps working as long as the owner can see it.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Audience<'a> {
    Anyone,
    Owner(&'a str),
}

impl Audience<'_> {
    /// What the signature covers: the file's path and the audience.
    fn signed_text(&self, id: i64) -> String {
        match self {
            Audience::Anyone => format!("{}\nanyone", file_path(id)),
            Audience::Owner(owner) => format!("{}\nowner:{owner}", file_path(id)),
        }
    }
}

/// The audience a link made now would have.
fn audience_now(picture: &Picture) -> Audience<'_> {
    match (&picture.owner, picture.private) {
        (Some(owner), true) => Audience::Owner(owner),
        _ => Audience::Anyone,
    }
}

/// The audiences whose links still open the picture: while it is public,
/// links anyone made and links its owner made; while private, only its
/// owner's.
fn audiences_allowed(picture: &Picture) -> Vec<Audience<'_>> {
    match (&picture.owner, picture.private) {
        (Some(owner), true) => vec![Audience::Owner(owner)],
        (Some(owner), false) => vec![Audience::Anyone, Audience::Owner(owner)],
        (None, _) => vec![Audience::Anyone],
    }
}

/// `/images/{id}/file?expires=<unix seconds>&sig=<hex>`, valid for at least
/// the configured time (`VIEW_URL_TTL_SECS`), at most five minutes more,
/// and only while the picture stays visible to whoever could make it.
pub async fn view_url(ports: &Ports<'_>, picture: &Picture) -> Result<String, Error> {
    let earliest = unix_now() + ports.settings.view_url_ttl_secs;
    let expires = (earliest + EXPIRY_STEP_SECS - 1) / EXPIRY_STEP_SECS * EXPIRY_STEP_SECS;
    Ok(signed_view_url(
        ports.signer.get(ports.db).await?,
        picture,
        expires,
    ))
}

/// The view URL of `picture` until `expires` (unix seconds), for the
/// audience that could make one now.
pub fn signed_view_url(signer: &UrlSigner, picture: &Picture, expires: i64) -> String {
    let sig = signer.sign(&audience_now(picture).signed_text(picture.id), expires);
    format!("{}?expires={expires}&sig={sig}", file_path(picture.id))
}

/// The signature of a signed file URL, as the query string gave it.
#[derive(Debug, Clone)]
pub struct Signed {
    pub expires: String,
    pub sig: String,
}

/// How a file is to be sent.
pub enum FileAnswer {
    /// The bytes, with their type and their entity tag (the content hash).
    Bytes {
        bytes: Vec<u8>,
        mime: &'static str,
        etag: String,
        private: bool,
    },
    /// The client already has it (`If-None-Match`).
    NotModified { etag: String, private: bool },
    /// Fetch it from here (a presigned S3 GET): the bytes never pass
    /// through a function.
    Redirect {
        url: String,
        etag: String,
        private: bool,
    },
}

/// The picture a file request names, if the signature (when given) holds,
/// or the caller may see it.
async fn permitted(
    ports: &Ports<'_>,
    caller: &Caller,
    id: Option<PictureId>,
    signed: Option<&Signed>,
) -> Result<Picture, Error> {
    match signed {
        Some(s) => {
            let Some(id) = id else {
                return Err(Error::NotFound("out of range".into()));
            };
            let picture = ports
                .db
                .picture(id.0)
                .await?
                .ok_or_else(|| Error::no_picture(id.0))?;
            let signer = ports.signer.get(ports.db).await?;
            let now = unix_now();
            let verdict = |audience: &Audience| {
                signer.check(&audience.signed_text(id.0), &s.expires, &s.sig, now)
            };
            let mut refusal = None;
            let mut opens = false;
            for audience in audiences_allowed(&picture) {
                match verdict(&audience) {
                    Ok(()) => opens = true,
                    Err(
                        e @ Error::Forbidden {
                            code: "url_expired",
                            ..
                        },
                    ) => return Err(e),
                    Err(e) => refusal = Some(e),
                }
            }
            if opens {
                return Ok(picture);
            }
            // A link made while the picture was public, now private: it
            // names nothing for its holder, as if the picture were gone.
            let revoked = picture.private
                && !matches!(
                    verdict(&Audience::Anyone),
                    Err(Error::Forbidden {
                        code: "bad_signature",
                        ..
                    })
                );
            Err(match (revoked, refusal) {
                (false, Some(e)) => e,
                _ => Error::no_picture(id.0),
            })
        }
        None => super::access::visible(ports.db, caller, id).await,
    }
}

fn quoted(etag: &str) -> String {
    format!("\"{etag}\"")
}

/// Whether an `If-None-Match` header names this entity tag (or `*`).
pub fn matches_etag(if_none_match: Option<&str>, etag: &str) -> bool {
    if_none_match.is_some_and(|h| {
        h.split(',').any(|t| {
            let t = t.trim().trim_start_matches("W/");
            t == "*" || t == etag
        })
    })
}

/// `GET /images/{id}/file`.
pub async fn file(
    ports: &Ports<'_>,
    caller: &Caller,
    id: Option<PictureId>,
    signed: Option<&Signed>,
    if_none_match: Option<&str>,
) -> Result<FileAnswer, Error> {
    let picture = permitted(ports, caller, id, signed).await?;
    file_of(ports, caller, &picture, if_none_match).await
}

/// Whether the caller gets a picture's file as it was uploaded: its owner
/// and admins do; everyone else (a view link's holder included) gets it
/// without the place it was taken, as the JSON hides `gps` from them.
pub fn sees_location(caller: &Caller, picture: &Picture) -> bool {
    caller.may_change(picture.owner.as_deref())
}

/// Whether the file may name a place: its EXIF had one, or was never read
/// (rows older than the analysis).
fn may_name_a_place(picture: &Picture) -> bool {
    picture.facts.gps.is_some() || !picture.facts.analyzed
}

/// The suffix of a file's copy without its place (`nogps.jpg`).
fn placeless_suffix(picture: &Picture) -> String {
    let extension = picture.facts.format.map_or("bin", |f| f.extension());
    format!("nogps.{extension}")
}

/// The bytes of a picture's file as `caller` may have them: without the
/// place it was taken unless [`sees_location`].
pub fn bytes_for(caller: &Caller, picture: &Picture, bytes: Vec<u8>) -> Vec<u8> {
    if sees_location(caller, picture) || !may_name_a_place(picture) {
        return bytes;
    }
    let format = picture.facts.format.or_else(|| {
        ImageData::from_bytes(bytes.clone())
            .ok()
            .map(|i| i.format())
    });
    match format.and_then(|f| crate::analysis::without_location(&bytes, f)) {
        Some(stripped) => stripped,
        None => bytes,
    }
}

/// The bytes (or `304`, or a redirect to the store) of a picture the caller
/// was already found to see; without its place unless [`sees_location`].
pub async fn file_of(
    ports: &Ports<'_>,
    caller: &Caller,
    picture: &Picture,
    if_none_match: Option<&str>,
) -> Result<FileAnswer, Error> {
    let private = picture.private;
    let placeless = !sees_location(caller, picture) && may_name_a_place(picture);
    let known_hash = picture.facts.hash.clone();
    // The copy without a place is another entity than the original.
    let tag = |hash: &str| match placeless {
        true => quoted(&format!("{hash}-nogps")),
        false => quoted(hash),
    };
    if let Some(hash) = &known_hash {
        let etag = tag(hash);
        if matches_etag(if_none_match, &etag) {
            return Ok(FileAnswer::NotModified { etag, private });
        }
        // Only long enough to follow the redirect: the redirect itself is
        // never cached, so each fetch asks this service again.
        let location = match placeless {
            true => placeless_copy(ports.store, picture).await?.0,
            false => picture.path.clone(),
        };
        if let Some(url) = ports
            .store
            .presigned_get(&location, PRESIGNED_GET_SECS)
            .await?
        {
            return Ok(FileAnswer::Redirect { url, etag, private });
        }
    }
    let bytes = match placeless {
        true => match placeless_copy(ports.store, picture).await? {
            (_, Some(made)) => made,
            (location, None) => ports.store.get(&location).await?,
        },
        false => ports.store.get(&picture.path).await?,
    };
    // Rows older than content hashes: hashed now.
    let etag = tag(&known_hash.unwrap_or_else(|| super::image::sha256_hex(&bytes)));
    if matches_etag(if_none_match, &etag) {
        return Ok(FileAnswer::NotModified { etag, private });
    }
    let mime = match picture.facts.format {
        Some(f) => f.mime(),
        None => ImageData::from_bytes(bytes.clone())
            .map(|i| i.format().mime())
            .unwrap_or("application/octet-stream"),
    };
    Ok(FileAnswer::Bytes {
        bytes,
        mime,
        etag,
        private,
    })
}

/// The location of the picture's file without its place, made once from
/// the original and kept beside its thumbnails (removed with them), with
/// its bytes when they were made just now.
async fn placeless_copy(
    store: &dyn ImageStore,
    picture: &Picture,
) -> Result<(String, Option<Vec<u8>>), Error> {
    let suffix = placeless_suffix(picture);
    let location = store.derived_location(&picture.path, &suffix);
    match store.size(&location).await {
        Ok(_) => Ok((location, None)),
        Err(StoreError::NotFound(_)) => {
            let original = store.get(&picture.path).await?;
            let stripped = bytes_for(&Caller::Anonymous, picture, original);
            store.put_derived(&picture.path, &suffix, &stripped).await?;
            Ok((location, Some(stripped)))
        }
        Err(e) => Err(e.into()),
    }
}

/// Thumbnail sizes: the long side, in pixels.
pub const THUMBNAIL_SIZES: std::ops::RangeInclusive<u32> = 64..=1024;

pub fn parse_thumbnail_size(s: &str) -> Result<u32, Error> {
    match s.parse::<u32>() {
        Ok(n) if THUMBNAIL_SIZES.contains(&n) => Ok(n),
        _ => Err(Error::invalid(
            "invalid_size",
            format!("size must be an integer from 64 to 1024, not {s:?}"),
        )),
    }
}

/// `GET /images/{id}/thumbnail?size=`: a JPEG no larger than `size` on its
/// long side, made on first request and kept in the store beside the file.
pub async fn thumbnail(
    ports: &Ports<'_>,
    caller: &Caller,
    id: Option<PictureId>,
    size: u32,
    signed: Option<&Signed>,
    if_none_match: Option<&str>,
) -> Result<FileAnswer, Error> {
    let picture = permitted(ports, caller, id, signed).await?;
    let private = picture.private;
    let suffix = format!("t{size}.jpg");
    let etag = quoted(&format!(
        "{}-t{size}",
        picture
            .facts
            .hash
            .as_deref()
            .unwrap_or(crate::store::file_name(&picture.path))
    ));
    if matches_etag(if_none_match, &etag) {
        return Ok(FileAnswer::NotModified { etag, private });
    }
    let bytes = match ports.store.get_derived(&picture.path, &suffix).await? {
        Some(bytes) => bytes,
        None => {
            let original = ports.store.get(&picture.path).await?;
            let image = ImageData::from_bytes(original)?;
            let made = super::analysis::with_decoded(ports.decodes, &image, size, |_, small| {
                crate::analysis::encode_thumbnail(&small)
                    .map_err(|e| Error::invalid("invalid_image", e))
            })
            .await?;
            ports
                .store
                .put_derived(&picture.path, &suffix, &made)
                .await?;
            made
        }
    };
    Ok(FileAnswer::Bytes {
        bytes,
        mime: "image/jpeg",
        etag,
        private,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entity_tags() {
        assert!(matches_etag(Some("\"abc\""), "\"abc\""));
        assert!(matches_etag(Some("W/\"abc\", \"x\""), "\"abc\""));
        assert!(matches_etag(Some("*"), "\"abc\""));
        assert!(!matches_etag(Some("\"abd\""), "\"abc\""));
        assert!(!matches_etag(None, "\"abc\""));
        assert!(parse_thumbnail_size("256").is_ok());
        assert!(parse_thumbnail_size("63").is_err());
        assert!(parse_thumbnail_size("1025").is_err());
        assert!(parse_thumbnail_size("big").is_err());
    }
}

//! A picture's file and the files made from it: who may fetch them, the
//! signed view URLs that let anyone holding one fetch a file for an hour,
//! and thumbnails made once and kept in the store.

use super::caller::Caller;
use super::types::{Picture, PictureId};
use super::{Error, ImageData};
use crate::app::App;
use crate::auth::unix_now;

/// The path a picture's file is served at (and its signature covers).
pub fn file_path(id: i64) -> String {
    format!("/images/{id}/file")
}

/// View URLs expire at a multiple of this many seconds, so the same picture
/// has the same URL for a while and browsers can cache what it shows.
const EXPIRY_STEP_SECS: i64 = 300;

/// `/images/{id}/file?expires=<unix seconds>&sig=<hex>`, valid for at least
/// the configured time (`VIEW_URL_TTL_SECS`), at most five minutes more.
pub async fn view_url(app: &App, id: i64) -> Result<String, Error> {
    let earliest = unix_now() + app.settings.view_url_ttl_secs;
    let expires = (earliest + EXPIRY_STEP_SECS - 1) / EXPIRY_STEP_SECS * EXPIRY_STEP_SECS;
    let signer = app.signer().await?;
    let path = file_path(id);
    let sig = signer.sign(&path, expires);
    Ok(format!("{path}?expires={expires}&sig={sig}"))
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
    app: &App,
    caller: &Caller,
    id: Option<PictureId>,
    signed: Option<&Signed>,
) -> Result<Picture, Error> {
    match signed {
        Some(s) => {
            let Some(id) = id else {
                return Err(Error::NotFound("out of range".into()));
            };
            app.signer()
                .await?
                .check(&file_path(id.0), &s.expires, &s.sig, unix_now())?;
            app.db
                .picture(id.0)
                .await?
                .ok_or_else(|| Error::no_picture(id.0))
        }
        None => super::pictures::visible(app, caller, id).await,
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
    app: &App,
    caller: &Caller,
    id: Option<PictureId>,
    signed: Option<&Signed>,
    if_none_match: Option<&str>,
) -> Result<FileAnswer, Error> {
    let picture = permitted(app, caller, id, signed).await?;
    file_of(app, &picture, if_none_match).await
}

/// The bytes (or `304`, or a redirect to the store) of a picture the caller
/// was already found to see.
pub async fn file_of(
    app: &App,
    picture: &Picture,
    if_none_match: Option<&str>,
) -> Result<FileAnswer, Error> {
    let private = picture.private;
    let known_hash = picture.facts.hash.clone();
    if let Some(hash) = &known_hash {
        let etag = quoted(hash);
        if matches_etag(if_none_match, &etag) {
            return Ok(FileAnswer::NotModified { etag, private });
        }
        if let Some(url) = app
            .store
            .presigned_get(&picture.path, app.settings.view_url_ttl_secs)
            .await?
        {
            return Ok(FileAnswer::Redirect { url, etag, private });
        }
    }
    let bytes = app.store.get(&picture.path).await?;
    // Rows older than content hashes: hashed now.
    let etag = quoted(&known_hash.unwrap_or_else(|| super::pictures::sha256_hex(&bytes)));
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
    app: &App,
    caller: &Caller,
    id: Option<PictureId>,
    size: u32,
    signed: Option<&Signed>,
    if_none_match: Option<&str>,
) -> Result<FileAnswer, Error> {
    let picture = permitted(app, caller, id, signed).await?;
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
    let bytes = match app.store.get_derived(&picture.path, &suffix).await? {
        Some(bytes) => bytes,
        None => {
            let original = app.store.get(&picture.path).await?;
            let image = ImageData::from_bytes(original)?;
            let made =
                tokio::task::spawn_blocking(move || crate::analysis::thumbnail(&image, size))
                    .await
                    .map_err(|e| Error::invalid("invalid_image", e.to_string()))?
                    .map_err(|e| Error::invalid("invalid_image", e))?;
            app.store.put_derived(&picture.path, &suffix, &made).await?;
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

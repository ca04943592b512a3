//! One picture: read, change, delete, re-tag, and its file and thumbnail;
//! the routes of pictures (uploads and searches are beside it).

use axum::Json;
use axum::body::Body;
use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::json;
use std::sync::Arc;

use super::ApiError;
use super::body::json_body;
use super::caller::AnyCaller;
use super::params::{Params, PathArg};
use super::render::picture_body;
use super::route::Route;
use super::search::get_images;
use super::upload::{TagName, parse_flag, post_image};
use crate::App;
use crate::domain::files::{self, FileAnswer, Signed};
use crate::domain::pictures::{self as ops, parse_name, parse_user_tags};
use crate::domain::ports::PictureChange;
use crate::domain::{self, Caller, Confidence, PictureId};
use axum::routing::{delete, get, patch, post};

/// `GET /images/{id}` (and `/image/{id}`): one picture with its data.
pub async fn get_image(
    State(app): State<Arc<App>>,
    caller: Caller,
    PathArg(id): PathArg,
    RawQuery(query): RawQuery,
) -> Result<Response, ApiError> {
    let params = Params::parse(query.as_deref(), &["data"])?;
    let with_data = params
        .map("data", |s| parse_flag("data", s))?
        .unwrap_or(true);
    let id = PictureId::parse(&id)?;
    if !with_data {
        // What a client polling a queued picture asks: no file read at all.
        let picture = crate::domain::access::visible(&*app.db, &caller, id).await?;
        return Ok(Json(picture_body(&app, &caller, &picture, None).await?).into_response());
    }
    let (picture, data) = domain::get_picture(&*app.db, &*app.store, &caller, id).await?;
    // As the file route serves it: without its place unless the caller owns it.
    let data = files::bytes_for(&caller, &picture, data);
    Ok(Json(picture_body(&app, &caller, &picture, Some(&data)).await?).into_response())
}

/// `PATCH /images/{id}`: `{"private"?, "name"?, "add_tags"?, "remove_tags"?}`.
pub async fn patch_image(
    State(app): State<Arc<App>>,
    caller: Caller,
    PathArg(id): PathArg,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    Params::parse(query.as_deref(), &[])?;
    let id = PictureId::parse(&id)?;
    #[derive(Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Patch {
        private: Option<bool>,
        #[serde(default, with = "serde_with_null")]
        name: Option<Option<String>>,
        #[serde(default)]
        add_tags: Vec<TagName>,
        #[serde(default)]
        remove_tags: Vec<TagName>,
    }
    let patch: Patch = json_body(&headers, body, 65_536).await?;
    let change = PictureChange {
        private: patch.private,
        name: match patch.name {
            None => None,
            Some(name) => Some(parse_name(name.as_deref())?),
        },
        add_tags: parse_user_tags(patch.add_tags.iter().map(TagName::as_str))?,
        remove_tags: parse_user_tags(patch.remove_tags.iter().map(TagName::as_str))?,
    };
    let picture = ops::change(&*app.db, &caller, id, &change).await?;
    Ok(Json(picture_body(&app, &caller, &picture, None).await?).into_response())
}

/// `"name": null` clears the name; no `name` leaves it.
mod serde_with_null {
    use serde::{Deserialize, Deserializer};

    pub fn deserialize<'de, D: Deserializer<'de>>(
        d: D,
    ) -> Result<Option<Option<String>>, D::Error> {
        Ok(Some(Option::<String>::deserialize(d)?))
    }
}

/// `DELETE /images/{id}` → 204.
pub async fn delete_image(
    State(app): State<Arc<App>>,
    caller: Caller,
    PathArg(id): PathArg,
    RawQuery(query): RawQuery,
) -> Result<Response, ApiError> {
    Params::parse(query.as_deref(), &[])?;
    let id = PictureId::parse(&id)?;
    ops::delete(&*app.db, &*app.store, &caller, id).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// `DELETE /images` `{"ids": [...]}` → `{"deleted": [...], "not_found": [...]}`.
pub async fn delete_images(
    State(app): State<Arc<App>>,
    caller: Caller,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    Params::parse(query.as_deref(), &[])?;
    #[derive(Deserialize)]
    struct Ids {
        ids: Vec<i64>,
    }
    let Ids { ids } = json_body(&headers, body, 1 << 20).await?;
    let report = ops::delete_many(&*app.db, &*app.store, &caller, &ids).await?;
    Ok(Json(json!({"deleted": report.deleted, "not_found": report.not_found})).into_response())
}

/// `POST /images/{id}/retag?min_confidence=`: the picture's tags replaced by
/// the tagger's answer now → 200 with the picture (without its data).
pub async fn retag_image(
    State(app): State<Arc<App>>,
    caller: Caller,
    PathArg(id): PathArg,
    RawQuery(query): RawQuery,
) -> Result<Response, ApiError> {
    let min = Params::parse(query.as_deref(), &["min_confidence"])?
        .map("min_confidence", Confidence::parse)?
        .unwrap_or(Confidence::DEFAULT);
    let id = PictureId::parse(&id)?;
    // Runs to completion even if the client goes away, like an upload.
    let task_app = app.clone();
    let task_caller = caller.clone();
    let picture =
        tokio::spawn(async move { domain::retag(&task_app.ports(), &task_caller, id, min).await })
            .await
            .map_err(|e| ApiError::Internal(e.to_string()))??;
    Ok(Json(picture_body(&app, &caller, &picture, None).await?).into_response())
}

/// The signature of a signed URL, when the query carries one; anything
/// else in the query is refused.
fn signed_query(
    query: Option<&str>,
    extra: &[&'static str],
) -> Result<(Option<Signed>, Params), ApiError> {
    let mut allowed = vec!["expires", "sig"];
    allowed.extend_from_slice(extra);
    let params = Params::parse(query, &allowed)?;
    let signed = match (params.get("expires"), params.get("sig")) {
        (Some(expires), Some(sig)) => Some(Signed {
            expires: expires.to_string(),
            sig: sig.to_string(),
        }),
        (None, None) => None,
        _ => {
            return Err(crate::Error::Forbidden {
                code: "bad_signature",
                message: "a signed URL carries both expires and sig".into(),
            }
            .into());
        }
    };
    Ok((signed, params))
}

/// A file, as the domain says to send it.
pub fn file_response(answer: FileAnswer) -> Response {
    let cache = |private: bool| {
        // A file never changes, but who may see it can: caches keep it and
        // ask again each time (a 304 by its ETag), so a picture made private
        // or deleted, or a link revoked, is closed at once, shared caches
        // included. A private picture's file is never for a shared cache.
        HeaderValue::from_static(if private {
            "private, no-cache"
        } else {
            "public, no-cache"
        })
    };
    let etag = |e: &str| HeaderValue::from_str(e).unwrap_or(HeaderValue::from_static("\"\""));
    match answer {
        FileAnswer::Bytes {
            bytes,
            mime,
            etag: tag,
            private,
        } => (
            StatusCode::OK,
            [
                (header::CONTENT_TYPE, HeaderValue::from_static(mime)),
                (header::ETAG, etag(&tag)),
                (header::CACHE_CONTROL, cache(private)),
            ],
            bytes,
        )
            .into_response(),
        FileAnswer::NotModified { etag: tag, private } => (
            StatusCode::NOT_MODIFIED,
            [
                (header::ETAG, etag(&tag)),
                (header::CACHE_CONTROL, cache(private)),
            ],
        )
            .into_response(),
        FileAnswer::Redirect {
            url,
            etag: tag,
            private: _,
        } => match HeaderValue::from_str(&url) {
            Ok(location) => (
                StatusCode::TEMPORARY_REDIRECT,
                [
                    (header::LOCATION, location),
                    (header::ETAG, etag(&tag)),
                    (header::CACHE_CONTROL, HeaderValue::from_static("no-store")),
                ],
            )
                .into_response(),
            Err(e) => ApiError::Internal(e.to_string()).into_response(),
        },
    }
}

/// Whether a signed URL stands in for credentials here; without one the
/// usual rules hold (`AUTH=required` needs credentials).
fn file_caller(app: &App, caller: AnyCaller, signed: &Option<Signed>) -> Result<Caller, ApiError> {
    match signed {
        Some(_) => Ok(caller.0),
        None => caller.required(app),
    }
}

fn if_none_match(headers: &HeaderMap) -> Option<&str> {
    headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
}

/// `GET /images/{id}/file`: the bytes (or, on S3, a redirect to them).
pub async fn get_file(
    State(app): State<Arc<App>>,
    caller: AnyCaller,
    PathArg(id): PathArg,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let (signed, _) = signed_query(query.as_deref(), &[])?;
    let caller = file_caller(&app, caller, &signed)?;
    let id = PictureId::parse(&id)?;
    let answer = files::file(
        &app.ports(),
        &caller,
        id,
        signed.as_ref(),
        if_none_match(&headers),
    )
    .await?;
    Ok(file_response(answer))
}

/// `GET /images/{id}/thumbnail?size=256`.
pub async fn get_thumbnail(
    State(app): State<Arc<App>>,
    caller: AnyCaller,
    PathArg(id): PathArg,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let (signed, params) = signed_query(query.as_deref(), &["size"])?;
    let caller = file_caller(&app, caller, &signed)?;
    let size = params
        .map("size", files::parse_thumbnail_size)?
        .unwrap_or(256);
    let id = PictureId::parse(&id)?;
    let answer = files::thumbnail(
        &app.ports(),
        &caller,
        id,
        size,
        signed.as_ref(),
        if_none_match(&headers),
    )
    .await?;
    Ok(file_response(answer))
}

/// The routes of pictures and their files.
pub(super) const ROUTES: &[Route] = &[
    Route::new("POST", "/images", "post-image", || post(post_image)),
    Route::new("GET", "/images", "get-images", || get(get_images)),
    Route::new("GET", "/images/{id}", "get-image", || get(get_image)),
    Route::new("PATCH", "/images/{id}", "manage-images", || {
        patch(patch_image)
    }),
    Route::new("DELETE", "/images/{id}", "manage-images", || {
        delete(delete_image)
    }),
    Route::new("DELETE", "/images", "manage-images", || {
        delete(delete_images)
    }),
    Route::new("POST", "/images/{id}/retag", "post-image", || {
        post(retag_image)
    }),
    Route::new("GET", "/images/{id}/file", "get-image", || get(get_file)),
    Route::new("GET", "/images/{id}/thumbnail", "get-image", || {
        get(get_thumbnail)
    }),
];

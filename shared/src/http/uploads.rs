//! Uploads at scale: upload links (multipart through a link), presigned
//! upload URLs and the batch registration that follows them.

use axum::Json;
use axum::body::Body;
use axum::extract::{FromRequest, RawQuery, Request, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::{Value, json};
use std::sync::Arc;

use super::ApiError;
use super::body::{is_multipart, json_body, read_body};
use super::params::{Params, PathArg};
use super::render::picture_body;
use super::route::Route;
use super::upload::{
    TagName, UPLOAD_PARAMS, error_json, parse_flag, parse_upload_options, upload_form,
};
use crate::App;
use crate::domain::uploads::{self, BatchItem, BatchOutcome, SlotUrl};
use crate::domain::{Caller, Confidence};
use axum::routing::{post, put};

fn date_of(unix: i64) -> String {
    chrono::DateTime::from_timestamp(unix, 0)
        .map(|t| t.format("%Y-%m-%d %H:%M:%S").to_string())
        .unwrap_or_default()
}

/// `POST /upload-links {"expiry": seconds}` → `201 {upload_id, url, expires_at}`.
pub async fn create_link(
    State(app): State<Arc<App>>,
    caller: Caller,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    let link = new_link(&app, &caller, &headers, body).await?;
    Ok((StatusCode::CREATED, Json(link_json(&link))).into_response())
}

/// A link made from a body `{"expiry": seconds}` (here and seed 002's route).
pub async fn new_link(
    app: &App,
    caller: &Caller,
    headers: &HeaderMap,
    body: Body,
) -> Result<crate::domain::UploadLink, ApiError> {
    #[derive(Deserialize)]
    struct NewLink {
        expiry: i64,
    }
    let new: NewLink = json_body(headers, body, 65_536).await?;
    Ok(uploads::create_link(&*app.db, caller, new.expiry).await?)
}

pub fn link_json(link: &crate::domain::UploadLink) -> Value {
    json!({
        "upload_id": link.id,
        "url": format!("/uploads/{}", link.id),
        "expires_at": date_of(link.expires),
    })
}

/// `POST /uploads/{upload_id}`: a multipart form of files, uploaded as the
/// link's creator; the link is the credential.
pub async fn upload_through_link(
    State(app): State<Arc<App>>,
    PathArg(id): PathArg,
    RawQuery(query): RawQuery,
    request: Request,
) -> Result<Response, ApiError> {
    let options = parse_upload_options(query.as_deref())?;
    let caller = uploads::link_caller(&*app.db, &id).await?;
    if !is_multipart(request.headers()) {
        return Err(ApiError::invalid(
            "invalid_body",
            "an upload link takes a multipart/form-data form of files",
        ));
    }
    let form = axum::extract::Multipart::from_request(request, &app)
        .await
        .map_err(|e| ApiError::invalid("invalid_body", e.body_text()))?;
    Ok(Json(upload_form(&app, &caller, form, &options).await?).into_response())
}

pub fn slots_json(slots: &[SlotUrl]) -> Value {
    json!({
        "image_upload_urls": slots
            .iter()
            .map(|s| json!({"url": s.url, "method": "PUT", "image_id": s.image_id}))
            .collect::<Vec<_>>()
    })
}

/// `POST /upload-urls {"count": N}` → `{"image_upload_urls": [{url, method, image_id}]}`.
pub async fn create_upload_urls(
    State(app): State<Arc<App>>,
    caller: Caller,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    #[derive(Deserialize)]
    struct Count {
        count: i64,
    }
    let Count { count } = json_body(&headers, body, 65_536).await?;
    let slots = uploads::create_slots(&app.ports(), &caller, count).await?;
    Ok(Json(slots_json(&slots)).into_response())
}

/// `?image_count=N`, required (seed 004's query, on both its surfaces).
pub fn image_count(query: Option<&str>) -> Result<i64, ApiError> {
    Params::parse(query, &["image_count"])?
        .map("image_count", |s| {
            s.parse::<i64>().map_err(|_| {
                crate::Error::invalid(
                    "invalid_count",
                    format!("image_count must be a number, not {s:?}"),
                )
            })
        })?
        .ok_or_else(|| ApiError::invalid("invalid_count", "image_count is required"))
}

/// `GET /images/upload_urls?image_count=N` (seed 004's spelling).
pub async fn get_upload_urls(
    State(app): State<Arc<App>>,
    caller: Caller,
    RawQuery(query): RawQuery,
) -> Result<Response, ApiError> {
    let count = image_count(query.as_deref())?;
    let slots = uploads::create_slots(&app.ports(), &caller, count).await?;
    Ok(Json(slots_json(&slots)).into_response())
}

/// `PUT /uploads/put/{image_id}?expires&sig`: a slot's object, on a folder
/// store (on S3 the URL is S3's own).
pub async fn put_slot(
    State(app): State<Arc<App>>,
    PathArg(image_id): PathArg,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    let params = Params::parse(query.as_deref(), &["expires", "sig"])?;
    let (Some(expires), Some(sig)) = (params.get("expires"), params.get("sig")) else {
        return Err(crate::Error::Forbidden {
            code: "bad_signature",
            message: "an upload URL carries expires and sig".into(),
        }
        .into());
    };
    let slot = uploads::slot_for_put(&app.ports(), &image_id, expires, sig).await?;
    let bytes = read_body(&headers, body, app.settings.max_file_bytes)
        .await
        .map_err(|e| match e {
            ApiError::BodyTooLarge { limit } => ApiError::FileTooLarge { limit },
            other => other,
        })?;
    uploads::put_slot(&*app.store, &slot, &bytes).await?;
    Ok(Json(json!({"image_id": image_id})).into_response())
}

/// One item of a batch as clients send it: seed 004 names the slot `id`
/// and privacy `is_private` (a boolean, or the string it prints).
#[derive(Deserialize)]
pub struct BatchItemBody {
    #[serde(alias = "id")]
    pub image_id: String,
    pub name: Option<String>,
    pub hash: Option<String>,
    #[serde(default, alias = "private")]
    pub is_private: Option<Value>,
    #[serde(default)]
    pub tags: Vec<TagName>,
}

#[derive(Deserialize)]
pub struct BatchBody {
    pub images: Vec<BatchItemBody>,
    #[serde(default, rename = "async")]
    pub asynchronous: Option<bool>,
}

pub fn batch_items(body: BatchBody) -> Result<(Vec<BatchItem>, Option<bool>), ApiError> {
    if body.images.len() > uploads::MAX_BATCH {
        return Err(ApiError::invalid(
            "too_many_images",
            format!("a batch registers at most {} images", uploads::MAX_BATCH),
        ));
    }
    let mut items = Vec::with_capacity(body.images.len());
    for item in body.images {
        let private = match item.is_private {
            None | Some(Value::Null) => false,
            Some(Value::Bool(b)) => b,
            Some(Value::String(s)) => parse_flag("is_private", &s)?,
            Some(_) => {
                return Err(ApiError::invalid(
                    "invalid_body",
                    "is_private must be true or false",
                ));
            }
        };
        items.push(BatchItem {
            image_id: item.image_id,
            name: item.name,
            md5: item.hash,
            private,
            tags: item.tags.iter().map(|t| t.as_str().to_string()).collect(),
        });
    }
    Ok((items, body.asynchronous))
}

/// Registers a batch for a caller, on a task of its own (it runs to its
/// end even if the client goes away).
pub async fn run_batch(
    app: &Arc<App>,
    caller: &Caller,
    items: Vec<BatchItem>,
    min: Confidence,
    asynchronous: bool,
) -> Result<BatchOutcome, ApiError> {
    let app = app.clone();
    let caller = caller.clone();
    Ok(tokio::spawn(async move {
        uploads::register_batch(&app.ports(), &caller, items, min, asynchronous).await
    })
    .await
    .map_err(|e| ApiError::Internal(e.to_string()))??)
}

/// `POST /images/batch` → `{"images": [picture...], "errors": [{image_id, error, message}]}`.
pub async fn register_batch(
    State(app): State<Arc<App>>,
    caller: Caller,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    Params::parse(query.as_deref(), UPLOAD_PARAMS)?;
    let options = parse_upload_options(query.as_deref())?;
    let body: BatchBody = json_body(&headers, body, 1 << 20).await?;
    let (items, asynchronous) = batch_items(body)?;
    let outcome = run_batch(
        &app,
        &caller,
        items,
        options.min.unwrap_or(Confidence::DEFAULT),
        options.asynchronous.or(asynchronous).unwrap_or(false),
    )
    .await?;
    let mut images = Vec::new();
    for (_, registered) in &outcome.registered {
        images.push(
            serde_json::to_value(picture_body(&app, &caller, &registered.picture, None).await?)
                .unwrap_or_default(),
        );
    }
    let errors: Vec<Value> = outcome
        .errors
        .into_iter()
        .map(|(image_id, e)| {
            let mut v = error_json(&ApiError::from(e));
            v["image_id"] = image_id.into();
            v
        })
        .collect();
    Ok(Json(json!({"images": images, "errors": errors})).into_response())
}

/// The routes of uploads at scale.
pub(super) const ROUTES: &[Route] = &[
    Route::new("POST", "/upload-links", "uploads", || post(create_link)),
    Route::new("POST", "/uploads/{upload_id}", "post-image", || {
        post(upload_through_link)
    }),
    Route::new("POST", "/upload-urls", "uploads", || {
        post(create_upload_urls)
    }),
    Route::new("PUT", "/uploads/put/{image_id}", "uploads", || {
        put(put_slot)
    }),
    Route::new("POST", "/images/batch", "post-image", || {
        post(register_batch)
    }),
];

//! Seed 002, an image service under `/api`: upload links, multipart uploads
//! answering `{filename: sha256}`, files by their SHA-256, and statistics.
//! `x-api-key` carries an admin or a user key, as every route reads it.

use axum::Json;
use axum::body::Body;
use axum::extract::{FromRequest, RawQuery, Request, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use serde_json::{Map, Value, json};
use std::sync::Arc;

use crate::App;
use crate::domain::analysis;
use crate::domain::files;
use crate::domain::uploads;
use crate::domain::{Caller, Error};
use crate::http::ApiError;
use crate::http::params::{Params, PathArg};
use crate::http::pictures::file_response;
use crate::http::upload::{error_json, parse_upload_options, upload_form};

/// `POST /api/generate-upload-link {"expiry": 60}` → `{"upload_id": "..."}`.
pub async fn generate_upload_link(
    State(app): State<Arc<App>>,
    caller: Caller,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    let link = crate::http::uploads::new_link(&app, &caller, &headers, body).await?;
    Ok(Json(json!({"upload_id": link.id})).into_response())
}

/// `POST /api/upload-images/{upload_id}`, multipart `image_files` →
/// `{"<filename>": "<sha256>"}`, a refused file mapped to `{error, message}`.
pub async fn upload_images(
    State(app): State<Arc<App>>,
    PathArg(id): PathArg,
    RawQuery(query): RawQuery,
    request: Request,
) -> Result<Response, ApiError> {
    let options = parse_upload_options(query.as_deref())?;
    let caller = uploads::link_caller(&*app.db, &id).await?;
    let form = axum::extract::Multipart::from_request(request, &app)
        .await
        .map_err(|e| ApiError::invalid("invalid_body", e.body_text()))?;
    let answer = upload_form(&app, &caller, form, &options).await?;
    let mut out = Map::new();
    for (name, registered) in &answer.registered {
        let hash = registered.picture.facts.hash.clone().unwrap_or_default();
        out.insert(name.clone(), Value::String(hash));
    }
    for (name, e) in &answer.errors {
        out.insert(name.clone(), error_json(e));
    }
    Ok(Json(Value::Object(out)).into_response())
}

/// `GET /api/images/{sha256}` → the bytes of the first picture with that
/// content the caller may see: no key needed for a public one under
/// `AUTH=open`; under `AUTH=required` a key or token, as on every route
/// that carries no permission of its own.
pub async fn image(
    State(app): State<Arc<App>>,
    caller: Caller,
    PathArg(hash): PathArg,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let hash = hash.to_ascii_lowercase();
    let missing = || ApiError::from(Error::Missing(format!("there is no image {hash}")));
    if hash.len() != 64 || !hash.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(missing());
    }
    let picture = crate::domain::access::visible_with_hash(&*app.db, &caller, &hash)
        .await?
        .ok_or_else(missing)?;
    let if_none_match = headers
        .get(axum::http::header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok());
    let answer = files::file_of(&app.ports(), &caller, &picture, if_none_match).await?;
    Ok(file_response(answer))
}

/// `GET /api/stats`, in seed 002's words.
pub async fn stats(
    State(app): State<Arc<App>>,
    caller: Caller,
    RawQuery(query): RawQuery,
) -> Result<Response, ApiError> {
    Params::parse(query.as_deref(), &[])?;
    let stats = analysis::stats(&*app.db, &caller).await?;
    let per_day: Map<String, Value> = stats
        .uploads_per_day
        .iter()
        .map(|(day, n)| (day.clone(), json!(n)))
        .collect();
    let cameras: Vec<&str> = stats
        .top_camera_models
        .iter()
        .map(|(c, _)| c.as_str())
        .collect();
    Ok(Json(json!({
        "Image Upload Frequency Per Day (last 30 days)": per_day,
        "Most Popular Image Format": stats.most_popular_format,
        "Top 10 Popular Camera Models": cameras,
    }))
    .into_response())
}

//! Seed 004, Bit-image, under `/api/v1`: accounts from bearer tokens,
//! presigned upload URLs, batch registration, private summaries, deletes.
//! Every error carries `error`, `message` and `detail`. On this surface an
//! image's id is the `image_id` its upload URL carried, or, for a picture
//! that arrived another way, its decimal id as a string; both are accepted.

use axum::Json;
use axum::body::Body;
use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::{Value, json};
use std::sync::Arc;

use crate::App;
use crate::domain::TagOrigin;
use crate::domain::accounts;
use crate::domain::files::view_url;
use crate::domain::pictures as ops;
use crate::domain::uploads;
use crate::domain::{Caller, Confidence, Error, Limit, Picture, PictureId, SearchQuery, TagList};
use crate::http::ApiError;
use crate::http::body::json_body;
use crate::http::caller::AnyCaller;
use crate::http::params::Params;
use crate::http::uploads::{BatchBody, batch_items, run_batch, slots_json};

/// Every answer of this surface: errors with `detail` always there.
pub struct V1(pub Result<Response, ApiError>);

impl IntoResponse for V1 {
    fn into_response(self) -> Response {
        match self.0 {
            Ok(response) => response,
            Err(e) => e.into_response_with_detail(),
        }
    }
}

/// The caller of a route of this surface: a user or an admin, whatever
/// `AUTH` says. Seed 004's routes belong to a user; anonymous callers get
/// the 401 that service gave.
fn credentialed(caller: Result<Caller, ApiError>) -> Result<Caller, ApiError> {
    match caller? {
        Caller::Anonymous => Err(Error::Unauthorized(
            "this route needs credentials: a token in Authorization: Bearer, or an API key in x-api-key"
                .into(),
        )
        .into()),
        caller => Ok(caller),
    }
}

/// The id this surface shows for a picture.
fn v1_id(p: &Picture) -> String {
    p.external_id.clone().unwrap_or_else(|| p.id.to_string())
}

/// `http://host` of the request, so view URLs work when clicked.
fn base_url(headers: &HeaderMap) -> String {
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    match header("host") {
        Some(host) => format!("{}://{host}", header("x-forwarded-proto").unwrap_or("http")),
        None => String::new(),
    }
}

async fn summary(app: &App, p: &Picture, base: &str) -> Result<Value, ApiError> {
    Ok(json!({
        "id": v1_id(p),
        "name": p.name,
        // As the seed prints it: a string.
        "is_private": p.private.to_string(),
        "file_format": p.facts.format.map(|f| f.as_str()),
        "view_url": format!("{base}{}", view_url(&app.ports(), p).await?),
    }))
}

/// `POST /api/v1/users` (Bearer) → `201 {"id", "image_upload_count": 0}`; `409` when it exists.
pub async fn create_user(State(app): State<Arc<App>>, caller: Result<AnyCaller, ApiError>) -> V1 {
    V1(async {
        let caller = credentialed(caller.map(|c| c.0))?;
        let (account, key) = accounts::create_user(&*app.db, app.auth.mode, &caller, None).await?;
        // The seed's id is its token's user_id claim.
        let id = caller
            .user()
            .and_then(|u| u.id.subject())
            .unwrap_or(&account.id);
        let mut body = json!({"id": id, "image_upload_count": account.image_upload_count});
        if let Some(key) = key {
            body["api_key"] = key.key.into();
        }
        Ok((StatusCode::CREATED, Json(body)).into_response())
    }
    .await)
}

/// `DELETE /api/v1/users` → 204: the account and everything it owns.
pub async fn delete_user(State(app): State<Arc<App>>, caller: Result<Caller, ApiError>) -> V1 {
    V1(async {
        let caller = credentialed(caller)?;
        crate::http::users::close_account(&app, caller).await?;
        Ok(StatusCode::NO_CONTENT.into_response())
    }
    .await)
}

/// `GET /api/v1/images/upload_urls?image_count=N`.
pub async fn upload_urls(
    State(app): State<Arc<App>>,
    caller: Result<Caller, ApiError>,
    RawQuery(query): RawQuery,
) -> V1 {
    V1(async {
        let caller = credentialed(caller)?;
        let count = crate::http::uploads::image_count(query.as_deref())?;
        let slots = uploads::create_slots(&app.ports(), &caller, count).await?;
        Ok(Json(slots_json(&slots)).into_response())
    }
    .await)
}

/// `POST /api/v1/images {"images": [{id, name, hash, is_private, tags}]}` →
/// `{"images": [{id, name, is_private, file_format, view_url}]}`.
pub async fn register(
    State(app): State<Arc<App>>,
    caller: Result<Caller, ApiError>,
    headers: HeaderMap,
    body: Body,
) -> V1 {
    V1(async {
        let caller = credentialed(caller)?;
        let body: BatchBody = json_body(&headers, body, 1 << 20).await?;
        let (items, asynchronous) = batch_items(body)?;
        let outcome = run_batch(&app, &caller, items, Confidence::DEFAULT, asynchronous.unwrap_or(false)).await?;
        let base = base_url(&headers);
        let mut images = Vec::new();
        for (_, registered) in &outcome.registered {
            images.push(summary(&app, &registered.picture, &base).await?);
        }
        let mut body = json!({"images": images});
        if !outcome.errors.is_empty() {
            body["errors"] = outcome
                .errors
                .into_iter()
                .map(|(id, e)| {
                    let e = ApiError::from(e);
                    json!({"id": id, "error": e.code(), "message": e.public_message(), "detail": e.detail().unwrap_or("see the message")})
                })
                .collect();
        }
        Ok(Json(body).into_response())
    }
    .await)
}

/// `GET /api/v1/images/private/summary?name=|tag=|content_label=` → the
/// caller's own pictures by name, by their own tags, or by the tagger's.
pub async fn private_summary(
    State(app): State<Arc<App>>,
    caller: Result<Caller, ApiError>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> V1 {
    V1(async {
        let caller = credentialed(caller)?;
        let user = caller.require_user()?;
        let params = Params::parse(query.as_deref(), &["name", "tag", "content_label"])?;
        let mut search = SearchQuery {
            visibility: caller.visibility(),
            owner: Some(user.id.clone()),
            limit: Limit(Limit::MAX),
            ..SearchQuery::default()
        };
        if let Some(name) = params.get("name").map(str::trim).filter(|n| !n.is_empty()) {
            search.name = Some(name.to_string());
        }
        if let Some(tag) = params.get("tag") {
            search.tags = Some(TagList::parse(tag)?);
            search.tags_from = Some(TagOrigin::Person);
        }
        if let Some(label) = params.get("content_label") {
            search.tags = Some(TagList::parse(label)?);
            search.tags_from = Some(TagOrigin::Tagger);
        }
        let page = crate::domain::search(&*app.db, &*app.store, &search).await?;
        let base = base_url(&headers);
        let mut images = Vec::new();
        for p in &page.pictures {
            images.push(summary(&app, p, &base).await?);
        }
        Ok(Json(json!({"images": images})).into_response())
    }
    .await)
}

/// The picture this surface's id names: an upload slot's id, or a decimal id.
async fn resolve(app: &App, id: &str) -> Result<Option<PictureId>, ApiError> {
    if !id.is_empty() && id.bytes().all(|b| b.is_ascii_digit()) {
        // "0" and the like name no picture: not found, not a refused request.
        return Ok(PictureId::parse(id).ok().flatten());
    }
    if !uploads::is_upload_id(id) {
        return Ok(None);
    }
    Ok(app
        .db
        .picture_by_external_id(id)
        .await
        .map_err(Error::from)?
        .map(|p| PictureId(p.id)))
}

/// `DELETE /api/v1/images {"images": [{"id"}]}` → `{"deleted": [...], "not_found": [...]}`.
pub async fn delete_images(
    State(app): State<Arc<App>>,
    caller: Result<Caller, ApiError>,
    headers: HeaderMap,
    body: Body,
) -> V1 {
    V1(async {
        let caller = credentialed(caller)?;
        #[derive(Deserialize)]
        struct Item {
            id: Value,
        }
        #[derive(Deserialize)]
        struct Images {
            images: Vec<Item>,
        }
        let Images { images } = json_body(&headers, body, 1 << 20).await?;
        if images.len() > ops::MAX_BULK_DELETE {
            return Err(ApiError::invalid(
                "too_many_ids",
                "at most 1000 images at a time",
            ));
        }
        let (mut deleted, mut not_found) = (Vec::new(), Vec::new());
        for item in images {
            let id = match &item.id {
                Value::String(s) => s.clone(),
                Value::Number(n) => n.to_string(),
                other => other.to_string(),
            };
            let outcome = match resolve(&app, &id).await? {
                Some(pid) => ops::delete(&*app.db, &*app.store, &caller, Some(pid)).await,
                None => Err(Error::NotFound(id.clone())),
            };
            match outcome {
                Ok(()) => deleted.push(id),
                Err(Error::NotFound(_)) => not_found.push(id),
                Err(e) => return Err(e.into()),
            }
        }
        Ok(Json(json!({"deleted": deleted, "not_found": not_found})).into_response())
    }
    .await)
}

//! Users and their API keys.

use axum::Json;
use axum::body::Body;
use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::{Value, json};
use std::sync::Arc;

use super::ApiError;
use super::body::json_body;
use super::caller::AnyCaller;
use super::params::{Params, PathArg};
use super::route::Route;
use crate::App;
use crate::domain::accounts::{self, NewKey};
use crate::domain::{Account, KeyInfo};
use axum::routing::{delete, get, post};

pub fn account_json(a: &Account) -> Value {
    json!({
        "id": a.id,
        "email": a.email,
        "image_upload_count": a.image_upload_count,
        "created": a.created,
    })
}

fn key_json(k: &KeyInfo) -> Value {
    json!({"id": k.id, "name": k.name, "created": k.created, "last_used": k.last_used})
}

fn new_key_json(k: &NewKey) -> Value {
    json!({"id": k.info.id, "name": k.info.name, "key": k.key, "created": k.info.created})
}

/// An optional JSON body: none at all is `{}`.
async fn optional_json<T: serde::de::DeserializeOwned + Default>(
    headers: &HeaderMap,
    body: Body,
) -> Result<T, ApiError> {
    let empty = headers
        .get(axum::http::header::CONTENT_LENGTH)
        .is_some_and(|v| v == "0")
        || headers.get(axum::http::header::CONTENT_TYPE).is_none();
    if empty {
        let bytes = super::body::read_body(headers, body, 65_536).await?;
        if bytes.iter().all(u8::is_ascii_whitespace) {
            return Ok(T::default());
        }
        return super::body::parse_json(&bytes);
    }
    json_body(headers, body, 65_536).await
}

/// `POST /users`: `201 {id, email, image_upload_count, created}`, and the
/// first `api_key` (shown once) unless a token made the account.
pub async fn create_user(
    State(app): State<Arc<App>>,
    AnyCaller(caller): AnyCaller,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    Params::parse(query.as_deref(), &[])?;
    #[derive(Deserialize, Default)]
    struct NewUser {
        email: Option<String>,
    }
    let new: NewUser = optional_json(&headers, body).await?;
    let (account, key) =
        accounts::create_user(&*app.db, app.auth.mode, &caller, new.email.as_deref()).await?;
    let mut body = account_json(&account);
    if let Some(key) = key {
        body["api_key"] = key.key.into();
    }
    Ok((StatusCode::CREATED, Json(body)).into_response())
}

/// `GET /users/me`.
pub async fn me(
    State(app): State<Arc<App>>,
    caller: crate::domain::Caller,
    RawQuery(query): RawQuery,
) -> Result<Response, ApiError> {
    Params::parse(query.as_deref(), &[])?;
    Ok(Json(account_json(&accounts::me(&*app.db, &caller).await?)).into_response())
}

/// `DELETE /users/me` → 204: the account and everything it owns.
pub async fn delete_me(
    State(app): State<Arc<App>>,
    caller: crate::domain::Caller,
    RawQuery(query): RawQuery,
) -> Result<Response, ApiError> {
    Params::parse(query.as_deref(), &[])?;
    close_account(&app, caller).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// Closes the caller's account on a task of its own, so it runs to
/// completion even if the client goes away.
pub async fn close_account(app: &Arc<App>, caller: crate::domain::Caller) -> Result<(), ApiError> {
    let app = app.clone();
    tokio::spawn(async move { accounts::delete_me(&*app.db, &*app.store, &caller).await })
        .await
        .map_err(|e| ApiError::Internal(e.to_string()))??;
    Ok(())
}

/// `POST /users/me/keys {"name"}` → `201 {id, name, key, created}`.
pub async fn create_key(
    State(app): State<Arc<App>>,
    caller: crate::domain::Caller,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    Params::parse(query.as_deref(), &[])?;
    #[derive(Deserialize, Default)]
    struct NewKeyBody {
        name: Option<String>,
    }
    let new: NewKeyBody = optional_json(&headers, body).await?;
    let key = accounts::create_key(&*app.db, &caller, new.name.as_deref()).await?;
    Ok((StatusCode::CREATED, Json(new_key_json(&key))).into_response())
}

/// `GET /users/me/keys` → `[{id, name, created, last_used}]`.
pub async fn keys(
    State(app): State<Arc<App>>,
    caller: crate::domain::Caller,
    RawQuery(query): RawQuery,
) -> Result<Response, ApiError> {
    Params::parse(query.as_deref(), &[])?;
    let keys = accounts::keys(&*app.db, &caller).await?;
    Ok(Json(keys.iter().map(key_json).collect::<Vec<_>>()).into_response())
}

/// `DELETE /users/me/keys/{id}` → 204.
pub async fn delete_key(
    State(app): State<Arc<App>>,
    caller: crate::domain::Caller,
    PathArg(id): PathArg,
    RawQuery(query): RawQuery,
) -> Result<Response, ApiError> {
    Params::parse(query.as_deref(), &[])?;
    accounts::delete_key(&*app.db, &caller, &id).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// The routes of users and their keys.
pub(super) const ROUTES: &[Route] = &[
    Route::new("POST", "/users", "accounts", || post(create_user)),
    Route::new("GET", "/users/me", "accounts", || get(me)),
    Route::new("DELETE", "/users/me", "accounts", || delete(delete_me)),
    Route::new("POST", "/users/me/keys", "accounts", || post(create_key)),
    Route::new("GET", "/users/me/keys", "accounts", || get(keys)),
    Route::new("DELETE", "/users/me/keys/{id}", "accounts", || {
        delete(delete_key)
    }),
];

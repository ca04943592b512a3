//! Who is calling, resolved once per request from its headers: an API key in
//! `x-api-key` (or as `Authorization: Bearer`), or a JWT as a bearer token.
//! Handlers ask for a [`Caller`] (which under `AUTH=required` refuses
//! anonymous requests) or an [`AnyCaller`] (the routes that carry their own
//! permission: signed URLs, upload links).

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use std::sync::Arc;

use super::ApiError;
use crate::App;
use crate::auth::AuthMode;
use crate::domain::accounts::{caller_for_bearer, caller_for_key};
use crate::domain::{Caller, Error};

/// The caller as the credentials say, anonymous when there are none. Bad
/// credentials are a 401 even where none are needed: a client sending a
/// wrong key should hear so.
pub struct AnyCaller(pub Caller);

async fn resolve(parts: &Parts, app: &App) -> Result<Caller, Error> {
    let header = |name: &str| {
        parts
            .headers
            .get(name)
            .map(|v| v.to_str().map(str::trim).unwrap_or(""))
    };
    if let Some(key) = header("x-api-key") {
        if key.is_empty() {
            return Err(Error::Unauthorized("the x-api-key header is empty".into()));
        }
        return caller_for_key(app.db.clone(), &app.auth.admin_keys, key).await;
    }
    if let Some(value) = header("authorization") {
        let token = value
            .strip_prefix("Bearer ")
            .or_else(|| value.strip_prefix("bearer "))
            .map(str::trim)
            .filter(|t| !t.is_empty())
            .ok_or_else(|| {
                Error::Unauthorized(
                    "the Authorization header must be `Bearer <token or key>`".into(),
                )
            })?;
        return caller_for_bearer(app.db.clone(), &app.auth, token).await;
    }
    Ok(Caller::Anonymous)
}

impl FromRequestParts<Arc<App>> for AnyCaller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, app: &Arc<App>) -> Result<Self, ApiError> {
        if let Some(caller) = parts.extensions.get::<Caller>() {
            return Ok(AnyCaller(caller.clone()));
        }
        let caller = resolve(parts, app).await?;
        parts.extensions.insert(caller.clone());
        Ok(AnyCaller(caller))
    }
}

impl AnyCaller {
    /// The caller, refusing anonymous ones where `AUTH=required`.
    pub fn required(self, app: &App) -> Result<Caller, ApiError> {
        require(self.0, app)
    }
}

fn require(caller: Caller, app: &App) -> Result<Caller, ApiError> {
    if caller == Caller::Anonymous && app.auth.mode == AuthMode::Required {
        return Err(Error::Unauthorized(
            "this service needs credentials: an API key in x-api-key, or Authorization: Bearer <token>"
                .into(),
        )
        .into());
    }
    Ok(caller)
}

impl FromRequestParts<Arc<App>> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, app: &Arc<App>) -> Result<Self, ApiError> {
        let AnyCaller(caller) = AnyCaller::from_request_parts(parts, app).await?;
        require(caller, app)
    }
}

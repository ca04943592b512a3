use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Serialize;

use crate::domain::Error;
use crate::domain::ports::DbError;
use crate::store::StoreError;
use crate::tagger::TaggerError;

/// Every failure a client can see. Each maps to a status, a stable
/// snake_case code and a message for a person; internal causes are logged
/// here and never sent.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error(transparent)]
    Domain(#[from] Error),
    #[error(
        "the request body is larger than {limit} bytes; send a bigger file with presigned upload URLs \
         (POST /upload-urls, then PUT its bytes to the URL), or where this service takes bigger \
         bodies, as multipart/form-data (POST /images, or an upload link)"
    )]
    BodyTooLarge { limit: usize },
    #[error("the file is larger than {limit} bytes")]
    FileTooLarge { limit: usize },
    #[error("the request body must be JSON (Content-Type: application/json)")]
    NotJson,
    #[error("no such route")]
    RouteNotFound,
    #[error("this route does not accept that method")]
    MethodNotAllowed,
    #[error("the request body could not be read")]
    BodyUnreadable,
    #[error("internal error: {0}")]
    Internal(String),
}

#[derive(Serialize)]
struct ErrorBody<'a> {
    error: &'a str,
    message: String,
    /// What to do about it, where there is something to say (seed 004).
    #[serde(skip_serializing_if = "Option::is_none")]
    detail: Option<&'static str>,
}

impl ApiError {
    pub fn invalid(code: &'static str, message: impl Into<String>) -> Self {
        ApiError::Domain(Error::invalid(code, message))
    }

    pub fn status(&self) -> StatusCode {
        match self {
            ApiError::Domain(e) => match e {
                Error::Invalid { .. } | Error::Tagger(TaggerError::BadImage(_)) => {
                    StatusCode::BAD_REQUEST
                }
                Error::NotFound(_) | Error::Missing(_) => StatusCode::NOT_FOUND,
                Error::Unauthorized(_) => StatusCode::UNAUTHORIZED,
                Error::Forbidden { .. } => StatusCode::FORBIDDEN,
                Error::Conflict(_) => StatusCode::CONFLICT,
                Error::Gone { .. } => StatusCode::GONE,
                Error::TooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
                Error::Busy(_) => StatusCode::SERVICE_UNAVAILABLE,
                Error::Tagger(_) => StatusCode::BAD_GATEWAY,
                Error::Store(_) => StatusCode::SERVICE_UNAVAILABLE,
                Error::Database(DbError::Query(_) | DbError::Url(_)) => {
                    StatusCode::INTERNAL_SERVER_ERROR
                }
                Error::Database(_) => StatusCode::SERVICE_UNAVAILABLE,
            },
            ApiError::BodyTooLarge { .. } | ApiError::FileTooLarge { .. } => {
                StatusCode::PAYLOAD_TOO_LARGE
            }
            ApiError::NotJson => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            ApiError::RouteNotFound => StatusCode::NOT_FOUND,
            ApiError::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            ApiError::BodyUnreadable => StatusCode::BAD_REQUEST,
            ApiError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    pub fn code(&self) -> &'static str {
        match self {
            ApiError::Domain(e) => match e {
                Error::Invalid { code, .. } => code,
                Error::Tagger(TaggerError::BadImage(_)) => "invalid_image",
                Error::NotFound(_) | Error::Missing(_) => "not_found",
                Error::Unauthorized(_) => "unauthorized",
                Error::Forbidden { code, .. }
                | Error::Gone { code, .. }
                | Error::TooLarge { code, .. } => code,
                Error::Busy(_) => "too_busy",
                Error::Conflict(_) => "conflict",
                Error::Tagger(_) => "tagging_failed",
                Error::Store(StoreError::NotFound(_)) => "image_unavailable",
                Error::Store(_) => "store_unavailable",
                Error::Database(DbError::Query(_) | DbError::Url(_)) => "internal_error",
                Error::Database(_) => "database_unavailable",
            },
            ApiError::BodyTooLarge { .. } => "body_too_large",
            ApiError::FileTooLarge { .. } => "file_too_large",
            ApiError::NotJson => "unsupported_media_type",
            ApiError::RouteNotFound => "not_found",
            ApiError::MethodNotAllowed => "method_not_allowed",
            ApiError::BodyUnreadable => "invalid_body",
            ApiError::Internal(_) => "internal_error",
        }
    }

    /// What the client reads: never a cause's text from inside, which can name
    /// hosts, paths or SQL.
    pub fn public_message(&self) -> String {
        match self {
            ApiError::Domain(e) => match e {
                Error::Invalid { message, .. } => message.clone(),
                Error::NotFound(id) => format!("there is no picture with id {id}"),
                Error::Missing(m) | Error::Unauthorized(m) | Error::Conflict(m) => m.clone(),
                Error::Forbidden { message, .. }
                | Error::Gone { message, .. }
                | Error::TooLarge { message, .. } => message.clone(),
                Error::Busy(m) => m.clone(),
                Error::Tagger(e) => e.to_string(),
                Error::Store(StoreError::NotFound(_)) => {
                    "the picture's file is missing from the image store".into()
                }
                Error::Store(_) => "the image store is unavailable; try again later".into(),
                Error::Database(DbError::Query(_) | DbError::Url(_)) => {
                    "the server failed to answer; the failure is logged".into()
                }
                Error::Database(_) => "the database is unavailable; try again later".into(),
            },
            ApiError::Internal(_) => "the server failed to answer; the failure is logged".into(),
            other => other.to_string(),
        }
    }
}

impl ApiError {
    /// What to do about it, for the errors where there is a clear next step.
    pub fn detail(&self) -> Option<&'static str> {
        match self {
            ApiError::Domain(e) => match e {
                Error::Unauthorized(_) => Some(
                    "send an API key in the x-api-key header, or a valid token as Authorization: Bearer <token>",
                ),
                Error::Forbidden {
                    code: "url_expired",
                    ..
                } => Some("fetch the picture again for a fresh view_url"),
                Error::Forbidden {
                    code: "bad_signature",
                    ..
                } => Some("use the URL exactly as the service gave it"),
                Error::Forbidden { .. } => Some(
                    "check the key or token sent: a user acts on their own account and pictures; an admin key acts on every picture but has no account of its own",
                ),
                Error::Conflict(_) => {
                    Some("ensure that the provided resource id and user id are correct")
                }
                Error::Gone { .. } => Some("create a new link and upload again"),
                Error::NotFound(_) | Error::Missing(_) => {
                    Some("check the id; a private resource of another user is not found either")
                }
                Error::Store(_) | Error::Database(_) => Some("try again later"),
                Error::Busy(_) => Some("try again after the seconds Retry-After gives"),
                _ => None,
            },
            ApiError::BodyTooLarge { .. } | ApiError::FileTooLarge { .. } => Some(
                "upload large files through presigned upload URLs: POST /upload-urls, then PUT each file",
            ),
            _ => None,
        }
    }

    /// The JSON body, with `detail` always present (seed 004's clients read it).
    pub fn into_response_with_detail(self) -> Response {
        let detail = self.detail().unwrap_or("see the message");
        let mut response = self.into_response();
        if let Some(body) = response.extensions_mut().remove::<ErrorJson>() {
            let mut value = body.0;
            value["detail"] = detail.into();
            let mut reshaped = (response.status(), Json(value)).into_response();
            if let Some(retry) = response.headers().get(axum::http::header::RETRY_AFTER) {
                reshaped
                    .headers_mut()
                    .insert(axum::http::header::RETRY_AFTER, retry.clone());
            }
            return reshaped;
        }
        response
    }
}

/// The error body, kept on the response for doors that reshape it.
#[derive(Clone)]
pub struct ErrorJson(pub serde_json::Value);

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = self.status();
        if status.is_server_error() {
            tracing::error!(code = self.code(), error = %self, "request failed");
        } else {
            tracing::debug!(code = self.code(), error = %self, "request refused");
        }
        let body = ErrorBody {
            error: self.code(),
            message: self.public_message(),
            detail: self.detail(),
        };
        let value = serde_json::to_value(&body).unwrap_or_default();
        let mut response = (status, Json(body)).into_response();
        if matches!(self, ApiError::Domain(Error::Busy(_))) {
            response.headers_mut().insert(
                axum::http::header::RETRY_AFTER,
                axum::http::HeaderValue::from_static("1"),
            );
        }
        response.extensions_mut().insert(ErrorJson(value));
        response
    }
}

//! Request bodies: read within a limit, JSON checked for what it is, and
//! multipart forms walked one file at a time.

use axum::body::{Body, Bytes, HttpBody as _};
use axum::http::{HeaderMap, header};

use super::ApiError;

/// `application/json`, or any `+json` type, with or without parameters.
pub fn is_json(headers: &HeaderMap) -> bool {
    let essence = essence(headers);
    essence == "application/json"
        || (essence.starts_with("application/") && essence.ends_with("+json"))
}

pub fn is_multipart(headers: &HeaderMap) -> bool {
    essence(headers) == "multipart/form-data"
}

pub fn is_form(headers: &HeaderMap) -> bool {
    essence(headers) == "application/x-www-form-urlencoded"
}

fn essence(headers: &HeaderMap) -> String {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase()
}

pub async fn read_body(headers: &HeaderMap, body: Body, limit: usize) -> Result<Bytes, ApiError> {
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > limit as u64) {
        return Err(ApiError::BodyTooLarge { limit });
    }
    axum::body::to_bytes(body, limit).await.map_err(|e| {
        // to_bytes reports an over-long body as a length-limit error in its source chain.
        let too_long = std::iter::successors(Some(&e as &dyn std::error::Error), |e| e.source())
            .any(|e| e.is::<http_body_util::LengthLimitError>());
        if too_long {
            ApiError::BodyTooLarge { limit }
        } else {
            ApiError::BodyUnreadable
        }
    })
}

/// A JSON body of the given shape, with `invalid_json` / `invalid_body`
/// saying which part is wrong.
pub async fn json_body<T: serde::de::DeserializeOwned>(
    headers: &HeaderMap,
    body: Body,
    limit: usize,
) -> Result<T, ApiError> {
    if !is_json(headers) {
        return Err(ApiError::NotJson);
    }
    let bytes = read_body(headers, body, limit).await?;
    parse_json(&bytes)
}

pub fn parse_json<T: serde::de::DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    let value: serde_json::Value = serde_json::from_slice(bytes).map_err(|e| {
        ApiError::invalid("invalid_json", format!("the body is not valid JSON: {e}"))
    })?;
    serde_json::from_value(value)
        .map_err(|e| ApiError::invalid("invalid_body", format!("the body is not as expected: {e}")))
}

/// One file of a multipart form, read within the per-file limit.
pub struct FormFile {
    /// The part's file name (or its field name when it has none).
    pub name: String,
    pub result: Result<Vec<u8>, ApiError>,
}

/// One part of a multipart form: a file (it has a file name) or a field.
pub enum FormPart {
    File(FormFile),
    Field { name: String, value: String },
}

/// Reads the next part of a form: files up to `max_file` bytes each (a
/// bigger one is an error of its own, and the form goes on), fields up to
/// 64 KiB. `None` at the end of the form.
pub async fn next_part(
    form: &mut axum::extract::Multipart,
    max_file: usize,
) -> Result<Option<FormPart>, ApiError> {
    let bad = |e: axum::extract::multipart::MultipartError| {
        ApiError::invalid(
            "invalid_body",
            format!("the multipart form is malformed: {e}"),
        )
    };
    let Some(mut field) = form.next_field().await.map_err(bad)? else {
        return Ok(None);
    };
    let field_name = field.name().unwrap_or("").to_string();
    match field.file_name().map(str::to_string) {
        Some(file_name) => {
            let name = if file_name.is_empty() {
                field_name
            } else {
                file_name
            };
            let mut bytes = Vec::new();
            let mut too_large = false;
            while let Some(chunk) = field.chunk().await.map_err(bad)? {
                if too_large || bytes.len() + chunk.len() > max_file {
                    // Read on to the next part, keeping nothing.
                    too_large = true;
                    bytes = Vec::new();
                    continue;
                }
                bytes.extend_from_slice(&chunk);
            }
            let result = match too_large {
                true => Err(ApiError::FileTooLarge { limit: max_file }),
                false => Ok(bytes),
            };
            Ok(Some(FormPart::File(FormFile { name, result })))
        }
        None => {
            let mut value = Vec::new();
            while let Some(chunk) = field.chunk().await.map_err(bad)? {
                if value.len() + chunk.len() > 65_536 {
                    return Err(ApiError::invalid(
                        "invalid_body",
                        format!("the form field {field_name:?} is longer than 64 KiB"),
                    ));
                }
                value.extend_from_slice(&chunk);
            }
            Ok(Some(FormPart::Field {
                name: field_name,
                value: String::from_utf8_lossy(&value).into_owned(),
            }))
        }
    }
}

/// A request body that records whether it was read to its end.
struct Tracked {
    inner: Body,
    done: std::sync::Arc<std::sync::atomic::AtomicBool>,
}

impl axum::body::HttpBody for Tracked {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Result<http_body::Frame<Bytes>, axum::Error>>> {
        let polled = std::pin::Pin::new(&mut self.inner).poll_frame(cx);
        if let std::task::Poll::Ready(None) = polled {
            self.done.store(true, std::sync::atomic::Ordering::Relaxed);
        }
        polled
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> http_body::SizeHint {
        self.inner.size_hint()
    }
}

/// An answer given before the request's body was read (a refused key, a
/// wrong type, a declared length over the limit) says `Connection: close`:
/// the rest of the body is still on the wire, so the connection cannot
/// carry another request, and a keep-alive client must not try.
pub async fn close_if_unread(
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    let (parts, body) = request.into_parts();
    if body.is_end_stream() {
        return next
            .run(axum::extract::Request::from_parts(parts, body))
            .await;
    }
    let done = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let tracked = Tracked {
        inner: body,
        done: done.clone(),
    };
    let mut response = next
        .run(axum::extract::Request::from_parts(
            parts,
            Body::new(tracked),
        ))
        .await;
    if !done.load(std::sync::atomic::Ordering::Relaxed) {
        response.headers_mut().insert(
            header::CONNECTION,
            axum::http::HeaderValue::from_static("close"),
        );
    }
    response
}

//! A function's API Gateway events, as Lambda hands them to it.

use pictures::App;
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// One function's Lambda service handed one API Gateway event file, as
/// Lambda would: (status, headers, body as JSON or `Null`).
pub async fn invoke_event(
    app: &Arc<App>,
    function: &str,
    event: &Path,
) -> (u16, http::HeaderMap, Value) {
    use http_body_util::BodyExt;
    use tower::ServiceExt;
    let json =
        std::fs::read_to_string(event).unwrap_or_else(|e| panic!("{}: {e}", event.display()));
    let request = lambda_http::request::from_str(&json).expect("a valid API Gateway event");
    let response = pictures::http::lambda_service(app.clone(), function)
        .oneshot(request)
        .await
        .unwrap();
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    let bytes = response.into_body().collect().await.unwrap().to_bytes();
    (
        status,
        headers,
        serde_json::from_slice(&bytes).unwrap_or(Value::Null),
    )
}

/// A function crate's event files: `events/` (HTTP API v2, written by
/// scripts/gen-events.py) and `events/v1/` (REST API v1, stage `prod`).
pub struct Events {
    function: &'static str,
    dir: PathBuf,
}

impl Events {
    /// Both API Gateway versions, each the prefix of its events under `events/`.
    pub const VERSIONS: [&'static str; 2] = ["", "v1/"];

    /// `crate_dir` is the function crate's `env!("CARGO_MANIFEST_DIR")`.
    pub fn of(function: &'static str, crate_dir: &str) -> Self {
        Events {
            function,
            dir: Path::new(crate_dir).join("events"),
        }
    }

    pub fn path(&self, event: &str) -> PathBuf {
        self.dir.join(event)
    }

    /// The event file `event` (e.g. `v1/get.json`) through the function's own service.
    pub async fn invoke(&self, app: &Arc<App>, event: &str) -> (u16, http::HeaderMap, Value) {
        invoke_event(app, self.function, &self.path(event)).await
    }
}

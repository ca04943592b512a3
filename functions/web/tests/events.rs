//! `web` as Lambda runs it: its API Gateway events (HTTP API v2 in
//! `events/`, REST API v1 with stage `prod` in `events/v1/`, written by
//! scripts/gen-events.py) through its own Lambda service.

#[path = "../../../shared/tests/common/mod.rs"]
mod common;

use common::*;
use std::path::{Path, PathBuf};

const FUNCTION: &str = "web";
const VERSIONS: [&str; 2] = ["", "v1/"];

fn event_path(event: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("events")
        .join(event)
}

#[tokio::test]
async fn the_gallery_page_with_its_security_policy() {
    for v in VERSIONS {
        let t = TestApp::start(Backend::Sqlite).await;
        let (status, headers, _) =
            invoke_event(&t.app, FUNCTION, &event_path(&format!("{v}index.json"))).await;
        assert_eq!(status, 200, "{v}");
        assert_eq!(headers["content-type"], "text/html; charset=utf-8");
        let csp = headers["content-security-policy"].to_str().unwrap();
        assert!(
            csp.contains("default-src 'self'") && csp.contains("script-src 'self'"),
            "{csp}"
        );
        assert!(headers.get("etag").is_some());
        let (status, _, body) = invoke_event(
            &t.app,
            FUNCTION,
            &event_path(&format!("{v}asset-missing.json")),
        )
        .await;
        assert_eq!(
            (status, body["error"].as_str()),
            (404, Some("not_found")),
            "{v}"
        );
    }
}

//! `web` as Lambda runs it: its API Gateway events (HTTP API v2 in
//! `events/`, REST API v1 with stage `prod` in `events/v1/`, written by
//! scripts/gen-events.py) through its own Lambda service.

use pictures_testkit::*;

fn events() -> Events {
    Events::of("web", env!("CARGO_MANIFEST_DIR"))
}

#[tokio::test]
async fn the_gallery_page_with_its_security_policy() {
    for v in Events::VERSIONS {
        let t = TestApp::start(Backend::Sqlite).await;
        let (status, headers, _) = events().invoke(&t.app, &format!("{v}index.json")).await;
        assert_eq!(status, 200, "{v}");
        assert_eq!(headers["content-type"], "text/html; charset=utf-8");
        let csp = headers["content-security-policy"].to_str().unwrap();
        assert!(
            csp.contains("default-src 'self'") && csp.contains("script-src 'self'"),
            "{csp}"
        );
        assert!(headers.get("etag").is_some());
        let (status, _, body) = events()
            .invoke(&t.app, &format!("{v}asset-missing.json"))
            .await;
        assert_eq!(
            (status, body["error"].as_str()),
            (404, Some("not_found")),
            "{v}"
        );
    }
}

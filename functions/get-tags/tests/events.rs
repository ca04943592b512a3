//! `get-tags` as Lambda runs it: its API Gateway events (HTTP API v2 in
//! `events/`, REST API v1 with stage `prod` in `events/v1/`) through its own
//! Lambda service.

use pictures_testkit::*;

fn events() -> Events {
    Events::of("get-tags", env!("CARGO_MANIFEST_DIR"))
}

#[tokio::test]
async fn statistics_per_tag_and_per_range() {
    for v in Events::VERSIONS {
        let t = TestApp::start(Backend::Sqlite).await;
        assert_eq!(
            t.post_image(&fixture("no_time_for_that_tiny.gif"), "")
                .await
                .status(),
            201
        );
        let (status, headers, body) = events().invoke(&t.app, &format!("{v}all.json")).await;
        assert_eq!(status, 200, "{v}: {body}");
        assert_eq!(headers["content-type"], "application/json");
        assert_eq!(
            body,
            serde_json::json!([
                {"tag": "rocket", "n_images": 1, "min_confidence": 95.5, "max_confidence": 95.5, "mean_confidence": 95.5},
                {"tag": "sky", "n_images": 1, "min_confidence": 85.25, "max_confidence": 85.25, "mean_confidence": 85.25},
            ]),
            "{v}"
        );
        // January 2024: before the upload.
        let (status, _, body) = events().invoke(&t.app, &format!("{v}month.json")).await;
        assert_eq!((status, body), (200, serde_json::json!([])), "{v}");
        let (status, _, body) = events().invoke(&t.app, &format!("{v}bad-date.json")).await;
        assert_eq!(
            (status, body["error"].as_str()),
            (400, Some("invalid_date")),
            "{v}"
        );
    }
}

#[tokio::test]
async fn serves_only_its_own_routes() {
    let t = TestApp::start(Backend::Sqlite).await;
    // Handed an image upload, which is another function's route.
    for v in Events::VERSIONS {
        let upload = repo_root().join(format!("functions/post-image/events/{v}post.json"));
        let (status, _, body) = invoke_event(&t.app, "get-tags", &upload).await;
        assert_eq!(
            (status, body["error"].as_str()),
            (404, Some("not_found")),
            "{v}"
        );
    }
    t.assert_nothing_stored().await;
}

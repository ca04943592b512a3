//! Each function's handler, called the way Lambda calls it: the API Gateway
//! (HTTP API, v2) event fixtures in `functions/<fn>/events/` turned into
//! requests by lambda_http and sent to that function's own router.

mod common;

use common::*;
use http_body_util::BodyExt;
use std::path::Path;
use tower::ServiceExt;

async fn invoke(t: &TestApp, function: &'static str, event: &str) -> (u16, serde_json::Value) {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../functions")
        .join(function)
        .join("events")
        .join(event);
    let json = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let request = lambda_http::request::from_str(&json).expect("a valid API Gateway event");
    let response = pictures::http::router(t.app.clone(), Some(function))
        .oneshot(request)
        .await
        .unwrap();
    let status = response.status().as_u16();
    let bytes = response.into_body().collect().await.unwrap().to_bytes();
    (
        status,
        serde_json::from_slice(&bytes).unwrap_or(serde_json::Value::Null),
    )
}

#[tokio::test]
async fn post_image_events() {
    let t = TestApp::start(Backend::Sqlite).await;
    let (status, body) = invoke(&t, "post-image", "post.json").await;
    assert_eq!(status, 201, "{body}");
    assert_eq!(body["tags"].as_array().unwrap().len(), 2);
    let (status, body) = invoke(&t, "post-image", "post-alias-min-confidence.json").await;
    assert_eq!(status, 201, "{body}");
    assert_eq!(
        body["tags"].as_array().unwrap().len(),
        3,
        "min_confidence=50 reached the handler"
    );
    let (status, body) = invoke(&t, "post-image", "post-base64-body.json").await;
    assert_eq!(status, 201, "a base64-encoded event body: {body}");
    assert_eq!(invoke(&t, "post-image", "post-not-json.json").await.0, 415);
    let (status, body) = invoke(&t, "post-image", "post-bad-base64.json").await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_base64"))
    );
    assert_eq!(t.row_counts().await.0, 3);
}

#[tokio::test]
async fn get_image_events() {
    let t = TestApp::start(Backend::Sqlite).await;
    assert_eq!(
        t.post_image(&fixture("no_time_for_that_tiny.gif"), "")
            .await
            .status(),
        201
    );
    let (status, body) = invoke(&t, "get-image", "get.json").await;
    assert_eq!(status, 200);
    assert_eq!(body["id"], 1);
    assert_eq!(
        body["data"].as_str().unwrap(),
        b64(&fixture("no_time_for_that_tiny.gif"))
    );
    assert_eq!(invoke(&t, "get-image", "get-alias.json").await.1, body);
    assert_eq!(invoke(&t, "get-image", "bad-id.json").await.0, 400);
    assert_eq!(invoke(&t, "get-image", "missing.json").await.0, 404);
}

#[tokio::test]
async fn get_images_events() {
    let t = TestApp::start(Backend::Sqlite).await;
    assert_eq!(
        t.post_image(&fixture("no_time_for_that_tiny.gif"), "")
            .await
            .status(),
        201
    );
    let (status, body) = invoke(&t, "get-images", "list.json").await;
    assert_eq!((status, body.as_array().unwrap().len()), (200, 1));
    let (status, body) = invoke(&t, "get-images", "search.json").await;
    assert_eq!(
        (status, body),
        (200, serde_json::json!([])),
        "the query string reached the handler"
    );
    assert_eq!(invoke(&t, "get-images", "bad-tags.json").await.0, 400);
}

#[tokio::test]
async fn get_tags_events() {
    let t = TestApp::start(Backend::Sqlite).await;
    assert_eq!(
        t.post_image(&fixture("no_time_for_that_tiny.gif"), "")
            .await
            .status(),
        201
    );
    let (status, body) = invoke(&t, "get-tags", "all.json").await;
    assert_eq!((status, body[0]["tag"].as_str()), (200, Some("rocket")));
    let (status, body) = invoke(&t, "get-tags", "month.json").await;
    assert_eq!((status, body), (200, serde_json::json!([])));
    assert_eq!(invoke(&t, "get-tags", "bad-date.json").await.0, 400);
}

#[tokio::test]
async fn a_function_serves_only_its_own_routes() {
    let t = TestApp::start(Backend::Sqlite).await;
    // The get-tags function handed an image upload: not its route.
    let (status, body) = invoke(&t, "get-tags", "../../post-image/events/post.json").await;
    assert_eq!((status, body["error"].as_str()), (404, Some("not_found")));
    assert_eq!(t.row_counts().await.0, 0);
}

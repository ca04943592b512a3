//! Each function's handler, called the way Lambda calls it: the API Gateway
//! event fixtures in `functions/<fn>/events/` (HTTP API, v2) and
//! `functions/<fn>/events/v1/` (REST API, v1, stage `prod`) turned into
//! requests by lambda_http and sent to that function's own Lambda service.

mod common;

use common::*;
use http_body_util::BodyExt;
use std::path::Path;
use tower::ServiceExt;

/// Where each API Gateway version's fixtures are, under `events/`.
const VERSIONS: [&str; 2] = ["", "v1/"];

async fn invoke(t: &TestApp, function: &'static str, event: &str) -> (u16, serde_json::Value) {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../functions")
        .join(function)
        .join("events")
        .join(event);
    let json = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let request = lambda_http::request::from_str(&json).expect("a valid API Gateway event");
    let response = pictures::http::lambda_service(t.app.clone(), function)
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
    for v in VERSIONS {
        let t = TestApp::start(Backend::Sqlite).await;
        let (status, body) = invoke(&t, "post-image", &format!("{v}post.json")).await;
        assert_eq!(status, 201, "{body}");
        assert_eq!(body["tags"].as_array().unwrap().len(), 2);
        let (status, body) = invoke(
            &t,
            "post-image",
            &format!("{v}post-alias-min-confidence.json"),
        )
        .await;
        assert_eq!(status, 201, "{body}");
        assert_eq!(
            body["tags"].as_array().unwrap().len(),
            3,
            "min_confidence=50 reached the handler"
        );
        let (status, body) = invoke(&t, "post-image", &format!("{v}post-base64-body.json")).await;
        assert_eq!(status, 201, "a base64-encoded event body: {body}");
        assert_eq!(
            invoke(&t, "post-image", &format!("{v}post-not-json.json"))
                .await
                .0,
            415
        );
        let (status, body) = invoke(&t, "post-image", &format!("{v}post-bad-base64.json")).await;
        assert_eq!(
            (status, body["error"].as_str()),
            (400, Some("invalid_base64"))
        );
        assert_eq!(t.row_counts().await.0, 3);
    }
}

#[tokio::test]
async fn get_image_events() {
    for v in VERSIONS {
        let t = TestApp::start(Backend::Sqlite).await;
        assert_eq!(
            t.post_image(&fixture("no_time_for_that_tiny.gif"), "")
                .await
                .status(),
            201
        );
        let (status, body) = invoke(&t, "get-image", &format!("{v}get.json")).await;
        assert_eq!(status, 200);
        assert_eq!(body["id"], 1);
        assert_eq!(
            body["data"].as_str().unwrap(),
            b64(&fixture("no_time_for_that_tiny.gif"))
        );
        assert_eq!(
            invoke(&t, "get-image", &format!("{v}get-alias.json"))
                .await
                .1,
            body
        );
        assert_eq!(
            invoke(&t, "get-image", &format!("{v}bad-id.json")).await.0,
            400
        );
        assert_eq!(
            invoke(&t, "get-image", &format!("{v}missing.json")).await.0,
            404
        );
    }
}

#[tokio::test]
async fn get_images_events() {
    for v in VERSIONS {
        let t = TestApp::start(Backend::Sqlite).await;
        assert_eq!(
            t.post_image(&fixture("no_time_for_that_tiny.gif"), "")
                .await
                .status(),
            201
        );
        let (status, body) = invoke(&t, "get-images", &format!("{v}list.json")).await;
        assert_eq!((status, body.as_array().unwrap().len()), (200, 1));
        let (status, body) = invoke(&t, "get-images", &format!("{v}search.json")).await;
        assert_eq!(
            (status, body),
            (200, serde_json::json!([])),
            "the query string reached the handler"
        );
        assert_eq!(
            invoke(&t, "get-images", &format!("{v}bad-tags.json"))
                .await
                .0,
            400
        );
    }
}

#[tokio::test]
async fn get_tags_events() {
    for v in VERSIONS {
        let t = TestApp::start(Backend::Sqlite).await;
        assert_eq!(
            t.post_image(&fixture("no_time_for_that_tiny.gif"), "")
                .await
                .status(),
            201
        );
        let (status, body) = invoke(&t, "get-tags", &format!("{v}all.json")).await;
        assert_eq!((status, body[0]["tag"].as_str()), (200, Some("rocket")));
        let (status, body) = invoke(&t, "get-tags", &format!("{v}month.json")).await;
        assert_eq!((status, body), (200, serde_json::json!([])));
        assert_eq!(
            invoke(&t, "get-tags", &format!("{v}bad-date.json")).await.0,
            400
        );
    }
}

/// The largest event Lambda accepts for a synchronous invocation.
const LAMBDA_PAYLOAD_LIMIT: usize = 6_291_456;

#[tokio::test]
async fn a_body_over_the_limit_that_fits_in_an_event_gets_our_413() {
    let options = Options {
        vars: vec![("AWS_LAMBDA_RUNTIME_API".into(), "127.0.0.1:9001".into())],
        ..Options::default()
    };
    let t = TestApp::start_with(Backend::Sqlite, options).await;
    let limit = t.app.max_body_bytes;
    assert_eq!(limit, pictures::config::LAMBDA_MAX_BODY_BYTES);
    for v in VERSIONS {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../functions/post-image/events");
        let template = std::fs::read_to_string(dir.join(format!("{v}post.json"))).unwrap();
        let mut event: serde_json::Value = serde_json::from_str(&template).unwrap();
        for (size, expected) in [(limit + 1, 413), (limit, 400)] {
            // Valid JSON of exactly `size` bytes whose `data` is not base64.
            let body = format!("{{\"data\":\"{}\"}}", "!".repeat(size - 11));
            assert_eq!(body.len(), size);
            event["body"] = body.into();
            let json = serde_json::to_string(&event).unwrap();
            assert!(
                json.len() < LAMBDA_PAYLOAD_LIMIT,
                "the event fits in an invocation"
            );
            let request = lambda_http::request::from_str(&json).unwrap();
            let response = pictures::http::lambda_service(t.app.clone(), "post-image")
                .oneshot(request)
                .await
                .unwrap();
            assert_eq!(
                response.status().as_u16(),
                expected,
                "{v}: body of {size} bytes"
            );
            let bytes = response.into_body().collect().await.unwrap().to_bytes();
            let error: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
            let code = if expected == 413 {
                "body_too_large"
            } else {
                "invalid_base64"
            };
            assert_eq!(error["error"], code);
        }
    }
    assert_eq!(t.row_counts().await.0, 0);
}

#[tokio::test]
async fn a_function_serves_only_its_own_routes() {
    let t = TestApp::start(Backend::Sqlite).await;
    // The get-tags function handed an image upload: not its route.
    for event in ["post.json", "v1/post.json"] {
        let event = format!("../../post-image/events/{event}");
        let (status, body) = invoke(&t, "get-tags", &event).await;
        assert_eq!((status, body["error"].as_str()), (404, Some("not_found")));
    }
    assert_eq!(t.row_counts().await.0, 0);
}

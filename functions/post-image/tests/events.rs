//! `post-image` as Lambda runs it: its API Gateway events (HTTP API v2 in
//! `events/`, REST API v1 with stage `prod` in `events/v1/`) through its own
//! Lambda service.

use pictures_testkit::*;
use serde_json::Value;

fn events() -> Events {
    Events::of("post-image", env!("CARGO_MANIFEST_DIR"))
}

/// The largest event Lambda accepts for a synchronous invocation.
const LAMBDA_PAYLOAD_LIMIT: usize = 6_291_456;

fn event(event: &str) -> Value {
    serde_json::from_str(&std::fs::read_to_string(events().path(event)).unwrap()).unwrap()
}

#[tokio::test]
async fn uploads_answer_201_with_the_picture_and_its_location() {
    for v in Events::VERSIONS {
        let t = TestApp::start(Backend::Sqlite).await;
        let (status, headers, body) = events().invoke(&t.app, &format!("{v}post.json")).await;
        assert_eq!(status, 201, "{v}: {body}");
        assert_eq!(headers["location"], "/images/1", "{v}");
        assert_eq!(headers["content-type"], "application/json", "{v}");
        let mut keys: Vec<&str> = body
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        keys.sort();
        // Part 1's fields, and what Part 2 adds to every picture.
        let mut expected = vec![
            "data", "date", "id", "size", "tags", "camera", "colors", "faces", "format", "gps",
            "objects", "hash", "height", "name", "owner", "private", "status", "taken_at",
            "view_url", "width",
        ];
        expected.sort();
        assert_eq!(keys, expected, "{v}");
        assert_eq!(body["id"], 1);
        assert_eq!(
            body["tags"],
            serde_json::json!([{"tag": "rocket", "confidence": 95.5, "source": "imagga"}, {"tag": "sky", "confidence": 85.25, "source": "imagga"}]),
            "the default threshold, 80"
        );
        // The image comes back as it was sent.
        let sent: Value =
            serde_json::from_str(event(&format!("{v}post.json"))["body"].as_str().unwrap())
                .unwrap();
        assert_eq!(body["data"], sent["data"], "{v}");

        // The same picture through the seed's route, on a database of its own
        // (here it would be the picture already there).
        let t = TestApp::start(Backend::Sqlite).await;
        let (status, headers, body) = events()
            .invoke(&t.app, &format!("{v}post-alias-min-confidence.json"))
            .await;
        // The seed's route, POST /image, answers 200 as the seed services did.
        assert_eq!(status, 200, "{v}: {body}");
        assert_eq!(headers["location"], "/images/1", "{v}");
        assert_eq!(
            body["tags"].as_array().unwrap().len(),
            3,
            "min_confidence=50 reached the handler"
        );

        let t = TestApp::start(Backend::Sqlite).await;
        let (status, _, body) = events()
            .invoke(&t.app, &format!("{v}post-base64-body.json"))
            .await;
        assert_eq!(status, 201, "{v}: a base64-encoded event body: {body}");
        assert_eq!(t.row_counts().await.0, 1);
        assert_eq!(t.files().len(), 1);
    }
}

#[tokio::test]
async fn refused_uploads_are_json_errors_and_store_nothing() {
    for v in Events::VERSIONS {
        let t = TestApp::start(Backend::Sqlite).await;
        for (event, status, code) in [
            ("post-not-json.json", 415, "unsupported_media_type"),
            ("post-bad-base64.json", 400, "invalid_base64"),
        ] {
            let (got, headers, body) = events().invoke(&t.app, &format!("{v}{event}")).await;
            assert_eq!(
                (got, body["error"].as_str()),
                (status, Some(code)),
                "{v}{event}: {body}"
            );
            assert_eq!(headers["content-type"], "application/json");
            assert!(
                body["message"].as_str().is_some_and(|m| !m.is_empty()),
                "{body}"
            );
        }
        t.assert_nothing_stored().await;
    }
}

#[tokio::test]
async fn a_body_over_the_limit_that_fits_in_an_event_gets_our_413() {
    let options = Options {
        vars: vec![("AWS_LAMBDA_RUNTIME_API".into(), "127.0.0.1:9001".into())],
        ..Options::default()
    };
    let t = TestApp::start_with(Backend::Sqlite, options).await;
    let limit = t.app.max_body_bytes;
    assert_eq!(limit, pictures::config::LAMBDA_MAX_BODY_BYTES);
    for v in Events::VERSIONS {
        let mut event = event(&format!("{v}post.json"));
        for (size, expected, code) in [
            (limit + 1, 413, "body_too_large"),
            (limit, 400, "invalid_base64"),
        ] {
            // Valid JSON of exactly `size` bytes whose `data` is not base64.
            let body = format!("{{\"data\":\"{}\"}}", "!".repeat(size - 11));
            assert_eq!(body.len(), size);
            event["body"] = body.into();
            let json = serde_json::to_string(&event).unwrap();
            assert!(
                json.len() < LAMBDA_PAYLOAD_LIMIT,
                "the event fits in an invocation"
            );
            let file = tempfile::NamedTempFile::new().unwrap();
            std::fs::write(file.path(), json).unwrap();
            let (status, _, error) = invoke_event(&t.app, "post-image", file.path()).await;
            assert_eq!(
                (status, error["error"].as_str()),
                (expected, Some(code)),
                "{v}: body of {size} bytes"
            );
        }
    }
    t.assert_nothing_stored().await;
}

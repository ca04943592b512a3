//! `colors` as Lambda runs it: its API Gateway events (HTTP API v2 in
//! `events/`, REST API v1 with stage `prod` in `events/v1/`, written by
//! scripts/gen-events.py) through its own Lambda service.

use pictures_testkit::*;

fn events() -> Events {
    Events::of("colors", env!("CARGO_MANIFEST_DIR"))
}

#[tokio::test]
async fn colours_of_an_image_and_hex_codes() {
    for v in Events::VERSIONS {
        let t = TestApp::start(Backend::Sqlite).await;
        let (status, _, body) = events().invoke(&t.app, &format!("{v}colors.json")).await;
        assert_eq!(status, 200, "{v}: {body}");
        // The one-pixel GIF: one colour, the whole picture.
        let colors = body["colors"].as_array().unwrap();
        assert_eq!(colors.len(), 1, "{body}");
        assert_eq!(colors[0]["fraction"], 1.0);
        let (status, _, body) = events().invoke(&t.app, &format!("{v}rgb2hex.json")).await;
        assert_eq!(
            (status, body),
            (200, serde_json::json!(["#ff0000", "#010203"])),
            "{v}"
        );
        let (status, _, body) = events()
            .invoke(&t.app, &format!("{v}rgb2hex-bad.json"))
            .await;
        assert_eq!(
            (status, body["error"].as_str()),
            (400, Some("invalid_field")),
            "{v}"
        );
        t.assert_nothing_stored().await;
    }
}

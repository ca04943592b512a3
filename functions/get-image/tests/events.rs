//! `get-image` as Lambda runs it: its API Gateway events (HTTP API v2 in
//! `events/`, REST API v1 with stage `prod` in `events/v1/`) through its own
//! Lambda service.

use pictures_testkit::*;

fn events() -> Events {
    Events::of("get-image", env!("CARGO_MANIFEST_DIR"))
}

#[tokio::test]
async fn a_picture_with_its_data_on_both_routes() {
    for v in Events::VERSIONS {
        let t = TestApp::start(Backend::Sqlite).await;
        let gif = fixture("no_time_for_that_tiny.gif");
        assert_eq!(t.post_image(&gif, "").await.status(), 201);
        let (status, headers, body) = events().invoke(&t.app, &format!("{v}get.json")).await;
        assert_eq!(status, 200, "{v}: {body}");
        assert_eq!(headers["content-type"], "application/json");
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
        assert_eq!(body["data"].as_str().unwrap(), b64(&gif));
        assert_eq!(
            body["size"],
            (gif.len() as f64 / 1024.0 * 100.0).round() / 100.0
        );
        assert_eq!(
            body["tags"][0],
            serde_json::json!({"tag": "rocket", "confidence": 95.5, "source": "imagga"})
        );
        let (status, _, alias) = events().invoke(&t.app, &format!("{v}get-alias.json")).await;
        assert_eq!((status, alias), (200, body), "{v}: /image/1 is /images/1");
    }
}

#[tokio::test]
async fn bad_and_missing_ids_are_json_errors() {
    for v in Events::VERSIONS {
        let t = TestApp::start(Backend::Sqlite).await;
        for (event, status, code) in [
            ("bad-id.json", 400, "invalid_id"),
            ("missing.json", 404, "not_found"),
        ] {
            let (got, headers, body) = events().invoke(&t.app, &format!("{v}{event}")).await;
            assert_eq!(
                (got, body["error"].as_str()),
                (status, Some(code)),
                "{v}{event}: {body}"
            );
            assert_eq!(headers["content-type"], "application/json");
        }
    }
}

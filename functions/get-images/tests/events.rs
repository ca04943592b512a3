//! `get-images` as Lambda runs it: its API Gateway events (HTTP API v2 in
//! `events/`, REST API v1 with stage `prod` in `events/v1/`) through its own
//! Lambda service.

use pictures_testkit::*;

fn events() -> Events {
    Events::of("get-images", env!("CARGO_MANIFEST_DIR"))
}

#[tokio::test]
async fn listings_searches_and_pages() {
    for v in Events::VERSIONS {
        let t = TestApp::start(Backend::Sqlite).await;
        for n in 0..2 {
            assert_eq!(t.post_image(&distinct_png(n), "").await.status(), 201);
        }
        let (status, headers, body) = events().invoke(&t.app, &format!("{v}list.json")).await;
        assert_eq!(status, 200, "{v}: {body}");
        assert_eq!(headers["content-type"], "application/json");
        assert!(headers.get("link").is_none(), "one page");
        let list = body.as_array().unwrap();
        assert_eq!(list.len(), 2);
        let mut keys: Vec<&str> = list[0]
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        keys.sort();
        let mut expected = vec![
            "date", "id", "size", "tags", "camera", "colors", "faces", "format", "gps", "objects",
            "hash", "height", "name", "owner", "private", "status", "taken_at", "view_url",
            "width",
        ];
        expected.sort();
        assert_eq!(keys, expected, "{v}: listings carry no data");

        let (status, _, body) = events().invoke(&t.app, &format!("{v}search.json")).await;
        assert_eq!(
            (status, body),
            (200, serde_json::json!([])),
            "{v}: the query string reached the handler"
        );

        // tags=rocket&limit=1: the first picture, and a link to the next page.
        let (status, headers, body) = events().invoke(&t.app, &format!("{v}page.json")).await;
        assert_eq!(status, 200, "{v}: {body}");
        assert_eq!(body.as_array().unwrap().len(), 1);
        assert_eq!(body[0]["id"], 1);
        assert_eq!(
            headers["link"], "</images?tags=rocket&limit=1&after=1>; rel=\"next\"",
            "{v}"
        );
    }
}

#[tokio::test]
async fn bad_queries_are_json_errors() {
    for v in Events::VERSIONS {
        let t = TestApp::start(Backend::Sqlite).await;
        let (status, headers, body) = events().invoke(&t.app, &format!("{v}bad-tags.json")).await;
        assert_eq!(
            (status, body["error"].as_str()),
            (400, Some("invalid_tags")),
            "{v}: {body}"
        );
        assert_eq!(headers["content-type"], "application/json");
    }
}

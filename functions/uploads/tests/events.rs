//! `uploads` as Lambda runs it: its API Gateway events (HTTP API v2 in
//! `events/`, REST API v1 with stage `prod` in `events/v1/`, written by
//! scripts/gen-events.py) through its own Lambda service.

use pictures_testkit::*;

fn events() -> Events {
    Events::of("uploads", env!("CARGO_MANIFEST_DIR"))
}

#[tokio::test]
async fn links_and_upload_urls() {
    for v in Events::VERSIONS {
        let t = TestApp::start(Backend::Sqlite).await;
        let (status, _, body) = events()
            .invoke(&t.app, &format!("{v}upload-link.json"))
            .await;
        assert_eq!(status, 201, "{v}: {body}");
        let id = body["upload_id"].as_str().unwrap();
        assert_eq!(id.len(), 32);
        assert_eq!(body["url"], format!("/uploads/{id}"));
        for (event, n) in [("upload-urls", 2), ("upload-urls-seed-004", 3)] {
            let (status, _, body) = events().invoke(&t.app, &format!("{v}{event}.json")).await;
            assert_eq!(status, 200, "{v}{event}: {body}");
            let urls = body["image_upload_urls"].as_array().unwrap();
            assert_eq!(urls.len(), n, "{v}{event}");
            for u in urls {
                assert_eq!(u["method"], "PUT");
                let url = u["url"].as_str().unwrap();
                assert!(
                    url.starts_with(&format!(
                        "/uploads/put/{}?expires=",
                        u["image_id"].as_str().unwrap()
                    )),
                    "{url}"
                );
            }
        }
        let (status, _, body) = events()
            .invoke(&t.app, &format!("{v}upload-urls-too-many.json"))
            .await;
        assert_eq!(
            (status, body["error"].as_str()),
            (400, Some("invalid_count")),
            "{v}"
        );
    }
}

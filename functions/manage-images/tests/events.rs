//! `manage-images` as Lambda runs it: its API Gateway events (HTTP API v2 in
//! `events/`, REST API v1 with stage `prod` in `events/v1/`, written by
//! scripts/gen-events.py) through its own Lambda service.

use pictures_testkit::*;

fn events() -> Events {
    Events::of("manage-images", env!("CARGO_MANIFEST_DIR"))
}

fn admin() -> Options {
    Options {
        vars: vec![("API_KEYS".into(), "test-admin-key".into())],
        ..Options::default()
    }
}

#[tokio::test]
async fn an_admin_renames_tags_and_deletes_a_picture() {
    for v in Events::VERSIONS {
        let t = TestApp::start_with(Backend::Sqlite, admin()).await;
        assert_eq!(
            t.post_image(&fixture("no_time_for_that_tiny.gif"), "")
                .await
                .status(),
            201
        );
        let (status, headers, body) = events().invoke(&t.app, &format!("{v}patch.json")).await;
        assert_eq!(status, 200, "{v}: {body}");
        assert_eq!(headers["content-type"], "application/json");
        assert_eq!(body["name"], "tiny.gif", "{v}");
        let pixel = body["tags"]
            .as_array()
            .unwrap()
            .iter()
            .find(|t| t["tag"] == "pixel")
            .cloned();
        assert_eq!(
            pixel,
            Some(serde_json::json!({"tag": "pixel", "confidence": 100.0, "source": "user"})),
            "{v}"
        );
        // Anonymous callers may not delete anonymous pictures: the 404 of no picture.
        let (status, _, body) = events()
            .invoke(&t.app, &format!("{v}delete-anonymous.json"))
            .await;
        assert_eq!(
            (status, body["error"].as_str()),
            (404, Some("not_found")),
            "{v}"
        );
        assert_eq!(t.row_counts().await.0, 1);
        let (status, _, _) = events().invoke(&t.app, &format!("{v}delete.json")).await;
        assert_eq!(status, 204, "{v}");
        assert_eq!(t.row_counts().await, (0, 0), "{v}: rows gone");
        assert!(
            t.files().iter().all(|f| f.is_dir()),
            "{v}: file gone: {:?}",
            t.files()
        );
        let (status, _, body) = events()
            .invoke(&t.app, &format!("{v}delete-many.json"))
            .await;
        assert_eq!(status, 200, "{v}: {body}");
        assert_eq!(
            body,
            serde_json::json!({"deleted": [], "not_found": [1, 999]}),
            "{v}"
        );
    }
}

#[tokio::test]
async fn serves_only_its_own_routes() {
    let t = TestApp::start(Backend::Sqlite).await;
    for v in Events::VERSIONS {
        let stats = repo_root().join(format!("functions/get-tags/events/{v}all.json"));
        let (status, _, body) = invoke_event(&t.app, "manage-images", &stats).await;
        assert_eq!(
            (status, body["error"].as_str()),
            (404, Some("not_found")),
            "{v}"
        );
    }
    t.assert_nothing_stored().await;
}

//! `accounts` as Lambda runs it: its API Gateway events (HTTP API v2 in
//! `events/`, REST API v1 with stage `prod` in `events/v1/`, written by
//! scripts/gen-events.py) through its own Lambda service.

use pictures_testkit::*;

fn events() -> Events {
    Events::of("accounts", env!("CARGO_MANIFEST_DIR"))
}

#[tokio::test]
async fn an_admin_creates_a_user_whose_key_works_at_once() {
    for v in Events::VERSIONS {
        let options = Options {
            vars: vec![("API_KEYS".into(), "test-admin-key".into())],
            ..Options::default()
        };
        let t = TestApp::start_with(Backend::Sqlite, options).await;
        let (status, headers, body) = events()
            .invoke(&t.app, &format!("{v}create-user.json"))
            .await;
        assert_eq!(status, 201, "{v}: {body}");
        assert_eq!(headers["content-type"], "application/json");
        assert_eq!(body["email"], "ann@example.org");
        assert_eq!(body["image_upload_count"], 0);
        let key = body["api_key"].as_str().unwrap();
        // The same email again is a conflict.
        let (status, _, again) = events()
            .invoke(&t.app, &format!("{v}create-user.json"))
            .await;
        assert_eq!(
            (status, again["error"].as_str()),
            (409, Some("conflict")),
            "{v}"
        );
        // The key works through the local API straight away.
        let me: serde_json::Value = t
            .client
            .get(format!("{}/users/me", t.url))
            .header("x-api-key", key)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(me["id"], body["id"], "{v}");
    }
}

#[tokio::test]
async fn no_key_and_a_wrong_key_are_401() {
    for v in Events::VERSIONS {
        let t = TestApp::start(Backend::Sqlite).await;
        for event in ["me-anonymous", "me-bad-key"] {
            let (status, _, body) = events().invoke(&t.app, &format!("{v}{event}.json")).await;
            assert_eq!(
                (status, body["error"].as_str()),
                (401, Some("unauthorized")),
                "{v}{event}"
            );
            assert!(body["detail"].as_str().is_some(), "{body}");
        }
    }
}

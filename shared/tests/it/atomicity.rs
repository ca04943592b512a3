//! Every step of a registration made to fail: the answer is the right JSON
//! error, and nothing is left behind — no row, no file, no staged copy.

use crate::common::*;
use serde_json::json;
use std::time::Duration;
use wiremock::ResponseTemplate;

both_backends! {
    async fn imagga_down(backend) {
        let t = TestApp::start(backend).await;
        t.cloud.fail_imagga(ResponseTemplate::new(500).set_body_string("internal error"));
        let body = assert_error(t.post_image(&fixture("rocket.jpg"), "").await, 502, "tagging_failed").await;
        assert!(body["message"].as_str().unwrap().contains("Imagga"), "{body}");
        t.assert_nothing_stored().await;
        assert_eq!(t.cloud.counts(), (1, 1, 1), "the staged copy was deleted although tagging failed");
    }

    async fn database_insert_fails(backend) {
        let t = TestApp::start(backend).await;
        // The pictures row goes in; the tags insert is refused: the whole
        // transaction rolls back and the stored file is removed.
        t.execute(match backend {
            Backend::Sqlite => "CREATE TRIGGER refuse_tags BEFORE INSERT ON tags BEGIN SELECT RAISE(ABORT, 'refused'); END",
            Backend::MySql => "CREATE TRIGGER refuse_tags BEFORE INSERT ON tags FOR EACH ROW SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'refused'",
        }).await;
        let body = assert_error(t.post_image(&fixture("rocket.jpg"), "").await, 500, "internal_error").await;
        assert!(!body["message"].as_str().unwrap().contains("refused"), "no SQL error text: {body}");
        t.assert_nothing_stored().await;
    }

    async fn store_not_writable(backend) {
        let t = TestApp::start(backend).await;
        // The image folder is gone and a plain file stands in its place.
        std::fs::remove_dir_all(&t.images).unwrap();
        std::fs::write(&t.images, b"not a folder").unwrap();
        let body = assert_error(t.post_image(&fixture("rocket.jpg"), "").await, 503, "store_unavailable").await;
        assert!(!body["message"].as_str().unwrap().contains(&*t.images.display().to_string()), "{body}");
        assert_eq!(t.row_counts().await, (0, 0));
        assert!(t.cloud.staged().is_empty());
    }
}

#[tokio::test]
async fn imagga_times_out() {
    let t = TestApp::start_with(
        Backend::Sqlite,
        Options {
            tagger_timeout_secs: 1,
            ..Options::default()
        },
    )
    .await;
    t.cloud.fail_imagga(
        ResponseTemplate::new(200)
            .set_body_json(json!({"result": {"tags": []}}))
            .set_delay(Duration::from_secs(3)),
    );
    let body = assert_error(
        t.post_image(&fixture("rocket.jpg"), "").await,
        502,
        "tagging_failed",
    )
    .await;
    assert!(
        body["message"].as_str().unwrap().contains("timed out"),
        "{body}"
    );
    t.assert_nothing_stored().await;
}

#[tokio::test]
async fn imagga_answers_nonsense() {
    let t = TestApp::start(Backend::Sqlite).await;
    for answer in [
        ResponseTemplate::new(200).set_body_string("<html>maintenance</html>"),
        ResponseTemplate::new(200).set_body_json(
            json!({"result": {"tags": [{"confidence": "high", "tag": {"en": "x"}}]}}),
        ),
        ResponseTemplate::new(200).set_body_json(
            json!({"result": {"tags": [{"confidence": 250.0, "tag": {"en": "x"}}]}}),
        ),
        ResponseTemplate::new(200).set_body_json(json!({"status": {"type": "success"}})),
    ] {
        t.cloud.fail_imagga(answer);
        assert_error(
            t.post_image(&fixture("rocket.jpg"), "").await,
            502,
            "tagging_failed",
        )
        .await;
        t.assert_nothing_stored().await;
    }
}

#[tokio::test]
async fn imagekit_upload_fails() {
    let t = TestApp::start(Backend::Sqlite).await;
    t.cloud
        .fail_uploads(ResponseTemplate::new(503).set_body_json(json!({"message": "busy"})));
    assert_error(
        t.post_image(&fixture("rocket.jpg"), "").await,
        502,
        "tagging_failed",
    )
    .await;
    t.assert_nothing_stored().await;
    assert_eq!(
        t.cloud.counts(),
        (1, 0, 0),
        "Imagga is not asked without a staged URL"
    );
}

#[tokio::test]
async fn wrong_imagga_keys_give_502_without_secrets() {
    let t = TestApp::start_with(
        Backend::Sqlite,
        Options {
            vars: vec![("IMAGGA_API_SECRET".into(), "wrong-secret-value".into())],
            ..Options::default()
        },
    )
    .await;
    let r = t.post_image(&fixture("rocket.jpg"), "").await;
    let text = format!("{:?}", r.headers());
    let body = assert_error(r, 502, "tagging_failed").await.to_string();
    for secret in ["wrong-secret-value", IMAGGA_KEY, IMAGEKIT_PRIVATE_KEY] {
        assert!(!body.contains(secret) && !text.contains(secret), "{body}");
    }
    t.assert_nothing_stored().await;
}

#[tokio::test]
async fn database_unreachable() {
    // Nothing listens on port 9: connecting is refused at once.
    let t = TestApp::start_with(
        Backend::MySql,
        Options {
            database_url: Some("mysql://root@127.0.0.1:9/pictures".into()),
            ..Options::default()
        },
    )
    .await;
    let r = t.post_image(&fixture("rocket.jpg"), "").await;
    assert_error(r, 503, "database_unavailable").await;
    assert!(t.files().is_empty(), "the stored file was removed again");
    assert!(t.cloud.staged().is_empty());
    assert_error(t.get("/images").await, 503, "database_unavailable").await;
    assert_error(t.get("/images/1").await, 503, "database_unavailable").await;
    assert_error(t.get("/tags").await, 503, "database_unavailable").await;
}

#[tokio::test]
async fn sqlite_file_unopenable() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("pictures.db")).unwrap(); // a folder where the file should be
    let url = format!("sqlite://{}/pictures.db", dir.path().display());
    let t = TestApp::start_with(
        Backend::Sqlite,
        Options {
            database_url: Some(url),
            ..Options::default()
        },
    )
    .await;
    assert_error(t.get("/images").await, 503, "database_unavailable").await;
    assert_error(
        t.post_image(&fixture("rocket.jpg"), "").await,
        503,
        "database_unavailable",
    )
    .await;
    assert!(t.files().is_empty());
}

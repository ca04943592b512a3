//! `tag-image` as Lambda runs it: SQS batches (`events/sqs*.json`) and the
//! scheduled drain (`events/schedule.json`), written by
//! scripts/gen-events.py, handed to its handler.

use pictures_testkit::*;
use serde_json::Value;
use std::path::{Path, PathBuf};

fn event(name: &str) -> Value {
    let path: PathBuf = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("events")
        .join(name);
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

/// A process with no worker of its own, as on Lambda: queued pictures wait
/// until `tag-image` runs.
fn queued_elsewhere() -> Options {
    Options {
        vars: vec![
            (
                "TAG_QUEUE_URL".into(),
                "http://127.0.0.1:9/queue/none".into(),
            ),
            ("AWS_REGION".into(), "eu-west-1".into()),
            ("AWS_ACCESS_KEY_ID".into(), "x".into()),
            ("AWS_SECRET_ACCESS_KEY".into(), "x".into()),
        ],
        ..Options::default()
    }
}

#[tokio::test]
async fn messages_tag_their_pictures_once() {
    let t = TestApp::start_with(Backend::Sqlite, queued_elsewhere()).await;
    for name in ["rocket.jpg", "no_time_for_that_tiny.gif"] {
        let r = t.post_image(&fixture(name), "?async=true").await;
        assert_eq!(r.status(), 201);
        let body: Value = r.json().await.unwrap();
        assert_eq!(body["status"], "pending");
        assert_eq!(body["tags"], serde_json::json!([]));
    }
    let answer = pictures::lambda::tag_image(&t.app, event("sqs.json"))
        .await
        .unwrap();
    assert_eq!(answer, serde_json::json!({"batchItemFailures": []}));
    for id in [1, 2] {
        let p = t.get_json(&format!("/images/{id}")).await;
        assert_eq!(p["status"], "tagged", "{p}");
        assert_eq!(p["tags"][0]["tag"], "rocket");
    }
    let tags_before = t.row_counts().await;
    // The same messages again (SQS delivers at least once): nothing changes.
    let answer = pictures::lambda::tag_image(&t.app, event("sqs.json"))
        .await
        .unwrap();
    assert_eq!(answer, serde_json::json!({"batchItemFailures": []}));
    assert_eq!(t.row_counts().await, tags_before);
    let stats = t.get_json("/tags").await;
    assert_eq!(stats[0]["n_images"], 2, "{stats}");
    // A picture that is gone is nothing to retry.
    let answer = pictures::lambda::tag_image(&t.app, event("sqs-unknown.json"))
        .await
        .unwrap();
    assert_eq!(answer, serde_json::json!({"batchItemFailures": []}));
}

#[tokio::test]
async fn a_failing_tagger_reports_the_message_for_redelivery() {
    let t = TestApp::start_with(Backend::Sqlite, queued_elsewhere()).await;
    assert_eq!(
        t.post_image(&fixture("rocket.jpg"), "?async=true")
            .await
            .status(),
        201
    );
    assert_eq!(
        t.post_image(&fixture("chelsea.png"), "?async=true")
            .await
            .status(),
        201
    );
    t.cloud.fail_imagga(wiremock::ResponseTemplate::new(500));
    let answer = pictures::lambda::tag_image(&t.app, event("sqs.json"))
        .await
        .unwrap();
    assert_eq!(
        answer,
        serde_json::json!({"batchItemFailures": [{"itemIdentifier": "m-1"}, {"itemIdentifier": "m-2"}]})
    );
    assert_eq!(t.get_json("/images/1").await["status"], "pending");
    // The scheduled drain takes what is due once the service is back.
    t.cloud.set_tags(&[("rocket", 95.5)]);
    t.cloud.clear_imagga_failure();
    let answer = pictures::lambda::tag_image(&t.app, event("schedule.json"))
        .await
        .unwrap();
    assert_eq!(
        answer,
        serde_json::json!({"drained": 2, "expired_upload_slots": 0})
    );
    assert_eq!(t.get_json("/images/2").await["status"], "tagged");
}

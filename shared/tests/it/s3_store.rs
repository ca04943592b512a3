//! The S3 image store against a real S3-compatible server on loopback
//! (s3s-fs, which checks request signatures), one server per test.

use crate::common::*;

both_backends! {
    async fn upload_and_read_back_on_s3(backend) {
        let s3 = S3Server::start();
        let t = TestApp::start_with(backend, s3_options(&s3.url, SECRET_KEY)).await;
        let rocket = fixture("rocket.jpg");
        let r = t.post_image(&rocket, "").await;
        assert_eq!(r.status(), 201);
        let posted: serde_json::Value = r.json().await.unwrap();
        let id = posted["id"].as_i64().unwrap();
        let objects = s3.objects();
        assert_eq!(objects.len(), 1, "{objects:?}");
        assert_eq!(std::fs::read(&objects[0]).unwrap(), rocket);
        assert!(objects[0].starts_with(s3.root.path().join(BUCKET).join("images")), "below the prefix");
        assert_eq!(t.get_json(&format!("/images/{id}")).await["data"], posted["data"]);
        assert_eq!(t.get_json(&format!("/images/{id}")).await["tags"], posted["tags"]);
        assert_eq!(t.get_json("/images?tags=rocket").await.as_array().unwrap().len(), 1);
        assert!(t.files().is_empty(), "nothing in a local folder");
    }
}

#[tokio::test]
async fn a_missing_object_is_503() {
    let s3 = S3Server::start();
    let t = TestApp::start_with(Backend::Sqlite, s3_options(&s3.url, SECRET_KEY)).await;
    let r = t.post_image(&fixture("rocket.jpg"), "").await;
    let id = r.json::<serde_json::Value>().await.unwrap()["id"]
        .as_i64()
        .unwrap();
    std::fs::remove_file(&s3.objects()[0]).unwrap();
    assert_error(
        t.get(&format!("/images/{id}")).await,
        503,
        "image_unavailable",
    )
    .await;
}

#[tokio::test]
async fn wrong_credentials_store_nothing() {
    let s3 = S3Server::start();
    let t = TestApp::start_with(Backend::Sqlite, s3_options(&s3.url, "not-the-secret")).await;
    let body = assert_error(
        t.post_image(&fixture("rocket.jpg"), "").await,
        503,
        "store_unavailable",
    )
    .await;
    assert!(!body.to_string().contains("not-the-secret"));
    assert_eq!(t.row_counts().await, (0, 0));
    assert!(s3.objects().is_empty());
    assert!(t.cloud.staged().is_empty());
}

#[tokio::test]
async fn an_unreachable_store_leaves_no_row() {
    let s3 = S3Server::start();
    let endpoint = s3.url.clone();
    drop(s3); // the server is gone before the upload
    let t = TestApp::start_with(Backend::Sqlite, s3_options(&endpoint, SECRET_KEY)).await;
    assert_error(
        t.post_image(&fixture("rocket.jpg"), "").await,
        503,
        "store_unavailable",
    )
    .await;
    assert_eq!(t.row_counts().await, (0, 0));
    assert!(t.cloud.staged().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn imagga_fetches_a_presigned_staging_url() {
    let s3 = S3Server::start();
    let mut options = s3_options(&s3.url, SECRET_KEY);
    options.vars.push(("IMAGGA_STAGING".into(), "s3".into()));
    let t = TestApp::start_with(Backend::Sqlite, options).await;
    let rocket = fixture("rocket.jpg");
    let r = t.post_image(&rocket, "").await;
    assert_eq!(r.status(), 201);
    // Imagga downloaded exactly the upload through the presigned URL...
    assert_eq!(t.cloud.fetched(), vec![(200, rocket.clone())]);
    // ...ImageKit was never used, and only the stored picture remains.
    assert_eq!(t.cloud.counts(), (0, 1, 0));
    let objects = s3.objects();
    assert_eq!(objects.len(), 1, "the staging copy is deleted: {objects:?}");
    assert!(!objects[0].to_string_lossy().contains("staging"));

    // Tagging fails: the staging copy is deleted all the same.
    t.cloud.fail_imagga(wiremock::ResponseTemplate::new(500));
    assert_error(
        t.post_image(&fixture("chelsea.png"), "").await,
        502,
        "tagging_failed",
    )
    .await;
    assert_eq!(s3.objects().len(), 1);
}

/// An S3 endpoint that answers `SlowDown` (503) to the first `failures` PUTs
/// and accepts the rest; what the SDK retries and what it gives up on.
async fn throttling_s3(failures: u64) -> wiremock::MockServer {
    use wiremock::matchers::method;
    use wiremock::{Mock, MockServer, ResponseTemplate};
    let server = MockServer::start().await;
    let slow_down = ResponseTemplate::new(503)
        .insert_header("content-type", "application/xml")
        .set_body_string(
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>SlowDown</Code>\
             <Message>Please reduce your request rate.</Message>\
             <RequestId>4442587FB7D0A2F9</RequestId></Error>",
        );
    Mock::given(method("PUT"))
        .respond_with(slow_down)
        .up_to_n_times(failures)
        .with_priority(1)
        .mount(&server)
        .await;
    Mock::given(method("PUT"))
        .respond_with(
            ResponseTemplate::new(200)
                .insert_header("etag", "\"9b2cf535f27731c974343645a3985328\""),
        )
        .with_priority(2)
        .mount(&server)
        .await;
    server
}

async fn puts(server: &wiremock::MockServer) -> usize {
    let requests = server.received_requests().await.unwrap();
    requests
        .iter()
        .filter(|r| r.method.as_str() == "PUT")
        .count()
}

#[tokio::test]
async fn slow_down_is_retried() {
    let s3 = throttling_s3(2).await;
    let t = TestApp::start_with(Backend::Sqlite, s3_options(&s3.uri(), SECRET_KEY)).await;
    let r = t.post_image(&fixture("rocket.jpg"), "").await;
    assert_eq!(r.status(), 201, "two SlowDowns, then the put went through");
    assert_eq!(puts(&s3).await, 3);
    assert_eq!(t.row_counts().await.0, 1);
}

#[tokio::test]
async fn slow_down_that_does_not_stop_is_503_and_stores_nothing() {
    let s3 = throttling_s3(u64::MAX).await;
    let t = TestApp::start_with(Backend::Sqlite, s3_options(&s3.uri(), SECRET_KEY)).await;
    assert_error(
        t.post_image(&fixture("rocket.jpg"), "").await,
        503,
        "store_unavailable",
    )
    .await;
    assert_eq!(
        puts(&s3).await,
        3,
        "the SDK's standard retries: three attempts"
    );
    assert_eq!(t.row_counts().await, (0, 0));
}

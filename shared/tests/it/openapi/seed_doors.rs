//! The doors of the seed services kept for their clients: seed 002's
//! files by content hash and statistics, seed 003's colour services with
//! form fields.

use super::ADMIN;
use super::client::{Api, Covers};
use super::fixtures::*;
use crate::common::*;
use serde_json::json;

pub(super) const SEED_002: Covers = Covers {
    operations: &[("GET", "/api/images/{image_id}"), ("GET", "/api/stats")],
    statuses: &[200, 304, 400, 401, 404],
};

/// Seed 002: files by content hash, statistics.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn seed_002_files_and_statistics() {
    let t = open_app().await;
    let api = Api::new(&t);
    let World {
        first,
        key_a,
        private,
        ..
    } = world(&api).await;
    let hash = text(&private["hash"]);
    let by_hash = format!("/api/images/{}", text(&first["hash"]));
    let (headers, _) = api
        .req("get", "/api/images/{image_id}", &by_hash)
        .answer(200)
        .await;
    let etag = headers["etag"].to_str().unwrap().to_string();
    api.req("get", "/api/images/{image_id}", &by_hash)
        .header("if-none-match", &etag)
        .expect(304)
        .await;
    api.req(
        "get",
        "/api/images/{image_id}",
        &format!("/api/images/{hash}"),
    )
    .expect(404)
    .await;
    api.req(
        "get",
        "/api/images/{image_id}",
        &format!("/api/images/{hash}"),
    )
    .key(&key_a)
    .expect(200)
    .await;
    api.req("get", "/api/images/{image_id}", "/api/images/xyz")
        .expect(404)
        .await;
    api.req("get", "/api/images/{image_id}", &by_hash)
        .key("nope")
        .expect(401)
        .await;
    api.req("get", "/api/stats", "/api/stats").expect(200).await;
    api.req("get", "/api/stats", "/api/stats")
        .key(ADMIN)
        .expect(200)
        .await;
    api.req("get", "/api/stats", "/api/stats?days=3")
        .expect(400)
        .await;
    api.req("get", "/api/stats", "/api/stats")
        .key("nope")
        .expect(401)
        .await;
    api.covered(&SEED_002);
}

pub(super) const SEED_003: Covers = Covers {
    operations: &[
        ("POST", "/prominent-colors"),
        ("POST", "/rgb2hex"),
        ("POST", "/centroids"),
    ],
    statuses: &[200, 400, 401],
};

/// Seed 003: colour services with form fields.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn seed_003_colour_services() {
    let t = open_app().await;
    let api = Api::new(&t);
    let rocket = fixture("rocket.jpg");
    let tiny = tiny();
    let form = files(&[("image", "rocket.jpg", rocket.clone())]).text("k", "4");
    let prominent = api
        .req("post", "/prominent-colors", "/prominent-colors")
        .multipart(form)
        .expect(200)
        .await;
    assert_eq!(prominent[0].as_array().unwrap().len(), 4, "{prominent}");
    api.req("post", "/prominent-colors", "/prominent-colors")
        .json(upload(&tiny))
        .expect(400)
        .await;
    let form = files(&[("image", "notes.txt", b"no".to_vec())]);
    api.req("post", "/prominent-colors", "/prominent-colors")
        .multipart(form)
        .expect(400)
        .await;
    let form = files(&[("image", "tiny.png", tiny.clone())]);
    api.req("post", "/prominent-colors", "/prominent-colors")
        .key("nope")
        .multipart(form)
        .expect(401)
        .await;
    let hex = api
        .req("post", "/rgb2hex", "/rgb2hex")
        .form(&[("rgbs", "[[255, 0, 0], [0, 128, 255]]")])
        .expect(200)
        .await;
    assert_eq!(hex, json!(["#ff0000", "#0080ff"]));
    let form = reqwest::multipart::Form::new().text("rgbs", "[[1, 2, 3]]");
    api.req("post", "/rgb2hex", "/rgb2hex")
        .multipart(form)
        .expect(200)
        .await;
    api.req("post", "/rgb2hex", "/rgb2hex")
        .form(&[("rgbs", "[[256, 0, 0]]")])
        .expect(400)
        .await;
    api.req("post", "/rgb2hex", "/rgb2hex")
        .json(json!({"rgbs": [[1, 2, 3]]}))
        .expect(400)
        .await;
    api.req("post", "/rgb2hex", "/rgb2hex")
        .key("nope")
        .form(&[("rgbs", "[]")])
        .expect(401)
        .await;
    let pie = [
        ("colors", r##"["#ff0000", "#0080ff"]"##),
        ("counts", "[3, 1]"),
    ];
    api.req("post", "/centroids", "/centroids")
        .form(&pie)
        .expect(200)
        .await;
    api.req("post", "/centroids", "/centroids")
        .form(&[("colors", "[]"), ("counts", "[]")])
        .expect(400)
        .await;
    api.req("post", "/centroids", "/centroids")
        .form(&[("colors", r#"["red"]"#), ("counts", "[1]")])
        .expect(400)
        .await;
    api.req("post", "/centroids", "/centroids")
        .key("nope")
        .form(&pie)
        .expect(401)
        .await;
    api.covered(&SEED_003);
}

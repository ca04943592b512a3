//! Uploads of another kind: links that take files without credentials
//! (and the seed's door to them), presigned upload URLs, their PUT, and
//! the batch registration of what was put.

use super::client::{Api, Covers};
use super::fixtures::*;
use crate::common::*;
use serde_json::{Value, json};

pub(super) const LINKS: Covers = Covers {
    operations: &[
        ("POST", "/upload-links"),
        ("POST", "/uploads/{upload_id}"),
        ("POST", "/api/generate-upload-link"),
        ("POST", "/api/upload-images/{upload_id}"),
    ],
    statuses: &[200, 201, 400, 401, 404, 410, 415],
};

/// Upload links, and seed 001's door to them.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn upload_links() {
    let t = open_app().await;
    let api = Api::new(&t);
    let key_a = user(&api, "ann@example.org").await;
    let tiny = tiny();
    let link = api
        .req("post", "/upload-links", "/upload-links")
        .key(&key_a)
        .json(json!({"expiry": 60}))
        .expect(201)
        .await;
    api.req("post", "/upload-links", "/upload-links")
        .json(json!({"expiry": 0}))
        .expect(400)
        .await;
    api.req("post", "/upload-links", "/upload-links")
        .body("text/plain", "x")
        .expect(415)
        .await;
    api.req("post", "/upload-links", "/upload-links")
        .key("nope")
        .json(json!({"expiry": 60}))
        .expect(401)
        .await;
    let link_url = text(&link["url"]);
    let form = files(&[("image_files", "six.png", distinct_png(6))]);
    api.req(
        "post",
        "/uploads/{upload_id}",
        &format!("{link_url}?private=true"),
    )
    .multipart(form)
    .expect(200)
    .await;
    let form = files(&[("f", "seven.png", distinct_png(7))]);
    let unknown = format!("/uploads/{}", "0".repeat(32));
    api.req("post", "/uploads/{upload_id}", &unknown)
        .multipart(form)
        .expect(404)
        .await;
    api.req("post", "/uploads/{upload_id}", &link_url)
        .json(upload(&tiny))
        .expect(400)
        .await;
    let seed_link = api
        .req(
            "post",
            "/api/generate-upload-link",
            "/api/generate-upload-link",
        )
        .key(&key_a)
        .json(json!({"expiry": 60}))
        .expect(200)
        .await;
    api.req(
        "post",
        "/api/generate-upload-link",
        "/api/generate-upload-link",
    )
    .key(&key_a)
    .json(json!({"expiry": -1}))
    .expect(400)
    .await;
    api.req(
        "post",
        "/api/generate-upload-link",
        "/api/generate-upload-link",
    )
    .key(&key_a)
    .body("text/plain", "x")
    .expect(415)
    .await;
    api.req(
        "post",
        "/api/generate-upload-link",
        "/api/generate-upload-link",
    )
    .key("nope")
    .json(json!({"expiry": 60}))
    .expect(401)
    .await;
    let seed_url = format!("/api/upload-images/{}", text(&seed_link["upload_id"]));
    let form = files(&[
        ("image_files", "seven.png", distinct_png(7)),
        ("image_files", "notes.txt", b"no".to_vec()),
    ]);
    let answer = api
        .req("post", "/api/upload-images/{upload_id}", &seed_url)
        .multipart(form)
        .expect(200)
        .await;
    assert_eq!(answer["seven.png"].as_str().unwrap().len(), 64, "{answer}");
    assert_eq!(answer["notes.txt"]["error"], "not_an_image");
    let form = files(&[("image_files", "seven.png", distinct_png(7))]);
    api.req(
        "post",
        "/api/upload-images/{upload_id}",
        &format!("/api/upload-images/{}", "0".repeat(32)),
    )
    .multipart(form)
    .expect(404)
    .await;
    api.req("post", "/api/upload-images/{upload_id}", &seed_url)
        .json(upload(&tiny))
        .expect(400)
        .await;
    t.execute("UPDATE upload_links SET expires = 1").await;
    let form = files(&[("image_files", "eight.png", distinct_png(8))]);
    api.req("post", "/uploads/{upload_id}", &link_url)
        .multipart(form)
        .expect(410)
        .await;
    let form = files(&[("image_files", "eight.png", distinct_png(8))]);
    api.req("post", "/api/upload-images/{upload_id}", &seed_url)
        .multipart(form)
        .expect(410)
        .await;
    api.covered(&LINKS);
}

pub(super) const PRESIGNED: Covers = Covers {
    operations: &[
        ("POST", "/upload-urls"),
        ("PUT", "/uploads/put/{image_id}"),
        ("POST", "/images/batch"),
        ("GET", "/images/upload_urls"),
    ],
    statuses: &[200, 400, 401, 403, 404, 415],
};

/// Presigned upload URLs, their PUT, and registering what was put.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn presigned_upload_urls_and_batches() {
    let t = open_app().await;
    let api = Api::new(&t);
    let key_a = user(&api, "ann@example.org").await;
    let signer = t.app.signer().await.unwrap();
    let urls = api
        .req("post", "/upload-urls", "/upload-urls")
        .key(&key_a)
        .json(json!({"count": 2}))
        .expect(200)
        .await;
    api.req("post", "/upload-urls", "/upload-urls")
        .json(json!({"count": 0}))
        .expect(400)
        .await;
    api.req("post", "/upload-urls", "/upload-urls")
        .body("text/plain", "x")
        .expect(415)
        .await;
    api.req("post", "/upload-urls", "/upload-urls")
        .key("nope")
        .json(json!({"count": 1}))
        .expect(401)
        .await;
    let (id0, put0) = slot(&urls, 0);
    let (id1, put1) = slot(&urls, 1);
    let nine = distinct_png(9);
    let put = |target: &str| api.req("put", "/uploads/put/{image_id}", target);
    put(&put0).body("image/png", nine.clone()).expect(200).await;
    put(&put1)
        .body("application/octet-stream", Vec::new())
        .expect(400)
        .await;
    put(&format!("/uploads/put/{id1}"))
        .body("image/png", nine.clone())
        .expect(403)
        .await;
    put(&format!("{put1}0"))
        .body("image/png", nine.clone())
        .expect(403)
        .await;
    let later = chrono::Utc::now().timestamp() + 600;
    let nobody = format!("/uploads/put/{}", "0".repeat(32));
    let sig = signer.sign(&nobody, later);
    put(&format!("{nobody}?expires={later}&sig={sig}"))
        .body("image/png", nine.clone())
        .expect(404)
        .await;
    put(&format!("{put1}&x=1"))
        .body("image/png", nine.clone())
        .expect(400)
        .await;
    let batch = json!({"images": [
        {"image_id": id0, "name": "nine", "hash": md5_hex(&nine), "is_private": true, "tags": [{"name": "pet"}]},
        {"image_id": id1, "name": "never uploaded"},
    ]});
    let answer = api
        .req("post", "/images/batch", "/images/batch")
        .key(&key_a)
        .json(batch)
        .expect(200)
        .await;
    assert_eq!(answer["images"].as_array().unwrap().len(), 1, "{answer}");
    assert_eq!(answer["errors"][0]["error"], "not_uploaded");
    let too_many: Vec<Value> = (0..101).map(|_| json!({"image_id": id1})).collect();
    api.req("post", "/images/batch", "/images/batch")
        .key(&key_a)
        .json(json!({"images": too_many}))
        .expect(400)
        .await;
    api.req("post", "/images/batch", "/images/batch")
        .key(&key_a)
        .body("text/plain", "x")
        .expect(415)
        .await;
    api.req("post", "/images/batch", "/images/batch")
        .key("nope")
        .json(json!({"images": []}))
        .expect(401)
        .await;
    api.req(
        "get",
        "/images/upload_urls",
        "/images/upload_urls?image_count=1",
    )
    .key(&key_a)
    .expect(200)
    .await;
    api.req("get", "/images/upload_urls", "/images/upload_urls")
        .key(&key_a)
        .expect(400)
        .await;
    api.req(
        "get",
        "/images/upload_urls",
        "/images/upload_urls?image_count=1",
    )
    .key("nope")
    .expect(401)
    .await;
    api.covered(&PRESIGNED);
}

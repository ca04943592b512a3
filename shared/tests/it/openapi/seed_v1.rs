//! Seed 004's routes (`/api/v1/...`), with the outside auth service's
//! tokens: upload URLs, registering and deleting pictures, the private
//! summary, and users. Its errors always carry `detail`.

use super::ADMIN;
use super::client::{Api, Covers};
use super::fixtures::*;
use crate::common::*;
use serde_json::json;

pub(super) const SEED_V1: Covers = Covers {
    operations: &[
        ("GET", "/api/v1/images/upload_urls"),
        ("PUT", "/uploads/put/{image_id}"),
        ("POST", "/api/v1/images"),
        ("GET", "/api/v1/images/private/summary"),
        ("DELETE", "/api/v1/images"),
        ("POST", "/api/v1/users"),
        ("DELETE", "/api/v1/users"),
    ],
    statuses: &[200, 201, 204, 400, 401, 403, 409, 413, 415],
};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn seed_004_with_tokens() {
    let t = open_app().await;
    let api = Api::new(&t);
    let key_a = user(&api, "ann@example.org").await;
    let carol = token("carol");
    api.req("post", "/users", "/users")
        .bearer(&carol)
        .expect(201)
        .await;
    let put = |target: &str| api.req("put", "/uploads/put/{image_id}", target);
    let json_type = ("content-type", "application/json");
    let v1_urls = api
        .req(
            "get",
            "/api/v1/images/upload_urls",
            "/api/v1/images/upload_urls?image_count=2",
        )
        .bearer(&carol)
        .expect(200)
        .await;
    api.req(
        "get",
        "/api/v1/images/upload_urls",
        "/api/v1/images/upload_urls?image_count=0",
    )
    .bearer(&carol)
    .expect(400)
    .await;
    api.req(
        "get",
        "/api/v1/images/upload_urls",
        "/api/v1/images/upload_urls?image_count=1",
    )
    .bearer("a.b.c")
    .expect(401)
    .await;
    let (v0, vput0) = slot(&v1_urls, 0);
    let (v1, _) = slot(&v1_urls, 1);
    let ten = distinct_png(10);
    put(&vput0).body("image/png", ten.clone()).expect(200).await;
    let batch = json!({"images": [
        {"id": v0, "name": "ten", "hash": md5_hex(&ten), "is_private": "false", "tags": [{"name": "x"}]},
        {"id": v1, "name": "never uploaded"},
    ]});
    let answer = api
        .req("post", "/api/v1/images", "/api/v1/images")
        .bearer(&carol)
        .json(batch)
        .expect(200)
        .await;
    assert_eq!(answer["images"][0]["id"], json!(v0), "{answer}");
    assert_eq!(answer["errors"][0]["id"], json!(v1), "{answer}");
    api.req("post", "/api/v1/images", "/api/v1/images")
        .bearer(&carol)
        .body("text/plain", "x")
        .expect(415)
        .await;
    api.req("post", "/api/v1/images", "/api/v1/images")
        .bearer(&carol)
        .json(json!({"pictures": []}))
        .expect(400)
        .await;
    api.req("post", "/api/v1/images", "/api/v1/images")
        .bearer("a.b.c")
        .json(json!({"images": []}))
        .expect(401)
        .await;
    let cred = format!("Bearer {carol}");
    api.declared(
        "post",
        "/api/v1/images",
        &[json_type, ("authorization", &cred)],
        1_100_000,
        413,
    )
    .await;
    let summary = "/api/v1/images/private/summary";
    let found = api
        .req("get", summary, summary)
        .bearer(&carol)
        .expect(200)
        .await;
    assert_eq!(found["images"].as_array().unwrap().len(), 1, "{found}");
    api.req("get", summary, &format!("{summary}?tag=x"))
        .bearer(&carol)
        .expect(200)
        .await;
    api.req("get", summary, &format!("{summary}?content_label=rocket"))
        .bearer(&carol)
        .expect(200)
        .await;
    api.req("get", summary, &format!("{summary}?color=red"))
        .bearer(&carol)
        .expect(400)
        .await;
    api.req("get", summary, summary)
        .key(ADMIN)
        .expect(403)
        .await;
    api.req("get", summary, summary).expect(401).await;
    let deleted = api
        .req("delete", "/api/v1/images", "/api/v1/images")
        .bearer(&carol)
        .json(json!({"images": [{"id": v0}, {"id": "12345"}]}))
        .expect(200)
        .await;
    assert_eq!(deleted, json!({"deleted": [v0], "not_found": ["12345"]}));
    api.req("delete", "/api/v1/images", "/api/v1/images")
        .bearer(&carol)
        .body("text/plain", "x")
        .expect(415)
        .await;
    api.req("delete", "/api/v1/images", "/api/v1/images")
        .bearer(&carol)
        .json(json!({"ids": [1]}))
        .expect(400)
        .await;
    api.req("delete", "/api/v1/images", "/api/v1/images")
        .bearer("a.b.c")
        .json(json!({"images": []}))
        .expect(401)
        .await;
    let cred = format!("Bearer {carol}");
    api.declared(
        "delete",
        "/api/v1/images",
        &[json_type, ("authorization", &cred)],
        1_100_000,
        413,
    )
    .await;
    let erin = token("erin");
    let v1_user = api
        .req("post", "/api/v1/users", "/api/v1/users")
        .bearer(&erin)
        .expect(201)
        .await;
    assert_eq!(v1_user, json!({"id": "erin", "image_upload_count": 0}));
    api.req("post", "/api/v1/users", "/api/v1/users")
        .bearer(&erin)
        .expect(409)
        .await;
    api.req("post", "/api/v1/users", "/api/v1/users")
        .key(&key_a)
        .expect(403)
        .await;
    api.req("post", "/api/v1/users", "/api/v1/users")
        .bearer("a.b.c")
        .expect(401)
        .await;
    api.req("delete", "/api/v1/users", "/api/v1/users")
        .expect(401)
        .await;
    api.req("delete", "/api/v1/users", "/api/v1/users")
        .key(ADMIN)
        .expect(403)
        .await;
    api.req("delete", "/api/v1/users", "/api/v1/users")
        .bearer(&erin)
        .expect(204)
        .await;
    api.covered(&SEED_V1);
}

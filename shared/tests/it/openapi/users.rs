//! Users and their keys: sign-up under `AUTH=open`, by an admin and with
//! a token; the caller's account; making, listing and deleting keys;
//! deleting the account.

use super::ADMIN;
use super::client::{Api, Covers};
use super::fixtures::*;
use serde_json::json;

pub(super) const USERS: Covers = Covers {
    operations: &[
        ("POST", "/users"),
        ("GET", "/users/me"),
        ("POST", "/users/me/keys"),
        ("GET", "/users/me/keys"),
        ("DELETE", "/users/me/keys/{id}"),
        ("DELETE", "/users/me"),
    ],
    statuses: &[200, 201, 204, 400, 401, 403, 404, 409, 415],
};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn users_and_keys() {
    let t = open_app().await;
    let api = Api::new(&t);
    let ann = api
        .req("post", "/users", "/users")
        .json(json!({"email": "ann@example.org"}))
        .expect(201)
        .await;
    let key_a = text(&ann["api_key"]);
    api.req("post", "/users", "/users")
        .json(json!({"email": "Ann@example.org"}))
        .expect(409)
        .await;
    api.req("post", "/users", "/users")
        .json(json!({"email": "ann"}))
        .expect(400)
        .await;
    api.req("post", "/users", "/users")
        .body("text/plain", "x")
        .expect(415)
        .await;
    api.req("post", "/users", "/users")
        .key(&key_a)
        .expect(403)
        .await;
    let bob = api
        .req("post", "/users", "/users")
        .key(ADMIN)
        .json(json!({"email": "bob@example.org"}))
        .expect(201)
        .await;
    let key_b = text(&bob["api_key"]);
    let carol = token("carol");
    let account = api
        .req("post", "/users", "/users")
        .bearer(&carol)
        .expect(201)
        .await;
    assert!(
        account.get("api_key").is_none(),
        "a token's account has no key: {account}"
    );
    api.req("post", "/users", "/users")
        .bearer(&carol)
        .expect(409)
        .await;
    api.req("get", "/users/me", "/users/me")
        .key(&key_a)
        .expect(200)
        .await;
    api.req("get", "/users/me", "/users/me")
        .bearer(&carol)
        .expect(200)
        .await;
    api.req("get", "/users/me", "/users/me").expect(401).await;
    api.req("get", "/users/me", "/users/me")
        .key("not-a-key")
        .expect(401)
        .await;
    api.req("get", "/users/me", "/users/me")
        .key(ADMIN)
        .expect(403)
        .await;
    api.req("get", "/users/me", "/users/me")
        .bearer(&token("dave"))
        .expect(404)
        .await;
    let laptop = api
        .req("post", "/users/me/keys", "/users/me/keys")
        .key(&key_a)
        .json(json!({"name": "laptop"}))
        .expect(201)
        .await;
    api.req("post", "/users/me/keys", "/users/me/keys")
        .key(&key_a)
        .expect(201)
        .await;
    api.req("post", "/users/me/keys", "/users/me/keys")
        .key(&key_a)
        .json(json!({"name": " "}))
        .expect(400)
        .await;
    api.req("post", "/users/me/keys", "/users/me/keys")
        .key(&key_a)
        .body("text/plain", "x")
        .expect(415)
        .await;
    api.req("post", "/users/me/keys", "/users/me/keys")
        .bearer(&token("dave"))
        .expect(404)
        .await;
    api.req("post", "/users/me/keys", "/users/me/keys")
        .key(ADMIN)
        .expect(403)
        .await;
    api.req("post", "/users/me/keys", "/users/me/keys")
        .expect(401)
        .await;
    let keys = api
        .req("get", "/users/me/keys", "/users/me/keys")
        .key(&key_a)
        .expect(200)
        .await;
    assert_eq!(keys.as_array().unwrap().len(), 3, "{keys}");
    api.req("get", "/users/me/keys", "/users/me/keys")
        .key(ADMIN)
        .expect(403)
        .await;
    api.req("get", "/users/me/keys", "/users/me/keys")
        .expect(401)
        .await;
    let laptop_path = format!("/users/me/keys/{}", laptop["id"]);
    api.req("delete", "/users/me/keys/{id}", &laptop_path)
        .key(&key_a)
        .expect(204)
        .await;
    api.req("delete", "/users/me/keys/{id}", &laptop_path)
        .key(&key_a)
        .expect(404)
        .await;
    api.req("delete", "/users/me/keys/{id}", "/users/me/keys/abc")
        .key(&key_a)
        .expect(404)
        .await;
    api.req("delete", "/users/me/keys/{id}", "/users/me/keys/1")
        .key(ADMIN)
        .expect(403)
        .await;
    api.req("delete", "/users/me/keys/{id}", "/users/me/keys/1")
        .expect(401)
        .await;
    api.req("get", "/users/me", "/users/me")
        .key(&text(&laptop["key"]))
        .expect(401)
        .await;
    api.req("delete", "/users/me", "/users/me")
        .expect(401)
        .await;
    api.req("delete", "/users/me", "/users/me")
        .key(ADMIN)
        .expect(403)
        .await;
    api.req("delete", "/users/me", "/users/me")
        .key(&key_b)
        .expect(204)
        .await;

    api.covered(&USERS);
}

//! What the tests start from: the service under `AUTH=open` with an admin
//! key and a token secret, users and pictures made through the API (each
//! request checked against the description like any other), and the bits
//! of requests (tokens, multipart forms, upload bodies).

use super::client::Api;
use super::{ADMIN, JWT_SECRET};
use crate::common::*;
use jsonwebtoken::{Algorithm, EncodingKey, Header, encode};
use md5::{Digest, Md5};
use serde_json::{Value, json};

/// A token of the outside auth service (seed 004's claims).
pub(super) fn token(user_id: &str) -> String {
    let claims = json!({
        "user_id": user_id,
        "email": format!("{user_id}@example.org"),
        "exp": chrono::Utc::now().timestamp() + 600,
    });
    encode(
        &Header::new(Algorithm::HS256),
        &claims,
        &EncodingKey::from_secret(JWT_SECRET.as_bytes()).unwrap(),
    )
    .unwrap()
}

pub(super) fn md5_hex(bytes: &[u8]) -> String {
    Md5::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

pub(super) fn files(parts: &[(&str, &str, Vec<u8>)]) -> reqwest::multipart::Form {
    parts.iter().fold(
        reqwest::multipart::Form::new(),
        |form, (field, name, bytes)| {
            form.part(
                field.to_string(),
                reqwest::multipart::Part::bytes(bytes.clone()).file_name(name.to_string()),
            )
        },
    )
}

pub(super) fn text(value: &Value) -> String {
    value
        .as_str()
        .map(str::to_string)
        .unwrap_or_else(|| value.to_string())
}

/// The path and query of an upload or view URL the service gave.
pub(super) fn relative(url: &str) -> String {
    match url.find("/uploads/").or_else(|| url.find("/images/")) {
        Some(i) => url[i..].to_string(),
        None => url.to_string(),
    }
}

/// A JSON upload's body.
pub(super) fn upload(bytes: &[u8]) -> Value {
    json!({"data": b64(bytes)})
}

/// The service as most tests here see it: anonymous callers admitted
/// (`AUTH=open`), an admin key, tokens of the outside auth service.
pub(super) async fn open_app() -> TestApp {
    TestApp::start_with(
        Backend::Sqlite,
        Options::with_vars(&[
            ("AUTH", "open"),
            ("API_KEYS", ADMIN),
            ("JWT_SECRET", JWT_SECRET),
        ]),
    )
    .await
}

/// A user the admin makes: its key.
pub(super) async fn user(api: &Api<'_>, email: &str) -> String {
    let made = api
        .req("post", "/users", "/users")
        .key(ADMIN)
        .json(json!({"email": email}))
        .expect(201)
        .await;
    text(&made["api_key"])
}

/// What most resources' tests act on: an anonymous public photo (`first`,
/// at `one`), users A and B, and A's private picture (at `private_path`).
pub(super) struct World {
    pub first: Value,
    pub one: String,
    pub key_a: String,
    pub key_b: String,
    pub private: Value,
    pub pid: i64,
    pub private_path: String,
}

pub(super) async fn world(api: &Api<'_>) -> World {
    let first = api
        .req("post", "/images", "/images")
        .json(upload(&fixture("rocket.jpg")))
        .expect(201)
        .await;
    let one = format!("/images/{}", first["id"]);
    let key_a = user(api, "ann@example.org").await;
    let key_b = user(api, "bob@example.org").await;
    let private = api
        .req("post", "/images", "/images?private=true&name=cat.png")
        .key(&key_a)
        .json(upload(&fixture("chelsea.png")))
        .expect(201)
        .await;
    assert_eq!(private["private"], true);
    let pid = private["id"].as_i64().unwrap();
    World {
        first,
        one,
        key_a,
        key_b,
        private,
        pid,
        private_path: format!("/images/{pid}"),
    }
}

/// For requests refused before their body is read: small enough to be
/// written whole before the server closes the connection.
pub(super) fn tiny() -> Vec<u8> {
    distinct_png(99)
}

/// The `i`th slot of an answer of upload URLs: its image id, and the path
/// and query to PUT the file to.
pub(super) fn slot(urls: &Value, i: usize) -> (String, String) {
    let s = &urls["image_upload_urls"][i];
    (text(&s["image_id"]), relative(&text(&s["url"])))
}

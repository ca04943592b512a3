//! Accounts, keys and privacy, through real HTTP on SQLite and MariaDB:
//! who may see and change what, under `AUTH=open` and `AUTH=required`.
//! A private picture of user A is never visible to B through any route,
//! listing, statistic or count, and B cannot tell it exists: the same 404
//! as an id that names nothing.
//!
//! `who_sees_what` and `who_changes_what` start from the same [`Privacy`]
//! world; `sign_up` covers sign-up, keys and tokens.

use crate::common::*;
use jsonwebtoken::{Algorithm, EncodingKey, Header, encode};
use serde_json::{Value, json};

const ADMIN: &str = "admin-key-for-tests";
const JWT_SECRET: &str = "jwt-secret-for-tests";

fn options(auth: &str) -> Options {
    Options::with_vars(&[
        ("AUTH", auth),
        ("API_KEYS", ADMIN),
        ("JWT_SECRET", JWT_SECRET),
    ])
}

fn token(claims: Value, secret: &str) -> String {
    encode(
        &Header::new(Algorithm::HS256),
        &claims,
        &EncodingKey::from_secret(secret.as_bytes()).unwrap(),
    )
    .unwrap()
}

fn now() -> i64 {
    chrono::Utc::now().timestamp()
}

/// How a request proves who it is.
#[derive(Clone, Debug)]
enum Cred {
    None,
    Key(String),
    Bearer(String),
}

async fn send(
    t: &TestApp,
    method: reqwest::Method,
    path: &str,
    cred: &Cred,
    body: Option<Value>,
) -> reqwest::Response {
    let mut r = t.client.request(method, format!("{}{path}", t.url));
    r = match cred {
        Cred::None => r,
        Cred::Key(k) => r.header("x-api-key", k),
        Cred::Bearer(b) => r.header("authorization", format!("Bearer {b}")),
    };
    if let Some(body) = body {
        r = r.json(&body);
    }
    r.send().await.unwrap()
}

async fn get(t: &TestApp, path: &str, cred: &Cred) -> reqwest::Response {
    send(t, reqwest::Method::GET, path, cred, None).await
}

async fn json_of(r: reqwest::Response, status: u16) -> Value {
    let got = r.status().as_u16();
    let body: Value = r.json().await.unwrap_or(Value::Null);
    assert_eq!(got, status, "{body}");
    body
}

/// A user made by the admin: (id, key).
async fn user(t: &TestApp, email: &str) -> (String, String) {
    let body = json_of(
        send(
            t,
            reqwest::Method::POST,
            "/users",
            &Cred::Key(ADMIN.into()),
            Some(json!({"email": email})),
        )
        .await,
        201,
    )
    .await;
    (
        body["id"].as_str().unwrap().into(),
        body["api_key"].as_str().unwrap().into(),
    )
}

async fn upload(t: &TestApp, cred: &Cred, bytes: &[u8], query: &str) -> Value {
    let r = t
        .client
        .post(format!("{}/images{query}", t.url))
        .json(&json!({"data": b64(bytes)}));
    let r = match cred {
        Cred::None => r,
        Cred::Key(k) => r.header("x-api-key", k),
        Cred::Bearer(b) => r.header("authorization", format!("Bearer {b}")),
    };
    json_of(r.send().await.unwrap(), 201).await
}

/// The `n_images` of `tag` in GET /tags, as `cred` sees it (0 when absent).
async fn tag_count(t: &TestApp, cred: &Cred, tag: &str) -> i64 {
    json_of(get(t, "/tags", cred).await, 200)
        .await
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["tag"] == tag)
        .map_or(0, |s| s["n_images"].as_i64().unwrap())
}

/// What the privacy tests start from, under `AUTH=open` or `required`:
/// users Alice and Bob, an admin, credentials that must be refused, and
/// Alice's private picture `p` and public one `q` (and, under open, an
/// anonymous caller's public picture).
struct Privacy {
    t: TestApp,
    required: bool,
    alice: Cred,
    bob: Cred,
    admin: Cred,
    /// A token naming Alice's id, which is not Alice.
    alice_token: Cred,
    /// A deleted key, an expired token, a token signed with another
    /// secret, alg none.
    refused: Vec<(&'static str, Cred)>,
    private: Value,
    p: i64,
    q: i64,
    anonymous: Option<i64>,
    /// An id that names nothing.
    missing: i64,
}

impl Privacy {
    /// Every picture there is.
    fn everyone(&self) -> Vec<i64> {
        [Some(self.p), Some(self.q), self.anonymous]
            .into_iter()
            .flatten()
            .collect()
    }
}

async fn privacy(backend: Backend, auth: &str) -> Privacy {
    let t = TestApp::start_with(backend, options(auth)).await;
    let required = auth == "required";
    let (a_id, a_key) = user(&t, "alice@example.org").await;
    let (_, b_key) = user(&t, "bob@example.org").await;
    let (alice, bob, admin) = (
        Cred::Key(a_key.clone()),
        Cred::Key(b_key),
        Cred::Key(ADMIN.into()),
    );

    // A deleted key, an expired token, a token signed with another secret, alg none.
    let spare = json_of(
        send(
            &t,
            reqwest::Method::POST,
            "/users/me/keys",
            &alice,
            Some(json!({"name": "spare"})),
        )
        .await,
        201,
    )
    .await;
    let spare_key = spare["key"].as_str().unwrap().to_string();
    assert_eq!(
        json_of(
            get(&t, "/users/me", &Cred::Key(spare_key.clone())).await,
            200
        )
        .await["id"],
        a_id
    );
    let r = send(
        &t,
        reqwest::Method::DELETE,
        &format!("/users/me/keys/{}", spare["id"]),
        &alice,
        None,
    )
    .await;
    assert_eq!(r.status(), 204);
    let refused = [
        ("deleted key", Cred::Key(spare_key)),
        ("unknown key", Cred::Key("pk_nobody".into())),
        (
            "expired token",
            Cred::Bearer(token(
                json!({"user_id": a_id, "exp": now() - 3600}),
                JWT_SECRET,
            )),
        ),
        (
            "token of another secret",
            Cred::Bearer(token(json!({"user_id": a_id, "exp": now() + 600}), "other")),
        ),
        (
            "alg none",
            Cred::Bearer({
                use base64::Engine;
                let e = base64::engine::general_purpose::URL_SAFE_NO_PAD;
                format!(
                    "{}.{}.",
                    e.encode(br#"{"alg":"none","typ":"JWT"}"#),
                    e.encode(format!(r#"{{"user_id":"{a_id}","exp":{}}}"#, now() + 600))
                )
            }),
        ),
    ];
    // A token naming Alice's id is not Alice: users of tokens live in a
    // namespace of their own, and this one has no account yet.
    let alice_token = Cred::Bearer(token(
        json!({"user_id": a_id, "email": "alice@example.org", "exp": now() + 600}),
        JWT_SECRET,
    ));
    assert_error(get(&t, "/users/me", &alice_token).await, 404, "not_found").await;

    // Alice: one private, one public picture; anonymous: one public (open only).
    let private = upload(&t, &alice, &fixture("chelsea.png"), "?private=true").await;
    let p = private["id"].as_i64().unwrap();
    assert_eq!(
        (private["private"].clone(), private["owner"].clone()),
        (json!(true), json!(a_id))
    );
    let public = upload(&t, &alice, &fixture("coffee.png"), "").await;
    let q = public["id"].as_i64().unwrap();
    let anonymous = if required {
        json_of(
            t.client
                .post(format!("{}/images", t.url))
                .json(&json!({"data": b64(&fixture("rocket.jpg"))}))
                .send()
                .await
                .unwrap(),
            401,
        )
        .await;
        None
    } else {
        Some(
            upload(&t, &Cred::None, &fixture("rocket.jpg"), "").await["id"]
                .as_i64()
                .unwrap(),
        )
    };
    // A private picture needs a user.
    if !required {
        let r = t
            .client
            .post(format!("{}/images?private=true", t.url))
            .json(&json!({"data": b64(&fixture("camera.png"))}))
            .send()
            .await
            .unwrap();
        assert_error(r, 401, "unauthorized").await;
    }
    Privacy {
        t,
        required,
        alice,
        bob,
        admin,
        alice_token,
        refused: refused.into(),
        private,
        p,
        q,
        anonymous,
        missing: 2_000_000,
    }
}

mod sign_up;
mod who_changes_what;
mod who_sees_what;

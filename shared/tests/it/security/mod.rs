//! The adversarial suite: every route of the routes table, asked by every
//! kind of caller an attacker can be, on SQLite and MariaDB, under
//! `AUTH=open` and `AUTH=required`. Each answer's status is the one the
//! rules give, and no byte of a user's private data (a private picture's
//! id, name, tags, hash, camera, counts) reaches anyone but its owner and
//! admins. A route added to the table without a probe here fails the test.
//!
//! The callers: anonymous; key users A and B; an admin; a token user T
//! (subject `alice`); tokens whose subject differs from T's only in case,
//! by a trailing space or an accent; a token whose subject is A's id (a
//! key user); and credentials that must not work: a revoked key, tokens
//! expired, not yet valid, of another issuer or audience, or naming no
//! issuer or audience.

use crate::common::*;
use jsonwebtoken::{Algorithm, EncodingKey, Header, encode};
use pictures::http::ROUTES;
use serde_json::{Value, json};

const ADMIN: &str = "admin-key-for-the-security-suite";
const JWT_SECRET: &str = "jwt-secret-for-the-security-suite";
const ISSUER: &str = "https://auth.example/";
const AUDIENCE: &str = "pictures";

/// What only A (and admins) may ever see of A's private picture.
const A_NAME: &str = "alpha-private-name";
const A_TAG: &str = "alphasecrettag";
const A_CAMERA: &str = "Canon EOS 5D Mark IV";
/// What only T may ever see of T's private picture.
const T_NAME: &str = "tango-private-name";
const T_TAG: &str = "tangosecrettag";

fn now() -> i64 {
    chrono::Utc::now().timestamp()
}

fn token(claims: Value) -> String {
    encode(
        &Header::new(Algorithm::HS256),
        &claims,
        &EncodingKey::from_secret(JWT_SECRET.as_bytes()).unwrap(),
    )
    .unwrap()
}

/// A token as the configured auth service issues it, for `subject`.
fn token_for(subject: &str) -> String {
    token(json!({"sub": subject, "iss": ISSUER, "aud": AUDIENCE, "exp": now() + 600}))
}

#[derive(Clone, Debug)]
enum Cred {
    None,
    Key(String),
    Bearer(String),
}

/// Who a caller is, to the rules.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Who {
    Anonymous,
    /// A: owns the private picture every probe aims at.
    Owner,
    Admin,
    /// A user who is not A; `account`: has an account here.
    Stranger {
        account: bool,
        token: bool,
    },
    /// Credentials that must be refused.
    Refused,
}

struct Caller {
    label: &'static str,
    cred: Cred,
    who: Who,
    /// Sees T's private picture (T itself, admins).
    sees_t: bool,
}

fn request(t: &TestApp, method: &str, path: &str, cred: &Cred) -> reqwest::RequestBuilder {
    let method = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
    let r = t.client.request(method, format!("{}{path}", t.url));
    match cred {
        Cred::None => r,
        Cred::Key(k) => r.header("x-api-key", k),
        Cred::Bearer(b) => r.header("authorization", format!("Bearer {b}")),
    }
}

async fn json_of(r: reqwest::Response, status: u16) -> Value {
    let got = r.status().as_u16();
    let body: Value = r.json().await.unwrap_or(Value::Null);
    assert_eq!(got, status, "{body}");
    body
}

/// `method path` as `cred`, with a JSON body or none: the answer's JSON,
/// its status asserted.
async fn call(
    t: &TestApp,
    method: &str,
    path: &str,
    cred: &Cred,
    body: Option<Value>,
    status: u16,
) -> Value {
    let r = request(t, method, path, cred);
    let r = match body {
        Some(body) => r.json(&body),
        None => r,
    };
    json_of(r.send().await.unwrap(), status).await
}

fn form_with(name: &str, field: &str, bytes: Vec<u8>) -> reqwest::multipart::Form {
    reqwest::multipart::Form::new().part(
        field.to_string(),
        reqwest::multipart::Part::bytes(bytes).file_name(name.to_string()),
    )
}

fn exif_fixture(name: &str) -> Vec<u8> {
    std::fs::read(repo_root().join("tests/fixtures/exif").join(name)).unwrap()
}

/// What the suite's users own when the probes start.
struct World {
    a_id: String,
    a_key: String,
    b_key: String,
    t_token: String,
    /// A's private picture, and its content hash.
    pa: i64,
    pa_hash: String,
    /// T's private picture.
    pt: i64,
    /// A's upload link and one of A's upload slots (id, URL).
    a_link: String,
    a_slot: (String, String),
    a_key_id: i64,
    /// Private pictures of A's for the probes that delete: A and admins
    /// delete these, never the picture everyone else aims at.
    spares: std::sync::Mutex<Vec<i64>>,
}

async fn world(t: &TestApp) -> World {
    let admin = Cred::Key(ADMIN.into());
    let made = call(
        t,
        "POST",
        "/users",
        &admin,
        Some(json!({"email": "a@example.org"})),
        201,
    )
    .await;
    let (a_id, a_key) = (
        made["id"].as_str().unwrap().to_string(),
        made["api_key"].as_str().unwrap().to_string(),
    );
    let b = call(
        t,
        "POST",
        "/users",
        &admin,
        Some(json!({"email": "b@example.org"})),
        201,
    )
    .await;
    let b_key = b["api_key"].as_str().unwrap().to_string();
    let t_token = token_for("alice");
    call(
        t,
        "POST",
        "/users",
        &Cred::Bearer(t_token.clone()),
        None,
        201,
    )
    .await;
    let a = Cred::Key(a_key.clone());
    let upload = |cred: Cred, bytes: Vec<u8>, query: &'static str| async move {
        call(
            t,
            "POST",
            &format!("/images{query}"),
            &cred,
            Some(json!({"data": b64(&bytes)})),
            201,
        )
        .await
    };
    let pa = upload(a.clone(), exif_fixture("canon.jpg"), "?private=true").await;
    let pa_id = pa["id"].as_i64().unwrap();
    call(
        t,
        "PATCH",
        &format!("/images/{pa_id}"),
        &a,
        Some(json!({"name": A_NAME, "add_tags": [A_TAG]})),
        200,
    )
    .await;
    let tc = Cred::Bearer(t_token.clone());
    let pt = upload(tc.clone(), distinct_png(777), "?private=true").await["id"]
        .as_i64()
        .unwrap();
    call(
        t,
        "PATCH",
        &format!("/images/{pt}"),
        &tc,
        Some(json!({"name": T_NAME, "add_tags": [T_TAG]})),
        200,
    )
    .await;
    let link = call(
        t,
        "POST",
        "/upload-links",
        &a,
        Some(json!({"expiry": 3600})),
        201,
    )
    .await;
    let slots = call(
        t,
        "POST",
        "/upload-urls",
        &a,
        Some(json!({"count": 1})),
        200,
    )
    .await;
    let slot = &slots["image_upload_urls"][0];
    let key = call(
        t,
        "POST",
        "/users/me/keys",
        &a,
        Some(json!({"name": "spare"})),
        201,
    )
    .await;
    let mut spares = Vec::new();
    for i in 0..8 {
        spares.push(
            upload(a.clone(), distinct_png(500 + i), "?private=true").await["id"]
                .as_i64()
                .unwrap(),
        );
    }
    World {
        a_id,
        a_key,
        b_key,
        t_token,
        pa: pa_id,
        pa_hash: pa["hash"].as_str().unwrap().to_string(),
        pt,
        a_link: link["upload_id"].as_str().unwrap().to_string(),
        a_slot: (
            slot["image_id"].as_str().unwrap().to_string(),
            slot["url"].as_str().unwrap().to_string(),
        ),
        a_key_id: key["id"].as_i64().unwrap(),
        spares: std::sync::Mutex::new(spares),
    }
}

impl World {
    /// What a probe that deletes aims at: a spare for A and admins, A's
    /// own picture for everyone else (who must fail to delete it).
    fn victim(&self, who: Who) -> i64 {
        match who {
            Who::Owner | Who::Admin => self.spares.lock().unwrap().pop().expect("enough spares"),
            _ => self.pa,
        }
    }
}

async fn callers(t: &TestApp, w: &World) -> Vec<Caller> {
    // A key made and revoked.
    let a = Cred::Key(w.a_key.clone());
    let spare = call(
        t,
        "POST",
        "/users/me/keys",
        &a,
        Some(json!({"name": "revoked"})),
        201,
    )
    .await;
    let r = request(t, "DELETE", &format!("/users/me/keys/{}", spare["id"]), &a)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 204);
    let revoked = spare["key"].as_str().unwrap().to_string();
    let stranger = |account, token| Who::Stranger { account, token };
    let claims = |extra: Value| {
        let mut c = json!({"sub": "alice", "iss": ISSUER, "aud": AUDIENCE, "exp": now() + 600});
        for (k, v) in extra.as_object().unwrap() {
            if v.is_null() {
                c.as_object_mut().unwrap().remove(k);
            } else {
                c[k] = v.clone();
            }
        }
        Cred::Bearer(token(c))
    };
    vec![
        Caller {
            label: "anonymous",
            cred: Cred::None,
            who: Who::Anonymous,
            sees_t: false,
        },
        Caller {
            label: "key user A",
            cred: a.clone(),
            who: Who::Owner,
            sees_t: false,
        },
        Caller {
            label: "key user B",
            cred: Cred::Key(w.b_key.clone()),
            who: stranger(true, false),
            sees_t: false,
        },
        Caller {
            label: "admin",
            cred: Cred::Key(ADMIN.into()),
            who: Who::Admin,
            sees_t: true,
        },
        Caller {
            label: "token user T (alice)",
            cred: Cred::Bearer(w.t_token.clone()),
            who: stranger(true, true),
            sees_t: true,
        },
        Caller {
            label: "token Alice",
            cred: Cred::Bearer(token_for("Alice")),
            who: stranger(false, true),
            sees_t: false,
        },
        Caller {
            label: "token ALICE",
            cred: Cred::Bearer(token_for("ALICE")),
            who: stranger(false, true),
            sees_t: false,
        },
        Caller {
            label: "token whose subject is A's id",
            cred: Cred::Bearer(token_for(&w.a_id)),
            who: stranger(false, true),
            sees_t: false,
        },
        Caller {
            label: "token 'alice '",
            cred: Cred::Bearer(token_for("alice ")),
            who: Who::Refused,
            sees_t: false,
        },
        Caller {
            label: "token 'álice'",
            cred: Cred::Bearer(token_for("álice")),
            who: Who::Refused,
            sees_t: false,
        },
        Caller {
            label: "revoked key",
            cred: Cred::Key(revoked),
            who: Who::Refused,
            sees_t: false,
        },
        Caller {
            label: "expired token",
            cred: claims(json!({"exp": now() - 3600})),
            who: Who::Refused,
            sees_t: false,
        },
        Caller {
            label: "token not valid yet",
            cred: claims(json!({"nbf": now() + 3600})),
            who: Who::Refused,
            sees_t: false,
        },
        Caller {
            label: "token of another issuer",
            cred: claims(json!({"iss": "https://evil.example/"})),
            who: Who::Refused,
            sees_t: false,
        },
        Caller {
            label: "token of another audience",
            cred: claims(json!({"aud": "elsewhere"})),
            who: Who::Refused,
            sees_t: false,
        },
        Caller {
            label: "token without issuer",
            cred: claims(json!({"iss": null})),
            who: Who::Refused,
            sees_t: false,
        },
        Caller {
            label: "token without audience",
            cred: claims(json!({"aud": null})),
            who: Who::Refused,
            sees_t: false,
        },
        Caller {
            label: "token with A's id signed elsewhere",
            cred: Cred::Bearer(
                encode(
                    &Header::new(Algorithm::HS256),
                    &json!({"sub": "alice", "iss": ISSUER, "aud": AUDIENCE, "exp": now() + 600}),
                    &EncodingKey::from_secret(b"another secret").unwrap(),
                )
                .unwrap(),
            ),
            who: Who::Refused,
            sees_t: false,
        },
    ]
}

/// A GIF whose logical screen is `width` x `height`, holding one 1x1 frame:
/// what a decoder must fill is the screen.
fn gif_declaring(width: u16, height: u16) -> Vec<u8> {
    let mut gif = b"GIF89a".to_vec();
    gif.extend_from_slice(&width.to_le_bytes());
    gif.extend_from_slice(&height.to_le_bytes());
    gif.extend_from_slice(b"\x80\x00\x00\x00\x00\x00\xff\xff\xff");
    gif.extend_from_slice(b"\x2c\x00\x00\x00\x00\x01\x00\x01\x00\x00\x02\x02\x44\x01\x00\x3b");
    gif
}

/// A JPEG that is a frame header and nothing else: `width` x `height`
/// pixels of three components, baseline or progressive.
fn jpeg_declaring(width: u16, height: u16, progressive: bool) -> Vec<u8> {
    let mut jpeg = vec![
        0xff,
        0xd8,
        0xff,
        if progressive { 0xc2 } else { 0xc0 },
        0x00,
        17,
        8,
    ];
    jpeg.extend_from_slice(&height.to_be_bytes());
    jpeg.extend_from_slice(&width.to_be_bytes());
    jpeg.extend_from_slice(&[3, 1, 0x22, 0, 2, 0x11, 0, 3, 0x11, 0, 0xff, 0xd9]);
    jpeg
}

fn exif_of(bytes: &[u8]) -> pictures::analysis::ExifInfo {
    pictures::analysis::read_exif(bytes)
}

async fn open_app(backend: Backend, vars: &[(&str, &str)]) -> TestApp {
    let mut all = vec![
        ("AUTH", "open"),
        ("API_KEYS", ADMIN),
        ("JWT_SECRET", JWT_SECRET),
    ];
    all.extend_from_slice(vars);
    TestApp::start_with(backend, Options::with_vars(&all)).await
}

async fn key_user(t: &TestApp, email: &str) -> (String, Cred) {
    let made = call(
        t,
        "POST",
        "/users",
        &Cred::Key(ADMIN.into()),
        Some(json!({"email": email})),
        201,
    )
    .await;
    (
        made["id"].as_str().unwrap().to_string(),
        Cred::Key(made["api_key"].as_str().unwrap().to_string()),
    )
}

mod doors;
mod matrix;
mod probes;

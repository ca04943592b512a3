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
    let made = json_of(
        request(t, "POST", "/users", &admin)
            .json(&json!({"email": "a@example.org"}))
            .send()
            .await
            .unwrap(),
        201,
    )
    .await;
    let (a_id, a_key) = (
        made["id"].as_str().unwrap().to_string(),
        made["api_key"].as_str().unwrap().to_string(),
    );
    let b = json_of(
        request(t, "POST", "/users", &admin)
            .json(&json!({"email": "b@example.org"}))
            .send()
            .await
            .unwrap(),
        201,
    )
    .await;
    let b_key = b["api_key"].as_str().unwrap().to_string();
    let t_token = token_for("alice");
    json_of(
        request(t, "POST", "/users", &Cred::Bearer(t_token.clone()))
            .send()
            .await
            .unwrap(),
        201,
    )
    .await;
    let a = Cred::Key(a_key.clone());
    let upload = |cred: Cred, bytes: Vec<u8>, query: &'static str| async move {
        json_of(
            request(t, "POST", &format!("/images{query}"), &cred)
                .json(&json!({"data": b64(&bytes)}))
                .send()
                .await
                .unwrap(),
            201,
        )
        .await
    };
    let pa = upload(a.clone(), exif_fixture("canon.jpg"), "?private=true").await;
    let pa_id = pa["id"].as_i64().unwrap();
    json_of(
        request(t, "PATCH", &format!("/images/{pa_id}"), &a)
            .json(&json!({"name": A_NAME, "add_tags": [A_TAG]}))
            .send()
            .await
            .unwrap(),
        200,
    )
    .await;
    let tc = Cred::Bearer(t_token.clone());
    let pt = upload(tc.clone(), distinct_png(777), "?private=true").await["id"]
        .as_i64()
        .unwrap();
    json_of(
        request(t, "PATCH", &format!("/images/{pt}"), &tc)
            .json(&json!({"name": T_NAME, "add_tags": [T_TAG]}))
            .send()
            .await
            .unwrap(),
        200,
    )
    .await;
    let link = json_of(
        request(t, "POST", "/upload-links", &a)
            .json(&json!({"expiry": 3600}))
            .send()
            .await
            .unwrap(),
        201,
    )
    .await;
    let slots = json_of(
        request(t, "POST", "/upload-urls", &a)
            .json(&json!({"count": 1}))
            .send()
            .await
            .unwrap(),
        200,
    )
    .await;
    let slot = &slots["image_upload_urls"][0];
    let key = json_of(
        request(t, "POST", "/users/me/keys", &a)
            .json(&json!({"name": "spare"}))
            .send()
            .await
            .unwrap(),
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
    let spare = json_of(
        request(t, "POST", "/users/me/keys", &a)
            .json(&json!({"name": "revoked"}))
            .send()
            .await
            .unwrap(),
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

/// How a route answers, by who asks.
#[derive(Clone, Copy)]
enum Rule {
    /// Anyone the service admits gets `ok` (anonymous: only under AUTH=open).
    Everyone(u16),
    /// Names A's private picture: A and admins get `ok`, everyone else 404.
    APicture(u16),
    /// Acts on the caller's own account: users `with`/`without` an account
    /// here; admins `admin`; anonymous 401.
    Account { with: u16, without: u16, admin: u16 },
    /// Seed 004's routes: as `Account`, and anonymous 401 whatever AUTH says.
    V1 { with: u16, without: u16, admin: u16 },
    /// The route carries its own permission (an upload link, a signed URL)
    /// and reads no credentials: everyone gets `ok`.
    Capability(u16),
    /// Creating an account (`v1`: seed 004's door, which anonymous callers
    /// never pass).
    SignUp { v1: bool },
    /// A's own key: A deletes it, nobody else finds it.
    AKey,
}

fn expected(rule: Rule, who: Who, required: bool) -> u16 {
    let anonymous = |ok: u16| if required { 401 } else { ok };
    match (rule, who) {
        (Rule::Capability(ok), _) => ok,
        (_, Who::Refused) => 401,
        (Rule::Everyone(ok), Who::Anonymous) => anonymous(ok),
        (Rule::Everyone(ok), _) => ok,
        (Rule::APicture(_), Who::Anonymous) => anonymous(404),
        (Rule::APicture(ok), Who::Owner | Who::Admin) => ok,
        (Rule::APicture(_), Who::Stranger { .. }) => 404,
        (Rule::Account { .. } | Rule::V1 { .. }, Who::Anonymous) => 401,
        (Rule::Account { admin, .. } | Rule::V1 { admin, .. }, Who::Admin) => admin,
        (
            Rule::Account { with, .. } | Rule::V1 { with, .. },
            Who::Owner | Who::Stranger { account: true, .. },
        ) => with,
        (
            Rule::Account { without, .. } | Rule::V1 { without, .. },
            Who::Stranger { account: false, .. },
        ) => without,
        (Rule::SignUp { v1: true }, Who::Anonymous) => 401,
        (Rule::SignUp { v1: false }, Who::Anonymous) => anonymous(201),
        (Rule::SignUp { .. }, Who::Admin) => 201,
        (
            Rule::SignUp { .. },
            Who::Stranger {
                token: true,
                account: false,
            },
        ) => 201,
        (
            Rule::SignUp { .. },
            Who::Stranger {
                token: true,
                account: true,
            },
        ) => 409,
        (Rule::SignUp { .. }, Who::Owner | Who::Stranger { token: false, .. }) => 403,
        (Rule::AKey, Who::Anonymous) => 401,
        (Rule::AKey, Who::Owner) => 204,
        (Rule::AKey, Who::Admin) => 403,
        (Rule::AKey, Who::Stranger { .. }) => 404,
    }
}

/// One request of the matrix, and its rule.
struct Probe {
    rule: Rule,
    path: String,
    body: Body,
}

enum Body {
    None,
    Json(Value),
    Form(&'static str, Vec<u8>),
    Fields(Vec<(&'static str, String)>),
    Bytes(Vec<u8>),
}

/// The probe of a route. Routes that destroy what they name are aimed at
/// A's things only when the caller may not touch them; the suite's last
/// phase deletes accounts.
fn probe(method: &str, path: &str, w: &World, who: Who, n: u32) -> Option<Probe> {
    let pa = w.pa;
    let png = || distinct_png(10_000 + n);
    let p = |rule, path: String, body| Some(Probe { rule, path, body });
    match (method, path) {
        ("POST", "/images") => p(
            Rule::Everyone(201),
            "/images".into(),
            Body::Json(json!({"data": b64(&png())})),
        ),
        // Everything the caller may see: neither A's nor T's private picture
        // may be in it for anyone else.
        ("GET", "/images") => p(Rule::Everyone(200), "/images?limit=1000".into(), Body::None),
        ("GET", "/images/{id}") => p(Rule::APicture(200), format!("/images/{pa}"), Body::None),
        ("PATCH", "/images/{id}") => p(
            Rule::APicture(200),
            format!("/images/{pa}"),
            Body::Json(json!({"name": A_NAME})),
        ),
        ("DELETE", "/images/{id}") => p(
            Rule::APicture(204),
            format!("/images/{}", w.victim(who)),
            Body::None,
        ),
        ("DELETE", "/images") => p(
            Rule::Everyone(200),
            "/images".into(),
            Body::Json(json!({"ids": [w.victim(who)]})),
        ),
        ("POST", "/images/{id}/retag") => p(
            Rule::APicture(200),
            format!("/images/{pa}/retag"),
            Body::None,
        ),
        ("GET", "/images/{id}/file") => p(
            Rule::APicture(200),
            format!("/images/{pa}/file"),
            Body::None,
        ),
        ("GET", "/images/{id}/thumbnail") => p(
            Rule::APicture(200),
            format!("/images/{pa}/thumbnail?size=64"),
            Body::None,
        ),
        ("GET", "/tags") => p(Rule::Everyone(200), "/tags".into(), Body::None),
        ("GET", "/stats") => p(Rule::Everyone(200), "/stats".into(), Body::None),
        ("GET", "/images/{id}/colors") => p(
            Rule::APicture(200),
            format!("/images/{pa}/colors?k=3"),
            Body::None,
        ),
        ("GET", "/images/{id}/palette.png") => p(
            Rule::APicture(200),
            format!("/images/{pa}/palette.png"),
            Body::None,
        ),
        ("GET", "/images/{id}/similar") => p(
            Rule::APicture(200),
            format!("/images/{pa}/similar"),
            Body::None,
        ),
        ("POST", "/colors") => p(
            Rule::Everyone(200),
            "/colors?k=2".into(),
            Body::Json(json!({"data": b64(&png())})),
        ),
        ("POST", "/users") => p(
            Rule::SignUp { v1: false },
            "/users".into(),
            Body::Json(json!({"email": format!("new{n}@example.org")})),
        ),
        ("GET", "/users/me") => p(
            Rule::Account {
                with: 200,
                without: 404,
                admin: 403,
            },
            "/users/me".into(),
            Body::None,
        ),
        ("DELETE", "/users/me") => None,
        ("POST", "/users/me/keys") => p(
            Rule::Account {
                with: 201,
                without: 404,
                admin: 403,
            },
            "/users/me/keys".into(),
            Body::Json(json!({"name": "probe"})),
        ),
        ("GET", "/users/me/keys") => p(
            Rule::Account {
                with: 200,
                without: 200,
                admin: 403,
            },
            "/users/me/keys".into(),
            Body::None,
        ),
        // Only A's own key id: everyone else is told there is no such key of theirs.
        ("DELETE", "/users/me/keys/{id}") => p(
            Rule::AKey,
            format!("/users/me/keys/{}", w.a_key_id),
            Body::None,
        ),
        ("POST", "/upload-links") => p(
            Rule::Everyone(201),
            "/upload-links".into(),
            Body::Json(json!({"expiry": 60})),
        ),
        ("POST", "/uploads/{upload_id}") => p(
            Rule::Capability(200),
            format!("/uploads/{}", w.a_link),
            Body::Form("image_files", png()),
        ),
        ("POST", "/upload-urls") => p(
            Rule::Everyone(200),
            "/upload-urls".into(),
            Body::Json(json!({"count": 1})),
        ),
        ("PUT", "/uploads/put/{image_id}") => p(
            Rule::Capability(200),
            w.a_slot.1.clone(),
            Body::Bytes(png()),
        ),
        ("POST", "/images/batch") => p(
            Rule::Everyone(200),
            "/images/batch".into(),
            Body::Json(json!({"images": [{"image_id": "0".repeat(32)}]})),
        ),
        ("POST", "/image") => p(
            Rule::Everyone(200),
            "/image".into(),
            Body::Json(json!({"data": b64(&png())})),
        ),
        ("POST", "/images/tags") => p(
            Rule::Everyone(200),
            "/images/tags".into(),
            Body::Json(json!({"data": b64(&png())})),
        ),
        ("GET", "/image/{id}") => p(Rule::APicture(200), format!("/image/{pa}"), Body::None),
        ("GET", "/images/tags") => p(Rule::Everyone(200), "/images/tags".into(), Body::None),
        ("POST", "/api/generate-upload-link") => p(
            Rule::Everyone(200),
            "/api/generate-upload-link".into(),
            Body::Json(json!({"expiry": 60})),
        ),
        ("POST", "/api/upload-images/{upload_id}") => p(
            Rule::Capability(200),
            format!("/api/upload-images/{}", w.a_link),
            Body::Form("image_files", png()),
        ),
        ("GET", "/api/images/{image_id}") => p(
            Rule::APicture(200),
            format!("/api/images/{}", w.pa_hash),
            Body::None,
        ),
        ("GET", "/api/stats") => p(Rule::Everyone(200), "/api/stats".into(), Body::None),
        ("POST", "/prominent-colors") => p(
            Rule::Everyone(200),
            "/prominent-colors".into(),
            Body::Form("image", png()),
        ),
        ("POST", "/rgb2hex") => p(
            Rule::Everyone(200),
            "/rgb2hex".into(),
            Body::Fields(vec![("rgbs", "[[1, 2, 3]]".into())]),
        ),
        ("POST", "/centroids") => p(
            Rule::Everyone(200),
            "/centroids".into(),
            Body::Fields(vec![
                ("colors", r##"["#010203"]"##.into()),
                ("counts", "[1]".into()),
            ]),
        ),
        ("POST", "/api/v1/users") => p(
            Rule::SignUp { v1: true },
            "/api/v1/users".into(),
            Body::None,
        ),
        ("DELETE", "/api/v1/users") => None,
        ("GET", "/images/upload_urls") => p(
            Rule::Everyone(200),
            "/images/upload_urls?image_count=1".into(),
            Body::None,
        ),
        ("GET", "/api/v1/images/upload_urls") => p(
            Rule::V1 {
                with: 200,
                without: 200,
                admin: 200,
            },
            "/api/v1/images/upload_urls?image_count=1".into(),
            Body::None,
        ),
        ("POST", "/api/v1/images") => p(
            Rule::V1 {
                with: 200,
                without: 200,
                admin: 200,
            },
            "/api/v1/images".into(),
            Body::Json(json!({"images": [{"id": w.a_slot.0, "name": "x"}]})),
        ),
        ("GET", "/api/v1/images/private/summary") => p(
            Rule::V1 {
                with: 200,
                without: 200,
                admin: 403,
            },
            "/api/v1/images/private/summary".into(),
            Body::None,
        ),
        ("DELETE", "/api/v1/images") => p(
            Rule::V1 {
                with: 200,
                without: 200,
                admin: 200,
            },
            "/api/v1/images".into(),
            Body::Json(json!({"images": [{"id": w.victim(who)}]})),
        ),
        ("GET", "/") => p(Rule::Capability(200), "/".into(), Body::None),
        ("GET", "/assets/{file}") => p(Rule::Capability(200), "/assets/app.js".into(), Body::None),
        _ => panic!("{method} {path} has no probe in the security suite: add one"),
    }
}

/// The secrets a caller must never see in an answer.
fn secrets(caller: &Caller, w: &World) -> Vec<String> {
    let mut out = Vec::new();
    if !matches!(caller.who, Who::Owner | Who::Admin) {
        out.extend([
            A_NAME.to_string(),
            A_TAG.to_string(),
            A_CAMERA.to_string(),
            w.pa_hash.clone(),
        ]);
    }
    if !caller.sees_t {
        out.extend([T_NAME.to_string(), T_TAG.to_string()]);
    }
    out
}

/// The private pictures a caller must never be shown, by id.
fn hidden_ids(caller: &Caller, w: &World) -> Vec<i64> {
    let mut out = Vec::new();
    if !matches!(caller.who, Who::Owner | Who::Admin) {
        out.push(w.pa);
    }
    if !caller.sees_t {
        out.push(w.pt);
    }
    out
}

/// Whether a JSON answer shows picture `id`: an object with that id (a
/// number, or seed 004's string) that is a picture (it has a view link or
/// tags).
fn shows_picture(v: &Value, id: i64) -> bool {
    match v {
        Value::Object(o) => {
            let is_it = o
                .get("id")
                .is_some_and(|v| v == &json!(id) || v == &json!(id.to_string()));
            (is_it && (o.contains_key("view_url") || o.contains_key("tags")))
                || o.values().any(|v| shows_picture(v, id))
        }
        Value::Array(a) => a.iter().any(|v| shows_picture(v, id)),
        _ => false,
    }
}

async fn send(t: &TestApp, method: &str, probe: &Probe, cred: &Cred) -> (u16, Vec<u8>) {
    let r = request(t, method, &probe.path, cred);
    let r = match &probe.body {
        Body::None => r,
        Body::Json(v) => r.json(v),
        Body::Form(field, bytes) => r.multipart(form_with("probe.png", field, bytes.clone())),
        Body::Fields(fields) => {
            let mut form = form_urlencoded::Serializer::new(String::new());
            for (k, v) in fields {
                form.append_pair(k, v);
            }
            r.header("content-type", "application/x-www-form-urlencoded")
                .body(form.finish())
        }
        Body::Bytes(bytes) => r.body(bytes.clone()),
    };
    let response = r.send().await.unwrap();
    let status = response.status().as_u16();
    (status, response.bytes().await.unwrap().to_vec())
}

/// A's private picture and its rows are still there, as A sees them.
async fn a_intact(t: &TestApp, w: &World) {
    let a = Cred::Key(w.a_key.clone());
    let got = json_of(
        request(t, "GET", &format!("/images/{}?data=false", w.pa), &a)
            .send()
            .await
            .unwrap(),
        200,
    )
    .await;
    assert_eq!(got["name"], A_NAME);
    let me = json_of(
        request(t, "GET", "/users/me", &a).send().await.unwrap(),
        200,
    )
    .await;
    assert_eq!(me["id"], w.a_id.as_str());
    let tc = Cred::Bearer(w.t_token.clone());
    let got = json_of(
        request(t, "GET", &format!("/images/{}?data=false", w.pt), &tc)
            .send()
            .await
            .unwrap(),
        200,
    )
    .await;
    assert_eq!(got["name"], T_NAME);
    let me = json_of(
        request(t, "GET", "/users/me", &tc).send().await.unwrap(),
        200,
    )
    .await;
    assert_eq!(
        me["id"]
            .as_str()
            .and_then(|id| id.strip_prefix("jwt:"))
            .map(|id| id.ends_with(":alice")),
        Some(true),
        "{me}"
    );
}

async fn matrix(backend: Backend, auth: &str) {
    let required = auth == "required";
    let t = TestApp::start_with(
        backend,
        Options {
            vars: vec![
                ("AUTH".into(), auth.into()),
                ("API_KEYS".into(), ADMIN.into()),
                ("JWT_SECRET".into(), JWT_SECRET.into()),
                ("JWT_ISSUER".into(), ISSUER.into()),
                ("JWT_AUDIENCE".into(), AUDIENCE.into()),
            ],
            ..Options::default()
        },
    )
    .await;
    let w = world(&t).await;
    let mut callers = callers(&t, &w).await;
    let mut failures = Vec::new();
    let mut n = 0;
    for route in ROUTES {
        for caller in &mut callers {
            n += 1;
            let Some(probe) = probe(route.method, route.path, &w, caller.who, n) else {
                continue;
            };
            let want = expected(probe.rule, caller.who, required);
            let (got, body) = send(&t, route.method, &probe, &caller.cred).await;
            // A token's user who signed up has an account from now on.
            if let (Rule::SignUp { .. }, 201, Who::Stranger { token, .. }) =
                (probe.rule, got, caller.who)
            {
                caller.who = Who::Stranger {
                    account: true,
                    token,
                };
            }
            if got != want {
                failures.push(format!(
                    "{} {} as {}: {got}, expected {want}: {}",
                    route.method,
                    probe.path,
                    caller.label,
                    String::from_utf8_lossy(&body)
                        .chars()
                        .take(200)
                        .collect::<String>()
                ));
            }
            if got >= 500 {
                failures.push(format!(
                    "{} {} as {}: a {got}",
                    route.method, probe.path, caller.label
                ));
            }
            let text = String::from_utf8_lossy(&body);
            if let Ok(json) = serde_json::from_slice::<Value>(&body) {
                for id in hidden_ids(caller, &w) {
                    if shows_picture(&json, id) {
                        failures.push(format!(
                            "{} {} as {}: the answer shows picture {id}",
                            route.method, probe.path, caller.label
                        ));
                    }
                }
            }
            // What the caller sent may come back (a 404 naming the hash asked for).
            for secret in secrets(caller, &w)
                .into_iter()
                .filter(|s| !probe.path.contains(s.as_str()))
            {
                if text.contains(&secret) {
                    failures.push(format!(
                        "{} {} as {}: the answer holds {secret:?}",
                        route.method, probe.path, caller.label
                    ));
                }
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} of the matrix failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
    a_intact(&t, &w).await;

    // Statistics count only what the caller may see: A's camera is on A's
    // private picture alone.
    for caller in callers
        .iter()
        .filter(|c| matches!(c.who, Who::Stranger { .. }))
    {
        let stats = json_of(
            request(&t, "GET", "/stats", &caller.cred)
                .send()
                .await
                .unwrap(),
            200,
        )
        .await;
        assert!(
            !stats.to_string().contains("Canon"),
            "{}: {stats}",
            caller.label
        );
        let tags = json_of(
            request(&t, "GET", "/tags", &caller.cred)
                .send()
                .await
                .unwrap(),
            200,
        )
        .await;
        assert!(
            !tags.to_string().contains(A_TAG),
            "{}: {tags}",
            caller.label
        );
        // De-duplication never answers with A's picture.
        let r = request(&t, "POST", "/images?dedup=true&private=true", &caller.cred)
            .json(&json!({"data": b64(&exif_fixture("canon.jpg"))}))
            .send()
            .await
            .unwrap();
        let body = json_of(r, 201).await;
        assert_ne!(body["id"].as_i64(), Some(w.pa), "{}", caller.label);
    }

    // Deleting their own account, every stranger leaves A's and T's alone.
    for caller in callers
        .iter()
        .filter(|c| matches!(c.who, Who::Stranger { .. }) && !c.sees_t)
    {
        let path = if matches!(caller.who, Who::Stranger { token: true, .. }) {
            "/api/v1/users"
        } else {
            "/users/me"
        };
        let r = request(&t, "DELETE", path, &caller.cred)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 204, "{} {path}", caller.label);
    }
    for caller in callers.iter().filter(|c| c.who == Who::Refused) {
        for path in ["/users/me", "/api/v1/users"] {
            let r = request(&t, "DELETE", path, &caller.cred)
                .send()
                .await
                .unwrap();
            assert_eq!(r.status(), 401, "{} {path}", caller.label);
        }
    }
    let r = request(&t, "DELETE", "/users/me", &Cred::None)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    a_intact(&t, &w).await;
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
        ("AUTH".to_string(), "open".to_string()),
        ("API_KEYS".to_string(), ADMIN.to_string()),
        ("JWT_SECRET".to_string(), JWT_SECRET.to_string()),
    ];
    all.extend(vars.iter().map(|(k, v)| (k.to_string(), v.to_string())));
    TestApp::start_with(
        backend,
        Options {
            vars: all,
            ..Options::default()
        },
    )
    .await
}

async fn key_user(t: &TestApp, email: &str) -> (String, Cred) {
    let made = json_of(
        request(t, "POST", "/users", &Cred::Key(ADMIN.into()))
            .json(&json!({"email": email}))
            .send()
            .await
            .unwrap(),
        201,
    )
    .await;
    (
        made["id"].as_str().unwrap().to_string(),
        Cred::Key(made["api_key"].as_str().unwrap().to_string()),
    )
}

both_backends! {
    async fn authorization_matrix_open(backend) {
        matrix(backend, "open").await;
    }

    async fn authorization_matrix_required(backend) {
        matrix(backend, "required").await;
    }

    // A view link works while whoever could have made it still sees the
    // picture: one made while it was public stops the moment it turns
    // private; its owner's keeps working; a deleted picture's link names
    // nothing. Files of private pictures are never for a shared cache.
    async fn view_links_end_with_privacy(backend) {
        let t = open_app(backend, &[]).await;
        let (_, a) = key_user(&t, "a@example.org").await;
        let picture = json_of(
            request(&t, "POST", "/images", &a).json(&json!({"data": b64(&fixture("coffee.png"))})).send().await.unwrap(),
            201,
        )
        .await;
        let id = picture["id"].as_i64().unwrap();
        let public_link = json_of(t.get(&format!("/images/{id}?data=false")).await, 200).await["view_url"].as_str().unwrap().to_string();
        let fetch = |link: String| {
            let t = &t;
            async move {
                let r = t.get(&link).await;
                let cache = r.headers().get("cache-control").map(|v| v.to_str().unwrap().to_string());
                (r.status().as_u16(), cache)
            }
        };
        let thumb = |link: &str| link.replace("/file?", "/thumbnail?") + "&size=64";
        let (status, cache) = fetch(public_link.clone()).await;
        assert_eq!((status, cache.as_deref()), (200, Some("public, no-cache")));
        assert_eq!(fetch(thumb(&public_link)).await.0, 200);
        // Private: the link anyone could have made stops at once.
        json_of(request(&t, "PATCH", &format!("/images/{id}"), &a).json(&json!({"private": true})).send().await.unwrap(), 200).await;
        assert_eq!(fetch(public_link.clone()).await.0, 404);
        assert_eq!(fetch(thumb(&public_link)).await.0, 404);
        // The owner's own link (a share) works, and is never publicly cacheable.
        let owners_link = json_of(request(&t, "GET", &format!("/images/{id}?data=false"), &a).send().await.unwrap(), 200).await["view_url"].as_str().unwrap().to_string();
        assert_ne!(owners_link, public_link);
        let (status, cache) = fetch(owners_link.clone()).await;
        assert_eq!((status, cache.as_deref()), (200, Some("private, no-cache")));
        let r = request(&t, "GET", &format!("/images/{id}/file"), &a).send().await.unwrap();
        assert_eq!(r.headers()["cache-control"], "private, no-cache");
        // An altered link is still refused as one.
        let altered = owners_link.replace("sig=", "sig=0");
        assert_error(t.get(&altered).await, 403, "bad_signature").await;
        // Public again: both work; deleted: neither.
        json_of(request(&t, "PATCH", &format!("/images/{id}"), &a).json(&json!({"private": false})).send().await.unwrap(), 200).await;
        assert_eq!(fetch(public_link.clone()).await.0, 200);
        assert_eq!(fetch(owners_link.clone()).await.0, 200);
        assert_eq!(request(&t, "DELETE", &format!("/images/{id}"), &a).send().await.unwrap().status(), 204);
        assert_eq!(fetch(public_link).await.0, 404);
        assert_eq!(fetch(owners_link).await.0, 404);
    }

    // Anyone but the owner and admins gets a file without the place it was
    // taken, through every route that serves its bytes; the owner gets it
    // byte for byte.
    async fn files_lose_their_place_for_others(backend) {
        let t = open_app(backend, &[]).await;
        let (_, a) = key_user(&t, "a@example.org").await;
        let (_, b) = key_user(&t, "b@example.org").await;
        let original = exif_fixture("south_west.jpg");
        assert!(exif_of(&original).gps.is_some(), "the fixture has a place");
        let picture = json_of(
            request(&t, "POST", "/images", &a).json(&json!({"data": b64(&original)})).send().await.unwrap(),
            201,
        )
        .await;
        let (id, hash) = (picture["id"].as_i64().unwrap(), picture["hash"].as_str().unwrap().to_string());
        let view = picture["view_url"].as_str().unwrap().to_string();
        let bytes = |cred: Cred, path: String| {
            let t = &t;
            async move {
                let r = request(t, "GET", &path, &cred).send().await.unwrap();
                assert_eq!(r.status(), 200, "{path}");
                let etag = r.headers()["etag"].to_str().unwrap().to_string();
                (r.bytes().await.unwrap().to_vec(), etag)
            }
        };
        let data = |cred: Cred| {
            let t = &t;
            async move {
                let body = json_of(request(t, "GET", &format!("/images/{id}"), &cred).send().await.unwrap(), 200).await;
                base64::Engine::decode(&base64::engine::general_purpose::STANDARD, body["data"].as_str().unwrap()).unwrap()
            }
        };
        let (mine, my_etag) = bytes(a.clone(), format!("/images/{id}/file")).await;
        assert_eq!(mine, original, "the owner gets the original");
        assert_eq!(data(a.clone()).await, original);
        assert_eq!(bytes(Cred::Key(ADMIN.into()), format!("/images/{id}/file")).await.0, original);
        for (who, cred) in [("anonymous", Cred::None), ("another user", b.clone())] {
            for path in [format!("/images/{id}/file"), view.clone(), format!("/api/images/{hash}")] {
                let (theirs, etag) = bytes(cred.clone(), path.clone()).await;
                assert_ne!(etag, my_etag, "{who} {path}: another entity");
                assert_eq!(theirs.len(), original.len(), "{who} {path}: nothing re-encoded");
                let exif = exif_of(&theirs);
                assert_eq!(exif.gps, None, "{who} {path}");
                assert_eq!(exif.camera, exif_of(&original).camera, "{who} {path}: the rest stays");
                image::load_from_memory(&theirs).expect("still a picture");
            }
            assert_eq!(exif_of(&data(cred).await).gps, None, "{who}: data");
        }
        // The JSON never showed them the place either.
        let seen = json_of(t.get(&format!("/images/{id}?data=false")).await, 200).await;
        assert_eq!(seen["gps"], Value::Null);
    }

    // Closing an account ends every door it had: keys, upload links and
    // presigned slots stop at once; what arrives afterwards is refused and
    // stores nothing; the slots' objects are gone.
    async fn account_deletion_ends_every_door(backend) {
        let t = open_app(backend, &[]).await;
        let (a_id, a) = key_user(&t, "a@example.org").await;
        let link = json_of(request(&t, "POST", "/upload-links", &a).json(&json!({"expiry": 3600})).send().await.unwrap(), 201).await;
        let link = link["upload_id"].as_str().unwrap().to_string();
        let slots = json_of(request(&t, "POST", "/upload-urls", &a).json(&json!({"count": 2})).send().await.unwrap(), 200).await;
        let urls: Vec<String> = slots["image_upload_urls"].as_array().unwrap().iter().map(|s| s["url"].as_str().unwrap().to_string()).collect();
        // One slot has its object already.
        let r = t.client.put(format!("{}{}", t.url, urls[0])).body(distinct_png(1)).send().await.unwrap();
        assert_eq!(r.status(), 200);
        json_of(request(&t, "POST", "/images", &a).json(&json!({"data": b64(&distinct_png(2))})).send().await.unwrap(), 201).await;
        assert_eq!(request(&t, "DELETE", "/users/me", &a).send().await.unwrap().status(), 204);
        let (pictures, _) = t.row_counts().await;
        assert_eq!(pictures, 0, "the account's pictures are gone");
        let uploads = t.images.join("uploads");
        let left: Vec<_> = std::fs::read_dir(&uploads).map(|d| d.flatten().collect()).unwrap_or_default();
        assert!(left.is_empty(), "slot objects left: {left:?}");
        // Every door is shut, and nothing gets in.
        assert_error(request(&t, "GET", "/users/me", &a).send().await.unwrap(), 401, "unauthorized").await;
        for url in &urls {
            let r = t.client.put(format!("{}{url}", t.url)).body(distinct_png(3)).send().await.unwrap();
            assert_eq!(r.status(), 404, "{url}");
        }
        let form = form_with("late.png", "image_files", distinct_png(4));
        let r = t.client.post(format!("{}/uploads/{link}", t.url)).multipart(form).send().await.unwrap();
        assert_error(r, 404, "not_found").await;
        let form = form_with("late.png", "image_files", distinct_png(5));
        let r = t.client.post(format!("{}/api/upload-images/{link}", t.url)).multipart(form).send().await.unwrap();
        assert_error(r, 404, "not_found").await;
        let (pictures, _) = t.row_counts().await;
        assert_eq!(pictures, 0, "nothing stored for {a_id} afterwards");
        assert!(std::fs::read_dir(&uploads).map(|d| d.count()).unwrap_or(0) == 0);
    }

    // Decompression bombs and floods get a clear answer at once and store
    // nothing: an image whose pixels could never fit the decode budget is a
    // 413 (on every route that decodes, and when queued for later), one whose
    // header lies about pixels it does not have a 400, lists past their
    // bounds a 400 before they are read, and a budget held by others a 503
    // with Retry-After.
    async fn bombs_and_floods_get_a_clear_answer(backend) {
        let t = open_app(backend, &[("DECODE_WAIT_MS", "200")]).await;
        let gif_bomb = gif_declaring(10_000, 10_000);
        assert!(gif_bomb.len() < 64, "a bomb is tiny: {} bytes", gif_bomb.len());
        for query in ["", "?async=true"] {
            let r = t.post_image(&gif_bomb, query).await;
            assert_error(r, 413, "decode_too_large").await;
        }
        let form = form_with("bomb.gif", "image", gif_bomb.clone());
        assert_error(t.client.post(format!("{}/colors", t.url)).multipart(form).send().await.unwrap(), 413, "decode_too_large").await;
        let form = form_with("bomb.gif", "image", gif_bomb.clone());
        assert_error(t.client.post(format!("{}/prominent-colors", t.url)).multipart(form).send().await.unwrap(), 413, "decode_too_large").await;
        let form = form_with("bomb.gif", "image_files", gif_bomb.clone());
        let answer = json_of(t.client.post(format!("{}/images", t.url)).multipart(form).send().await.unwrap(), 200).await;
        assert_eq!(answer["errors"]["bomb.gif"]["error"], "decode_too_large", "{answer}");
        // A PNG declaring 96 megapixels of RGB it does not hold: more than the budget.
        assert_error(t.post_image(&png_declaring(12_000, 8_000), "").await, 413, "decode_too_large").await;
        // Within the budget, the lie is found by decoding: no pixels.
        assert_error(t.post_image(&png_declaring(4_000, 3_000), "").await, 400, "invalid_image").await;
        // JPEGs declaring 96 megapixels and holding none: refused as what they
        // are, baseline or progressive, before a buffer is made for them.
        for progressive in [false, true] {
            assert_error(t.post_image(&jpeg_declaring(60_000, 1_600, progressive), "").await, 400, "invalid_image").await;
        }
        // Beyond 100 megapixels the header alone is refused.
        assert_error(t.post_image(&png_declaring(20_000, 20_000), "").await, 400, "image_too_large").await;
        t.assert_nothing_stored().await;

        // Floods: a 200,000-tag body, a 16,500-tag search, refused unread.
        let many: Vec<String> = (0..200_000).map(|i| format!("t{i}")).collect();
        let r = t.client.post(format!("{}/images", t.url))
            .json(&json!({"data": b64(&distinct_png(1)), "tags": many}))
            .send().await.unwrap();
        assert_error(r, 400, "invalid_tags").await;
        // 16,500 tags in a URL under the HTTP stack's 64 KiB: short names.
        let tags = (0..16_500).map(|i| format!("t{}", i % 10)).collect::<Vec<_>>().join(",");
        assert_error(t.get(&format!("/images?tags={tags}")).await, 400, "invalid_tags").await;
        assert_error(t.get(&format!("/images?tags={}", ",".repeat(100))).await, 400, "invalid_tags").await;
        let r = t.client.patch(format!("{}/images/1", t.url)).json(&json!({"add_tags": (0..300).map(|i| format!("t{i}")).collect::<Vec<_>>()})).send().await.unwrap();
        assert_error(r, 400, "invalid_tags").await;
        t.assert_nothing_stored().await;

        // The budget held by other decodes: 503 with Retry-After, then room again.
        let held = t.app.decodes.reserve(t.app.decodes.total_bytes()).await.unwrap();
        let form = form_with("small.png", "image", distinct_png(2));
        let r = t.client.post(format!("{}/colors", t.url)).multipart(form).send().await.unwrap();
        assert_eq!(r.headers().get("retry-after").map(|v| v.to_str().unwrap()), Some("1"));
        assert_error(r, 503, "too_busy").await;
        assert_error(t.post_image(&distinct_png(3), "").await, 503, "too_busy").await;
        t.assert_nothing_stored().await;
        drop(held);
        let form = form_with("small.png", "image", distinct_png(2));
        json_of(t.client.post(format!("{}/colors", t.url)).multipart(form).send().await.unwrap(), 200).await;
        json_of(t.post_image(&distinct_png(3), "").await, 201).await;
    }

    // The sweep sees every file the service writes, at every depth, and
    // removes what no row refers to: a thumbnail written after its picture
    // was deleted, an object at a slot that no longer exists, a partial write.
    async fn the_sweep_finds_orphans_at_every_depth(backend) {
        let t = open_app(backend, &[]).await;
        let kept = json_of(t.post_image(&distinct_png(1), "").await, 201).await["id"].as_i64().unwrap();
        assert_eq!(t.get(&format!("/images/{kept}/thumbnail?size=64")).await.status(), 200);
        let stem = "0123456789abcdef0123456789abcdef";
        let gone = t.images.join(format!("{stem}.png"));
        // A thumbnail of a picture that is gone: its file and row went while it was made.
        t.app.store.put_derived(&gone.display().to_string(), "t64.jpg", b"thumb").await.unwrap();
        std::fs::create_dir_all(t.images.join("uploads")).unwrap();
        std::fs::write(t.images.join("uploads").join(stem), b"slot object").unwrap();
        std::fs::write(t.images.join("derived").join(stem).join(format!(".tmp-{stem}.part")), b"half").unwrap();
        let report = pictures::domain::reconcile(&t.app, std::time::Duration::ZERO).await.unwrap();
        assert_eq!(report.removed.len(), 3, "{:?}", report.removed);
        assert!(!t.images.join("derived").join(stem).join("t64.jpg").exists());
        assert!(!t.images.join("uploads").join(stem).exists());
        // What rows refer to stays: the kept picture and its thumbnail.
        assert_eq!(t.get(&format!("/images/{kept}/file")).await.status(), 200);
        let derived: Vec<_> = std::fs::read_dir(t.images.join("derived")).unwrap().flatten().collect();
        assert_eq!(derived.len(), 1, "the kept picture's folder only");
    }
}

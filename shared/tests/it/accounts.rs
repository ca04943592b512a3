//! Accounts, keys and privacy, through real HTTP on SQLite and MariaDB:
//! who may see and change what, under `AUTH=open` and `AUTH=required`.
//! A private picture of user A is never visible to B through any route,
//! listing, statistic or count, and B cannot tell it exists: the same 404
//! as an id that names nothing.

use crate::common::*;
use jsonwebtoken::{Algorithm, EncodingKey, Header, encode};
use serde_json::{Value, json};

const ADMIN: &str = "admin-key-for-tests";
const JWT_SECRET: &str = "jwt-secret-for-tests";

fn options(auth: &str) -> Options {
    Options {
        vars: vec![
            ("AUTH".into(), auth.into()),
            ("API_KEYS".into(), ADMIN.into()),
            ("JWT_SECRET".into(), JWT_SECRET.into()),
        ],
        ..Options::default()
    }
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

fn ids(list: &Value) -> Vec<i64> {
    list.as_array()
        .unwrap()
        .iter()
        .map(|p| p["id"].as_i64().unwrap())
        .collect()
}

async fn matrix(backend: Backend, auth: &str) {
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
    let missing = 2_000_000;

    // Every route that names a picture: Alice and the admin see hers; Bob and
    // anonymous callers get exactly what an id naming nothing gets.
    let view_url = private["view_url"].as_str().unwrap().to_string();
    let routes: [&str; 7] = [
        "/images/{}",
        "/image/{}",
        "/images/{}/file",
        "/images/{}/thumbnail?size=64",
        "/images/{}/colors?k=2",
        "/images/{}/palette.png?k=2",
        "/images/{}/similar",
    ];
    for route in &routes {
        let at = |id: i64| route.replace("{}", &id.to_string());
        for (who, cred) in [("alice", &alice), ("admin", &admin)] {
            assert_eq!(get(&t, &at(p), cred).await.status(), 200, "{who} {}", at(p));
        }
        let anon_status = if required { 401 } else { 404 };
        for (who, cred, status) in [
            ("bob", &bob, 404),
            ("a token naming alice's id", &alice_token, 404),
            ("anonymous", &Cred::None, anon_status),
        ] {
            let seen = get(&t, &at(p), cred).await;
            let none = get(&t, &at(missing), cred).await;
            assert_eq!(
                (seen.status().as_u16(), none.status().as_u16()),
                (status, status),
                "{who} {}",
                at(p)
            );
            let (seen, none): (Value, Value) =
                (seen.json().await.unwrap(), none.json().await.unwrap());
            assert_eq!(
                seen["error"],
                none["error"],
                "{who} cannot tell {} exists",
                at(p)
            );
            assert_eq!(
                seen["message"]
                    .as_str()
                    .unwrap()
                    .replace(&p.to_string(), "N"),
                none["message"]
                    .as_str()
                    .unwrap()
                    .replace(&missing.to_string(), "N"),
                "{who}"
            );
        }
        for (what, cred) in &refused {
            let r = get(&t, &at(p), cred).await;
            assert_error(r, 401, "unauthorized").await;
            let _ = what;
        }
        // Her public picture: everyone who may call sees it.
        assert_eq!(get(&t, &at(q), &bob).await.status(), 200, "{}", at(q));
        assert_eq!(
            get(&t, &at(q), &Cred::None).await.status(),
            if required { 401 } else { 200 },
            "{}",
            at(q)
        );
    }

    // The signed view URL lets anyone fetch the file, and only that file, until it expires.
    let r = get(&t, &view_url, &Cred::None).await;
    assert_eq!(r.status(), 200);
    assert_eq!(
        r.bytes().await.unwrap().as_ref(),
        fixture("chelsea.png").as_slice()
    );
    let tampered = view_url.replace(&format!("/images/{p}/"), &format!("/images/{q}/"));
    assert_error(get(&t, &tampered, &Cred::None).await, 403, "bad_signature").await;
    let mut sig = view_url.clone();
    let last = sig.pop().unwrap();
    sig.push(if last == '0' { '1' } else { '0' });
    assert_error(get(&t, &sig, &Cred::None).await, 403, "bad_signature").await;
    let signer = t.app.signer().await.unwrap();
    let old = now() - 10;
    let picture = t.app.db.picture(p).await.unwrap().unwrap();
    let expired = pictures::domain::files::signed_view_url(signer, &picture, old);
    assert_error(get(&t, &expired, &Cred::None).await, 403, "url_expired").await;
    // ETag and 304.
    let r = get(&t, &view_url, &Cred::None).await;
    let etag = r.headers()["etag"].to_str().unwrap().to_string();
    assert_eq!(etag, format!("\"{}\"", private["hash"].as_str().unwrap()));
    let r = t
        .client
        .get(format!("{}{view_url}", t.url))
        .header("if-none-match", &etag)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 304);

    // Listings, statistics and counts: Bob never meets Alice's private picture.
    let everyone: Vec<i64> = [Some(p), Some(q), anonymous]
        .into_iter()
        .flatten()
        .collect();
    let visible_to_bob: Vec<i64> = [Some(q), anonymous].into_iter().flatten().collect();
    assert_eq!(
        ids(&json_of(get(&t, "/images", &alice).await, 200).await),
        everyone
    );
    assert_eq!(
        ids(&json_of(get(&t, "/images", &admin).await, 200).await),
        everyone
    );
    assert_eq!(
        ids(&json_of(get(&t, "/images", &bob).await, 200).await),
        visible_to_bob
    );
    assert_eq!(
        ids(&json_of(get(&t, "/images?tags=rocket", &bob).await, 200).await),
        visible_to_bob
    );
    let hash = private["hash"].as_str().unwrap();
    assert_eq!(
        ids(&json_of(get(&t, &format!("/images?hash={hash}"), &bob).await, 200).await),
        Vec::<i64>::new()
    );
    assert_eq!(
        ids(&json_of(get(&t, &format!("/images?hash={hash}"), &alice).await, 200).await),
        vec![p]
    );
    assert_eq!(
        ids(&json_of(get(&t, "/images?owner=me", &alice).await, 200).await),
        vec![p, q]
    );
    assert_eq!(
        ids(&json_of(get(&t, "/images?owner=me", &bob).await, 200).await),
        Vec::<i64>::new()
    );
    let count = |stats: &Value, tag: &str| {
        stats
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["tag"] == tag)
            .map_or(0, |s| s["n_images"].as_i64().unwrap())
    };
    let n = everyone.len() as i64;
    assert_eq!(
        count(
            &json_of(get(&t, "/tags", &alice).await, 200).await,
            "rocket"
        ),
        n
    );
    assert_eq!(
        count(
            &json_of(get(&t, "/tags", &admin).await, 200).await,
            "rocket"
        ),
        n
    );
    assert_eq!(
        count(&json_of(get(&t, "/tags", &bob).await, 200).await, "rocket"),
        n - 1
    );
    let today = chrono::Utc::now().format("%Y-%m-%d").to_string();
    let uploads = |stats: &Value| stats["uploads_per_day"][0]["count"].as_i64().unwrap();
    assert_eq!(
        uploads(&json_of(get(&t, "/stats", &alice).await, 200).await),
        n
    );
    assert_eq!(
        uploads(&json_of(get(&t, "/stats", &bob).await, 200).await),
        n - 1
    );
    assert_eq!(
        json_of(get(&t, "/stats", &bob).await, 200).await["uploads_per_day"][0]["date"],
        today
    );
    // GPS and the like are the owner's: the picture object still has the field.
    assert!(
        json_of(get(&t, &format!("/images/{q}"), &bob).await, 200)
            .await
            .get("gps")
            .is_some()
    );

    // Changing and deleting: the owner or an admin; others get the 404 of nothing.
    for (cred, status) in [(&bob, 404), (&Cred::None, if required { 401 } else { 404 })] {
        let r = send(
            &t,
            reqwest::Method::PATCH,
            &format!("/images/{p}"),
            cred,
            Some(json!({"private": false})),
        )
        .await;
        assert_eq!(r.status(), status);
        let r = send(
            &t,
            reqwest::Method::DELETE,
            &format!("/images/{p}"),
            cred,
            None,
        )
        .await;
        assert_eq!(r.status(), status);
        let r = send(
            &t,
            reqwest::Method::POST,
            &format!("/images/{p}/retag"),
            cred,
            None,
        )
        .await;
        assert_eq!(r.status(), status);
        let r = send(
            &t,
            reqwest::Method::DELETE,
            "/images",
            cred,
            Some(json!({"ids": [p]})),
        )
        .await;
        if status == 404 {
            assert_eq!(
                json_of(r, 200).await,
                json!({"deleted": [], "not_found": [p]})
            );
        }
    }
    // Alice makes it public: Bob sees it, and the statistics follow.
    let changed = json_of(
        send(
            &t,
            reqwest::Method::PATCH,
            &format!("/images/{p}"),
            &alice,
            Some(json!({"private": false, "name": "cat.png", "add_tags": ["whiskers"]})),
        )
        .await,
        200,
    )
    .await;
    assert_eq!(
        (changed["private"].clone(), changed["name"].clone()),
        (json!(false), json!("cat.png"))
    );
    assert_eq!(get(&t, &format!("/images/{p}"), &bob).await.status(), 200);
    assert_eq!(
        count(&json_of(get(&t, "/tags", &bob).await, 200).await, "rocket"),
        n
    );
    assert_eq!(
        count(
            &json_of(get(&t, "/tags", &bob).await, 200).await,
            "whiskers"
        ),
        1
    );
    // Private again, then deleted by the admin: row, tags, statistics and file go.
    json_of(
        send(
            &t,
            reqwest::Method::PATCH,
            &format!("/images/{p}"),
            &alice,
            Some(json!({"private": true})),
        )
        .await,
        200,
    )
    .await;
    assert_eq!(
        count(
            &json_of(get(&t, "/tags", &bob).await, 200).await,
            "whiskers"
        ),
        0
    );
    let files_before = t.files().iter().filter(|f| f.is_file()).count();
    assert_eq!(
        send(
            &t,
            reqwest::Method::DELETE,
            &format!("/images/{p}"),
            &admin,
            None
        )
        .await
        .status(),
        204
    );
    assert_eq!(get(&t, &format!("/images/{p}"), &alice).await.status(), 404);
    assert_eq!(
        t.files().iter().filter(|f| f.is_file()).count(),
        files_before - 1
    );
    assert_eq!(
        count(
            &json_of(get(&t, "/tags", &admin).await, 200).await,
            "rocket"
        ),
        n - 1
    );
    assert_eq!(
        count(
            &json_of(get(&t, "/tags", &admin).await, 200).await,
            "whiskers"
        ),
        0
    );

    // Anonymous pictures: only an admin may delete them.
    if let Some(anon) = anonymous {
        assert_eq!(
            send(
                &t,
                reqwest::Method::DELETE,
                &format!("/images/{anon}"),
                &alice,
                None
            )
            .await
            .status(),
            404
        );
        let r = send(
            &t,
            reqwest::Method::DELETE,
            "/images",
            &admin,
            Some(json!({"ids": [anon, missing]})),
        )
        .await;
        assert_eq!(
            json_of(r, 200).await,
            json!({"deleted": [anon], "not_found": [missing]})
        );
    }

    // Routes that need no credentials answer without them, whatever AUTH says.
    for path in ["/health", "/openapi.json", "/docs"] {
        assert_eq!(get(&t, path, &Cred::None).await.status(), 200, "{path}");
    }
    // Bad credentials are refused on every route, even where none are needed.
    for (_, cred) in &refused {
        assert_error(get(&t, "/tags", cred).await, 401, "unauthorized").await;
    }

    // Deleting the account: its pictures, keys and statistics go; the key stops working.
    assert_eq!(
        send(&t, reqwest::Method::DELETE, "/users/me", &alice, None)
            .await
            .status(),
        204
    );
    assert_error(get(&t, "/users/me", &alice).await, 401, "unauthorized").await;
    assert_eq!(get(&t, &format!("/images/{q}"), &admin).await.status(), 404);
    let left = json_of(get(&t, "/images", &admin).await, 200).await;
    assert_eq!(ids(&left), Vec::<i64>::new());
    assert_eq!(
        json_of(get(&t, "/tags", &admin).await, 200).await,
        json!([])
    );
    assert_eq!(t.row_counts().await, (0, 0));
    assert!(t.files().iter().all(|f| !f.is_file()), "{:?}", t.files());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn who_sees_what_open_sqlite() {
    matrix(Backend::Sqlite, "open").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn who_sees_what_required_sqlite() {
    matrix(Backend::Sqlite, "required").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn who_sees_what_open_mariadb() {
    matrix(Backend::MySql, "open").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn who_sees_what_required_mariadb() {
    matrix(Backend::MySql, "required").await;
}

both_backends! {
    // Sign-up, keys, tokens and conflicts.
    async fn users_and_keys(backend) {
        let t = TestApp::start_with(backend, options("open")).await;
        // Self sign-up under AUTH=open: an account and its first key, shown once.
        let r = t.client.post(format!("{}/users", t.url)).send().await.unwrap();
        let me = json_of(r, 201).await;
        let key = me["api_key"].as_str().unwrap().to_string();
        assert!(key.len() >= 40);
        assert_eq!(me["image_upload_count"], 0);
        let cred = Cred::Key(key.clone());
        let listed = json_of(get(&t, "/users/me/keys", &cred).await, 200).await;
        assert_eq!(listed.as_array().unwrap().len(), 1);
        assert!(listed[0].get("key").is_none(), "never the key again: {listed}");
        assert!(!listed.to_string().contains(&key));
        // Uploads count.
        upload(&t, &cred, &fixture("rocket.jpg"), "").await;
        assert_eq!(json_of(get(&t, "/users/me", &cred).await, 200).await["image_upload_count"], 1);
        // A user cannot create users; an admin creating a taken email gets 409.
        let r = send(&t, reqwest::Method::POST, "/users", &cred, Some(json!({"email": "x@example.org"}))).await;
        assert_error(r, 403, "forbidden").await;
        user(&t, "x@example.org").await;
        let r = send(&t, reqwest::Method::POST, "/users", &Cred::Key(ADMIN.into()), Some(json!({"email": "X@example.org"}))).await;
        let body = assert_error(r, 409, "conflict").await;
        assert!(body["detail"].is_string());
        // A token creates its own user once; the second time is a conflict.
        let tok = Cred::Bearer(token(json!({"user_id": "73578802-dfea", "email": "t@example.org", "exp": now() + 600}), JWT_SECRET));
        let r = send(&t, reqwest::Method::POST, "/users", &tok, None).await;
        let made = json_of(r, 201).await;
        // The token's user, in the tokens' namespace (no JWT_ISSUER: none named).
        assert_eq!((made["id"].clone(), made["email"].clone()), (json!("jwt::73578802-dfea"), json!("t@example.org")));
        assert!(made.get("api_key").is_none(), "a token's user signs in with tokens");
        assert_error(send(&t, reqwest::Method::POST, "/users", &tok, None).await, 409, "conflict").await;
        // An admin is not a user.
        assert_error(get(&t, "/users/me", &Cred::Key(ADMIN.into())).await, 403, "forbidden").await;
        // Malformed authorization headers.
        let r = t.client.get(format!("{}/tags", t.url)).header("authorization", "Basic abc").send().await.unwrap();
        assert_error(r, 401, "unauthorized").await;
        let r = t.client.get(format!("{}/tags", t.url)).header("x-api-key", "").send().await.unwrap();
        assert_error(r, 401, "unauthorized").await;
    }
}

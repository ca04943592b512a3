//! Every route of the routes table, by every kind of caller, under
//! `AUTH=open` and `AUTH=required`: the status the rules give, and no
//! private byte of A's to anyone but A and admins.

use super::*;

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
    for route in ROUTES.iter() {
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

both_backends! {
    async fn authorization_matrix_open(backend) {
        matrix(backend, "open").await;
    }

    async fn authorization_matrix_required(backend) {
        matrix(backend, "required").await;
    }
}

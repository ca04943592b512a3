//! Every route of the routes table, by every kind of caller, under
//! `AUTH=open` and `AUTH=required`: the status the rules give, and no
//! private byte of A's to anyone but A and admins.

use super::probes::{Body, Probe, Rule, expected, probe};
use super::*;

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

/// A's and T's private pictures and accounts are still there, as each
/// sees them.
async fn a_intact(t: &TestApp, w: &World) {
    let a = Cred::Key(w.a_key.clone());
    let got = call(
        t,
        "GET",
        &format!("/images/{}?data=false", w.pa),
        &a,
        None,
        200,
    )
    .await;
    assert_eq!(got["name"], A_NAME);
    let me = call(t, "GET", "/users/me", &a, None, 200).await;
    assert_eq!(me["id"], w.a_id.as_str());
    let tc = Cred::Bearer(w.t_token.clone());
    let got = call(
        t,
        "GET",
        &format!("/images/{}?data=false", w.pt),
        &tc,
        None,
        200,
    )
    .await;
    assert_eq!(got["name"], T_NAME);
    let me = call(t, "GET", "/users/me", &tc, None, 200).await;
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
        Options::with_vars(&[
            ("AUTH", auth),
            ("API_KEYS", ADMIN),
            ("JWT_SECRET", JWT_SECRET),
            ("JWT_ISSUER", ISSUER),
            ("JWT_AUDIENCE", AUDIENCE),
        ]),
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
        let stats = call(&t, "GET", "/stats", &caller.cred, None, 200).await;
        assert!(
            !stats.to_string().contains("Canon"),
            "{}: {stats}",
            caller.label
        );
        let tags = call(&t, "GET", "/tags", &caller.cred, None, 200).await;
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

//! The matrix's probes: for every route of the routes table, the request
//! each caller sends, and the rule its answer follows.

use super::*;

/// How a route answers, by who asks.
#[derive(Clone, Copy)]
pub(super) enum Rule {
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

pub(super) fn expected(rule: Rule, who: Who, required: bool) -> u16 {
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
pub(super) struct Probe {
    pub rule: Rule,
    pub path: String,
    pub body: Body,
}

pub(super) enum Body {
    None,
    Json(Value),
    Form(&'static str, Vec<u8>),
    Fields(Vec<(&'static str, String)>),
    Bytes(Vec<u8>),
}

/// The probe of a route. Routes that destroy what they name are aimed at
/// A's things only when the caller may not touch them; the suite's last
/// phase deletes accounts.
pub(super) fn probe(method: &str, path: &str, w: &World, who: Who, n: u32) -> Option<Probe> {
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

//! `AUTH=required` on an S3 store with a small response limit, as the
//! description documents it.

use super::client::{Api, Covers};
use super::fixtures::*;
use super::{ADMIN, DOCS_ROUTES};
use crate::common::*;
use serde_json::json;
use std::collections::BTreeSet;

pub(super) const AUTH_REQUIRED_ON_S3: Covers = Covers {
    operations: &[
        ("POST", "/images"),
        ("GET", "/images"),
        ("GET", "/tags"),
        ("POST", "/users"),
        ("POST", "/upload-links"),
        ("POST", "/api/v1/users"),
        ("GET", "/api/v1/images/upload_urls"),
        ("GET", "/health"),
        ("GET", "/docs"),
        ("GET", "/openapi.json"),
        ("GET", "/"),
        ("GET", "/images/{id}"),
        ("GET", "/images/{id}/file"),
        ("GET", "/api/images/{image_id}"),
        ("GET", "/images/{id}/thumbnail"),
        ("POST", "/uploads/{upload_id}"),
    ],
    statuses: &[200, 201, 307, 401],
};

/// `AUTH=required` on an S3 store with a small response limit: anonymous
/// callers get 401 except where nothing is needed; files answer 307 to S3;
/// a picture too large for the answer says `data_omitted`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn real_responses_under_auth_required_on_s3_match_the_description() {
    let s3 = S3Server::start();
    let mut vars = s3_options(&s3.url, SECRET_KEY).vars;
    vars.extend(
        [
            ("AUTH", "required"),
            ("API_KEYS", ADMIN),
            ("MAX_RESPONSE_BYTES", "70000"),
        ]
        .map(|(k, v)| (k.to_string(), v.to_string())),
    );
    let t = TestApp::start_with(
        Backend::Sqlite,
        Options {
            vars,
            ..Options::default()
        },
    )
    .await;
    let api = Api::new(&t);
    let rocket = fixture("rocket.jpg");
    let upload = json!({"data": b64(&rocket)});

    api.req("post", "/images", "/images")
        .json(json!({"data": b64(&distinct_png(99))}))
        .expect(401)
        .await;
    api.req("get", "/images", "/images").expect(401).await;
    api.req("get", "/tags", "/tags").expect(401).await;
    api.req("post", "/users", "/users").expect(401).await;
    api.req("post", "/upload-links", "/upload-links")
        .json(json!({"expiry": 60}))
        .expect(401)
        .await;
    api.req("post", "/api/v1/users", "/api/v1/users")
        .expect(401)
        .await;
    api.req(
        "get",
        "/api/v1/images/upload_urls",
        "/api/v1/images/upload_urls?image_count=1",
    )
    .expect(401)
    .await;
    for (_, path) in DOCS_ROUTES {
        api.req("get", path, path).expect(200).await;
    }
    api.req("get", "/", "/").expect(200).await;

    let picture = api
        .req("post", "/images", "/images")
        .key(ADMIN)
        .json(upload)
        .expect(201)
        .await;
    assert_eq!(picture["data_omitted"], "too_large", "{picture}");
    assert!(picture.get("data").is_none());
    let one = format!("/images/{}", picture["id"]);
    let again = api
        .req("get", "/images/{id}", &one)
        .key(ADMIN)
        .expect(200)
        .await;
    assert_eq!(again["data_omitted"], "too_large");
    // The file is on S3: a redirect, for the signed URL without credentials.
    let (headers, _) = api
        .req(
            "get",
            "/images/{id}/file",
            &relative(&text(&picture["view_url"])),
        )
        .answer(307)
        .await;
    assert!(headers["location"].to_str().unwrap().starts_with(&s3.url));
    api.req("get", "/images/{id}/file", &format!("{one}/file"))
        .expect(401)
        .await;
    api.req("get", "/images/{id}/file", &format!("{one}/file"))
        .key(ADMIN)
        .expect(307)
        .await;
    // Seed 002's file route carries no permission of its own: under
    // AUTH=required it needs a key, like every such route.
    let by_hash = format!("/api/images/{}", text(&picture["hash"]));
    api.req("get", "/api/images/{image_id}", &by_hash)
        .expect(401)
        .await;
    api.req("get", "/api/images/{image_id}", &by_hash)
        .key(ADMIN)
        .expect(307)
        .await;
    let signed_thumbnail = relative(&text(&picture["view_url"])).replace("/file?", "/thumbnail?");
    api.req("get", "/images/{id}/thumbnail", &signed_thumbnail)
        .expect(200)
        .await;
    api.req("get", "/images/{id}/thumbnail", &format!("{one}/thumbnail"))
        .expect(401)
        .await;
    // Links and upload URLs carry their own permission.
    let link = api
        .req("post", "/upload-links", "/upload-links")
        .key(ADMIN)
        .json(json!({"expiry": 60}))
        .expect(201)
        .await;
    let form = files(&[("image_files", "one.png", distinct_png(1))]);
    api.req("post", "/uploads/{upload_id}", &text(&link["url"]))
        .multipart(form)
        .expect(200)
        .await;

    let statuses: BTreeSet<u16> = api.seen().iter().map(|s| s.2).collect();
    assert_eq!(statuses, BTreeSet::from([200, 201, 307, 401]));
    api.covered(&AUTH_REQUIRED_ON_S3);
}

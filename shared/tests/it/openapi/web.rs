//! The gallery and its assets (entity tags, 304), the description, the
//! docs page, the health check, and a documented path asked with another
//! method.

use super::DOCS_ROUTES;
use super::client::{Api, Covers};
use super::fixtures::*;
use super::schema::check_response;
use serde_json::json;
use std::collections::BTreeSet;

pub(super) const WEB: Covers = Covers {
    operations: &[
        ("GET", "/"),
        ("GET", "/assets/{file}"),
        ("GET", "/health"),
        ("GET", "/docs"),
        ("GET", "/openapi.json"),
    ],
    statuses: &[200, 304, 404],
};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gallery_assets_and_docs() {
    let t = open_app().await;
    let api = Api::new(&t);
    let (headers, _) = api.req("get", "/", "/").answer(200).await;
    let etag = headers["etag"].to_str().unwrap().to_string();
    api.req("get", "/", "/")
        .header("if-none-match", &etag)
        .expect(304)
        .await;
    // The assets the page names, if any.
    let page = t.get("/").await.text().await.unwrap();
    let assets: BTreeSet<&str> = page
        .split("/assets/")
        .skip(1)
        .filter_map(|rest| rest.split(['"', '\'', '?', '#', ')']).next())
        .collect();
    for asset in assets {
        let target = format!("/assets/{asset}");
        let (headers, _) = api.req("get", "/assets/{file}", &target).answer(200).await;
        let etag = headers["etag"].to_str().unwrap().to_string();
        api.req("get", "/assets/{file}", &target)
            .header("if-none-match", &etag)
            .expect(304)
            .await;
    }
    api.req("get", "/assets/{file}", "/assets/no-such-file.js")
        .expect(404)
        .await;
    api.req("get", "/assets/{file}", "/assets/index.html")
        .expect(404)
        .await;
    for (_, path) in DOCS_ROUTES {
        api.req("get", path, path).expect(200).await;
    }
    // A documented path with another method: the documented 405.
    let r = t
        .client
        .put(format!("{}/images", t.url))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 405);
    let headers = r.headers().clone();
    let bytes = r.bytes().await.unwrap();
    let documented = json!({"$ref": "#/components/responses/MethodNotAllowed"});
    let body = check_response(&api.spec, &documented, &headers, &bytes, "PUT /images 405");
    assert_eq!(body["error"], "method_not_allowed");
    api.covered(&WEB);
}

//! The description itself: it documents exactly the routes table, its
//! schemas refuse what they exclude, the local API serves it, and the
//! resources' tests together exercise every operation it documents.

use super::DOCS_ROUTES;
use super::client::Covers;
use super::schema::{check, resolve, spec};
use super::{analysis, auth_required, failures, files, images, seed_doors, seed_v1};
use super::{uploads, users, web};
use crate::common::*;
use pictures::http::ROUTES;
use serde_json::{Value, json};
use std::collections::BTreeSet;

/// Every operation of the description, as (method, path).
fn operations() -> BTreeSet<(String, String)> {
    ROUTES
        .iter()
        .map(|r| (r.method, r.path))
        .chain(DOCS_ROUTES)
        .map(|(m, p)| (m.to_string(), p.to_string()))
        .collect()
}

#[test]
fn documents_exactly_the_routes_table() {
    let spec = spec();
    assert_eq!(spec["openapi"], "3.1.0");
    let documented: BTreeSet<(String, String)> = spec["paths"]
        .as_object()
        .unwrap()
        .iter()
        .flat_map(|(path, item)| {
            item.as_object()
                .unwrap()
                .keys()
                .map(move |method| (method.to_uppercase(), path.clone()))
        })
        .collect();
    assert_eq!(documented, operations());

    // Each operation: a unique id, one declared group, a summary; seed
    // routes in their group, saying which seed they serve; credentials as
    // the service reads them; errors as the Error schema.
    let groups: Vec<&Value> = spec["tags"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| &t["name"])
        .collect();
    let seed_route = |path: &str| {
        path.starts_with("/api/")
            || [
                "/image",
                "/image/{id}",
                "/images/tags",
                "/images/upload_urls",
                "/prominent-colors",
                "/rgb2hex",
                "/centroids",
            ]
            .contains(&path)
    };
    let no_credentials_read = [
        "/uploads/{upload_id}",
        "/uploads/put/{image_id}",
        "/api/upload-images/{upload_id}",
        "/",
        "/assets/{file}",
        "/health",
        "/docs",
        "/openapi.json",
    ];
    let mut ids = BTreeSet::new();
    for (path, item) in spec["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            let at = format!("{method} {path}");
            assert!(
                ids.insert(op["operationId"].as_str().unwrap()),
                "{at}: operationId"
            );
            assert!(op["summary"].is_string(), "{at}: summary");
            let tags = op["tags"].as_array().unwrap();
            assert!(tags.len() == 1 && groups.contains(&&tags[0]), "{at}: tags");
            if seed_route(path) {
                assert_eq!(tags[0], "seed compatibility", "{at}");
                let said = format!("{} {}", op["summary"], op["description"]);
                assert!(
                    said.contains("seed 00") || said.contains("Seed 00"),
                    "{at}: which seed"
                );
            }
            let security = op.get("security").unwrap_or(&spec["security"]);
            if no_credentials_read.contains(&path.as_str()) {
                assert_eq!(security, &json!([]), "{at}: reads no credentials");
            } else {
                assert!(!security.as_array().unwrap().is_empty(), "{at}: security");
                assert!(op["responses"]["401"].is_object(), "{at}: 401");
            }
            for (status, response) in op["responses"].as_object().unwrap() {
                let response = resolve(&spec, response);
                assert!(response["description"].is_string(), "{at} {status}");
                if status.starts_with('4') || status.starts_with('5') {
                    let schema = &response["content"]["application/json"]["schema"]["$ref"];
                    let expected = match path.starts_with("/api/v1/") {
                        true => "#/components/schemas/V1Error",
                        false => "#/components/schemas/Error",
                    };
                    assert_eq!(schema, expected, "{at} {status}");
                }
            }
        }
    }
    // Every reference resolves.
    fn refs<'a>(node: &'a Value, out: &mut Vec<&'a str>) {
        match node {
            Value::Object(map) => {
                if let Some(r) = map.get("$ref").and_then(Value::as_str) {
                    out.push(r);
                }
                map.values().for_each(|v| refs(v, out));
            }
            Value::Array(items) => items.iter().for_each(|v| refs(v, out)),
            _ => {}
        }
    }
    let mut all = Vec::new();
    refs(&spec, &mut all);
    for r in all {
        assert!(spec.pointer(r.strip_prefix('#').unwrap()).is_some(), "{r}");
    }
}

/// The checker the tests below rely on refuses what the description excludes.
#[test]
fn the_checker_refuses_what_the_description_excludes() {
    let spec = spec();
    let schema = |name: &str| json!({"$ref": format!("#/components/schemas/{name}")});
    let picture = json!({
        "id": 1, "size": 1.5, "date": "2026-01-01 00:00:00",
        "tags": [{"tag": "cat", "confidence": 99.5, "source": "model"}],
        "name": null, "owner": null, "private": false, "status": "tagged",
        "format": "png", "width": 8, "height": 8, "hash": "ab".repeat(32),
        "view_url": "/images/1/file?expires=1&sig=00", "camera": null, "taken_at": null,
        "gps": null, "colors": [{"hex": "#336699", "fraction": 0.5}], "faces": null,
        "objects": [{"label": "cup", "confidence": 91.5, "box": {"x": 0.1, "y": 0.2, "w": 0.5, "h": 0.4}}],
    });
    let with = |base: &Value, changes: Value| {
        let mut v = base.clone();
        for (k, x) in changes.as_object().unwrap() {
            match x {
                Value::Null if k.starts_with('-') => {
                    v.as_object_mut().unwrap().remove(&k[1..]);
                }
                x => v[k] = x.clone(),
            }
        }
        v
    };
    let ok = |name: &str, value: &Value| {
        check(&spec, &schema(name), value, name).unwrap_or_else(|e| panic!("{e}"))
    };
    let refused = |name: &str, value: &Value| {
        assert!(
            check(&spec, &schema(name), value, name).is_err(),
            "{name} took {value}"
        )
    };
    ok("ListedPicture", &picture);
    ok("PictureWithData", &with(&picture, json!({"data": "AAAA"})));
    ok(
        "PictureWithData",
        &with(&picture, json!({"data_omitted": "too_large"})),
    );
    ok("SimilarPicture", &with(&picture, json!({"distance": 3})));
    ok(
        "ListedPicture",
        &with(
            &picture,
            json!({"gps": {"lat": 1.0, "lon": 2.0}, "format": null}),
        ),
    );
    refused("ListedPicture", &with(&picture, json!({"-status": null})));
    refused("ListedPicture", &with(&picture, json!({"status": "done"})));
    refused(
        "ListedPicture",
        &with(
            &picture,
            json!({"objects": [{"label": "cup", "confidence": 91.5, "box": {"x": 1.5, "y": 0, "w": 0.1, "h": 0.1}}]}),
        ),
    );
    refused("ListedPicture", &with(&picture, json!({"colour": "red"})));
    refused("ListedPicture", &with(&picture, json!({"name": 5})));
    refused("ListedPicture", &with(&picture, json!({"data": "AAAA"})));
    refused(
        "ListedPicture",
        &with(&picture, json!({"gps": {"lat": 1.0}})),
    );
    refused(
        "ListedPicture",
        &with(&picture, json!({"tags": [{"tag": "", "confidence": 1}]})),
    );
    refused("PictureWithData", &picture);
    refused("SimilarPicture", &picture);
    ok("Error", &json!({"error": "not_found", "message": "no"}));
    ok(
        "Error",
        &json!({"error": "not_found", "message": "no", "detail": "check"}),
    );
    refused("Error", &json!({"error": "not_found"}));
    refused(
        "Error",
        &json!({"error": "not_found", "message": "no", "stack": "x"}),
    );
    refused("V1Error", &json!({"error": "not_found", "message": "no"}));
    refused(
        "Colors",
        &json!({"colors": [{"rgb": [1, 2], "hex": "#000000", "count": 1, "fraction": 1}]}),
    );
    refused(
        "Account",
        &json!({"id": "u1", "email": 5, "image_upload_count": 0, "created": "x"}),
    );
}

#[tokio::test]
async fn the_local_api_serves_the_description_and_a_docs_page() {
    let t = TestApp::start(Backend::Sqlite).await;
    let r = t.get("/openapi.json").await;
    assert_eq!(r.status(), 200);
    assert!(
        r.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("application/json")
    );
    assert_eq!(r.json::<Value>().await.unwrap(), spec());
    let r = t.get("/docs").await;
    assert_eq!(r.status(), 200);
    assert!(
        r.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/html")
    );
    assert!(r.text().await.unwrap().contains("/openapi.json"));
}

/// What the resources' tests exercise, each checked as it ends.
const EXERCISED: &[&Covers] = &[
    &images::ANONYMOUS,
    &images::A_USERS,
    &images::CHANGES,
    &images::DELETIONS,
    &files::FILES,
    &analysis::ANALYSIS,
    &users::USERS,
    &uploads::LINKS,
    &uploads::PRESIGNED,
    &seed_v1::SEED_V1,
    &seed_doors::SEED_002,
    &seed_doors::SEED_003,
    &web::WEB,
    &failures::TAGGER,
    &failures::FOLDER,
    &auth_required::AUTH_REQUIRED_ON_S3,
];

/// Together the resources' tests exercise every operation of the
/// description, and get every kind of answer it documents.
#[test]
fn every_operation_is_exercised() {
    let exercised: BTreeSet<(String, String)> = EXERCISED
        .iter()
        .flat_map(|c| c.operations)
        .map(|(m, p)| (m.to_string(), p.to_string()))
        .collect();
    assert_eq!(
        operations().difference(&exercised).collect::<Vec<_>>(),
        Vec::<&(String, String)>::new(),
        "every operation was exercised"
    );
    assert_eq!(
        exercised.difference(&operations()).collect::<Vec<_>>(),
        Vec::<&(String, String)>::new(),
        "only documented operations"
    );
    let statuses: BTreeSet<u16> = EXERCISED.iter().flat_map(|c| c.statuses).copied().collect();
    assert_eq!(
        statuses,
        BTreeSet::from([
            200, 201, 204, 304, 307, 400, 401, 403, 404, 409, 410, 413, 415, 502, 503
        ]),
        "every kind of answer was checked"
    );
}

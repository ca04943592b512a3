//! `openapi.yaml` cannot drift from the service: it documents exactly the
//! routes of the routes table, the local API serves it as /openapi.json, and
//! real responses (successes and every kind of error) have a documented
//! status and match the documented schema. (`make test` also runs
//! schemathesis against the local API with this description.)

mod common;

use common::*;
use pictures::http::{OPENAPI_YAML, ROUTES};
use serde_json::Value;
use std::collections::BTreeSet;

fn spec() -> Value {
    serde_yaml::from_str(OPENAPI_YAML).expect("openapi.yaml parses")
}

fn resolve<'a>(spec: &'a Value, mut node: &'a Value) -> &'a Value {
    while let Some(reference) = node["$ref"].as_str() {
        let pointer = reference.strip_prefix('#').expect("local references only");
        node = spec
            .pointer(pointer)
            .unwrap_or_else(|| panic!("{reference} resolves"));
    }
    node
}

/// The subset of JSON Schema the description uses: type, required,
/// properties, additionalProperties, items, minimum, maximum, min/maxLength.
fn check(spec: &Value, schema: &Value, value: &Value, at: &str) {
    let schema = resolve(spec, schema);
    let kind = schema["type"].as_str();
    let ok = match kind {
        Some("object") => value.is_object(),
        Some("array") => value.is_array(),
        Some("string") => value.is_string(),
        Some("integer") => value.is_i64() || value.is_u64(),
        Some("number") => value.is_number(),
        Some(other) => panic!("type {other} not handled"),
        None => true,
    };
    assert!(ok, "{at}: {value} is not of type {kind:?}");
    if let Some(min) = schema["minimum"].as_f64() {
        assert!(value.as_f64().unwrap() >= min, "{at}: {value} < {min}");
    }
    if let Some(max) = schema["maximum"].as_f64() {
        assert!(value.as_f64().unwrap() <= max, "{at}: {value} > {max}");
    }
    if let Some(s) = value.as_str() {
        let n = s.chars().count() as u64;
        assert!(
            n >= schema["minLength"].as_u64().unwrap_or(0),
            "{at}: too short"
        );
        assert!(
            n <= schema["maxLength"].as_u64().unwrap_or(u64::MAX),
            "{at}: too long"
        );
    }
    if let Some(object) = value.as_object() {
        for name in schema["required"].as_array().into_iter().flatten() {
            let name = name.as_str().unwrap();
            assert!(
                object.contains_key(name),
                "{at}: `{name}` is missing from {value}"
            );
        }
        let properties = schema["properties"].as_object();
        for (name, v) in object {
            match properties.and_then(|p| p.get(name)) {
                Some(property) => check(spec, property, v, &format!("{at}.{name}")),
                None => assert!(
                    schema["additionalProperties"] != false,
                    "{at}: `{name}` is not documented"
                ),
            }
        }
    }
    if let Some(items) = value.as_array() {
        for (i, item) in items.iter().enumerate() {
            check(spec, &schema["items"], item, &format!("{at}[{i}]"));
        }
    }
}

/// Checks one real response against the operation `method path`.
async fn conforms(spec: &Value, method: &str, path: &str, response: reqwest::Response) -> u16 {
    let status = response.status().as_u16();
    let operation = &spec["paths"][path][method];
    assert!(operation.is_object(), "{method} {path} is documented");
    let documented = resolve(spec, &operation["responses"][status.to_string()]);
    assert!(
        documented.is_object(),
        "{method} {path}: status {status} is not documented"
    );
    for (name, _) in documented["headers"].as_object().into_iter().flatten() {
        if name == "Location" {
            assert!(
                response.headers().contains_key("location"),
                "{method} {path}: Location"
            );
        }
    }
    let content_type = response.headers()["content-type"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(
        content_type.starts_with("application/json"),
        "{content_type}"
    );
    let body: Value = response.json().await.unwrap();
    let schema = &documented["content"]["application/json"]["schema"];
    check(spec, schema, &body, &format!("{method} {path} {status}"));
    status
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
    let routes: BTreeSet<(String, String)> = ROUTES
        .iter()
        .map(|r| (r.method.to_string(), r.path.to_string()))
        .collect();
    assert_eq!(documented, routes);
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

#[tokio::test]
async fn real_responses_match_the_description() {
    let spec = spec();
    let t = TestApp::start(Backend::Sqlite).await;
    let rocket = fixture("rocket.jpg");
    let mut seen = BTreeSet::new();
    let mut record = |method: &str, path: &str, status: u16| {
        seen.insert((method.to_string(), path.to_string(), status));
    };

    for (path, query) in [("/images", ""), ("/image", "?min_confidence=50")] {
        let r = t.post_image(&rocket, query).await;
        record("post", path, conforms(&spec, "post", "/images", r).await);
    }
    let post = |path: &'static str, body: Vec<u8>, content_type: &'static str| {
        t.client
            .post(format!("{}{path}", t.url))
            .header("content-type", content_type)
            .body(body)
    };
    let bad_posts = [
        post("/images", br#"{"data":"!!"}"#.to_vec(), "application/json"),
        post(
            "/images",
            br#"{"data":"aGVsbG8="}"#.to_vec(),
            "application/json",
        ),
        post(
            "/images",
            b"data=1".to_vec(),
            "application/x-www-form-urlencoded",
        ),
        post("/image", vec![b'"'; 7_000_000], "application/json"),
    ];
    for request in bad_posts {
        let r = request.send().await.unwrap();
        record(
            "post",
            "/images",
            conforms(&spec, "post", "/images", r).await,
        );
    }
    t.cloud.fail_imagga(wiremock::ResponseTemplate::new(500));
    let r = t.post_image(&rocket, "").await;
    record(
        "post",
        "/images",
        conforms(&spec, "post", "/images", r).await,
    );

    for query in [
        "",
        "?tags=rocket,sky&limit=1",
        "?min_date=2024-13-01",
        "?tags=,,",
    ] {
        let r = t.get(&format!("/images{query}")).await;
        record("get", "/images", conforms(&spec, "get", "/images", r).await);
    }
    for (path, id) in [
        ("/images/{id}", "1"),
        ("/image/{id}", "2"),
        ("/images/{id}", "abc"),
        ("/images/{id}", "999"),
    ] {
        let r = t.get(&path.replace("{id}", id)).await;
        record("get", path, conforms(&spec, "get", path, r).await);
    }
    for query in [
        "",
        "?min_date=2020-01-01&max_date=2099-12-31",
        "?max_date=soon",
    ] {
        let r = t.get(&format!("/tags{query}")).await;
        record("get", "/tags", conforms(&spec, "get", "/tags", r).await);
    }

    // The folder goes away: 503, as documented.
    std::fs::remove_dir_all(&t.images).unwrap();
    std::fs::write(&t.images, b"not a folder").unwrap();
    let r = t.get("/images/1").await;
    record(
        "get",
        "/images/{id}",
        conforms(&spec, "get", "/images/{id}", r).await,
    );

    let statuses: BTreeSet<u16> = seen.iter().map(|s| s.2).collect();
    assert_eq!(
        statuses,
        BTreeSet::from([200, 201, 400, 404, 413, 415, 502, 503]),
        "every kind of answer was checked: {seen:?}"
    );
}

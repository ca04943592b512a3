//! `openapi.yaml` cannot drift from the service: it documents exactly the
//! routes of the routes table (and the local API's /health, /docs and
//! /openapi.json), the local API serves it as /openapi.json, and real
//! responses of every operation (successes and every kind of error) have a
//! documented status, the documented headers and content type, and match the
//! documented schema. (`make test` also runs schemathesis against the local
//! API with this description.)

use crate::common::*;
use jsonwebtoken::{Algorithm, EncodingKey, Header, encode};
use md5::{Digest, Md5};
use pictures::http::{OPENAPI_YAML, ROUTES};
use reqwest::header::HeaderMap;
use serde_json::{Value, json};
use std::collections::BTreeSet;
use std::sync::Mutex;

/// Served by the local API beside the routes table (`docs_router`), and
/// documented like them.
const DOCS_ROUTES: [(&str, &str); 3] = [
    ("GET", "/health"),
    ("GET", "/docs"),
    ("GET", "/openapi.json"),
];

const ADMIN: &str = "admin-key-for-openapi-tests";
const JWT_SECRET: &str = "jwt-secret-for-openapi-tests";

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

fn type_matches(kind: &str, value: &Value) -> bool {
    match kind {
        "object" => value.is_object(),
        "array" => value.is_array(),
        "string" => value.is_string(),
        "integer" => value.is_i64() || value.is_u64(),
        "number" => value.is_number(),
        "boolean" => value.is_boolean(),
        "null" => value.is_null(),
        other => panic!("type {other} not handled"),
    }
}

/// The subset of JSON Schema the description uses: type (one or a list),
/// enum, required, properties, additionalProperties, items, prefixItems,
/// min/maxItems, minimum, maximum, min/maxLength, allOf, anyOf, oneOf and
/// not. (Patterns are left to schemathesis.)
fn check(spec: &Value, schema: &Value, value: &Value, at: &str) -> Result<(), String> {
    let schema = resolve(spec, schema);
    if schema.is_null() {
        return Ok(());
    }
    match &schema["type"] {
        Value::Null => {}
        Value::String(kind) if type_matches(kind, value) => {}
        Value::Array(kinds)
            if kinds
                .iter()
                .any(|k| type_matches(k.as_str().unwrap(), value)) => {}
        kind => return Err(format!("{at}: {value} is not of type {kind}")),
    }
    if let Some(options) = schema["enum"].as_array()
        && !options.contains(value)
    {
        return Err(format!("{at}: {value} is not one of {options:?}"));
    }
    if let Some(x) = value.as_f64().filter(|_| value.is_number()) {
        if let Some(min) = schema["minimum"].as_f64()
            && x < min
        {
            return Err(format!("{at}: {value} < {min}"));
        }
        if let Some(max) = schema["maximum"].as_f64()
            && x > max
        {
            return Err(format!("{at}: {value} > {max}"));
        }
    }
    if let Some(s) = value.as_str() {
        let n = s.chars().count() as u64;
        if n < schema["minLength"].as_u64().unwrap_or(0) {
            return Err(format!("{at}: {value} is too short"));
        }
        if n > schema["maxLength"].as_u64().unwrap_or(u64::MAX) {
            return Err(format!("{at}: {value} is too long"));
        }
    }
    if let Some(object) = value.as_object() {
        for name in schema["required"].as_array().into_iter().flatten() {
            let name = name.as_str().unwrap();
            if !object.contains_key(name) {
                return Err(format!("{at}: `{name}` is missing from {value}"));
            }
        }
        let properties = schema["properties"].as_object();
        for (name, v) in object {
            let at = format!("{at}.{name}");
            match (
                properties.and_then(|p| p.get(name)),
                &schema["additionalProperties"],
            ) {
                (Some(property), _) => check(spec, property, v, &at)?,
                (None, Value::Bool(false)) => return Err(format!("{at} is not documented")),
                (None, additional) => check(spec, additional, v, &at)?,
            }
        }
    }
    if let Some(items) = value.as_array() {
        if items.len() as u64 > schema["maxItems"].as_u64().unwrap_or(u64::MAX) {
            return Err(format!("{at}: too many items"));
        }
        if (items.len() as u64) < schema["minItems"].as_u64().unwrap_or(0) {
            return Err(format!("{at}: too few items"));
        }
        let prefix = schema["prefixItems"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        for (i, item) in items.iter().enumerate() {
            let item_schema = prefix.get(i).unwrap_or(&schema["items"]);
            check(spec, item_schema, item, &format!("{at}[{i}]"))?;
        }
    }
    for sub in schema["allOf"].as_array().into_iter().flatten() {
        check(spec, sub, value, at)?;
    }
    if let Some(options) = schema["anyOf"].as_array()
        && !options.iter().any(|o| check(spec, o, value, at).is_ok())
    {
        return Err(format!("{at}: {value} matches none of anyOf"));
    }
    if let Some(options) = schema["oneOf"].as_array() {
        let errors: Vec<String> = options
            .iter()
            .filter_map(|o| check(spec, o, value, at).err())
            .collect();
        if options.len() - errors.len() != 1 {
            return Err(format!(
                "{at}: {value} matches {} of oneOf: {errors:?}",
                options.len() - errors.len()
            ));
        }
    }
    if !schema["not"].is_null() && check(spec, &schema["not"], value, at).is_ok() {
        return Err(format!("{at}: {value} matches what `not` excludes"));
    }
    Ok(())
}

/// Checks one answer against a documented response: the required headers,
/// a documented content type, and the body: against the schema (JSON),
/// a file of its type (images), or none where no content is documented.
/// The JSON body, or `Null`.
fn check_response(
    spec: &Value,
    documented: &Value,
    headers: &HeaderMap,
    bytes: &[u8],
    at: &str,
) -> Value {
    let documented = resolve(spec, documented);
    for (name, header) in documented["headers"].as_object().into_iter().flatten() {
        if resolve(spec, header)["required"] == true {
            assert!(
                headers.contains_key(name.to_ascii_lowercase().as_str()),
                "{at}: no {name} header"
            );
        }
    }
    let Some(content) = documented["content"].as_object() else {
        assert!(bytes.is_empty(), "{at}: a body where none is documented");
        return Value::Null;
    };
    let content_type = headers
        .get("content-type")
        .map(|v| v.to_str().unwrap().to_string())
        .unwrap_or_default();
    let essence = content_type
        .split(';')
        .next()
        .unwrap()
        .trim()
        .to_ascii_lowercase();
    let (_, media) = content
        .iter()
        .find(|(documented, _)| {
            **documented == essence
                || documented
                    .strip_suffix("/*")
                    .is_some_and(|main| essence.starts_with(&format!("{main}/")))
        })
        .unwrap_or_else(|| {
            panic!(
                "{at}: {content_type:?} is not documented ({:?})",
                content.keys()
            )
        });
    if essence == "application/json" {
        let body: Value = serde_json::from_slice(bytes)
            .unwrap_or_else(|e| panic!("{at}: not JSON ({e}): {}", String::from_utf8_lossy(bytes)));
        if let Err(e) = check(spec, &media["schema"], &body, at) {
            panic!("{e}");
        }
        return body;
    }
    assert!(!bytes.is_empty(), "{at}: an empty {essence} body");
    match essence.as_str() {
        "image/png" => assert!(bytes.starts_with(b"\x89PNG\r\n\x1a\n"), "{at}: not a PNG"),
        "image/jpeg" => assert!(bytes.starts_with(b"\xff\xd8\xff"), "{at}: not a JPEG"),
        "text/html" => assert!(
            String::from_utf8_lossy(bytes).contains("<html"),
            "{at}: not HTML"
        ),
        _ => {}
    }
    Value::Null
}

/// Checks one real response against the operation `method path`; returns
/// its status, headers and JSON body (`Null` when not JSON).
async fn conforms(
    spec: &Value,
    method: &str,
    path: &str,
    response: reqwest::Response,
) -> (u16, HeaderMap, Value) {
    let status = response.status().as_u16();
    let operation = &spec["paths"][path][method];
    assert!(operation.is_object(), "{method} {path} is documented");
    let headers = response.headers().clone();
    let bytes = response.bytes().await.unwrap();
    let documented = resolve(spec, &operation["responses"][status.to_string()]);
    assert!(
        documented.is_object(),
        "{method} {path}: status {status} is not documented: {}",
        String::from_utf8_lossy(&bytes[..bytes.len().min(400)])
    );
    let at = format!("{method} {path} {status}");
    let body = check_response(spec, documented, &headers, &bytes, &at);
    (status, headers, body)
}

/// Requests checked against the description, each recorded as
/// (method, path, status) of the operation it exercised.
struct Api<'a> {
    spec: &'a Value,
    t: &'a TestApp,
    client: reqwest::Client,
    seen: Mutex<BTreeSet<(String, String, u16)>>,
}

impl<'a> Api<'a> {
    fn new(spec: &'a Value, t: &'a TestApp) -> Self {
        Api {
            spec,
            t,
            // Redirects are answers under test (307 to S3), not followed.
            // A connection per request: an answer given before the body was
            // read (401, 413, 415...) closes its connection, and a pooled
            // one could be reused just as it closes.
            client: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .pool_max_idle_per_host(0)
                .build()
                .unwrap(),
            seen: Mutex::new(BTreeSet::new()),
        }
    }

    /// `method` (lower case) of the operation `path`, sent to `target`
    /// (`path` with its parameters filled in, and a query).
    fn req(&'a self, method: &'static str, path: &'static str, target: &str) -> Req<'a> {
        let m = reqwest::Method::from_bytes(method.to_uppercase().as_bytes()).unwrap();
        let url = if target.starts_with("http") {
            target.to_string()
        } else {
            format!("{}{target}", self.t.url)
        };
        Req {
            api: self,
            method,
            path,
            builder: self.client.request(m, url),
        }
    }

    /// `method` of the operation `path` with a body declared `length` bytes
    /// long and none sent: what a client over a route's body limit sees
    /// (413 before any byte is read). Raw HTTP on its own connection: a
    /// client still writing megabytes to a server that refused them would
    /// see a broken pipe instead of the answer.
    async fn declared(
        &self,
        method: &'static str,
        path: &'static str,
        headers: &[(&str, &str)],
        length: usize,
        status: u16,
    ) -> Value {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let mut conn = tokio::net::TcpStream::connect(self.t.url.trim_start_matches("http://"))
            .await
            .unwrap();
        let mut head = format!(
            "{} {path} HTTP/1.1\r\nHost: test\r\nConnection: close\r\nContent-Length: {length}\r\n",
            method.to_uppercase()
        );
        for (name, value) in headers {
            head.push_str(&format!("{name}: {value}\r\n"));
        }
        head.push_str("\r\n");
        conn.write_all(head.as_bytes()).await.unwrap();
        let mut raw = Vec::new();
        conn.read_to_end(&mut raw).await.unwrap();
        let split = raw
            .windows(4)
            .position(|w| w == b"\r\n\r\n")
            .expect("a complete answer");
        let head = String::from_utf8_lossy(&raw[..split]).to_string();
        let mut lines = head.split("\r\n");
        let got: u16 = lines
            .next()
            .unwrap()
            .split(' ')
            .nth(1)
            .unwrap()
            .parse()
            .unwrap();
        let mut map = HeaderMap::new();
        for line in lines {
            let (name, value) = line.split_once(':').unwrap();
            map.insert(
                reqwest::header::HeaderName::from_bytes(name.trim().as_bytes()).unwrap(),
                value.trim().parse().unwrap(),
            );
        }
        let documented = &self.spec["paths"][path][method]["responses"][got.to_string()];
        assert!(
            documented.is_object(),
            "{method} {path}: status {got} is not documented"
        );
        let at = format!("{method} {path} {got}");
        let body = check_response(self.spec, documented, &map, &raw[split + 4..], &at);
        assert_eq!(got, status, "{at}: {body}");
        self.seen
            .lock()
            .unwrap()
            .insert((method.to_string(), path.to_string(), got));
        body
    }

    fn seen(&self) -> BTreeSet<(String, String, u16)> {
        self.seen.lock().unwrap().clone()
    }
}

struct Req<'a> {
    api: &'a Api<'a>,
    method: &'static str,
    path: &'static str,
    builder: reqwest::RequestBuilder,
}

impl Req<'_> {
    fn key(mut self, key: &str) -> Self {
        self.builder = self.builder.header("x-api-key", key);
        self
    }

    fn bearer(mut self, token: &str) -> Self {
        self.builder = self
            .builder
            .header("authorization", format!("Bearer {token}"));
        self
    }

    fn header(mut self, name: &str, value: &str) -> Self {
        self.builder = self.builder.header(name, value);
        self
    }

    fn json(mut self, body: Value) -> Self {
        self.builder = self.builder.json(&body);
        self
    }

    fn body(mut self, content_type: &str, body: impl Into<reqwest::Body>) -> Self {
        self.builder = self.builder.header("content-type", content_type).body(body);
        self
    }

    fn form(self, fields: &[(&str, &str)]) -> Self {
        let encoded = form_urlencoded::Serializer::new(String::new())
            .extend_pairs(fields)
            .finish();
        self.body("application/x-www-form-urlencoded", encoded)
    }

    fn multipart(mut self, form: reqwest::multipart::Form) -> Self {
        self.builder = self.builder.multipart(form);
        self
    }

    /// Sends it, checks the answer against the description and its status
    /// against `status`; the headers and the JSON body.
    async fn answer(self, status: u16) -> (HeaderMap, Value) {
        let response = self.builder.send().await.unwrap();
        let (got, headers, body) = conforms(self.api.spec, self.method, self.path, response).await;
        assert_eq!(got, status, "{} {}: {body}", self.method, self.path);
        self.api
            .seen
            .lock()
            .unwrap()
            .insert((self.method.to_string(), self.path.to_string(), got));
        (headers, body)
    }

    async fn expect(self, status: u16) -> Value {
        self.answer(status).await.1
    }
}

fn options(vars: &[(&str, &str)]) -> Options {
    Options {
        vars: vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
        ..Options::default()
    }
}

/// A token of the outside auth service (seed 004's claims).
fn token(user_id: &str) -> String {
    let claims = json!({
        "user_id": user_id,
        "email": format!("{user_id}@example.org"),
        "exp": chrono::Utc::now().timestamp() + 600,
    });
    encode(
        &Header::new(Algorithm::HS256),
        &claims,
        &EncodingKey::from_secret(JWT_SECRET.as_bytes()).unwrap(),
    )
    .unwrap()
}

fn md5_hex(bytes: &[u8]) -> String {
    Md5::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

fn files(parts: &[(&str, &str, Vec<u8>)]) -> reqwest::multipart::Form {
    parts.iter().fold(
        reqwest::multipart::Form::new(),
        |form, (field, name, bytes)| {
            form.part(
                field.to_string(),
                reqwest::multipart::Part::bytes(bytes.clone()).file_name(name.to_string()),
            )
        },
    )
}

fn text(value: &Value) -> String {
    value
        .as_str()
        .map(str::to_string)
        .unwrap_or_else(|| value.to_string())
}

/// The path and query of an upload or view URL the service gave.
fn relative(url: &str) -> String {
    match url.find("/uploads/").or_else(|| url.find("/images/")) {
        Some(i) => url[i..].to_string(),
        None => url.to_string(),
    }
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
        .map(|r| (r.method, r.path))
        .chain(DOCS_ROUTES)
        .map(|(m, p)| (m.to_string(), p.to_string()))
        .collect();
    assert_eq!(documented, routes);

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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn real_responses_match_the_description() {
    let spec = spec();
    let t = TestApp::start_with(
        Backend::Sqlite,
        options(&[
            ("AUTH", "open"),
            ("API_KEYS", ADMIN),
            ("JWT_SECRET", JWT_SECRET),
        ]),
    )
    .await;
    let api = Api::new(&spec, &t);
    let rocket = fixture("rocket.jpg");
    let upload = |bytes: &[u8]| json!({"data": b64(bytes)});
    // For requests refused before their body is read: small enough to be
    // written whole before the server closes the connection.
    let tiny = distinct_png(99);

    // --- Part 1: upload, search, read, statistics (anonymous, AUTH=open).
    let first = api
        .req("post", "/images", "/images")
        .json(upload(&rocket))
        .expect(201)
        .await;
    let id = first["id"].as_i64().unwrap();
    let one = format!("/images/{id}");
    // The same bytes again, de-duplicated: the same picture, 200 (and 200
    // on the seeds' aliases, which make a new one).
    api.req("post", "/images", "/images?dedup=true")
        .json(upload(&rocket))
        .expect(200)
        .await;
    api.req("post", "/image", "/image?min_confidence=50")
        .json(upload(&rocket))
        .expect(200)
        .await;
    api.req("post", "/images/tags", "/images/tags")
        .json(upload(&distinct_png(50)))
        .expect(200)
        .await;
    for (path, body, content_type, status) in [
        (
            "/images",
            br#"{"data":"!!"}"#.to_vec(),
            "application/json",
            400,
        ),
        (
            "/images",
            br#"{"data":"aGVsbG8="}"#.to_vec(),
            "application/json",
            400,
        ),
        (
            "/images",
            b"data=1".to_vec(),
            "application/x-www-form-urlencoded",
            415,
        ),
        ("/images/tags", b"x".to_vec(), "text/plain", 415),
    ] {
        api.req("post", path, path)
            .body(content_type, body)
            .expect(status)
            .await;
    }
    let json_type = ("content-type", "application/json");
    // Over the local default (64 MiB): the length alone is refused.
    api.declared(
        "post",
        "/image",
        &[json_type],
        pictures::config::LOCAL_MAX_BODY_BYTES + 1,
        413,
    )
    .await;
    api.req("post", "/images", "/images?min_confidence=101")
        .json(upload(&tiny))
        .expect(400)
        .await;
    for (query, status) in [
        ("", 200),
        ("?tags=rocket,sky&limit=1", 200),
        (
            "?format=jpeg&status=tagged&color=%23336699&faces_min=0&name=x&camera=y",
            200,
        ),
        ("?order=newest&limit=1&after=0&before=99", 200),
        ("?color=%23ff6600&color_distance=96", 200),
        ("?min_date=2024-13-01", 400),
        ("?tags=,,", 400),
        ("?tag=rocket", 400),
        ("?order=latest", 400),
        ("?color_distance=96", 400),
    ] {
        api.req("get", "/images", &format!("/images{query}"))
            .expect(status)
            .await;
    }
    for (path, target, status) in [
        ("/images/{id}", one.clone(), 200),
        ("/image/{id}", format!("/image/{id}"), 200),
        ("/images/{id}", "/images/abc".into(), 400),
        ("/image/{id}", "/image/0".into(), 400),
        ("/images/{id}", "/images/999".into(), 404),
    ] {
        api.req("get", path, &target).expect(status).await;
    }
    for (path, query, status) in [
        ("/tags", "", 200),
        ("/tags", "?min_date=2020-01-01&max_date=2099-12-31", 200),
        ("/tags", "?max_date=soon", 400),
        ("/images/tags", "?min_date=2020-01-01", 200),
        ("/images/tags", "?min_date=yesterday", 400),
    ] {
        api.req("get", path, &format!("{path}{query}"))
            .expect(status)
            .await;
    }

    // --- Users and keys: sign-up under AUTH=open, an admin, tokens.
    let ann = api
        .req("post", "/users", "/users")
        .json(json!({"email": "ann@example.org"}))
        .expect(201)
        .await;
    let key_a = text(&ann["api_key"]);
    api.req("post", "/users", "/users")
        .json(json!({"email": "Ann@example.org"}))
        .expect(409)
        .await;
    api.req("post", "/users", "/users")
        .json(json!({"email": "ann"}))
        .expect(400)
        .await;
    api.req("post", "/users", "/users")
        .body("text/plain", "x")
        .expect(415)
        .await;
    api.req("post", "/users", "/users")
        .key(&key_a)
        .expect(403)
        .await;
    let bob = api
        .req("post", "/users", "/users")
        .key(ADMIN)
        .json(json!({"email": "bob@example.org"}))
        .expect(201)
        .await;
    let key_b = text(&bob["api_key"]);
    let carol = token("carol");
    let account = api
        .req("post", "/users", "/users")
        .bearer(&carol)
        .expect(201)
        .await;
    assert!(
        account.get("api_key").is_none(),
        "a token's account has no key: {account}"
    );
    api.req("post", "/users", "/users")
        .bearer(&carol)
        .expect(409)
        .await;
    api.req("get", "/users/me", "/users/me")
        .key(&key_a)
        .expect(200)
        .await;
    api.req("get", "/users/me", "/users/me")
        .bearer(&carol)
        .expect(200)
        .await;
    api.req("get", "/users/me", "/users/me").expect(401).await;
    api.req("get", "/users/me", "/users/me")
        .key("not-a-key")
        .expect(401)
        .await;
    api.req("get", "/users/me", "/users/me")
        .key(ADMIN)
        .expect(403)
        .await;
    api.req("get", "/users/me", "/users/me")
        .bearer(&token("dave"))
        .expect(404)
        .await;
    let laptop = api
        .req("post", "/users/me/keys", "/users/me/keys")
        .key(&key_a)
        .json(json!({"name": "laptop"}))
        .expect(201)
        .await;
    api.req("post", "/users/me/keys", "/users/me/keys")
        .key(&key_a)
        .expect(201)
        .await;
    api.req("post", "/users/me/keys", "/users/me/keys")
        .key(&key_a)
        .json(json!({"name": " "}))
        .expect(400)
        .await;
    api.req("post", "/users/me/keys", "/users/me/keys")
        .key(&key_a)
        .body("text/plain", "x")
        .expect(415)
        .await;
    api.req("post", "/users/me/keys", "/users/me/keys")
        .bearer(&token("dave"))
        .expect(404)
        .await;
    api.req("post", "/users/me/keys", "/users/me/keys")
        .key(ADMIN)
        .expect(403)
        .await;
    api.req("post", "/users/me/keys", "/users/me/keys")
        .expect(401)
        .await;
    let keys = api
        .req("get", "/users/me/keys", "/users/me/keys")
        .key(&key_a)
        .expect(200)
        .await;
    assert_eq!(keys.as_array().unwrap().len(), 3, "{keys}");
    api.req("get", "/users/me/keys", "/users/me/keys")
        .key(ADMIN)
        .expect(403)
        .await;
    api.req("get", "/users/me/keys", "/users/me/keys")
        .expect(401)
        .await;
    let laptop_path = format!("/users/me/keys/{}", laptop["id"]);
    api.req("delete", "/users/me/keys/{id}", &laptop_path)
        .key(&key_a)
        .expect(204)
        .await;
    api.req("delete", "/users/me/keys/{id}", &laptop_path)
        .key(&key_a)
        .expect(404)
        .await;
    api.req("delete", "/users/me/keys/{id}", "/users/me/keys/abc")
        .key(&key_a)
        .expect(404)
        .await;
    api.req("delete", "/users/me/keys/{id}", "/users/me/keys/1")
        .key(ADMIN)
        .expect(403)
        .await;
    api.req("delete", "/users/me/keys/{id}", "/users/me/keys/1")
        .expect(401)
        .await;
    api.req("get", "/users/me", "/users/me")
        .key(&text(&laptop["key"]))
        .expect(401)
        .await;

    // --- A user's pictures: private, asynchronous, multipart.
    let chelsea = fixture("chelsea.png");
    let private = api
        .req("post", "/images", "/images?private=true&name=cat.png")
        .key(&key_a)
        .json(upload(&chelsea))
        .expect(201)
        .await;
    assert_eq!(private["private"], true);
    let pid = private["id"].as_i64().unwrap();
    api.req("post", "/images", "/images?dedup=true")
        .key(&key_a)
        .json(upload(&chelsea))
        .expect(200)
        .await;
    api.req("post", "/images", "/images?private=true")
        .json(upload(&chelsea))
        .expect(401)
        .await;
    api.req("post", "/images", "/images?private=true")
        .key(ADMIN)
        .json(upload(&chelsea))
        .expect(403)
        .await;
    api.req("post", "/images", "/images")
        .key("not-a-key")
        .json(upload(&tiny))
        .expect(401)
        .await;
    let pending = api
        .req("post", "/images", "/images?async=true")
        .key(&key_a)
        .json(json!({"data": b64(&distinct_png(1)), "name": "one", "tags": ["leafy", {"name": "Green"}]}))
        .expect(201)
        .await;
    assert_eq!(pending["status"], "pending");
    let form = files(&[
        ("image_files", "two.png", distinct_png(2)),
        ("image_files", "three.png", distinct_png(3)),
        ("image_files", "notes.txt", b"not a picture".to_vec()),
    ]);
    let answer = api
        .req("post", "/images", "/images")
        .key(&key_a)
        .multipart(form)
        .expect(200)
        .await;
    assert_eq!(answer["ids"].as_object().unwrap().len(), 2, "{answer}");
    assert_eq!(answer["errors"]["notes.txt"]["error"], "not_an_image");
    let two = answer["ids"]["two.png"].as_i64().unwrap();
    let form = files(&[("file", "four.png", distinct_png(4))]);
    api.req("post", "/image", "/image")
        .multipart(form)
        .expect(200)
        .await;
    let form = files(&[("file", "five.png", distinct_png(5))]);
    api.req("post", "/images/tags", "/images/tags")
        .multipart(form)
        .expect(200)
        .await;

    // --- Searching and reading them.
    let hash = text(&private["hash"]);
    for (cred, query, status) in [
        (Some(&key_a), "?owner=me", 200),
        (None, "?owner=me", 401),
        (Some(&key_a), &*format!("?hash={hash}"), 200),
        (Some(&key_a), "?status=pending", 200),
        (None, "?owner=you", 400),
    ] {
        let mut r = api.req("get", "/images", &format!("/images{query}"));
        if let Some(key) = cred {
            r = r.key(key);
        }
        r.expect(status).await;
    }
    let (headers, page) = api
        .req("get", "/images", "/images?limit=1")
        .answer(200)
        .await;
    assert_eq!(page.as_array().unwrap().len(), 1);
    assert!(headers["link"].to_str().unwrap().contains("rel=\"next\""));
    let private_path = format!("/images/{pid}");
    api.req("get", "/images/{id}", &private_path)
        .expect(404)
        .await;
    let mine = api
        .req("get", "/images/{id}", &private_path)
        .key(&key_a)
        .expect(200)
        .await;
    assert!(mine["data"].is_string());
    api.req("get", "/images/{id}", &private_path)
        .key(ADMIN)
        .expect(200)
        .await;
    api.req("get", "/images/{id}", &format!("{one}?x=1"))
        .expect(400)
        .await;

    // --- Changing them.
    let changed = api
        .req("patch", "/images/{id}", &private_path)
        .key(&key_a)
        .json(json!({"name": "kitty", "add_tags": ["leafy", {"name": "Pet"}], "remove_tags": []}))
        .expect(200)
        .await;
    assert!(
        changed["tags"]
            .as_array()
            .unwrap()
            .iter()
            .any(|t| t["source"] == "user")
    );
    api.req("patch", "/images/{id}", &private_path)
        .key(&key_a)
        .json(json!({"colour": "red"}))
        .expect(400)
        .await;
    api.req("patch", "/images/{id}", &private_path)
        .key(&key_a)
        .body("text/plain", "x")
        .expect(415)
        .await;
    api.req("patch", "/images/{id}", &private_path)
        .key(&key_b)
        .json(json!({"name": "mine"}))
        .expect(404)
        .await;
    api.req("patch", "/images/{id}", &one)
        .key(ADMIN)
        .json(json!({"private": true}))
        .expect(403)
        .await;
    api.req("patch", "/images/{id}", &one)
        .key("nope")
        .json(json!({}))
        .expect(401)
        .await;
    api.req("patch", "/images/{id}", "/images/x")
        .key(ADMIN)
        .json(json!({}))
        .expect(400)
        .await;
    let retag = format!("{one}/retag");
    api.req("post", "/images/{id}/retag", &retag)
        .key(ADMIN)
        .expect(200)
        .await;
    api.req("post", "/images/{id}/retag", &retag)
        .expect(404)
        .await;
    api.req(
        "post",
        "/images/{id}/retag",
        &format!("{retag}?min_confidence=x"),
    )
    .key(ADMIN)
    .expect(400)
    .await;
    api.req("post", "/images/{id}/retag", &retag)
        .key("nope")
        .expect(401)
        .await;

    // --- Files: entity tags, signed view URLs, thumbnails.
    let file = format!("{one}/file");
    let (headers, _) = api.req("get", "/images/{id}/file", &file).answer(200).await;
    let etag = headers["etag"].to_str().unwrap().to_string();
    api.req("get", "/images/{id}/file", &file)
        .header("if-none-match", &etag)
        .expect(304)
        .await;
    let view = relative(&text(&changed["view_url"]));
    api.req("get", "/images/{id}/file", &view).expect(200).await;
    api.req("get", "/images/{id}/file", &format!("{view}0"))
        .expect(403)
        .await;
    api.req(
        "get",
        "/images/{id}/file",
        &format!("{private_path}/file?expires=1"),
    )
    .expect(403)
    .await;
    let signer = t.app.signer().await.unwrap();
    let old = chrono::Utc::now().timestamp() - 10;
    let pid_picture = t.app.db.picture(pid).await.unwrap().unwrap();
    let expired = pictures::domain::files::signed_view_url(signer, &pid_picture, old);
    let refused = api
        .req("get", "/images/{id}/file", &expired)
        .expect(403)
        .await;
    assert_eq!(refused["error"], "url_expired");
    api.req("get", "/images/{id}/file", &format!("{private_path}/file"))
        .expect(404)
        .await;
    api.req("get", "/images/{id}/file", "/images/abc/file")
        .expect(400)
        .await;
    api.req("get", "/images/{id}/file", &file)
        .key("nope")
        .expect(401)
        .await;
    let thumbnail = format!("{one}/thumbnail?size=64");
    let (headers, _) = api
        .req("get", "/images/{id}/thumbnail", &thumbnail)
        .answer(200)
        .await;
    let etag = headers["etag"].to_str().unwrap().to_string();
    api.req("get", "/images/{id}/thumbnail", &thumbnail)
        .header("if-none-match", &etag)
        .expect(304)
        .await;
    api.req(
        "get",
        "/images/{id}/thumbnail",
        &format!("{one}/thumbnail?size=10"),
    )
    .expect(400)
    .await;
    api.req("get", "/images/{id}/thumbnail", "/images/999/thumbnail")
        .expect(404)
        .await;
    let signed_thumbnail = view.replace("/file?", "/thumbnail?");
    api.req("get", "/images/{id}/thumbnail", &signed_thumbnail)
        .expect(200)
        .await;
    api.req(
        "get",
        "/images/{id}/thumbnail",
        &format!("{signed_thumbnail}0"),
    )
    .expect(403)
    .await;
    api.req("get", "/images/{id}/thumbnail", &thumbnail)
        .key("nope")
        .expect(401)
        .await;

    // --- Statistics and analysis.
    api.req("get", "/stats", "/stats").expect(200).await;
    api.req("get", "/stats", "/stats")
        .key(&key_a)
        .expect(200)
        .await;
    api.req("get", "/stats", "/stats?days=3").expect(400).await;
    api.req("get", "/stats", "/stats")
        .key("nope")
        .expect(401)
        .await;
    api.req("get", "/images/{id}/colors", &format!("{one}/colors?k=3"))
        .expect(200)
        .await;
    api.req("get", "/images/{id}/colors", &format!("{one}/colors?k=0"))
        .expect(400)
        .await;
    api.req("get", "/images/{id}/colors", "/images/999/colors")
        .expect(404)
        .await;
    api.req("get", "/images/{id}/colors", &format!("{one}/colors"))
        .key("nope")
        .expect(401)
        .await;
    api.req(
        "get",
        "/images/{id}/palette.png",
        &format!("{one}/palette.png"),
    )
    .expect(200)
    .await;
    api.req(
        "get",
        "/images/{id}/palette.png",
        &format!("{one}/palette.png?k=17"),
    )
    .expect(400)
    .await;
    api.req(
        "get",
        "/images/{id}/palette.png",
        &format!("{private_path}/palette.png"),
    )
    .expect(404)
    .await;
    api.req(
        "get",
        "/images/{id}/palette.png",
        &format!("{one}/palette.png"),
    )
    .key("nope")
    .expect(401)
    .await;
    // The same photo as a PNG: a near-duplicate.
    let mut copy = Vec::new();
    image::load_from_memory(&rocket)
        .unwrap()
        .write_to(
            &mut std::io::Cursor::new(&mut copy),
            image::ImageFormat::Png,
        )
        .unwrap();
    api.req("post", "/images", "/images")
        .json(upload(&copy))
        .expect(201)
        .await;
    let similar = api
        .req("get", "/images/{id}/similar", &format!("{one}/similar"))
        .expect(200)
        .await;
    assert!(!similar.as_array().unwrap().is_empty(), "{similar}");
    api.req(
        "get",
        "/images/{id}/similar",
        &format!("{one}/similar?max_distance=17"),
    )
    .expect(400)
    .await;
    api.req("get", "/images/{id}/similar", "/images/999/similar")
        .expect(404)
        .await;
    api.req("get", "/images/{id}/similar", &format!("{one}/similar"))
        .key("nope")
        .expect(401)
        .await;
    let form = files(&[("image", "rocket.jpg", rocket.clone())]).text("k", "3");
    let colors = api
        .req("post", "/colors", "/colors")
        .multipart(form)
        .expect(200)
        .await;
    assert_eq!(colors["colors"].as_array().unwrap().len(), 3);
    api.req("post", "/colors", "/colors?k=2")
        .json(upload(&rocket))
        .expect(200)
        .await;
    api.req("post", "/colors", "/colors")
        .body("text/plain", "x")
        .expect(415)
        .await;
    let form = reqwest::multipart::Form::new().text("k", "3");
    api.req("post", "/colors", "/colors")
        .multipart(form)
        .expect(400)
        .await;
    api.req("post", "/colors", "/colors?k=0")
        .json(upload(&rocket))
        .expect(400)
        .await;
    api.req("post", "/colors", "/colors")
        .key("nope")
        .json(upload(&tiny))
        .expect(401)
        .await;

    // --- Upload links.
    let link = api
        .req("post", "/upload-links", "/upload-links")
        .key(&key_a)
        .json(json!({"expiry": 60}))
        .expect(201)
        .await;
    api.req("post", "/upload-links", "/upload-links")
        .json(json!({"expiry": 0}))
        .expect(400)
        .await;
    api.req("post", "/upload-links", "/upload-links")
        .body("text/plain", "x")
        .expect(415)
        .await;
    api.req("post", "/upload-links", "/upload-links")
        .key("nope")
        .json(json!({"expiry": 60}))
        .expect(401)
        .await;
    let link_url = text(&link["url"]);
    let form = files(&[("image_files", "six.png", distinct_png(6))]);
    api.req(
        "post",
        "/uploads/{upload_id}",
        &format!("{link_url}?private=true"),
    )
    .multipart(form)
    .expect(200)
    .await;
    let form = files(&[("f", "seven.png", distinct_png(7))]);
    let unknown = format!("/uploads/{}", "0".repeat(32));
    api.req("post", "/uploads/{upload_id}", &unknown)
        .multipart(form)
        .expect(404)
        .await;
    api.req("post", "/uploads/{upload_id}", &link_url)
        .json(upload(&tiny))
        .expect(400)
        .await;
    let seed_link = api
        .req(
            "post",
            "/api/generate-upload-link",
            "/api/generate-upload-link",
        )
        .key(&key_a)
        .json(json!({"expiry": 60}))
        .expect(200)
        .await;
    api.req(
        "post",
        "/api/generate-upload-link",
        "/api/generate-upload-link",
    )
    .key(&key_a)
    .json(json!({"expiry": -1}))
    .expect(400)
    .await;
    api.req(
        "post",
        "/api/generate-upload-link",
        "/api/generate-upload-link",
    )
    .key(&key_a)
    .body("text/plain", "x")
    .expect(415)
    .await;
    api.req(
        "post",
        "/api/generate-upload-link",
        "/api/generate-upload-link",
    )
    .key("nope")
    .json(json!({"expiry": 60}))
    .expect(401)
    .await;
    let seed_url = format!("/api/upload-images/{}", text(&seed_link["upload_id"]));
    let form = files(&[
        ("image_files", "seven.png", distinct_png(7)),
        ("image_files", "notes.txt", b"no".to_vec()),
    ]);
    let answer = api
        .req("post", "/api/upload-images/{upload_id}", &seed_url)
        .multipart(form)
        .expect(200)
        .await;
    assert_eq!(answer["seven.png"].as_str().unwrap().len(), 64, "{answer}");
    assert_eq!(answer["notes.txt"]["error"], "not_an_image");
    let form = files(&[("image_files", "seven.png", distinct_png(7))]);
    api.req(
        "post",
        "/api/upload-images/{upload_id}",
        &format!("/api/upload-images/{}", "0".repeat(32)),
    )
    .multipart(form)
    .expect(404)
    .await;
    api.req("post", "/api/upload-images/{upload_id}", &seed_url)
        .json(upload(&tiny))
        .expect(400)
        .await;
    t.execute("UPDATE upload_links SET expires = 1").await;
    let form = files(&[("image_files", "eight.png", distinct_png(8))]);
    api.req("post", "/uploads/{upload_id}", &link_url)
        .multipart(form)
        .expect(410)
        .await;
    let form = files(&[("image_files", "eight.png", distinct_png(8))]);
    api.req("post", "/api/upload-images/{upload_id}", &seed_url)
        .multipart(form)
        .expect(410)
        .await;

    // --- Presigned upload URLs, PUT, batch registration.
    let urls = api
        .req("post", "/upload-urls", "/upload-urls")
        .key(&key_a)
        .json(json!({"count": 2}))
        .expect(200)
        .await;
    api.req("post", "/upload-urls", "/upload-urls")
        .json(json!({"count": 0}))
        .expect(400)
        .await;
    api.req("post", "/upload-urls", "/upload-urls")
        .body("text/plain", "x")
        .expect(415)
        .await;
    api.req("post", "/upload-urls", "/upload-urls")
        .key("nope")
        .json(json!({"count": 1}))
        .expect(401)
        .await;
    let slot = |urls: &Value, i: usize| {
        let s = &urls["image_upload_urls"][i];
        (text(&s["image_id"]), relative(&text(&s["url"])))
    };
    let (id0, put0) = slot(&urls, 0);
    let (id1, put1) = slot(&urls, 1);
    let nine = distinct_png(9);
    let put = |target: &str| api.req("put", "/uploads/put/{image_id}", target);
    put(&put0).body("image/png", nine.clone()).expect(200).await;
    put(&put1)
        .body("application/octet-stream", Vec::new())
        .expect(400)
        .await;
    put(&format!("/uploads/put/{id1}"))
        .body("image/png", nine.clone())
        .expect(403)
        .await;
    put(&format!("{put1}0"))
        .body("image/png", nine.clone())
        .expect(403)
        .await;
    let later = chrono::Utc::now().timestamp() + 600;
    let nobody = format!("/uploads/put/{}", "0".repeat(32));
    let sig = signer.sign(&nobody, later);
    put(&format!("{nobody}?expires={later}&sig={sig}"))
        .body("image/png", nine.clone())
        .expect(404)
        .await;
    put(&format!("{put1}&x=1"))
        .body("image/png", nine.clone())
        .expect(400)
        .await;
    let batch = json!({"images": [
        {"image_id": id0, "name": "nine", "hash": md5_hex(&nine), "is_private": true, "tags": [{"name": "pet"}]},
        {"image_id": id1, "name": "never uploaded"},
    ]});
    let answer = api
        .req("post", "/images/batch", "/images/batch")
        .key(&key_a)
        .json(batch)
        .expect(200)
        .await;
    assert_eq!(answer["images"].as_array().unwrap().len(), 1, "{answer}");
    assert_eq!(answer["errors"][0]["error"], "not_uploaded");
    let too_many: Vec<Value> = (0..101).map(|_| json!({"image_id": id1})).collect();
    api.req("post", "/images/batch", "/images/batch")
        .key(&key_a)
        .json(json!({"images": too_many}))
        .expect(400)
        .await;
    api.req("post", "/images/batch", "/images/batch")
        .key(&key_a)
        .body("text/plain", "x")
        .expect(415)
        .await;
    api.req("post", "/images/batch", "/images/batch")
        .key("nope")
        .json(json!({"images": []}))
        .expect(401)
        .await;
    api.req(
        "get",
        "/images/upload_urls",
        "/images/upload_urls?image_count=1",
    )
    .key(&key_a)
    .expect(200)
    .await;
    api.req("get", "/images/upload_urls", "/images/upload_urls")
        .key(&key_a)
        .expect(400)
        .await;
    api.req(
        "get",
        "/images/upload_urls",
        "/images/upload_urls?image_count=1",
    )
    .key("nope")
    .expect(401)
    .await;

    // --- Seed 004, with its tokens: errors always carry `detail`.
    let v1_urls = api
        .req(
            "get",
            "/api/v1/images/upload_urls",
            "/api/v1/images/upload_urls?image_count=2",
        )
        .bearer(&carol)
        .expect(200)
        .await;
    api.req(
        "get",
        "/api/v1/images/upload_urls",
        "/api/v1/images/upload_urls?image_count=0",
    )
    .bearer(&carol)
    .expect(400)
    .await;
    api.req(
        "get",
        "/api/v1/images/upload_urls",
        "/api/v1/images/upload_urls?image_count=1",
    )
    .bearer("a.b.c")
    .expect(401)
    .await;
    let (v0, vput0) = slot(&v1_urls, 0);
    let (v1, _) = slot(&v1_urls, 1);
    let ten = distinct_png(10);
    put(&vput0).body("image/png", ten.clone()).expect(200).await;
    let batch = json!({"images": [
        {"id": v0, "name": "ten", "hash": md5_hex(&ten), "is_private": "false", "tags": [{"name": "x"}]},
        {"id": v1, "name": "never uploaded"},
    ]});
    let answer = api
        .req("post", "/api/v1/images", "/api/v1/images")
        .bearer(&carol)
        .json(batch)
        .expect(200)
        .await;
    assert_eq!(answer["images"][0]["id"], json!(v0), "{answer}");
    assert_eq!(answer["errors"][0]["id"], json!(v1), "{answer}");
    api.req("post", "/api/v1/images", "/api/v1/images")
        .bearer(&carol)
        .body("text/plain", "x")
        .expect(415)
        .await;
    api.req("post", "/api/v1/images", "/api/v1/images")
        .bearer(&carol)
        .json(json!({"pictures": []}))
        .expect(400)
        .await;
    api.req("post", "/api/v1/images", "/api/v1/images")
        .bearer("a.b.c")
        .json(json!({"images": []}))
        .expect(401)
        .await;
    let cred = format!("Bearer {carol}");
    api.declared(
        "post",
        "/api/v1/images",
        &[json_type, ("authorization", &cred)],
        1_100_000,
        413,
    )
    .await;
    let summary = "/api/v1/images/private/summary";
    let found = api
        .req("get", summary, summary)
        .bearer(&carol)
        .expect(200)
        .await;
    assert_eq!(found["images"].as_array().unwrap().len(), 1, "{found}");
    api.req("get", summary, &format!("{summary}?tag=x"))
        .bearer(&carol)
        .expect(200)
        .await;
    api.req("get", summary, &format!("{summary}?content_label=rocket"))
        .bearer(&carol)
        .expect(200)
        .await;
    api.req("get", summary, &format!("{summary}?color=red"))
        .bearer(&carol)
        .expect(400)
        .await;
    api.req("get", summary, summary)
        .key(ADMIN)
        .expect(403)
        .await;
    api.req("get", summary, summary).expect(401).await;
    let deleted = api
        .req("delete", "/api/v1/images", "/api/v1/images")
        .bearer(&carol)
        .json(json!({"images": [{"id": v0}, {"id": "12345"}]}))
        .expect(200)
        .await;
    assert_eq!(deleted, json!({"deleted": [v0], "not_found": ["12345"]}));
    api.req("delete", "/api/v1/images", "/api/v1/images")
        .bearer(&carol)
        .body("text/plain", "x")
        .expect(415)
        .await;
    api.req("delete", "/api/v1/images", "/api/v1/images")
        .bearer(&carol)
        .json(json!({"ids": [1]}))
        .expect(400)
        .await;
    api.req("delete", "/api/v1/images", "/api/v1/images")
        .bearer("a.b.c")
        .json(json!({"images": []}))
        .expect(401)
        .await;
    let cred = format!("Bearer {carol}");
    api.declared(
        "delete",
        "/api/v1/images",
        &[json_type, ("authorization", &cred)],
        1_100_000,
        413,
    )
    .await;
    let erin = token("erin");
    let v1_user = api
        .req("post", "/api/v1/users", "/api/v1/users")
        .bearer(&erin)
        .expect(201)
        .await;
    assert_eq!(v1_user, json!({"id": "erin", "image_upload_count": 0}));
    api.req("post", "/api/v1/users", "/api/v1/users")
        .bearer(&erin)
        .expect(409)
        .await;
    api.req("post", "/api/v1/users", "/api/v1/users")
        .key(&key_a)
        .expect(403)
        .await;
    api.req("post", "/api/v1/users", "/api/v1/users")
        .bearer("a.b.c")
        .expect(401)
        .await;
    api.req("delete", "/api/v1/users", "/api/v1/users")
        .expect(401)
        .await;
    api.req("delete", "/api/v1/users", "/api/v1/users")
        .key(ADMIN)
        .expect(403)
        .await;
    api.req("delete", "/api/v1/users", "/api/v1/users")
        .bearer(&erin)
        .expect(204)
        .await;

    // --- Seed 002: files by content hash, statistics.
    let by_hash = format!("/api/images/{}", text(&first["hash"]));
    let (headers, _) = api
        .req("get", "/api/images/{image_id}", &by_hash)
        .answer(200)
        .await;
    let etag = headers["etag"].to_str().unwrap().to_string();
    api.req("get", "/api/images/{image_id}", &by_hash)
        .header("if-none-match", &etag)
        .expect(304)
        .await;
    api.req(
        "get",
        "/api/images/{image_id}",
        &format!("/api/images/{hash}"),
    )
    .expect(404)
    .await;
    api.req(
        "get",
        "/api/images/{image_id}",
        &format!("/api/images/{hash}"),
    )
    .key(&key_a)
    .expect(200)
    .await;
    api.req("get", "/api/images/{image_id}", "/api/images/xyz")
        .expect(404)
        .await;
    api.req("get", "/api/images/{image_id}", &by_hash)
        .key("nope")
        .expect(401)
        .await;
    api.req("get", "/api/stats", "/api/stats").expect(200).await;
    api.req("get", "/api/stats", "/api/stats")
        .key(ADMIN)
        .expect(200)
        .await;
    api.req("get", "/api/stats", "/api/stats?days=3")
        .expect(400)
        .await;
    api.req("get", "/api/stats", "/api/stats")
        .key("nope")
        .expect(401)
        .await;

    // --- Seed 003: colour services with form fields.
    let form = files(&[("image", "rocket.jpg", rocket.clone())]).text("k", "4");
    let prominent = api
        .req("post", "/prominent-colors", "/prominent-colors")
        .multipart(form)
        .expect(200)
        .await;
    assert_eq!(prominent[0].as_array().unwrap().len(), 4, "{prominent}");
    api.req("post", "/prominent-colors", "/prominent-colors")
        .json(upload(&tiny))
        .expect(400)
        .await;
    let form = files(&[("image", "notes.txt", b"no".to_vec())]);
    api.req("post", "/prominent-colors", "/prominent-colors")
        .multipart(form)
        .expect(400)
        .await;
    let form = files(&[("image", "tiny.png", tiny.clone())]);
    api.req("post", "/prominent-colors", "/prominent-colors")
        .key("nope")
        .multipart(form)
        .expect(401)
        .await;
    let hex = api
        .req("post", "/rgb2hex", "/rgb2hex")
        .form(&[("rgbs", "[[255, 0, 0], [0, 128, 255]]")])
        .expect(200)
        .await;
    assert_eq!(hex, json!(["#ff0000", "#0080ff"]));
    let form = reqwest::multipart::Form::new().text("rgbs", "[[1, 2, 3]]");
    api.req("post", "/rgb2hex", "/rgb2hex")
        .multipart(form)
        .expect(200)
        .await;
    api.req("post", "/rgb2hex", "/rgb2hex")
        .form(&[("rgbs", "[[256, 0, 0]]")])
        .expect(400)
        .await;
    api.req("post", "/rgb2hex", "/rgb2hex")
        .json(json!({"rgbs": [[1, 2, 3]]}))
        .expect(400)
        .await;
    api.req("post", "/rgb2hex", "/rgb2hex")
        .key("nope")
        .form(&[("rgbs", "[]")])
        .expect(401)
        .await;
    let pie = [
        ("colors", r##"["#ff0000", "#0080ff"]"##),
        ("counts", "[3, 1]"),
    ];
    api.req("post", "/centroids", "/centroids")
        .form(&pie)
        .expect(200)
        .await;
    api.req("post", "/centroids", "/centroids")
        .form(&[("colors", "[]"), ("counts", "[]")])
        .expect(400)
        .await;
    api.req("post", "/centroids", "/centroids")
        .form(&[("colors", r#"["red"]"#), ("counts", "[1]")])
        .expect(400)
        .await;
    api.req("post", "/centroids", "/centroids")
        .key("nope")
        .form(&pie)
        .expect(401)
        .await;

    // --- Deleting.
    api.req("delete", "/images/{id}", &private_path)
        .key(&key_b)
        .expect(404)
        .await;
    api.req("delete", "/images/{id}", &private_path)
        .key(&key_a)
        .expect(204)
        .await;
    api.req("delete", "/images/{id}", &private_path)
        .key(&key_a)
        .expect(404)
        .await;
    api.req("delete", "/images/{id}", "/images/abc")
        .key(&key_a)
        .expect(400)
        .await;
    api.req("delete", "/images/{id}", &private_path)
        .key("nope")
        .expect(401)
        .await;
    let deleted = api
        .req("delete", "/images", "/images")
        .key(&key_a)
        .json(json!({"ids": [two, 424242]}))
        .expect(200)
        .await;
    assert_eq!(deleted, json!({"deleted": [two], "not_found": [424242]}));
    let ids: Vec<i64> = (1..=1001).collect();
    api.req("delete", "/images", "/images")
        .key(ADMIN)
        .json(json!({"ids": ids}))
        .expect(400)
        .await;
    api.req("delete", "/images", "/images")
        .key(ADMIN)
        .body("text/plain", "x")
        .expect(415)
        .await;
    api.req("delete", "/images", "/images")
        .key("nope")
        .json(json!({"ids": []}))
        .expect(401)
        .await;
    let cred = ADMIN.to_string();
    api.declared(
        "delete",
        "/images",
        &[json_type, ("x-api-key", &cred)],
        1_100_000,
        413,
    )
    .await;
    api.req("delete", "/users/me", "/users/me")
        .expect(401)
        .await;
    api.req("delete", "/users/me", "/users/me")
        .key(ADMIN)
        .expect(403)
        .await;
    api.req("delete", "/users/me", "/users/me")
        .key(&key_b)
        .expect(204)
        .await;

    // --- The gallery, the description, the health check.
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
    let body = check_response(&spec, &documented, &headers, &bytes, "PUT /images 405");
    assert_eq!(body["error"], "method_not_allowed");

    // --- The tagger fails: 502, nothing stored.
    t.cloud.fail_imagga(wiremock::ResponseTemplate::new(500));
    api.req("post", "/images", "/images")
        .json(upload(&distinct_png(11)))
        .expect(502)
        .await;
    api.req("post", "/images/{id}/retag", &retag)
        .key(ADMIN)
        .expect(502)
        .await;
    let form = files(&[("f", "twelve.png", distinct_png(12))]);
    api.req("post", "/image", "/image")
        .multipart(form)
        .expect(502)
        .await;
    t.cloud.clear_imagga_failure();

    // --- The folder goes away: 503, as documented.
    std::fs::remove_dir_all(&t.images).unwrap();
    std::fs::write(&t.images, b"not a folder").unwrap();
    api.req("get", "/images/{id}", &one).expect(503).await;
    api.req("post", "/images", "/images")
        .json(upload(&distinct_png(13)))
        .expect(503)
        .await;

    let seen = api.seen();
    let statuses: BTreeSet<u16> = seen.iter().map(|s| s.2).collect();
    assert_eq!(
        statuses,
        BTreeSet::from([
            200, 201, 204, 304, 400, 401, 403, 404, 409, 410, 413, 415, 502, 503
        ]),
        "every kind of answer was checked: {seen:?}"
    );
    let exercised: BTreeSet<(String, String)> = seen
        .iter()
        .map(|(m, p, _)| (m.to_uppercase(), p.clone()))
        .collect();
    let operations: BTreeSet<(String, String)> = ROUTES
        .iter()
        .map(|r| (r.method, r.path))
        .chain(DOCS_ROUTES)
        .map(|(m, p)| (m.to_string(), p.to_string()))
        .collect();
    assert_eq!(
        operations.difference(&exercised).collect::<Vec<_>>(),
        Vec::<&(String, String)>::new(),
        "every operation was exercised"
    );
}

/// `AUTH=required` on an S3 store with a small response limit: anonymous
/// callers get 401 except where nothing is needed; files answer 307 to S3;
/// a picture too large for the answer says `data_omitted`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn real_responses_under_auth_required_on_s3_match_the_description() {
    let spec = spec();
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
    let api = Api::new(&spec, &t);
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
}

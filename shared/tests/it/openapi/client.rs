//! Requests checked against the description: each answer's status, headers
//! and body, and which operation (and status) it exercised.

use super::schema::{check_response, conforms, spec};
use crate::common::*;
use reqwest::header::HeaderMap;
use serde_json::Value;
use std::collections::BTreeSet;
use std::sync::Mutex;

/// What a test exercises: operations (method in capitals, documented path)
/// and the statuses of their answers. A test ends with [`Api::covered`],
/// and `description::every_operation_is_exercised` checks that all of them
/// together cover every operation of the description.
pub(super) struct Covers {
    pub operations: &'static [(&'static str, &'static str)],
    pub statuses: &'static [u16],
}

/// Requests checked against the description, each recorded as
/// (method, path, status) of the operation it exercised.
pub(super) struct Api<'a> {
    pub spec: Value,
    pub t: &'a TestApp,
    client: reqwest::Client,
    seen: Mutex<BTreeSet<(String, String, u16)>>,
}

impl<'a> Api<'a> {
    pub fn new(t: &'a TestApp) -> Self {
        Api {
            spec: spec(),
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
    pub fn req(&'a self, method: &'static str, path: &'static str, target: &str) -> Req<'a> {
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

    fn record(&self, method: &str, path: &str, status: u16) {
        self.seen
            .lock()
            .unwrap()
            .insert((method.to_string(), path.to_string(), status));
    }

    /// `method` of the operation `path` with a body declared `length` bytes
    /// long and none sent: what a client over a route's body limit sees
    /// (413 before any byte is read). Raw HTTP on its own connection: a
    /// client still writing megabytes to a server that refused them would
    /// see a broken pipe instead of the answer.
    pub async fn declared(
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
        let body = check_response(&self.spec, documented, &map, &raw[split + 4..], &at);
        assert_eq!(got, status, "{at}: {body}");
        self.record(method, path, got);
        body
    }

    /// Every (method, path, status) exercised so far.
    pub fn seen(&self) -> BTreeSet<(String, String, u16)> {
        self.seen.lock().unwrap().clone()
    }

    /// Asserts that this test exercised every operation and every status
    /// `covers` names.
    pub fn covered(&self, covers: &Covers) {
        let seen = self.seen();
        let operations: BTreeSet<(String, String)> = seen
            .iter()
            .map(|(m, p, _)| (m.to_uppercase(), p.clone()))
            .collect();
        let missing: Vec<_> = covers
            .operations
            .iter()
            .filter(|(m, p)| !operations.contains(&(m.to_string(), p.to_string())))
            .collect();
        assert!(
            missing.is_empty(),
            "not exercised: {missing:?} (seen: {seen:?})"
        );
        let statuses: BTreeSet<u16> = seen.iter().map(|s| s.2).collect();
        let missing: Vec<_> = covers
            .statuses
            .iter()
            .filter(|s| !statuses.contains(s))
            .collect();
        assert!(
            missing.is_empty(),
            "no answer of status {missing:?} (seen: {seen:?})"
        );
    }
}

pub(super) struct Req<'a> {
    api: &'a Api<'a>,
    method: &'static str,
    path: &'static str,
    builder: reqwest::RequestBuilder,
}

impl Req<'_> {
    pub fn key(mut self, key: &str) -> Self {
        self.builder = self.builder.header("x-api-key", key);
        self
    }

    pub fn bearer(mut self, token: &str) -> Self {
        self.builder = self
            .builder
            .header("authorization", format!("Bearer {token}"));
        self
    }

    pub fn header(mut self, name: &str, value: &str) -> Self {
        self.builder = self.builder.header(name, value);
        self
    }

    pub fn json(mut self, body: Value) -> Self {
        self.builder = self.builder.json(&body);
        self
    }

    pub fn body(mut self, content_type: &str, body: impl Into<reqwest::Body>) -> Self {
        self.builder = self.builder.header("content-type", content_type).body(body);
        self
    }

    pub fn form(self, fields: &[(&str, &str)]) -> Self {
        let encoded = form_urlencoded::Serializer::new(String::new())
            .extend_pairs(fields)
            .finish();
        self.body("application/x-www-form-urlencoded", encoded)
    }

    pub fn multipart(mut self, form: reqwest::multipart::Form) -> Self {
        self.builder = self.builder.multipart(form);
        self
    }

    /// Sends it, checks the answer against the description and its status
    /// against `status`; the headers and the JSON body.
    pub async fn answer(self, status: u16) -> (HeaderMap, Value) {
        let response = self.builder.send().await.unwrap();
        let (got, headers, body) = conforms(&self.api.spec, self.method, self.path, response).await;
        assert_eq!(got, status, "{} {}: {body}", self.method, self.path);
        self.api.record(self.method, self.path, got);
        (headers, body)
    }

    pub async fn expect(self, status: u16) -> Value {
        self.answer(status).await.1
    }
}

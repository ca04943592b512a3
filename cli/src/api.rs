//! The HTTP client of the Pictures API: one method per call the commands
//! make, errors turned into [`Error`] with the server's own message.

use std::time::Duration;

use reqwest::header::{CONTENT_TYPE, HeaderMap, LINK, LOCATION};
use reqwest::{Method, RequestBuilder, Response, StatusCode, Url};
use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::error::{Error, Result};
use crate::wire;

const USER_AGENT: &str = concat!("pictures-cli/", env!("CARGO_PKG_VERSION"));
/// Attempts of a request that met a transient failure (a refused or broken
/// connection, 429, 502, 503, 504), with a doubling pause between them.
const ATTEMPTS: u32 = 3;

pub struct Api {
    http: reqwest::Client,
    /// `http(s)://host[:port][/prefix]`, without a trailing slash.
    base: String,
    key: Option<String>,
}

/// What `POST /images` did with the bytes.
pub enum Uploaded {
    /// `201`: a new picture.
    New(Value),
    /// `200`: the same bytes were already there for this caller.
    Existing(Value),
}

/// Options of `POST /images`.
#[derive(Debug, Clone, Default)]
pub struct UploadOptions {
    pub min_confidence: Option<f64>,
    pub private: bool,
    pub asynchronous: bool,
}

/// One page of `GET /images`, and the query of the next one.
pub struct Page {
    pub pictures: Vec<Value>,
    pub next: Option<String>,
}

impl Api {
    pub fn new(base: &str, key: Option<String>) -> Result<Api> {
        // reqwest is built without a TLS crypto provider: install ring's once.
        let _ = rustls::crypto::ring::default_provider().install_default();
        let http = reqwest::Client::builder()
            .user_agent(USER_AGENT)
            .connect_timeout(Duration::from_secs(10))
            .timeout(Duration::from_secs(600))
            // Redirects are followed by hand (`file`), so that the key never
            // travels to another host (a presigned S3 URL).
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| Error::local("client", format!("cannot build the HTTP client: {e}")))?;
        Ok(Api {
            http,
            base: base.trim_end_matches('/').to_string(),
            key,
        })
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    fn request(&self, method: Method, path: &str) -> RequestBuilder {
        let rb = self.http.request(method, self.url(path));
        match &self.key {
            Some(key) => rb.header("x-api-key", key),
            None => rb,
        }
    }

    /// Sends (again after a transient failure) and turns an error status
    /// into [`Error::Api`]. Redirects come back as they are.
    async fn send(&self, rb: RequestBuilder) -> Result<Response> {
        let mut pause = Duration::from_millis(500);
        let mut attempt = 1;
        loop {
            let this = rb
                .try_clone()
                .expect("request bodies are in memory, so requests clone");
            let url = this
                .try_clone()
                .and_then(|r| r.build().ok())
                .map(|r| r.url().to_string())
                .unwrap_or_else(|| self.base.clone());
            let outcome = this.send().await;
            let transient = match &outcome {
                Ok(r) => matches!(r.status().as_u16(), 429 | 502 | 503 | 504),
                Err(e) => e.is_connect() || (e.is_request() && !e.is_timeout()),
            };
            if transient && attempt < ATTEMPTS {
                attempt += 1;
                tokio::time::sleep(pause).await;
                pause *= 2;
                continue;
            }
            let response = outcome.map_err(|e| Error::transport(&url, &e))?;
            return check(response).await;
        }
    }

    async fn json<T: DeserializeOwned>(&self, rb: RequestBuilder) -> Result<T> {
        let response = self.send(rb).await?;
        decode(response).await
    }

    /// `POST /images?dedup=true` with the file's bytes as base64 in JSON.
    pub async fn upload(
        &self,
        bytes: &[u8],
        name: Option<&str>,
        o: &UploadOptions,
    ) -> Result<Uploaded> {
        use base64::Engine as _;
        let data = base64::engine::general_purpose::STANDARD.encode(bytes);
        let body = serde_json::to_vec(&wire::Upload {
            data: &data,
            name,
            private: o.private,
            asynchronous: o.asynchronous,
        })
        .map_err(|e| Error::local("encode", e.to_string()))?;
        drop(data);
        // An import skips what is already there: the server answers 200
        // with the picture of the same bytes instead of making another.
        let mut query: Vec<(&str, String)> = vec![("dedup", "true".into())];
        if let Some(c) = o.min_confidence {
            query.push(("min_confidence", c.to_string()));
        }
        let rb = self
            .request(Method::POST, "/images")
            .query(&query)
            .header(CONTENT_TYPE, "application/json")
            .body(body);
        let response = self.send(rb).await?;
        let created = response.status() == StatusCode::CREATED;
        let picture: Value = decode(response).await?;
        Ok(if created {
            Uploaded::New(picture)
        } else {
            Uploaded::Existing(picture)
        })
    }

    /// A picture with these bytes that the caller may see (with a key: one
    /// of the caller's own, as the server de-duplicates per owner).
    pub async fn find_by_hash(&self, sha256: &str) -> Result<Option<Value>> {
        let mut query = vec![("hash", sha256), ("limit", "1")];
        if self.key.is_some() {
            query.push(("owner", "me"));
        }
        let rb = self.request(Method::GET, "/images").query(&query);
        let list: Vec<Value> = self.json(rb).await?;
        Ok(list.into_iter().next())
    }

    /// One page of `GET /images`; `query` is either the filters or the
    /// query of a previous page's `Link: rel="next"`.
    pub async fn search(&self, query: &str) -> Result<Page> {
        let path = match query {
            "" => "/images".to_string(),
            q => format!("/images?{q}"),
        };
        let response = self.send(self.request(Method::GET, &path)).await?;
        let next = next_query(response.headers());
        let pictures = decode(response).await?;
        Ok(Page { pictures, next })
    }

    /// `GET /images/{id}`: the picture with its `data` (unless too large).
    pub async fn picture(&self, id: i64) -> Result<Value> {
        self.json(self.request(Method::GET, &format!("/images/{id}")))
            .await
    }

    /// `GET /images/{id}/file`, following a redirect (S3) without the key.
    /// The picture's file, and the entity tag the service gave it (on the
    /// first answer, a redirect's included): `"<sha256>-nogps"` names the
    /// copy without its location that everyone but the owner is served.
    pub async fn file(&self, id: i64) -> Result<(Vec<u8>, Option<String>)> {
        let mut response = self
            .send(self.request(Method::GET, &format!("/images/{id}/file")))
            .await?;
        let etag = |r: &reqwest::Response| {
            r.headers()
                .get(reqwest::header::ETAG)
                .and_then(|v| v.to_str().ok())
                .map(str::to_string)
        };
        let first_etag = etag(&response);
        for _ in 0..5 {
            if !response.status().is_redirection() {
                let url = response.url().to_string();
                let tag = first_etag.clone().or_else(|| etag(&response));
                let bytes = response
                    .bytes()
                    .await
                    .map_err(|e| Error::transport(&url, &e))?;
                return Ok((bytes.to_vec(), tag));
            }
            let from = response.url().clone();
            let to = response
                .headers()
                .get(LOCATION)
                .and_then(|v| v.to_str().ok())
                .and_then(|l| from.join(l).ok())
                .ok_or_else(|| {
                    Error::local("bad_redirect", format!("{from} redirected nowhere"))
                })?;
            let same_origin = to.origin() == from.origin();
            let mut rb = self.http.get(to.clone());
            if let (true, Some(key)) = (same_origin, &self.key) {
                rb = rb.header("x-api-key", key);
            }
            response = self.send(rb).await?;
        }
        Err(Error::local("bad_redirect", "too many redirects"))
    }

    pub async fn delete(&self, id: i64) -> Result<()> {
        self.send(self.request(Method::DELETE, &format!("/images/{id}")))
            .await?;
        Ok(())
    }

    pub async fn delete_many(&self, ids: &[i64]) -> Result<wire::Deleted> {
        let rb = self
            .request(Method::DELETE, "/images")
            .json(&serde_json::json!({ "ids": ids }));
        self.json(rb).await
    }

    pub async fn tags(&self, min_date: Option<&str>, max_date: Option<&str>) -> Result<Value> {
        let query = dates(min_date, max_date);
        self.json(self.request(Method::GET, "/tags").query(&query))
            .await
    }

    pub async fn stats(&self) -> Result<Value> {
        self.json(self.request(Method::GET, "/stats")).await
    }

    pub async fn signup(&self, email: Option<&str>) -> Result<Value> {
        let body = match email {
            Some(e) => serde_json::json!({ "email": e }),
            None => serde_json::json!({}),
        };
        self.json(self.request(Method::POST, "/users").json(&body))
            .await
    }

    pub async fn keys(&self) -> Result<Value> {
        self.json(self.request(Method::GET, "/users/me/keys")).await
    }

    pub async fn create_key(&self, name: &str) -> Result<Value> {
        let rb = self
            .request(Method::POST, "/users/me/keys")
            .json(&serde_json::json!({ "name": name }));
        self.json(rb).await
    }

    pub async fn delete_key(&self, id: &str) -> Result<()> {
        let path = format!("/users/me/keys/{}", encode_segment(id));
        self.send(self.request(Method::DELETE, &path)).await?;
        Ok(())
    }
}

fn dates<'a>(min: Option<&'a str>, max: Option<&'a str>) -> Vec<(&'static str, &'a str)> {
    let mut q = Vec::new();
    if let Some(min) = min {
        q.push(("min_date", min));
    }
    if let Some(max) = max {
        q.push(("max_date", max));
    }
    q
}

/// A path segment with everything but unreserved characters escaped.
fn encode_segment(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// A success (2xx, 3xx) as it is; anything else as [`Error::Api`].
async fn check(response: Response) -> Result<Response> {
    let status = response.status();
    if status.is_success() || status.is_redirection() {
        return Ok(response);
    }
    let url = response.url().to_string();
    let bytes = response
        .bytes()
        .await
        .map_err(|e| Error::transport(&url, &e))?;
    Err(api_error(status, &bytes))
}

fn api_error(status: StatusCode, body: &[u8]) -> Error {
    match serde_json::from_slice::<wire::ErrorBody>(body) {
        Ok(e) => Error::Api {
            status: status.as_u16(),
            code: e.error,
            message: if e.message.is_empty() {
                status.canonical_reason().unwrap_or("error").to_string()
            } else {
                e.message
            },
            detail: e.detail,
        },
        // Not the API's JSON: a proxy, a load balancer, another service.
        Err(_) => Error::Api {
            status: status.as_u16(),
            code: format!("http_{}", status.as_u16()),
            message: format!(
                "the server answered {status}{}",
                snippet(body).map(|s| format!(": {s}")).unwrap_or_default()
            ),
            detail: None,
        },
    }
}

/// The start of a non-JSON error body, on one line, when it is short text.
fn snippet(body: &[u8]) -> Option<String> {
    let text = std::str::from_utf8(body).ok()?;
    let line: String = text.split_whitespace().collect::<Vec<_>>().join(" ");
    if line.is_empty() || line.starts_with('<') {
        return None;
    }
    Some(line.chars().take(200).collect())
}

async fn decode<T: DeserializeOwned>(response: Response) -> Result<T> {
    let url = response.url().to_string();
    let bytes = response
        .bytes()
        .await
        .map_err(|e| Error::transport(&url, &e))?;
    serde_json::from_slice(&bytes).map_err(|e| {
        Error::local(
            "bad_answer",
            format!("{url} answered something that is not the expected JSON: {e}"),
        )
    })
}

/// The query string of `Link: <...>; rel="next"`, when there is one. Only
/// the query is kept: the path is always `/images` under the base URL, which
/// may carry a prefix (an API Gateway stage) that the server does not know.
pub fn next_query(headers: &HeaderMap) -> Option<String> {
    headers
        .get_all(LINK)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .find_map(|link| {
            let mut parts = link.split(';');
            let target = parts.next()?.trim();
            let is_next = parts.any(|p| {
                let p = p.trim().to_ascii_lowercase().replace(' ', "");
                p == "rel=\"next\"" || p == "rel=next"
            });
            let target = target.strip_prefix('<')?.strip_suffix('>')?;
            is_next.then(|| target.split_once('?').map(|(_, q)| q.to_string()))?
        })
}

/// The query string of a `GET /images` search.
pub fn query_string(pairs: &[(&str, String)]) -> String {
    let url = Url::parse_with_params("http://x/", pairs).expect("a constant base URL");
    url.query().unwrap_or("").to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::header::HeaderValue;

    #[test]
    fn next_link_keeps_only_the_query() {
        let mut h = HeaderMap::new();
        h.insert(
            LINK,
            HeaderValue::from_static("</images?tags=cat&limit=2&after=7>; rel=\"next\""),
        );
        assert_eq!(next_query(&h).as_deref(), Some("tags=cat&limit=2&after=7"));
        let mut h = HeaderMap::new();
        h.insert(
            LINK,
            HeaderValue::from_static("</x?a=1>; rel=\"prev\", </images?after=3>; rel=next"),
        );
        assert_eq!(next_query(&h).as_deref(), Some("after=3"));
        assert_eq!(next_query(&HeaderMap::new()), None);
    }

    #[test]
    fn query_strings_are_escaped() {
        let q = query_string(&[("tags", "cat,dog".into()), ("color", "#ff0000".into())]);
        assert_eq!(q, "tags=cat%2Cdog&color=%23ff0000");
    }

    #[test]
    fn error_bodies_become_one_line() {
        let e = api_error(
            StatusCode::NOT_FOUND,
            br#"{"error":"not_found","message":"no picture 7","detail":"check the id"}"#,
        );
        assert_eq!(
            e.to_string(),
            "no picture 7 (check the id) (HTTP 404 not_found)"
        );
        let e = api_error(StatusCode::BAD_GATEWAY, b"<html>oops</html>");
        assert_eq!(e.code(), "http_502");
        assert_eq!(e.message(), "the server answered 502 Bad Gateway");
    }

    #[test]
    fn key_ids_are_escaped_in_paths() {
        assert_eq!(encode_segment("ab-1"), "ab-1");
        assert_eq!(encode_segment("a/b c"), "a%2Fb%20c");
    }
}

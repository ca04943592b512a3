//! ImageKit and Imagga as their documented wire protocols behave, on loopback.

use crate::b64;
use serde_json::{Value, json};
use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};
use wiremock::matchers::{header, method, path, path_regex};
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

pub const IMAGEKIT_PRIVATE_KEY: &str = "private_ik_test_key";
pub const IMAGGA_KEY: &str = "acc_test_key";
pub const IMAGGA_SECRET: &str = "imagga_test_secret";

fn basic(user: &str, password: &str) -> String {
    format!("Basic {}", b64(format!("{user}:{password}").as_bytes()))
}

/// ImageKit and Imagga as their documented APIs behave, on loopback:
/// uploads stage a file and return its `fileId` and public `url`; Imagga
/// tags a URL only if it names a staged file; deletes unstage. Wrong keys
/// get a 401, as from the real services.
pub struct FakeCloud {
    pub server: MockServer,
    pub state: Arc<Mutex<CloudState>>,
}

#[derive(Default)]
pub struct CloudState {
    /// fileId → the base64 the upload carried.
    pub staged: HashMap<String, String>,
    pub uploads: usize,
    pub deletes: usize,
    pub tag_calls: usize,
    /// The tags Imagga answers with: (English name, confidence).
    pub tags: Vec<(String, f64)>,
    /// When set, Imagga answers this instead of tags.
    pub imagga_answer: Option<ResponseTemplate>,
    /// When set, ImageKit answers uploads with this and stages nothing.
    pub upload_answer: Option<ResponseTemplate>,
    /// What Imagga downloaded from URLs outside ImageKit: (HTTP status, body).
    pub fetched: Vec<(u16, Vec<u8>)>,
    next_id: usize,
}

struct Upload(Arc<Mutex<CloudState>>, String);
impl Respond for Upload {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        let body = String::from_utf8_lossy(&request.body).into_owned();
        let Some(file) = multipart_field(&body, "file") else {
            return ResponseTemplate::new(400)
                .set_body_json(json!({"message": "Missing file parameter for upload"}));
        };
        let Some(name) = multipart_field(&body, "fileName") else {
            return ResponseTemplate::new(400)
                .set_body_json(json!({"message": "Missing fileName parameter for upload"}));
        };
        let mut state = self.0.lock().unwrap();
        state.uploads += 1;
        if let Some(answer) = &state.upload_answer {
            return answer.clone();
        }
        state.next_id += 1;
        let file_id = format!("file{:06}", state.next_id);
        state.staged.insert(file_id.clone(), file);
        ResponseTemplate::new(200).set_body_json(json!({
            "fileId": file_id,
            "name": name,
            "url": format!("{}/staged/{file_id}/{name}", self.1),
            "fileType": "image",
        }))
    }
}

struct Tags(Arc<Mutex<CloudState>>);
impl Respond for Tags {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        let mut state = self.0.lock().unwrap();
        state.tag_calls += 1;
        if let Some(answer) = &state.imagga_answer {
            return answer.clone();
        }
        let image_url = request
            .url
            .query_pairs()
            .find(|(k, _)| k == "image_url")
            .map(|(_, v)| v.into_owned())
            .unwrap_or_default();
        let mut staged = image_url
            .split("/staged/")
            .nth(1)
            .and_then(|rest| rest.split('/').next())
            .is_some_and(|id| state.staged.contains_key(id));
        if !staged && image_url.contains("X-Amz-Signature=") {
            // A presigned S3 URL: download it, as Imagga would.
            let (status, body) = http_get(&image_url);
            staged = status == 200;
            state.fetched.push((status, body));
        }
        if !staged {
            return ResponseTemplate::new(400).set_body_json(json!({
                "status": {"type": "error", "text": "Could not download the image from the URL"}
            }));
        }
        let tags: Vec<Value> = state
            .tags
            .iter()
            .map(|(name, c)| json!({"confidence": c, "tag": {"en": name}}))
            .collect();
        ResponseTemplate::new(200).set_body_json(
            json!({"result": {"tags": tags}, "status": {"type": "success", "text": ""}}),
        )
    }
}

/// A plain HTTP/1.1 GET on loopback: (status, body).
fn http_get(url: &str) -> (u16, Vec<u8>) {
    use std::io::{Read, Write};
    let url = reqwest::Url::parse(url).unwrap();
    let host = format!("{}:{}", url.host_str().unwrap(), url.port().unwrap_or(80));
    let target = match url.query() {
        Some(q) => format!("{}?{q}", url.path()),
        None => url.path().to_string(),
    };
    let Ok(mut conn) = std::net::TcpStream::connect(&host) else {
        return (0, Vec::new());
    };
    write!(
        conn,
        "GET {target} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut raw = Vec::new();
    conn.read_to_end(&mut raw).unwrap();
    let split = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .unwrap_or(raw.len());
    let head = String::from_utf8_lossy(&raw[..split]).to_string();
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    (status, raw.get(split + 4..).unwrap_or_default().to_vec())
}

struct Delete(Arc<Mutex<CloudState>>);
impl Respond for Delete {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        let id = request
            .url
            .path()
            .rsplit('/')
            .next()
            .unwrap_or_default()
            .to_string();
        let mut state = self.0.lock().unwrap();
        state.deletes += 1;
        if state.staged.remove(&id).is_some() {
            ResponseTemplate::new(204)
        } else {
            ResponseTemplate::new(404)
                .set_body_json(json!({"message": "The requested file does not exist."}))
        }
    }
}

/// The value of a text field in a multipart/form-data body.
fn multipart_field(body: &str, name: &str) -> Option<String> {
    let marker = format!("name=\"{name}\"");
    let start = body.find(&marker)? + marker.len();
    let rest = &body[start..];
    let value_start = rest.find("\r\n\r\n")? + 4;
    let value = &rest[value_start..];
    let end = value.find("\r\n--")?;
    Some(value[..end].to_string())
}

impl FakeCloud {
    pub async fn start(tags: &[(&str, f64)]) -> Self {
        let server = MockServer::start().await;
        let state = Arc::new(Mutex::new(CloudState {
            tags: tags.iter().map(|(n, c)| (n.to_string(), *c)).collect(),
            ..CloudState::default()
        }));
        let imagekit_auth = basic(IMAGEKIT_PRIVATE_KEY, "");
        Mock::given(method("POST"))
            .and(path("/api/v1/files/upload"))
            .and(header("authorization", imagekit_auth.as_str()))
            .respond_with(Upload(state.clone(), server.uri()))
            .with_priority(1)
            .mount(&server)
            .await;
        Mock::given(method("GET"))
            .and(path("/v2/tags"))
            .and(header(
                "authorization",
                basic(IMAGGA_KEY, IMAGGA_SECRET).as_str(),
            ))
            .respond_with(Tags(state.clone()))
            .with_priority(1)
            .mount(&server)
            .await;
        Mock::given(method("DELETE"))
            .and(path_regex("^/v1/files/[^/]+$"))
            .and(header("authorization", imagekit_auth.as_str()))
            .respond_with(Delete(state.clone()))
            .with_priority(1)
            .mount(&server)
            .await;
        // Anything else (wrong keys included) is refused, as the services do.
        Mock::given(wiremock::matchers::any())
            .respond_with(
                ResponseTemplate::new(401)
                    .set_body_json(json!({"message": "Your request contains invalid credentials"})),
            )
            .with_priority(10)
            .mount(&server)
            .await;
        FakeCloud { server, state }
    }

    pub fn uri(&self) -> String {
        self.server.uri()
    }

    pub fn set_tags(&self, tags: &[(&str, f64)]) {
        self.state.lock().unwrap().tags = tags.iter().map(|(n, c)| (n.to_string(), *c)).collect();
    }

    pub fn fail_imagga(&self, answer: ResponseTemplate) {
        self.state.lock().unwrap().imagga_answer = Some(answer);
    }

    pub fn clear_imagga_failure(&self) {
        self.state.lock().unwrap().imagga_answer = None;
    }

    pub fn fail_uploads(&self, answer: ResponseTemplate) {
        self.state.lock().unwrap().upload_answer = Some(answer);
    }

    /// Files uploaded to ImageKit and not deleted again.
    pub fn staged(&self) -> HashSet<String> {
        self.state.lock().unwrap().staged.keys().cloned().collect()
    }

    pub fn fetched(&self) -> Vec<(u16, Vec<u8>)> {
        self.state.lock().unwrap().fetched.clone()
    }

    pub fn counts(&self) -> (usize, usize, usize) {
        let s = self.state.lock().unwrap();
        (s.uploads, s.tag_calls, s.deletes)
    }
}

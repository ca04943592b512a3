//! What every integration test starts from: a real database (a SQLite file,
//! or a database of its own on the MariaDB/MySQL server), a real image
//! folder, the local API on a free loopback port, and a loopback server
//! speaking the ImageKit and Imagga wire protocols.
#![allow(dead_code)]

use base64::Engine;
use pictures::{App, Config};
use rand::Rng;
use serde_json::{Value, json};
use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use tempfile::TempDir;
use wiremock::matchers::{header, method, path, path_regex};
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

pub const IMAGEKIT_PRIVATE_KEY: &str = "private_ik_test_key";
pub const IMAGGA_KEY: &str = "acc_test_key";
pub const IMAGGA_SECRET: &str = "imagga_test_secret";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    MySql,
}

/// What a test's requests go through: the local API (every route in this
/// process), or `cargo lambda watch` with the four function binaries behind
/// the router of Cargo.toml (see [`Emulator`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Target {
    pub backend: Backend,
    pub emulator: bool,
}

impl Target {
    /// The emulator on a MariaDB/MySQL database of the test's own, like a deployment.
    pub const EMULATOR: Target = Target {
        backend: Backend::MySql,
        emulator: true,
    };
}

impl From<Backend> for Target {
    fn from(backend: Backend) -> Self {
        Target {
            backend,
            emulator: false,
        }
    }
}

/// The MariaDB/MySQL server tests create their databases on.
pub fn mysql_server_url() -> String {
    std::env::var("TEST_MYSQL_URL").unwrap_or_else(|_| "mysql://root@127.0.0.1:3306".into())
}

/// The repository's root, from any of its crates (the function crates include this module too).
pub fn repo_root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .ancestors()
        .find(|d| d.join("tests/fixtures/images").is_dir())
        .expect("tests/fixtures/images above the crate")
}

pub fn fixture(name: &str) -> Vec<u8> {
    let path = repo_root().join("tests/fixtures/images").join(name);
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

pub fn b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

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

/// A running local API with its own database, image folder and fake cloud.
pub struct TestApp {
    pub url: String,
    pub client: reqwest::Client,
    pub app: Arc<App>,
    pub cloud: FakeCloud,
    pub images: PathBuf,
    pub database_url: String,
    pub backend: Backend,
    mysql_db: Option<String>,
    emulator: Option<Emulator>,
    _dir: TempDir,
}

pub struct Options {
    pub max_body_bytes: Option<usize>,
    pub database_url: Option<String>,
    pub tagger_timeout_secs: u64,
    /// Extra or replaced variables.
    pub vars: Vec<(String, String)>,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            max_body_bytes: None,
            database_url: None,
            tagger_timeout_secs: 5,
            vars: Vec::new(),
        }
    }
}

/// A new, empty database on the test server, named for this test.
pub async fn create_mysql_database() -> (String, String) {
    use sqlx::Connection;
    let name = format!("pictures_t{:016x}", rand::rng().random::<u64>());
    let mut conn = sqlx::MySqlConnection::connect(&mysql_server_url())
        .await
        .expect("MariaDB/MySQL must run for the tests (make test starts it)");
    sqlx::raw_sql(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
        .execute(&mut conn)
        .await
        .unwrap();
    (name.clone(), format!("{}/{name}", mysql_server_url()))
}

pub fn drop_mysql_database(name: String) {
    // Drop runs outside any async context; give the cleanup its own runtime.
    let _ = std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async {
            use sqlx::Connection;
            if let Ok(mut conn) = sqlx::MySqlConnection::connect(&mysql_server_url()).await {
                let _ = sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
                    "DROP DATABASE IF EXISTS {name}"
                )))
                .execute(&mut conn)
                .await;
            }
        });
    })
    .join();
}

impl TestApp {
    pub async fn start(target: impl Into<Target>) -> Self {
        Self::start_with(target, Options::default()).await
    }

    pub async fn start_with(target: impl Into<Target>, options: Options) -> Self {
        let Target { backend, emulator } = target.into();
        let cloud = FakeCloud::start(&[("rocket", 95.5), ("sky", 85.25), ("missile", 60.0)]).await;
        let dir = tempfile::tempdir().unwrap();
        let images = dir.path().join("images");
        let (mysql_db, database_url) = match (&options.database_url, backend) {
            (Some(url), _) => (None, url.clone()),
            (None, Backend::Sqlite) => (
                None,
                format!("sqlite://{}/pictures.db", dir.path().display()),
            ),
            (None, Backend::MySql) => {
                let (name, url) = create_mysql_database().await;
                (Some(name), url)
            }
        };
        let mut vars: HashMap<String, String> = [
            ("DATABASE_URL", database_url.clone()),
            ("IMAGE_STORE", images.display().to_string()),
            (
                "CREDENTIALS_FILE",
                dir.path().join("none.json").display().to_string(),
            ),
            ("TAGGER", "imagga".into()),
            ("IMAGGA_API_KEY", IMAGGA_KEY.into()),
            ("IMAGGA_API_SECRET", IMAGGA_SECRET.into()),
            ("IMAGEKIT_PRIVATE_KEY", IMAGEKIT_PRIVATE_KEY.into()),
            ("IMAGGA_BASE_URL", cloud.uri()),
            ("IMAGEKIT_UPLOAD_URL", cloud.uri()),
            ("IMAGEKIT_API_URL", cloud.uri()),
            (
                "TAGGER_TIMEOUT_SECS",
                options.tagger_timeout_secs.to_string(),
            ),
            ("DB_TIMEOUT_SECS", "2".to_string()),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v))
        .collect();
        if let Some(max) = options.max_body_bytes {
            vars.insert("MAX_BODY_BYTES".into(), max.to_string());
        }
        vars.extend(options.vars);
        let config = Config::from_lookup(|k| vars.get(k).cloned()).expect("test configuration");
        let app = App::build(&config, true).await.expect("app starts");
        app.warm_up().await;
        // As the local API does: a worker for the tagging queue.
        if let Some(queue) = app.local_queue.clone() {
            tokio::spawn(pictures::domain::queue::run_worker(app.clone(), queue));
        }
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let router = pictures::local::local_router(app.clone());
        tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
        // The functions get the same settings: the same database, folder and fake cloud.
        let emulator = if emulator {
            Some(Emulator::start(&vars, dir.path()).await)
        } else {
            None
        };
        let url = emulator.as_ref().map_or(url, |e| e.url.clone());
        TestApp {
            url,
            client: reqwest::Client::new(),
            app,
            cloud,
            images,
            database_url,
            backend,
            mysql_db,
            emulator,
            _dir: dir,
        }
    }

    /// A fixture photo as a test through this target should send it. Through
    /// `cargo lambda watch` photos are scaled down to at most 96 pixels (in
    /// their own format): cargo-lambda 1.9.2 acknowledges a function's
    /// response before reading its body, so the runtime may stop sending
    /// mid-body, and a response over ~64 KB comes back as the emulator's own
    /// 500 a few times in a hundred (36 of 2,000 GETs of a 150 KB picture,
    /// measured); small ones never do. Large bodies are covered by the same
    /// tests against the local API and by the functions' event tests.
    pub fn photo(&self, name: &str) -> Vec<u8> {
        let bytes = fixture(name);
        if self.emulator.is_none() || bytes.len() < 32 * 1024 {
            return bytes;
        }
        let format = image::guess_format(&bytes).unwrap();
        let small = image::load_from_memory(&bytes).unwrap().thumbnail(96, 96);
        let mut out = Vec::new();
        small
            .write_to(&mut std::io::Cursor::new(&mut out), format)
            .unwrap();
        out
    }

    /// What the emulator and the functions it ran printed (empty without one).
    pub fn emulator_log(&self) -> String {
        self.emulator
            .as_ref()
            .map_or_else(String::new, Emulator::log)
    }

    pub async fn post_image(&self, bytes: &[u8], query: &str) -> reqwest::Response {
        self.client
            .post(format!("{}/images{query}", self.url))
            .json(&json!({"data": b64(bytes)}))
            .send()
            .await
            .unwrap()
    }

    pub async fn get(&self, path_and_query: &str) -> reqwest::Response {
        self.client
            .get(format!("{}{path_and_query}", self.url))
            .send()
            .await
            .unwrap()
    }

    pub async fn get_json(&self, path_and_query: &str) -> Value {
        let r = self.get(path_and_query).await;
        assert_eq!(r.status(), 200, "GET {path_and_query}");
        r.json().await.unwrap()
    }

    /// Files in the image folder (temporary ones included).
    pub fn files(&self) -> Vec<PathBuf> {
        match std::fs::read_dir(&self.images) {
            Ok(entries) => entries.map(|e| e.unwrap().path()).collect(),
            Err(_) => Vec::new(),
        }
    }

    /// (pictures rows, tags rows), counted in the database itself.
    pub async fn row_counts(&self) -> (i64, i64) {
        use sqlx::Connection;
        let count = |sql: &'static str| async move {
            match self.backend {
                Backend::Sqlite => {
                    let mut c = sqlx::SqliteConnection::connect(&self.database_url)
                        .await
                        .unwrap();
                    sqlx::query_scalar::<_, i64>(sql)
                        .fetch_one(&mut c)
                        .await
                        .unwrap()
                }
                Backend::MySql => {
                    let mut c = sqlx::MySqlConnection::connect(&self.database_url)
                        .await
                        .unwrap();
                    sqlx::query_scalar::<_, i64>(sql)
                        .fetch_one(&mut c)
                        .await
                        .unwrap()
                }
            }
        };
        (
            count("SELECT COUNT(*) FROM pictures").await,
            count("SELECT COUNT(*) FROM tags").await,
        )
    }

    /// Runs statements on the test database directly (to break it on purpose).
    pub async fn execute(&self, sql: &str) {
        use sqlx::Connection;
        let sql = sqlx::AssertSqlSafe(sql.to_string());
        match self.backend {
            Backend::Sqlite => {
                let mut c = sqlx::SqliteConnection::connect(&self.database_url)
                    .await
                    .unwrap();
                sqlx::raw_sql(sql).execute(&mut c).await.unwrap();
            }
            Backend::MySql => {
                let mut c = sqlx::MySqlConnection::connect(&self.database_url)
                    .await
                    .unwrap();
                sqlx::raw_sql(sql).execute(&mut c).await.unwrap();
            }
        }
    }

    /// Nothing stored: no row, no file, no copy left at ImageKit.
    pub async fn assert_nothing_stored(&self) {
        assert_eq!(self.row_counts().await, (0, 0), "no rows");
        assert_eq!(self.files(), Vec::<PathBuf>::new(), "no files");
        assert!(
            self.cloud.staged().is_empty(),
            "no staged copy left at ImageKit"
        );
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        // The functions first: they hold connections to the database dropped next.
        drop(self.emulator.take());
        if let Some(name) = self.mysql_db.take() {
            drop_mysql_database(name);
        }
    }
}

/// Asserts a JSON error response: status, `error` code, and a message.
pub async fn assert_error(response: reqwest::Response, status: u16, code: &str) -> Value {
    assert_eq!(response.status().as_u16(), status, "status");
    assert_eq!(
        response
            .headers()
            .get("content-type")
            .map(|v| v.to_str().unwrap()),
        Some("application/json"),
        "errors are JSON"
    );
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["error"], code, "{body}");
    assert!(
        body["message"].as_str().is_some_and(|m| !m.is_empty()),
        "{body}"
    );
    body
}

/// Declares the tests of the API's contract, run through each way in:
/// `name::sqlite` and `name::mysql` against the local API, `name::emulator`
/// through `cargo lambda watch` (on MariaDB/MySQL).
#[macro_export]
macro_rules! contract_tests {
    ($(async fn $name:ident($target:ident) $body:block)*) => {$(
        mod $name {
            #[allow(unused_imports)]
            use super::*;
            async fn run($target: $crate::common::Target) $body
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() { run($crate::common::Backend::Sqlite.into()).await }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn mysql() { run($crate::common::Backend::MySql.into()).await }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn emulator() { run($crate::common::Target::EMULATOR).await }
        }
    )*};
}

/// Declares one async test per backend: `name::sqlite` and `name::mysql`.
#[macro_export]
macro_rules! both_backends {
    ($(async fn $name:ident($backend:ident) $body:block)*) => {$(
        mod $name {
            #[allow(unused_imports)]
            use super::*;
            async fn run($backend: $crate::common::Backend) $body
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() { run($crate::common::Backend::Sqlite).await }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn mysql() { run($crate::common::Backend::MySql).await }
        }
    )*};
}

/// A small PNG of its own for each `n`: distinct bytes, distinct pictures.
pub fn distinct_png(n: u32) -> Vec<u8> {
    let img = image::RgbImage::from_fn(8, 8, |x, y| {
        image::Rgb([(n * 37 % 256) as u8, (x * 30) as u8, (y * 30 + n) as u8])
    });
    let mut out = Vec::new();
    img.write_to(&mut std::io::Cursor::new(&mut out), image::ImageFormat::Png)
        .unwrap();
    out
}

/// A PNG that is all header: it declares `width` x `height` pixels and
/// holds none, the way a decompression bomb starts.
pub fn png_declaring(width: u32, height: u32) -> Vec<u8> {
    fn crc32(data: &[u8]) -> u32 {
        let mut crc = 0xffff_ffffu32;
        for &b in data {
            crc ^= u32::from(b);
            for _ in 0..8 {
                crc = if crc & 1 != 0 {
                    (crc >> 1) ^ 0xedb8_8320
                } else {
                    crc >> 1
                };
            }
        }
        !crc
    }
    let mut png = b"\x89PNG\r\n\x1a\n".to_vec();
    let mut ihdr = b"IHDR".to_vec();
    ihdr.extend_from_slice(&width.to_be_bytes());
    ihdr.extend_from_slice(&height.to_be_bytes());
    ihdr.extend_from_slice(&[8, 2, 0, 0, 0]); // 8-bit RGB
    png.extend_from_slice(&13u32.to_be_bytes());
    png.extend_from_slice(&ihdr);
    png.extend_from_slice(&crc32(&ihdr).to_be_bytes());
    // One IDAT holding an empty zlib stream: the header reads, no pixel does.
    let idat = b"IDAT\x78\x9c\x03\x00\x00\x00\x00\x01";
    png.extend_from_slice(&8u32.to_be_bytes());
    png.extend_from_slice(idat);
    png.extend_from_slice(&crc32(idat).to_be_bytes());
    png.extend_from_slice(&[0, 0, 0, 0]);
    png.extend_from_slice(b"IEND");
    png.extend_from_slice(&crc32(b"IEND").to_be_bytes());
    png
}

/// `cargo lambda watch` (PyPI cargo-lambda in .venv, `make tools`) on a free
/// loopback port, as `make watch` runs it: its router (Cargo.toml), its
/// HTTP-to-event conversion, its Runtime API, each function started on its
/// first invocation with `vars` as its environment. One difference: the
/// emulator starts a function with `cargo run --bin <fn>`, and here `cargo`
/// is a shim that runs this build's binary instead (anything else goes to
/// cargo). The real `cargo run` resolves features without the
/// dev-dependencies (wiremock turns on hyper's `full`, regex's `unicode`) and
/// would compile 19 crates again, aws-sdk-s3 among them, for the same code.
pub struct Emulator {
    pub url: String,
    child: std::process::Child,
    log: PathBuf,
}

impl Emulator {
    pub async fn start(vars: &HashMap<String, String>, dir: &Path) -> Self {
        use std::os::unix::fs::PermissionsExt;
        use std::os::unix::process::CommandExt;
        let root = repo_root();
        let venv = root.join(".venv/bin/cargo-lambda");
        let program = std::env::var_os("CARGO_LAMBDA")
            .map(PathBuf::from)
            .unwrap_or(if venv.exists() {
                venv
            } else {
                "cargo-lambda".into()
            });
        // The binaries cargo built with this test (the function crates' tests need them).
        let bin_dir = std::env::current_exe()
            .unwrap()
            .parent()
            .and_then(Path::parent)
            .unwrap()
            .to_path_buf();
        for function in pictures::http::FUNCTIONS {
            let binary = bin_dir.join(function);
            assert!(
                binary.exists(),
                "{} is not built: cargo build --workspace --tests (make test) builds it",
                binary.display()
            );
        }
        // Cargo sets CARGO for tests; else the first on PATH (the shim must not find itself).
        let real_cargo = std::env::var_os("CARGO")
            .map(PathBuf::from)
            .or_else(|| {
                std::env::split_paths(&std::env::var_os("PATH")?)
                    .map(|d| d.join("cargo"))
                    .find(|c| c.is_file())
            })
            .expect("cargo");
        let shims = dir.join("shims");
        std::fs::create_dir_all(&shims).unwrap();
        let shim = shims.join("cargo");
        std::fs::write(
            &shim,
            format!(
                "#!/bin/sh\n\
                 # `cargo run ... --bin <fn>` from cargo lambda watch: this build's binary.\n\
                 if [ \"$1\" = run ]; then\n\
                 while [ $# -gt 0 ]; do [ \"$1\" = --bin ] && exec '{bins}/'\"$2\"; shift; done\n\
                 fi\n\
                 exec '{cargo}' \"$@\"\n",
                bins = bin_dir.display(),
                cargo = real_cargo.display(),
            ),
        )
        .unwrap();
        std::fs::set_permissions(&shim, std::fs::Permissions::from_mode(0o755)).unwrap();
        let path = format!(
            "{}:{}",
            shims.display(),
            std::env::var("PATH").unwrap_or_default()
        );
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let log = dir.join("emulator.log");
        let out = std::fs::File::create(&log).unwrap();
        let child = std::process::Command::new(&program)
            // `--ignore-changes`: an edit elsewhere in the tree must not restart a function mid-test.
            .args([
                "lambda",
                "watch",
                "--ignore-changes",
                "-A",
                "127.0.0.1",
                "-P",
            ])
            .arg(port.to_string())
            .current_dir(root)
            .envs(vars)
            // cargo-lambda runs $CARGO when set (cargo sets it for tests), else cargo from PATH.
            .env("CARGO", &shim)
            .env("PATH", path)
            .env("RUST_LOG", "warn")
            .stdin(std::process::Stdio::null())
            .stdout(out.try_clone().unwrap())
            .stderr(out)
            // A process group of its own, with the functions it starts: one kill ends them all.
            .process_group(0)
            .spawn()
            .unwrap_or_else(|e| panic!("{}: {e} (make tools installs it)", program.display()));
        let emulator = Emulator {
            url: format!("http://127.0.0.1:{port}"),
            child,
            log,
        };
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
        while tokio::net::TcpStream::connect(("127.0.0.1", port))
            .await
            .is_err()
        {
            assert!(
                std::time::Instant::now() < deadline,
                "cargo lambda watch did not listen: {}",
                emulator.log()
            );
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
        emulator
            .warm_up(deadline + std::time::Duration::from_secs(30))
            .await;
        emulator
    }

    /// Starts every function with one request that reaches it. Under load
    /// the emulator sometimes answers a function's very first invocation
    /// with a 500 of its own (no function code ran: nothing in the log);
    /// the tests' own requests then meet functions that are up.
    async fn warm_up(&self, deadline: std::time::Instant) {
        let client = reqwest::Client::new();
        let probes = [
            ("GET", "/tags"),
            ("GET", "/images?limit=1"),
            ("GET", "/images/2147483647"),
            ("POST", "/images"),
        ];
        for (method, path) in probes {
            loop {
                let request = match method {
                    "POST" => client
                        .post(format!("{}{path}", self.url))
                        .header("content-type", "text/plain")
                        .body("x"),
                    _ => client.get(format!("{}{path}", self.url)),
                };
                let answered = match request.send().await {
                    Ok(r) if r.status() != 500 => r.json::<Value>().await.is_ok(),
                    _ => false,
                };
                if answered {
                    break;
                }
                assert!(
                    std::time::Instant::now() < deadline,
                    "{method} {path} never reached its function: {}",
                    self.log()
                );
                tokio::time::sleep(std::time::Duration::from_millis(100)).await;
            }
        }
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

impl Drop for Emulator {
    fn drop(&mut self) {
        // A failed test shows what the emulator and its functions said.
        if std::thread::panicking() {
            eprintln!("--- cargo lambda watch log ---\n{}", self.log());
        }
        let _ = std::process::Command::new("kill")
            .args(["-KILL", "--", &format!("-{}", self.child.id())])
            .status();
        let _ = self.child.wait();
    }
}

/// One function's Lambda service handed one API Gateway event file, as
/// Lambda would: (status, headers, body as JSON or `Null`).
pub async fn invoke_event(
    app: &Arc<App>,
    function: &str,
    event: &Path,
) -> (u16, http::HeaderMap, Value) {
    use http_body_util::BodyExt;
    use tower::ServiceExt;
    let json =
        std::fs::read_to_string(event).unwrap_or_else(|e| panic!("{}: {e}", event.display()));
    let request = lambda_http::request::from_str(&json).expect("a valid API Gateway event");
    let response = pictures::http::lambda_service(app.clone(), function)
        .oneshot(request)
        .await
        .unwrap();
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    let bytes = response.into_body().collect().await.unwrap().to_bytes();
    (
        status,
        headers,
        serde_json::from_slice(&bytes).unwrap_or(Value::Null),
    )
}

pub const ACCESS_KEY: &str = "pictures-test-key";
pub const SECRET_KEY: &str = "pictures-test-secret";
pub const BUCKET: &str = "pictures";

/// An S3-compatible server on loopback (s3s-fs, which checks request
/// signatures), with one bucket, in a folder of its own.
pub struct S3Server {
    child: std::process::Child,
    pub url: String,
    pub root: tempfile::TempDir,
}

impl S3Server {
    pub fn start() -> Self {
        let root = tempfile::tempdir().unwrap();
        std::fs::create_dir(root.path().join(BUCKET)).unwrap();
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let binary = std::env::var("S3S_FS").unwrap_or_else(|_| "s3s-fs".into());
        let child = std::process::Command::new(&binary)
            .args(["--host", "127.0.0.1", "--port", &port.to_string()])
            .args(["--access-key", ACCESS_KEY, "--secret-key", SECRET_KEY])
            .arg(root.path())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("{binary}: {e} (make test installs s3s-fs)"));
        for _ in 0..100 {
            if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
                break;
            }
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
        S3Server {
            child,
            url: format!("http://127.0.0.1:{port}"),
            root,
        }
    }

    /// The objects stored, as files of s3s-fs's folder.
    pub fn objects(&self) -> Vec<PathBuf> {
        fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
            for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
                let path = entry.path();
                if path.is_dir() {
                    walk(&path, out);
                } else if !path.file_name().unwrap().to_string_lossy().starts_with('.') {
                    out.push(path);
                }
            }
        }
        let mut out = Vec::new();
        walk(&self.root.path().join(BUCKET), &mut out);
        out
    }
}

impl Drop for S3Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub fn s3_options(endpoint: &str, secret: &str) -> Options {
    let vars = [
        ("IMAGE_STORE", format!("s3://{BUCKET}/images")),
        ("AWS_ENDPOINT_URL", endpoint.to_string()),
        ("AWS_REGION", "us-east-1".into()),
        ("AWS_ACCESS_KEY_ID", ACCESS_KEY.into()),
        ("AWS_SECRET_ACCESS_KEY", secret.into()),
        ("S3_FORCE_PATH_STYLE", "true".into()),
    ];
    Options {
        vars: vars.into_iter().map(|(k, v)| (k.to_string(), v)).collect(),
        ..Options::default()
    }
}

//! A running local API (or `cargo lambda watch`) with its own database,
//! image folder and loopback cloud.

use crate::{
    Backend, Emulator, FakeCloud, IMAGEKIT_PRIVATE_KEY, IMAGGA_KEY, IMAGGA_SECRET, Target, b64,
    fixture, mysql_server_url,
};
use pictures::{App, Config};
use rand::Rng;
use serde_json::{Value, json};
use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;
use tempfile::TempDir;

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

impl Options {
    /// The defaults, with these variables set (or replaced).
    pub fn with_vars(vars: &[(&str, &str)]) -> Self {
        Options {
            vars: vars
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            ..Options::default()
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
            tokio::spawn(pictures::local::run_worker(app.clone(), queue));
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

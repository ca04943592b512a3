//! The tagging queue survives a crash: the real `local-api` process (on-device
//! tagger) accepts 50 asynchronous uploads and is killed with SIGKILL while
//! most of them are still pending; started again, it tags every one of them
//! exactly once (tag rows and statistics counted once, nothing left queued).

use base64::Engine as _;
use sqlx::Connection as _;
use std::path::Path;
use std::time::{Duration, Instant};

mod common;
use common::{Server, local_api, workspace};

/// A photo of its own for each `n`: chelsea with one pixel changed.
fn photo(n: u32) -> Vec<u8> {
    let bytes = std::fs::read(workspace().join("tests/fixtures/images/chelsea.png")).unwrap();
    let mut img = image::load_from_memory(&bytes).unwrap().to_rgb8();
    img.put_pixel(n % 400, 0, image::Rgb([n as u8, 255 - n as u8, 7]));
    let mut out = Vec::new();
    img.write_to(&mut std::io::Cursor::new(&mut out), image::ImageFormat::Png)
        .unwrap();
    out
}

async fn start(database_url: &str, images: &Path) -> Server {
    let mut command = local_api(database_url, images);
    // A job held by the killed process is free again this soon.
    command.env("TAG_LEASE_SECS", "2");
    Server::start(command, "/health").await
}

async fn scalar(database_url: &str, sql: &str) -> i64 {
    let sql = sqlx::AssertSqlSafe(sql.to_string());
    if database_url.starts_with("sqlite") {
        let mut c = sqlx::SqliteConnection::connect(database_url).await.unwrap();
        sqlx::query_scalar(sql).fetch_one(&mut c).await.unwrap()
    } else {
        let mut c = sqlx::MySqlConnection::connect(database_url).await.unwrap();
        sqlx::query_scalar(sql).fetch_one(&mut c).await.unwrap()
    }
}

async fn killed_while_pending(database_url: &str, images: &Path) {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let client = reqwest::Client::new();
    let server = start(database_url, images).await;
    let mut ids = Vec::new();
    for n in 0..50 {
        let data = base64::engine::general_purpose::STANDARD.encode(photo(n));
        let r = client
            .post(format!("{}/images?async=true", server.url))
            .json(&serde_json::json!({ "data": data }))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 201);
        let body: serde_json::Value = r.json().await.unwrap();
        assert_eq!(body["status"], "pending");
        ids.push(body["id"].as_i64().unwrap());
    }
    drop(server);
    let pending = scalar(database_url, "SELECT COUNT(*) FROM tag_queue").await;
    assert!(pending > 0, "killed with jobs still queued");

    let server = start(database_url, images).await;
    let deadline = Instant::now() + Duration::from_secs(180);
    loop {
        let left: serde_json::Value = client
            .get(format!("{}/images?status=pending&limit=1000", server.url))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        if left.as_array().unwrap().is_empty() {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "still pending: {}",
            left.as_array().unwrap().len()
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    // Every picture tagged, its tags counted once.
    for id in &ids {
        let p: serde_json::Value = client
            .get(format!("{}/images/{id}", server.url))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(p["status"], "tagged", "{id}");
        let names: Vec<&str> = p["tags"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| t["tag"].as_str().unwrap())
            .collect();
        assert!(names.contains(&"cat"), "{id}: {names:?}");
        let rows = scalar(
            database_url,
            &format!("SELECT COUNT(*) FROM tags WHERE picture_id = {id}"),
        )
        .await;
        assert_eq!(rows, names.len() as i64, "{id}: one row per tag");
    }
    assert_eq!(
        scalar(database_url, "SELECT COUNT(*) FROM tag_queue").await,
        0
    );
    let cats = scalar(
        database_url,
        "SELECT CAST(SUM(n_images) AS SIGNED) FROM tag_totals WHERE tag = 'cat'",
    )
    .await;
    assert_eq!(cats, 50, "the statistics count each picture once");
    let rows = scalar(database_url, "SELECT COUNT(*) FROM tags").await;
    let counted = scalar(
        database_url,
        "SELECT CAST(SUM(n_images) AS SIGNED) FROM tag_totals",
    )
    .await;
    assert_eq!(rows, counted);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn queued_uploads_survive_a_sigkill_on_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}/pictures.db", dir.path().display());
    killed_while_pending(&url, &dir.path().join("images")).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn queued_uploads_survive_a_sigkill_on_mysql() {
    let server =
        std::env::var("TEST_MYSQL_URL").unwrap_or_else(|_| "mysql://root@127.0.0.1:3306".into());
    let name = format!("pictures_q{:016x}", rand::random::<u64>());
    let mut conn = sqlx::MySqlConnection::connect(&server).await.unwrap();
    sqlx::raw_sql(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
        .execute(&mut conn)
        .await
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    killed_while_pending(&format!("{server}/{name}"), &dir.path().join("images")).await;
    sqlx::raw_sql(sqlx::AssertSqlSafe(format!("DROP DATABASE {name}")))
        .execute(&mut conn)
        .await
        .unwrap();
}

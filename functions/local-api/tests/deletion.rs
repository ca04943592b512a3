//! Accounts and deletion in the real `local-api` process, logging at `debug`:
//! a user with two keys uploads pictures (some private, some with
//! thumbnails), the process is killed with SIGKILL in the middle of a bulk
//! `DELETE /images`, and restarted. Afterwards every row still has its file
//! (a picture is either whole or gone), the start-up sweep has removed the
//! files whose rows went, a second bulk delete finishes the job, and deleting
//! the account leaves nothing. No key ever appears in the process's log.

use base64::Engine as _;
use rand::Rng as _;
use serde_json::{Value, json};
use sqlx::Connection as _;
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::time::Duration;

mod common;
use common::{Server, local_api};

/// A small picture of its own for each `n` (a 64x48 PNG).
fn picture(n: u32) -> Vec<u8> {
    let img = image::RgbImage::from_fn(64, 48, |x, y| {
        image::Rgb([(x * 4) as u8, (y * 5) as u8, (n * 37 % 256) as u8])
    });
    let mut out = Vec::new();
    img.write_to(&mut std::io::Cursor::new(&mut out), image::ImageFormat::Png)
        .unwrap();
    out
}

/// The local API logging at debug level into `log` (appended), with an admin key.
async fn start(database_url: &str, images: &Path, log: &Path) -> Server {
    let log = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(log)
        .unwrap();
    let mut command = local_api(database_url, images);
    command
        .env("ORPHAN_GRACE_SECS", "0")
        .env("API_KEYS", "deletion-test-admin-key")
        .env("RUST_LOG", "debug")
        .stderr(log);
    Server::start(command, "/health").await
}

/// The path of every picture row.
async fn paths(database_url: &str) -> Vec<String> {
    const SQL: &str = "SELECT path FROM pictures";
    if database_url.starts_with("sqlite") {
        let mut c = sqlx::SqliteConnection::connect(database_url).await.unwrap();
        sqlx::query_scalar(SQL).fetch_all(&mut c).await.unwrap()
    } else {
        let mut c = sqlx::MySqlConnection::connect(database_url).await.unwrap();
        sqlx::query_scalar(SQL).fetch_all(&mut c).await.unwrap()
    }
}

/// A stored file's name up to its first dot.
fn stem(path: &Path) -> String {
    let name = path.file_name().unwrap().to_string_lossy();
    name.split('.').next().unwrap().to_owned()
}

/// The stem of the picture a file belongs to: its own, or for a derived file
/// (`derived/<stem>/t64.jpg`) its folder's.
fn owner_stem(images: &Path, file: &Path) -> String {
    match file.strip_prefix(images.join("derived")) {
        Ok(derived) => derived
            .iter()
            .next()
            .unwrap()
            .to_string_lossy()
            .into_owned(),
        Err(_) => stem(file),
    }
}

/// Every file under `images`, derived ones (thumbnails) included.
fn files(images: &Path) -> BTreeSet<PathBuf> {
    fn walk(dir: &Path, out: &mut BTreeSet<PathBuf>) {
        for entry in std::fs::read_dir(dir).into_iter().flatten() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                walk(&path, out);
            } else {
                out.insert(path);
            }
        }
    }
    let mut out = BTreeSet::new();
    walk(images, &mut out);
    out
}

async fn call(
    client: &reqwest::Client,
    method: reqwest::Method,
    url: String,
    key: &str,
    body: Option<Value>,
) -> reqwest::Response {
    let mut request = client.request(method, url).header("x-api-key", key);
    if let Some(body) = body {
        request = request.json(&body);
    }
    request.send().await.unwrap()
}

async fn killed_during_a_bulk_delete(database_url: &str) {
    // reqwest is built without a default TLS provider (the service installs ring).
    let _ = rustls::crypto::ring::default_provider().install_default();
    let dir = tempfile::tempdir().unwrap();
    let images = dir.path().join("images");
    let log = dir.path().join("local-api.log");
    let client = reqwest::Client::new();
    let server = start(database_url, &images, &log).await;

    // An account, its first key and a second one.
    let me: Value = client
        .post(format!("{}/users", server.url))
        .json(&json!({"email": "del@example.org"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let key = me["api_key"].as_str().unwrap().to_owned();
    let r = call(
        &client,
        reqwest::Method::POST,
        format!("{}/users/me/keys", server.url),
        &key,
        Some(json!({"name": "second"})),
    )
    .await;
    assert_eq!(r.status(), 201);
    let second = r.json::<Value>().await.unwrap()["key"]
        .as_str()
        .unwrap()
        .to_owned();

    // Pictures (queued for tagging: the worker runs beside the delete), a
    // third of them private, every fifth with a thumbnail.
    let mut ids = Vec::new();
    for n in 0..60 {
        let data = base64::engine::general_purpose::STANDARD.encode(picture(n));
        let private = n % 3 == 0;
        let r = call(
            &client,
            reqwest::Method::POST,
            format!("{}/images?async=true&private={private}", server.url),
            if n % 2 == 0 { &key } else { &second },
            Some(json!({ "data": data })),
        )
        .await;
        assert_eq!(r.status(), 201);
        let id = r.json::<Value>().await.unwrap()["id"].as_i64().unwrap();
        if n % 5 == 0 {
            let r = call(
                &client,
                reqwest::Method::GET,
                format!("{}/images/{id}/thumbnail?size=64", server.url),
                &key,
                None,
            )
            .await;
            assert_eq!(r.status(), 200);
        }
        ids.push(id);
    }
    // Refused credentials are logged as refusals, never with the key sent.
    let r = call(
        &client,
        reqwest::Method::GET,
        format!("{}/tags", server.url),
        &format!("{key}x"),
        None,
    )
    .await;
    assert_eq!(r.status(), 401);
    assert!(files(&images).len() >= 60 + 12);

    // The bulk delete, killed at a random moment while it runs.
    let delete = {
        let (client, url, key, ids) =
            (client.clone(), server.url.clone(), key.clone(), ids.clone());
        tokio::spawn(async move {
            call(
                &client,
                reqwest::Method::DELETE,
                format!("{url}/images"),
                &key,
                Some(json!({ "ids": ids })),
            )
            .await
        })
    };
    let before = paths(database_url).await.len();
    for _ in 0..2000 {
        if paths(database_url).await.len() < before {
            break;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    tokio::time::sleep(Duration::from_millis(rand::rng().random_range(0..40))).await;
    server.kill();
    let _ = delete.await;

    let rows = paths(database_url).await;
    assert!(
        rows.len() < ids.len(),
        "the delete had begun when it was killed"
    );
    // A row never outlives its file.
    for path in &rows {
        assert!(Path::new(path).is_file(), "a row without its file: {path}");
    }

    // Restarted: the sweep removes the files of the deleted rows and the
    // thumbnails made from them.
    let server = start(database_url, &images, &log).await;
    let kept: BTreeSet<String> = rows.iter().map(|p| stem(Path::new(p))).collect();
    let mut left = files(&images);
    for _ in 0..200 {
        if left.iter().all(|f| kept.contains(&owner_stem(&images, f))) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
        left = files(&images);
    }
    let originals: BTreeSet<String> = left
        .iter()
        .filter(|f| f.parent() == Some(images.as_path()))
        .map(|f| stem(f))
        .collect();
    assert_eq!(originals, kept, "exactly the files of the rows");
    for f in &left {
        assert!(
            kept.contains(&owner_stem(&images, f)),
            "a file of a deleted picture: {}",
            f.display()
        );
    }
    for id in &ids {
        let r = call(
            &client,
            reqwest::Method::GET,
            format!("{}/images/{id}?data=false", server.url),
            &key,
            None,
        )
        .await;
        assert!(
            r.status() == 200 || r.status() == 404,
            "picture {id}: whole or gone, {}",
            r.status()
        );
    }

    // Deleting again finishes the job; what was gone is reported so.
    let r = call(
        &client,
        reqwest::Method::DELETE,
        format!("{}/images", server.url),
        &key,
        Some(json!({ "ids": ids })),
    )
    .await;
    assert_eq!(r.status(), 200);
    let report: Value = r.json().await.unwrap();
    let deleted = report["deleted"].as_array().unwrap().len();
    let not_found = report["not_found"].as_array().unwrap().len();
    assert_eq!((deleted, deleted + not_found), (rows.len(), ids.len()));
    assert!(paths(database_url).await.is_empty());
    assert_eq!(files(&images), BTreeSet::new(), "thumbnails go too");

    // The account goes with its keys.
    let r = call(
        &client,
        reqwest::Method::DELETE,
        format!("{}/users/me", server.url),
        &second,
        None,
    )
    .await;
    assert_eq!(r.status(), 204);
    for k in [&key, &second] {
        let r = call(
            &client,
            reqwest::Method::GET,
            format!("{}/users/me", server.url),
            k,
            None,
        )
        .await;
        assert_eq!(r.status(), 401);
    }
    drop(server);

    let log = std::fs::read_to_string(&log).unwrap();
    assert!(
        log.contains("DEBUG") && log.lines().count() > 20,
        "the log was written at debug level"
    );
    for k in [&key, &second, &"deletion-test-admin-key".to_owned()] {
        assert!(!log.contains(k.as_str()), "a key in the log");
        // Nor its unique part, in case something trimmed the prefix.
        assert!(
            !log.contains(&k[k.len() - 20..]),
            "a piece of a key in the log"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_during_a_bulk_delete_on_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    killed_during_a_bulk_delete(&format!("sqlite://{}/pictures.db", dir.path().display())).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_during_a_bulk_delete_on_mysql() {
    let server =
        std::env::var("TEST_MYSQL_URL").unwrap_or_else(|_| "mysql://root@127.0.0.1:3306".into());
    let name = format!("pictures_deletion{}", std::process::id());
    let mut admin = sqlx::MySqlConnection::connect(&server)
        .await
        .expect("MariaDB/MySQL must run for the tests (make test starts it)");
    sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
        "DROP DATABASE IF EXISTS {name}; CREATE DATABASE {name}"
    )))
    .execute(&mut admin)
    .await
    .unwrap();
    killed_during_a_bulk_delete(&format!("{server}/{name}")).await;
    sqlx::raw_sql(sqlx::AssertSqlSafe(format!("DROP DATABASE {name}")))
        .execute(&mut admin)
        .await
        .unwrap();
}

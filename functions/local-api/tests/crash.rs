//! Crash safety of the real `local-api` process: killed with SIGKILL at a
//! random moment of each round of uploads from several clients (after the
//! round's first acknowledged upload), restarted, killed again. Afterwards
//! every picture is complete (row, all its tag rows, its file with the right
//! size) or absent, every acknowledged upload is there, and no file is left
//! that no row refers to (the startup sweep removes what a crash between file
//! write and commit leaves).

use base64::Engine as _;
use rand::Rng as _;
use sqlx::Connection as _;
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

mod common;
use common::{Server, fixture, local_api};

/// The local API with no grace for orphan files: the restart sweeps them all.
async fn start(database_url: &str, images: &Path) -> Server {
    let mut command = local_api(database_url, images);
    command.env("ORPHAN_GRACE_SECS", "0");
    Server::start(command, "/tags").await
}

type Acked = Arc<Mutex<BTreeMap<i64, BTreeSet<String>>>>;

/// Uploads in a loop until the server dies; records what was acknowledged.
async fn upload_until_killed(url: String, acked: Acked) {
    let images = [
        "no_time_for_that_tiny.gif",
        "rocket.jpg",
        "multipage_rgb.tif",
    ];
    let client = reqwest::Client::new();
    // Bytes after the end of the image make every upload a picture of its
    // own (the same bytes again would be the picture already there).
    let client_id: u64 = rand::rng().random();
    for i in 0.. {
        let mut bytes = fixture(images[i % images.len()]);
        bytes.extend_from_slice(format!("{client_id:016x}{i:08}").as_bytes());
        let data = base64::engine::general_purpose::STANDARD.encode(bytes);
        let Ok(response) = client
            .post(format!("{url}/images?min_confidence=5"))
            .json(&serde_json::json!({ "data": data }))
            .send()
            .await
        else {
            return;
        };
        if response.status() != 201 {
            return;
        }
        let Ok(body) = response.json::<serde_json::Value>().await else {
            return;
        };
        let tags = body["tags"].as_array().unwrap().iter();
        let tags = tags
            .map(|t| t["tag"].as_str().unwrap().to_owned())
            .collect();
        acked
            .lock()
            .unwrap()
            .insert(body["id"].as_i64().unwrap(), tags);
    }
}

/// A picture row with its tag rows.
#[derive(Debug)]
struct Row {
    id: i64,
    path: String,
    size: i64,
    tags: BTreeSet<String>,
}

/// (id, path, size) of every picture and (picture id, tag) of every tag row.
type Tables = (Vec<(i64, String, i64)>, Vec<(i64, String)>);

async fn rows(database_url: &str) -> Vec<Row> {
    const PICTURES: &str = "SELECT id, path, size FROM pictures ORDER BY id";
    const TAGS: &str = "SELECT picture_id, tag FROM tags";
    let (pictures, tags): Tables = if database_url.starts_with("sqlite") {
        let mut c = sqlx::SqliteConnection::connect(database_url).await.unwrap();
        (
            sqlx::query_as(PICTURES).fetch_all(&mut c).await.unwrap(),
            sqlx::query_as(TAGS).fetch_all(&mut c).await.unwrap(),
        )
    } else {
        let mut c = sqlx::MySqlConnection::connect(database_url).await.unwrap();
        let pictures: Vec<(i32, String, i64)> =
            sqlx::query_as(PICTURES).fetch_all(&mut c).await.unwrap();
        let tags: Vec<(i32, String)> = sqlx::query_as(TAGS).fetch_all(&mut c).await.unwrap();
        (
            pictures
                .into_iter()
                .map(|(i, p, s)| (i64::from(i), p, s))
                .collect(),
            tags.into_iter().map(|(i, t)| (i64::from(i), t)).collect(),
        )
    };
    pictures
        .into_iter()
        .map(|(id, path, size)| Row {
            id,
            path,
            size,
            tags: tags
                .iter()
                .filter(|(p, _)| *p == id)
                .map(|(_, t)| t.clone())
                .collect(),
        })
        .collect()
}

fn files(images: &Path) -> BTreeSet<String> {
    std::fs::read_dir(images)
        .unwrap()
        .map(|e| e.unwrap().path().to_string_lossy().into_owned())
        .collect()
}

async fn crash_and_recover(database_url: &str) {
    // reqwest is built without a default TLS provider (the service installs ring).
    let _ = rustls::crypto::ring::default_provider().install_default();
    let dir = tempfile::tempdir().unwrap();
    let images = dir.path().join("images");
    let acked: Acked = Arc::default();
    let mut rng = rand::rng();
    for _ in 0..6 {
        let server = start(database_url, &images).await;
        let clients: Vec<_> = (0..4)
            .map(|_| tokio::spawn(upload_until_killed(server.url.clone(), acked.clone())))
            .collect();
        // Kill once this round has stored something, at a random moment
        // after that: mid-upload more often than not, whatever the speed.
        let before = acked.lock().unwrap().len();
        for _ in 0..1200 {
            if acked.lock().unwrap().len() > before {
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        tokio::time::sleep(Duration::from_millis(rng.random_range(0..1500))).await;
        server.kill();
        for client in clients {
            client.await.unwrap();
        }
    }
    // What a crash between the file write and the commit leaves behind.
    let orphan = images.join(format!("{:032x}.jpg", rng.random::<u128>()));
    std::fs::write(&orphan, fixture("rocket.jpg")).unwrap();

    let server = start(database_url, &images).await;
    let rows = rows(database_url).await;
    let acked = acked.lock().unwrap().clone();
    assert!(
        acked.len() >= 6,
        "uploads went through between the kills: {}",
        acked.len()
    );
    for (id, tags) in &acked {
        let row = rows.iter().find(|r| r.id == *id);
        let row = row.unwrap_or_else(|| panic!("acknowledged picture {id} is there"));
        assert_eq!(
            &row.tags, tags,
            "picture {id}: the tags it was acknowledged with"
        );
    }
    for row in &rows {
        let id = row.id;
        let bytes = std::fs::read(&row.path)
            .unwrap_or_else(|e| panic!("picture {id}: file {}: {e}", row.path));
        assert_eq!(bytes.len() as i64, row.size, "picture {id}: complete file");
        assert!(!row.tags.is_empty(), "picture {id}: its tag rows");
        let served: serde_json::Value = reqwest::get(format!("{}/images/{id}", server.url))
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let served: BTreeSet<String> = served["tags"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| t["tag"].as_str().unwrap().to_owned())
            .collect();
        assert_eq!(served, row.tags, "picture {id} served whole");
    }
    // The sweep runs in the background at start: wait for it.
    let expected: BTreeSet<String> = rows.iter().map(|r| r.path.clone()).collect();
    let mut left = files(&images);
    for _ in 0..100 {
        if left == expected {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
        left = files(&images);
    }
    assert_eq!(
        left, expected,
        "exactly the files of the rows: no orphan, no temporary file"
    );
    assert!(!orphan.exists());
    let listed: Vec<serde_json::Value> = reqwest::get(format!("{}/images?limit=1000", server.url))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(listed.len(), rows.len());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_during_uploads_on_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    crash_and_recover(&format!("sqlite://{}/pictures.db", dir.path().display())).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_during_uploads_on_mysql() {
    let server =
        std::env::var("TEST_MYSQL_URL").unwrap_or_else(|_| "mysql://root@127.0.0.1:3306".into());
    let name = format!("pictures_crash{}", std::process::id());
    let mut admin = sqlx::MySqlConnection::connect(&server)
        .await
        .expect("MariaDB/MySQL must run for the tests (make test starts it)");
    sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
        "DROP DATABASE IF EXISTS {name}; CREATE DATABASE {name}"
    )))
    .execute(&mut admin)
    .await
    .unwrap();
    crash_and_recover(&format!("{server}/{name}")).await;
    sqlx::raw_sql(sqlx::AssertSqlSafe(format!("DROP DATABASE {name}")))
        .execute(&mut admin)
        .await
        .unwrap();
}

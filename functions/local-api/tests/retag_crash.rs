//! `make retag` (`local-api retag`) killed with SIGKILL part-way, then run
//! again: every picture ends re-tagged exactly once — its tag rows are the
//! new threshold's, its tag list says the same, and the statistics equal
//! the aggregates of the tag rows (nothing counted twice or left behind).

use base64::Engine as _;
use rand::Rng as _;
use sqlx::{Connection as _, Row as _};
use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;
use std::time::Duration;

mod common;
use common::workspace;

fn local_api(database_url: &str, images: &Path) -> Command {
    let mut c = common::local_api(database_url, images);
    c.env("RUST_LOG", "warn");
    c
}

/// Per tag: (n, min, max, sum) from the tag rows, and from `tag_totals`.
type Stats = BTreeMap<String, (i64, String, String, String)>;

async fn check(database_url: &str, min: f64) -> usize {
    const ROWS: &str = "SELECT CAST(picture_id AS SIGNED), tag, confidence FROM tags ORDER BY picture_id, confidence DESC, tag";
    const LISTS: &str = "SELECT CAST(id AS SIGNED), tag_list FROM pictures ORDER BY id";
    const FROM_ROWS: &str = "SELECT tag, COUNT(*), MIN(confidence), MAX(confidence), SUM(confidence) FROM tags GROUP BY tag";
    const TOTALS: &str =
        "SELECT tag, n_images, min_confidence, max_confidence, sum_confidence FROM tag_totals";
    macro_rules! read {
        ($conn:expr) => {{
            let mut c = $conn;
            let rows: Vec<(i64, String, f32)> =
                sqlx::query_as(ROWS).fetch_all(&mut c).await.unwrap();
            let lists: Vec<(i64, String)> = sqlx::query_as(LISTS).fetch_all(&mut c).await.unwrap();
            let mut stats: Vec<Stats> = Vec::new();
            for sql in [FROM_ROWS, TOTALS] {
                let mut s = Stats::new();
                for r in sqlx::query(sql).fetch_all(&mut c).await.unwrap() {
                    let (min, max): (f32, f32) = (r.get(2), r.get(3));
                    let sum: f64 = r.get(4);
                    s.insert(
                        r.get(0),
                        (
                            r.get(1),
                            min.to_string(),
                            max.to_string(),
                            format!("{sum:.2}"),
                        ),
                    );
                }
                stats.push(s);
            }
            let pending: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM tasks")
                .fetch_one(&mut c)
                .await
                .unwrap();
            (rows, lists, stats, pending)
        }};
    }
    let (rows, lists, stats, pending) = if database_url.starts_with("sqlite") {
        read!(sqlx::SqliteConnection::connect(database_url).await.unwrap())
    } else {
        read!(sqlx::MySqlConnection::connect(database_url).await.unwrap())
    };
    assert_eq!(pending, 0, "the finished run leaves no cursor behind");
    for (id, list) in &lists {
        // [["cat", 93.21, "model"], ...]: name and confidence, then the source.
        let list: Vec<(String, f64)> = serde_json::from_str::<Vec<serde_json::Value>>(list)
            .unwrap()
            .iter()
            .map(|t| (t[0].as_str().unwrap().to_string(), t[1].as_f64().unwrap()))
            .collect();
        let from_rows: Vec<(String, f64)> = rows
            .iter()
            .filter(|(p, _, _)| p == id)
            .map(|(_, t, c)| (t.clone(), ((f64::from(*c)) * 100.0).round() / 100.0))
            .collect();
        assert_eq!(list, from_rows, "picture {id}: tag list and tag rows agree");
        assert!(
            list.iter().all(|(_, c)| *c >= min),
            "picture {id} re-tagged at {min}: {list:?}"
        );
    }
    assert_eq!(
        stats[0], stats[1],
        "statistics equal the tag rows' aggregates"
    );
    lists.len()
}

/// How many tasks have recorded progress (the re-tagging run's cursor).
async fn cursor(database_url: &str) -> i64 {
    const SQL: &str = "SELECT COUNT(*) FROM tasks";
    if database_url.starts_with("sqlite") {
        let mut c = sqlx::SqliteConnection::connect(database_url).await.unwrap();
        sqlx::query_scalar(SQL).fetch_one(&mut c).await.unwrap_or(0)
    } else {
        let mut c = sqlx::MySqlConnection::connect(database_url).await.unwrap();
        sqlx::query_scalar(SQL).fetch_one(&mut c).await.unwrap_or(0)
    }
}

async fn retag_killed_and_resumed(database_url: &str) {
    // reqwest is built without a default TLS provider (the service installs ring).
    let _ = rustls::crypto::ring::default_provider().install_default();
    let dir = tempfile::tempdir().unwrap();
    let images = dir.path().join("images");
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut server = local_api(database_url, &images)
        .env("BIND", format!("127.0.0.1:{port}"))
        .spawn()
        .unwrap();
    let url = format!("http://127.0.0.1:{port}");
    let client = reqwest::Client::new();
    for _ in 0..200 {
        if client.get(format!("{url}/tags")).send().await.is_ok() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let photos = [
        "rocket.jpg",
        "chelsea.png",
        "coffee.png",
        "no_time_for_that_tiny.gif",
    ];
    for i in 0..8 {
        let bytes = std::fs::read(
            workspace()
                .join("tests/fixtures/images")
                .join(photos[i % 4]),
        )
        .unwrap();
        // The second round of the same photos: one pixel changed, so they are
        // pictures of their own rather than the first round's again.
        let bytes = if i < 4 { bytes } else { variant(&bytes) };
        let data = base64::engine::general_purpose::STANDARD.encode(bytes);
        let r = client
            .post(format!("{url}/images?min_confidence=2"))
            .json(&serde_json::json!({ "data": data }))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 201);
    }
    server.kill().unwrap();
    server.wait().unwrap();

    // Killed part-way (once it has finished a picture, at a random moment
    // after that), then run again to the end.
    let mut run = local_api(database_url, &images)
        .env("MIN_CONFIDENCE", "20")
        .arg("retag")
        .spawn()
        .unwrap();
    for _ in 0..2400 {
        if cursor(database_url).await > 0 || run.try_wait().unwrap().is_some() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    tokio::time::sleep(Duration::from_millis(rand::rng().random_range(0..400))).await;
    run.kill().unwrap();
    run.wait().unwrap();
    let status = local_api(database_url, &images)
        .env("MIN_CONFIDENCE", "20")
        .arg("retag")
        .status()
        .unwrap();
    assert!(status.success());
    assert_eq!(check(database_url, 20.0).await, 8);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retag_killed_and_run_again_on_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    retag_killed_and_resumed(&format!("sqlite://{}/pictures.db", dir.path().display())).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retag_killed_and_run_again_on_mysql() {
    let server =
        std::env::var("TEST_MYSQL_URL").unwrap_or_else(|_| "mysql://root@127.0.0.1:3306".into());
    let name = format!("pictures_retag{}", std::process::id());
    let mut admin = sqlx::MySqlConnection::connect(&server).await.unwrap();
    sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
        "DROP DATABASE IF EXISTS {name}; CREATE DATABASE {name}"
    )))
    .execute(&mut admin)
    .await
    .unwrap();
    retag_killed_and_resumed(&format!("{server}/{name}")).await;
    sqlx::raw_sql(sqlx::AssertSqlSafe(format!("DROP DATABASE {name}")))
        .execute(&mut admin)
        .await
        .unwrap();
}

/// The photo with its first pixel changed, as a PNG.
fn variant(bytes: &[u8]) -> Vec<u8> {
    let mut img = image::load_from_memory(bytes).unwrap().to_rgb8();
    let p = img.get_pixel_mut(0, 0);
    p[0] = p[0].wrapping_add(1);
    let mut out = Vec::new();
    img.write_to(&mut std::io::Cursor::new(&mut out), image::ImageFormat::Png)
        .unwrap();
    out
}

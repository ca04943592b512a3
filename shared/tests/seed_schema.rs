//! A MySQL database made by the seed assignment's own CREATE TABLE
//! statements, with the seed's rows in it, keeps working once our
//! migrations have run on it.

mod common;

use common::*;
use sqlx::Connection;

const SEED_SCHEMA: &str = "
CREATE TABLE pictures (
  id   INT AUTO_INCREMENT PRIMARY KEY,
  path VARCHAR(1024) NOT NULL,
  date VARCHAR(19)  NOT NULL
);
CREATE TABLE tags (
  tag        VARCHAR(32) NOT NULL,
  picture_id INT NOT NULL,
  confidence FLOAT NOT NULL,
  date       VARCHAR(19) NOT NULL,
  PRIMARY KEY (tag, picture_id),
  FOREIGN KEY (picture_id) REFERENCES pictures(id) ON DELETE CASCADE
);";

#[tokio::test]
async fn seed_database_keeps_working() {
    let (name, url) = create_mysql_database().await;
    let old_files = tempfile::tempdir().unwrap();
    let old_path = old_files
        .path()
        .join("d3b07384d113edec49eaa6238ad5ff00.jpg");
    let rocket = fixture("rocket.jpg");
    std::fs::write(&old_path, &rocket).unwrap();
    {
        let mut c = sqlx::MySqlConnection::connect(&url).await.unwrap();
        sqlx::raw_sql(SEED_SCHEMA).execute(&mut c).await.unwrap();
        sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
            "INSERT INTO pictures (path, date) VALUES ('{}', '2023-06-01 12:00:00');
             INSERT INTO tags VALUES ('rocket', 1, 97.25, '2023-06-01 12:00:00'), ('launch', 1, 88.5, '2023-06-01 12:00:00');",
            old_path.display()
        )))
        .execute(&mut c)
        .await
        .unwrap();
    }

    let t = TestApp::start_with(
        Backend::MySql,
        Options {
            database_url: Some(url.clone()),
            ..Options::default()
        },
    )
    .await;
    // The old row: listed (its size read from the file), fetched, counted.
    let list = t.get_json("/images").await;
    assert_eq!(
        list,
        serde_json::json!([{
            "id": 1, "size": ((rocket.len() as f64 / 1024.0) * 100.0).round() / 100.0,
            "date": "2023-06-01 12:00:00",
            "tags": [{"tag": "rocket", "confidence": 97.25}, {"tag": "launch", "confidence": 88.5}],
        }])
    );
    let one = t.get_json("/images/1").await;
    assert_eq!(one["data"].as_str().unwrap(), b64(&rocket));
    assert_eq!(
        t.get_json("/images?tags=rocket,launch")
            .await
            .as_array()
            .unwrap()
            .len(),
        1
    );
    // New pictures go in beside it.
    let r = t.post_image(&fixture("chelsea.png"), "").await;
    assert_eq!(r.status(), 201);
    assert_eq!(r.json::<serde_json::Value>().await.unwrap()["id"], 2);
    let stats = t.get_json("/tags").await;
    assert_eq!(stats[0]["tag"], "rocket");
    assert_eq!(stats[0]["n_images"], 2);

    // Our indexes are in place, the seed's rows untouched.
    let mut c = sqlx::MySqlConnection::connect(&url).await.unwrap();
    let indexes: Vec<String> = sqlx::query_scalar("SELECT DISTINCT index_name FROM information_schema.statistics WHERE table_schema = DATABASE() ORDER BY index_name")
        .fetch_all(&mut c)
        .await
        .unwrap();
    for wanted in ["pictures_date", "tags_date_tag", "tags_picture"] {
        assert!(indexes.iter().any(|i| i == wanted), "{indexes:?}");
    }
    // A second start runs no migration twice.
    drop(t);
    let again = TestApp::start_with(
        Backend::MySql,
        Options {
            database_url: Some(url),
            ..Options::default()
        },
    )
    .await;
    assert_eq!(again.get_json("/images").await.as_array().unwrap().len(), 2);
    drop(again);
    drop_mysql_database(name);
}

//! A database made by the original assignment's own CREATE TABLE statements
//! (TEXT columns, nullable, a foreign key without cascade), filled the way
//! its app fills it, becomes a working Pictures database on the first start:
//! on MariaDB/MySQL and on its SQLite twin. Its rows that cannot be
//! converted stop the start before anything changes, and a migration cut off
//! after any statement finishes at the next start.

use crate::common::*;
use pictures::db::{Database, Faults, MySqlDatabase, SqliteDatabase};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::Value;
use sqlx::{AssertSqlSafe, Connection, Row};
use std::collections::{BTreeMap, HashMap};
use std::path::Path;
use std::time::Duration;

/// Seed 000's "Docker" section, word for word.
const SEED_MYSQL: &str = "
CREATE TABLE pictures (
            id INT AUTO_INCREMENT PRIMARY KEY,
            path TEXT,
            date TEXT
        );

CREATE TABLE tags (
            tag varchar(32),
            picture_id INT NOT NULL,
            confidence FLOAT,
            date TEXT,
            PRIMARY KEY (tag, picture_id),
            FOREIGN KEY (picture_id) REFERENCES pictures(id)
        );";

/// The same statements in SQLite's syntax.
const SEED_SQLITE: &str = "
CREATE TABLE pictures (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            path TEXT,
            date TEXT
        );

CREATE TABLE tags (
            tag varchar(32),
            picture_id INT NOT NULL,
            confidence FLOAT,
            date TEXT,
            PRIMARY KEY (tag, picture_id),
            FOREIGN KEY (picture_id) REFERENCES pictures(id)
        );";

const VOCABULARY: &[&str] = &[
    "dog",
    "canine",
    "lake",
    "body of water",
    "mountain",
    "sky",
    "cat",
    "feline",
    "car",
    "motor vehicle",
    "beach",
    "sand",
];

/// What the original app wrote: one picture row (absolute path, date as
/// text) and five tag rows of the same date, with Imagga's float confidences.
struct SeedRows {
    pictures: Vec<(i64, String, String)>,
    tags: Vec<(String, i64, f32, String)>,
    files: BTreeMap<i64, Vec<u8>>,
}

fn seed_rows(n: usize, dir: &Path) -> SeedRows {
    let mut rng = StdRng::seed_from_u64(7);
    let gif = fixture("no_time_for_that_tiny.gif");
    let mut rows = SeedRows {
        pictures: Vec::new(),
        tags: Vec::new(),
        files: BTreeMap::new(),
    };
    std::fs::create_dir_all(dir).unwrap();
    let start = chrono::NaiveDate::from_ymd_opt(2023, 1, 20)
        .unwrap()
        .and_hms_opt(13, 4, 25)
        .unwrap();
    for i in 1..=n as i64 {
        let date = (start + chrono::Duration::minutes(97 * i))
            .format("%Y-%m-%d %H:%M:%S")
            .to_string();
        let path = dir.join(format!("{:032x}.gif", rng.random::<u128>()));
        // Each file its own bytes: a GIF ignores what follows its trailer.
        let mut bytes = gif.clone();
        bytes.extend_from_slice(format!("picture {i}").as_bytes());
        std::fs::write(&path, &bytes).unwrap();
        rows.files.insert(i, bytes);
        rows.pictures
            .push((i, path.display().to_string(), date.clone()));
        let mut chosen: Vec<&str> = Vec::new();
        while chosen.len() < 5 {
            let t = VOCABULARY[rng.random_range(0..VOCABULARY.len())];
            if !chosen.contains(&t) {
                chosen.push(t);
            }
        }
        for t in chosen {
            let confidence = (rng.random_range(30.0f32..100.0) * 10_000.0).round() / 10_000.0;
            rows.tags.push((t.to_string(), i, confidence, date.clone()));
        }
    }
    rows
}

/// The rows as the app's INSERT statements would put them.
fn insert_sql(rows: &SeedRows) -> String {
    let pictures: Vec<String> = rows
        .pictures
        .iter()
        .map(|(id, path, date)| format!("({id}, '{path}', '{date}')"))
        .collect();
    let tags: Vec<String> = rows
        .tags
        .iter()
        .map(|(t, id, c, d)| format!("('{t}', {id}, {c}, '{d}')"))
        .collect();
    format!(
        "INSERT INTO pictures (id, path, date) VALUES {};\nINSERT INTO tags (tag, picture_id, confidence, date) VALUES {};",
        pictures.join(", "),
        tags.join(", ")
    )
}

/// Per-tag (n, min, max, mean) as the tag rows give them.
fn expected_stats(rows: &SeedRows) -> HashMap<String, (i64, f32, f32, f64)> {
    let mut stats: HashMap<String, (i64, f32, f32, f64)> = HashMap::new();
    for (t, _, c, _) in &rows.tags {
        let s = stats
            .entry(t.clone())
            .or_insert((0, f32::INFINITY, f32::NEG_INFINITY, 0.0));
        s.0 += 1;
        s.1 = s.1.min(*c);
        s.2 = s.2.max(*c);
        s.3 += f64::from(*c);
    }
    for s in stats.values_mut() {
        s.3 /= s.0 as f64;
    }
    stats
}

enum Seeded {
    MySql { name: String, url: String },
    Sqlite { url: String },
}

impl Seeded {
    async fn create(backend: Backend, dir: &Path, sql: &str) -> Seeded {
        match backend {
            Backend::MySql => {
                let (name, url) = create_mysql_database().await;
                let mut c = sqlx::MySqlConnection::connect(&url).await.unwrap();
                sqlx::raw_sql(AssertSqlSafe(format!("{SEED_MYSQL}\n{sql}")))
                    .execute(&mut c)
                    .await
                    .unwrap();
                Seeded::MySql { name, url }
            }
            Backend::Sqlite => {
                let url = format!(
                    "sqlite://{}/seed-{:x}.db?mode=rwc",
                    dir.display(),
                    rand::rng().random::<u64>()
                );
                let mut c = sqlx::SqliteConnection::connect(&url).await.unwrap();
                sqlx::raw_sql(AssertSqlSafe(format!("{SEED_SQLITE}\n{sql}")))
                    .execute(&mut c)
                    .await
                    .unwrap();
                Seeded::Sqlite { url }
            }
        }
    }

    fn url(&self) -> &str {
        match self {
            Seeded::MySql { url, .. } | Seeded::Sqlite { url } => url,
        }
    }

    fn open(&self) -> Box<dyn Migrates> {
        let timeout = Duration::from_secs(5);
        match self {
            Seeded::MySql { url, .. } => Box::new(MySqlDatabase::open(url, 2, timeout).unwrap()),
            Seeded::Sqlite { url } => Box::new(SqliteDatabase::open(url, 2, timeout).unwrap()),
        }
    }

    /// One text column of a query, on this database.
    async fn strings(&self, sql: &str) -> Vec<String> {
        match self {
            Seeded::MySql { url, .. } => {
                let mut c = sqlx::MySqlConnection::connect(url).await.unwrap();
                sqlx::query_scalar(AssertSqlSafe(sql.to_string()))
                    .fetch_all(&mut c)
                    .await
                    .unwrap()
            }
            Seeded::Sqlite { url } => {
                let mut c = sqlx::SqliteConnection::connect(url).await.unwrap();
                sqlx::query_scalar(AssertSqlSafe(sql.to_string()))
                    .fetch_all(&mut c)
                    .await
                    .unwrap()
            }
        }
    }

    async fn count(&self, sql: &str) -> i64 {
        match self {
            Seeded::MySql { url, .. } => {
                let mut c = sqlx::MySqlConnection::connect(url).await.unwrap();
                sqlx::query(AssertSqlSafe(sql.to_string()))
                    .fetch_one(&mut c)
                    .await
                    .unwrap()
                    .get::<i64, _>(0)
            }
            Seeded::Sqlite { url } => {
                let mut c = sqlx::SqliteConnection::connect(url).await.unwrap();
                sqlx::query(AssertSqlSafe(sql.to_string()))
                    .fetch_one(&mut c)
                    .await
                    .unwrap()
                    .get::<i64, _>(0)
            }
        }
    }

    fn drop_database(self) {
        if let Seeded::MySql { name, .. } = self {
            drop_mysql_database(name);
        }
    }
}

#[async_trait::async_trait]
trait Migrates: Database {
    async fn migrate_faulty(&self, faults: Faults) -> Result<(), pictures::db::DbError>;
}

#[async_trait::async_trait]
impl Migrates for MySqlDatabase {
    async fn migrate_faulty(&self, faults: Faults) -> Result<(), pictures::db::DbError> {
        self.migrate_with(faults).await
    }
}

#[async_trait::async_trait]
impl Migrates for SqliteDatabase {
    async fn migrate_faulty(&self, faults: Faults) -> Result<(), pictures::db::DbError> {
        self.migrate_with(faults).await
    }
}

async fn start(backend: Backend, url: &str) -> TestApp {
    TestApp::start_with(
        backend,
        Options {
            database_url: Some(url.to_string()),
            ..Options::default()
        },
    )
    .await
}

fn round2(x: f64) -> f64 {
    (x * 100.0).round() / 100.0
}

async fn seed_database_becomes_a_pictures_database(backend: Backend) {
    let dir = tempfile::tempdir().unwrap();
    let rows = seed_rows(300, &dir.path().join("Images"));
    let seeded = Seeded::create(backend, dir.path(), &insert_sql(&rows)).await;
    // Three files lost since: their pictures stay listed, and answer 503.
    let lost = [7i64, 150, 299];
    for id in lost {
        std::fs::remove_file(&rows.pictures[id as usize - 1].1).unwrap();
    }

    let t = start(backend, seeded.url()).await;

    // GET /tags equals the aggregates of the tag rows.
    let expected = expected_stats(&rows);
    let stats = t.get_json("/tags").await;
    let stats = stats.as_array().unwrap();
    assert_eq!(stats.len(), expected.len());
    for s in stats {
        let (n, min, max, mean) = expected[s["tag"].as_str().unwrap()];
        assert_eq!(s["n_images"], n, "{s}");
        for (got, want) in [
            (&s["min_confidence"], f64::from(min)),
            (&s["max_confidence"], f64::from(max)),
            (&s["mean_confidence"], mean),
        ] {
            let got = got.as_f64().unwrap();
            assert!((got - want).abs() < 0.006, "{s}: {got} vs {want}");
        }
    }
    // Ordered by n_images, then tag.
    let order: Vec<(i64, String)> = stats
        .iter()
        .map(|s| {
            (
                -s["n_images"].as_i64().unwrap(),
                s["tag"].as_str().unwrap().into(),
            )
        })
        .collect();
    let mut sorted = order.clone();
    sorted.sort();
    assert_eq!(order, sorted);

    // A two-tag search equals a brute-force count, before and after the
    // rows are given their sizes and tag lists.
    let with = |tag: &str, id: i64| rows.tags.iter().any(|(t, p, _, _)| t == tag && *p == id);
    let want: Vec<i64> = (1..=300)
        .filter(|&id| with("dog", id) && with("lake", id))
        .collect();
    assert!(
        want.len() > 5,
        "the seed rows give a search something to find"
    );
    let listed = |v: &Value| -> Vec<i64> {
        v.as_array()
            .unwrap()
            .iter()
            .map(|p| p["id"].as_i64().unwrap())
            .collect()
    };
    let before = t.get_json("/images?tags=dog,lake&limit=1000").await;
    assert_eq!(listed(&before), want);
    let report = pictures::domain::backfill(&*t.app.db, &*t.app.store)
        .await
        .unwrap();
    assert_eq!((report.completed, report.missing_files), (300, 3));
    let after = t.get_json("/images?tags=dog,lake&limit=1000").await;
    assert_eq!(after, before, "the backfilled rows list exactly as before");
    assert_eq!(
        seeded
            .count("SELECT COUNT(*) FROM pictures WHERE tag_list IS NULL")
            .await,
        0
    );
    assert_eq!(
        seeded
            .count("SELECT COUNT(*) FROM pictures WHERE size IS NULL")
            .await,
        lost.len() as i64
    );
    // A second pass has nothing left to do.
    let again = pictures::domain::backfill(&*t.app.db, &*t.app.store)
        .await
        .unwrap();
    assert_eq!(again.completed, 0);

    // Every picture: its own bytes, its size, all its tags.
    let all = t.get_json("/images?limit=1000").await;
    assert_eq!(all.as_array().unwrap().len(), 300);
    for p in all.as_array().unwrap() {
        let id = p["id"].as_i64().unwrap();
        let n_tags = rows.tags.iter().filter(|(_, i, _, _)| *i == id).count();
        assert_eq!(p["tags"].as_array().unwrap().len(), n_tags);
        assert_eq!(p["date"], rows.pictures[id as usize - 1].2);
        if lost.contains(&id) {
            assert_eq!(p["size"], 0.0);
            assert_error(
                t.get(&format!("/images/{id}")).await,
                503,
                "image_unavailable",
            )
            .await;
        } else {
            let bytes = &rows.files[&id];
            assert_eq!(p["size"], round2(bytes.len() as f64 / 1024.0));
            if id % 25 == 0 {
                let one = t.get_json(&format!("/images/{id}")).await;
                assert_eq!(one["data"].as_str().unwrap(), b64(bytes));
            }
        }
    }

    // A new upload goes in beside them.
    let r = t.post_image(&fixture("chelsea.png"), "").await;
    assert_eq!(r.status(), 201);
    assert_eq!(r.json::<Value>().await.unwrap()["id"], 301);
    assert_eq!(
        t.get_json("/images/301").await["data"],
        b64(&fixture("chelsea.png"))
    );

    // A restart runs nothing again and serves the same.
    drop(t);
    let again = start(backend, seeded.url()).await;
    assert_eq!(
        again.get_json("/images?tags=dog,lake&limit=1000").await,
        after
    );
    assert_eq!(
        again
            .get_json("/images?limit=1000")
            .await
            .as_array()
            .unwrap()
            .len(),
        301
    );
    drop(again);
    let steps = seeded
        .strings("SELECT name FROM schema_steps ORDER BY name")
        .await;
    assert!(steps.len() >= 6, "{steps:?}");
    seeded.drop_database();
}

#[tokio::test]
async fn seed_mysql_database_becomes_a_pictures_database() {
    seed_database_becomes_a_pictures_database(Backend::MySql).await;
}

#[tokio::test]
async fn seed_sqlite_database_becomes_a_pictures_database() {
    seed_database_becomes_a_pictures_database(Backend::Sqlite).await;
}

/// The schema a finished migration leaves, as the catalog reports it.
async fn schema_of(seeded: &Seeded) -> Vec<String> {
    match seeded {
        Seeded::MySql { .. } => {
            let mut s = seeded
                .strings(
                    "SELECT CONCAT(table_name, '.', column_name, ' ', column_type, ' ', is_nullable) \
                     FROM information_schema.columns WHERE table_schema = DATABASE() \
                     AND table_name IN ('pictures', 'tags') ORDER BY table_name, column_name",
                )
                .await;
            s.extend(
                seeded
                    .strings(
                        "SELECT DISTINCT CONCAT(table_name, ' index ', index_name) FROM information_schema.statistics \
                         WHERE table_schema = DATABASE() AND table_name IN ('pictures', 'tags') ORDER BY 1",
                    )
                    .await,
            );
            s.extend(
                seeded
                    .strings(
                        "SELECT CONCAT(table_name, ' fk ', delete_rule) FROM information_schema.referential_constraints \
                         WHERE constraint_schema = DATABASE()",
                    )
                    .await,
            );
            s
        }
        Seeded::Sqlite { .. } => {
            let mut s = seeded
                .strings(
                    "SELECT m.name || '.' || c.name || ' ' || c.\"notnull\" FROM sqlite_master m \
                     JOIN pragma_table_info(m.name) c WHERE m.name IN ('pictures', 'tags') ORDER BY 1",
                )
                .await;
            s.extend(
                seeded
                    .strings("SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name IN ('pictures', 'tags') AND name NOT LIKE 'sqlite_%' ORDER BY 1")
                    .await,
            );
            s.extend(
                seeded
                    .strings("SELECT 'tags fk ' || on_delete FROM pragma_foreign_key_list('tags')")
                    .await,
            );
            s
        }
    }
}

/// A fingerprint of the data: rows, tag rows and statistics.
async fn data_of(seeded: &Seeded) -> Vec<String> {
    let mut d = seeded
        .strings("SELECT CONCAT(id, ' ', path, ' ', date) FROM pictures ORDER BY id")
        .await;
    d.extend(
        seeded
            .strings("SELECT CONCAT(tag, ' ', picture_id, ' ', ROUND(confidence, 3), ' ', date) FROM tags ORDER BY tag, picture_id")
            .await,
    );
    d.extend(
        seeded
            .strings("SELECT CONCAT(tag, ' ', n_images, ' ', ROUND(sum_confidence, 2)) FROM tag_totals ORDER BY tag")
            .await,
    );
    d.extend(
        seeded
            .strings("SELECT CONCAT(day, ' ', tag, ' ', n_images) FROM tag_days ORDER BY day, tag")
            .await,
    );
    d.extend(
        seeded
            .strings(
                "SELECT CONCAT(day, ' ', first_id, ' ', n_pictures) FROM picture_days ORDER BY day",
            )
            .await,
    );
    d
}

async fn cut_at_every_statement(backend: Backend) {
    let dir = tempfile::tempdir().unwrap();
    let rows = seed_rows(20, &dir.path().join("Images"));
    let sql = insert_sql(&rows);
    // The reference: the same database migrated in one go.
    let reference = Seeded::create(backend, dir.path(), &sql).await;
    reference.open().migrate().await.unwrap();
    let (want_schema, want_data) = (schema_of(&reference).await, data_of(&reference).await);
    assert!(
        want_schema.iter().any(|c| c.contains("CASCADE")),
        "{want_schema:?}"
    );
    reference.drop_database();

    let mut cuts = 0;
    for n in 1.. {
        let seeded = Seeded::create(backend, dir.path(), &sql).await;
        let finished = seeded
            .open()
            .migrate_faulty(Faults {
                fail_after_statements: Some(n),
            })
            .await
            .is_ok();
        if !finished {
            cuts += 1;
            // The next start, a new process, finishes the job.
            seeded
                .open()
                .migrate()
                .await
                .unwrap_or_else(|e| panic!("after a cut at statement {n}: {e}"));
        }
        assert_eq!(
            schema_of(&seeded).await,
            want_schema,
            "cut at statement {n}"
        );
        assert_eq!(data_of(&seeded).await, want_data, "cut at statement {n}");
        seeded.drop_database();
        if finished {
            break;
        }
    }
    assert!(cuts >= 10, "only {cuts} statements");
}

/// A new database, cut at every statement, ends as if made in one go.
async fn cut_fresh(backend: Backend) {
    let dir = tempfile::tempdir().unwrap();
    for n in 1.. {
        let seeded = match backend {
            Backend::MySql => {
                let (name, url) = create_mysql_database().await;
                Seeded::MySql { name, url }
            }
            Backend::Sqlite => Seeded::Sqlite {
                url: format!("sqlite://{}/fresh-{n}.db?mode=rwc", dir.path().display()),
            },
        };
        let finished = seeded
            .open()
            .migrate_faulty(Faults {
                fail_after_statements: Some(n),
            })
            .await
            .is_ok();
        if !finished {
            seeded.open().migrate().await.unwrap();
        }
        let steps = seeded.strings("SELECT name FROM schema_steps").await;
        assert_eq!(steps.len(), 14, "cut at {n}");
        let schema = schema_of(&seeded).await;
        assert!(
            schema.iter().any(|c| c.contains("tags_day_stats")),
            "cut at {n}: {schema:?}"
        );
        seeded.drop_database();
        if finished {
            break;
        }
    }
}

// A cut at every statement means a migration from scratch per statement:
// the longest tests of the run, so the two paths run apart, side by side.
#[tokio::test]
async fn mysql_migration_cut_after_any_statement_finishes_at_the_next_start() {
    cut_at_every_statement(Backend::MySql).await;
}

#[tokio::test]
async fn mysql_fresh_migration_cut_after_any_statement_finishes_at_the_next_start() {
    cut_fresh(Backend::MySql).await;
}

#[tokio::test]
async fn sqlite_migration_cut_after_any_statement_finishes_at_the_next_start() {
    cut_at_every_statement(Backend::Sqlite).await;
    cut_fresh(Backend::Sqlite).await;
}

async fn unconvertible_rows_are_refused(backend: Backend) {
    let dir = tempfile::tempdir().unwrap();
    let sql = "INSERT INTO pictures (id, path, date) VALUES (1, '/images/a.jpg', '2023-01-20 13:04:25'), \
               (2, '/images/b.jpg', NULL), (3, '/images/c.jpg', '21/01/2023 17:20'), (4, NULL, '2023-01-21 17:20:52');\n\
               INSERT INTO tags (tag, picture_id, confidence, date) VALUES ('lake', 1, 100, '2023-01-20 13:04:25'), \
               ('dog', 1, NULL, '2023-01-20 13:04:25');";
    let seeded = Seeded::create(backend, dir.path(), sql).await;
    let before = schema_of(&seeded).await;
    let err = seeded.open().migrate().await.unwrap_err().to_string();
    for said in [
        "id 2 has no date",
        "id 3 has the date '21/01/2023 17:20'",
        "id 4 has no path",
        "Nothing was changed",
    ] {
        assert!(err.contains(said), "{said:?} not in {err:?}");
    }
    assert!(!err.contains("lake"), "{err}");
    assert_eq!(schema_of(&seeded).await, before, "nothing changed");
    assert_eq!(seeded.count("SELECT COUNT(*) FROM pictures").await, 4);

    // Once the pictures are mended, the tag row is the next thing named.
    let mend = "UPDATE pictures SET date = '2023-01-21 00:00:00' WHERE date IS NULL OR date LIKE '%/%'; \
                UPDATE pictures SET path = '/images/d.jpg' WHERE path IS NULL";
    match &seeded {
        Seeded::MySql { url, .. } => {
            let mut c = sqlx::MySqlConnection::connect(url).await.unwrap();
            sqlx::raw_sql(mend).execute(&mut c).await.unwrap();
        }
        Seeded::Sqlite { url } => {
            let mut c = sqlx::SqliteConnection::connect(url).await.unwrap();
            sqlx::raw_sql(mend).execute(&mut c).await.unwrap();
        }
    }
    let err = seeded.open().migrate().await.unwrap_err().to_string();
    assert!(
        err.contains("tag 'dog' of picture 1 has no confidence"),
        "{err}"
    );
    seeded.drop_database();
}

#[tokio::test]
async fn mysql_rows_that_cannot_be_converted_are_named_and_nothing_changes() {
    unconvertible_rows_are_refused(Backend::MySql).await;
}

#[tokio::test]
async fn sqlite_rows_that_cannot_be_converted_are_named_and_nothing_changes() {
    unconvertible_rows_are_refused(Backend::Sqlite).await;
}

//! A database made by the original assignment's own CREATE TABLE statements
//! (TEXT columns, nullable, a foreign key without cascade), filled the way
//! its app fills it, becomes a working Pictures database on the first start:
//! on MariaDB/MySQL and on its SQLite twin. Its rows that cannot be
//! converted stop the start before anything changes, and a migration cut off
//! after any statement finishes at the next start.
//!
//! `conversion`: a seed database converted, and rows that cannot be;
//! `cut_migrations`: migrations cut off after any statement.

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

/// The same statements in SQLite's syntax: they differ in the key alone.
fn seed_sqlite() -> String {
    let sqlite = SEED_MYSQL.replace(
        "id INT AUTO_INCREMENT PRIMARY KEY",
        "id INTEGER PRIMARY KEY AUTOINCREMENT",
    );
    assert_ne!(sqlite, SEED_MYSQL);
    sqlite
}

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
    /// A new, empty database: one of its own on the server, or a new file
    /// in `dir`.
    async fn empty(backend: Backend, dir: &Path) -> Seeded {
        match backend {
            Backend::MySql => {
                let (name, url) = create_mysql_database().await;
                Seeded::MySql { name, url }
            }
            Backend::Sqlite => Seeded::Sqlite {
                url: format!(
                    "sqlite://{}/seed-{:x}.db?mode=rwc",
                    dir.display(),
                    rand::rng().random::<u64>()
                ),
            },
        }
    }

    /// A database made by seed 000's statements, then `sql`.
    async fn create(backend: Backend, dir: &Path, sql: &str) -> Seeded {
        let seeded = Seeded::empty(backend, dir).await;
        let schema = match backend {
            Backend::MySql => SEED_MYSQL.to_string(),
            Backend::Sqlite => seed_sqlite(),
        };
        seeded.execute(&format!("{schema}\n{sql}")).await;
        seeded
    }

    /// Runs statements on this database.
    async fn execute(&self, sql: &str) {
        let sql = AssertSqlSafe(sql.to_string());
        match self {
            Seeded::MySql { url, .. } => {
                let mut c = sqlx::MySqlConnection::connect(url).await.unwrap();
                sqlx::raw_sql(sql).execute(&mut c).await.unwrap();
            }
            Seeded::Sqlite { url } => {
                let mut c = sqlx::SqliteConnection::connect(url).await.unwrap();
                sqlx::raw_sql(sql).execute(&mut c).await.unwrap();
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

    /// Migrates it, cut off after `n` statements: whether it finished
    /// first.
    async fn migrate_cut_after(&self, n: usize) -> bool {
        self.open()
            .migrate_faulty(Faults {
                fail_after_statements: Some(n),
            })
            .await
            .is_ok()
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

mod conversion;
mod cut_migrations;

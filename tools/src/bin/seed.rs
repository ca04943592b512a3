//! Fills a Pictures database with synthetic pictures for benchmarks:
//! `seed [--seed-app] DATABASE_URL IMAGE_DIR PICTURES [TAGS_PER_PICTURE] [VOCABULARY] [DAYS]`.
//!
//! With `--seed-app` it writes what the original assignment's app would
//! have: its own tables (TEXT columns, created by its exact statements when
//! missing), absolute paths, no size, no tag list, no statistics — the
//! database an existing user brings to the first start.
//!
//! Each picture gets its own JPEG file of about 30 KB (a hard link to one of
//! 64 distinct files, so a million pictures take 2 MB of disk), distinct tags drawn from a
//! Zipf-skewed vocabulary (`tag0000` is the most common), confidences in
//! 80..100, and a date; dates grow with ids and span DAYS days ending today.
//! The schema is created by the service's own migrations first.

use pictures::db::encode_tag_list;
use pictures::domain::Tag;
use rand::Rng;
use rand::SeedableRng;
use rand::rngs::StdRng;
use sqlx::{MySqlPool, QueryBuilder};
use std::io::Cursor;
use std::path::Path;
use std::time::Instant;

const BATCH: usize = 2000;

/// A noisy 160x120 JPEG of about 30 KB, different for every seed.
fn jpeg(rng: &mut StdRng) -> Vec<u8> {
    let img = image::RgbImage::from_fn(160, 120, |x, y| {
        let n: u8 = rng.random();
        image::Rgb([
            (x as u8).wrapping_mul(3) ^ n,
            (y as u8).wrapping_mul(5) ^ n,
            n,
        ])
    });
    let mut out = Vec::new();
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut Cursor::new(&mut out), 92)
        .encode_image(&img)
        .unwrap();
    out
}

/// Zipf(1) over `n` tags: tag k is drawn with probability ∝ 1 / (k + 1).
fn zipf_table(n: usize) -> Vec<f64> {
    let weights: Vec<f64> = (0..n).map(|k| 1.0 / (k + 1) as f64).collect();
    let total: f64 = weights.iter().sum();
    let mut acc = 0.0;
    weights
        .iter()
        .map(|w| {
            acc += w / total;
            acc
        })
        .collect()
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args: Vec<String> = std::env::args().collect();
    let seed_app = args.get(1).is_some_and(|a| a == "--seed-app");
    if seed_app {
        args.remove(1);
    }
    if args.len() < 4 {
        eprintln!(
            "usage: seed [--seed-app] DATABASE_URL IMAGE_DIR PICTURES [TAGS_PER_PICTURE=5] [VOCABULARY=200] [DAYS=365]"
        );
        std::process::exit(2);
    }
    let (url, dir, n) = (&args[1], Path::new(&args[2]), args[3].parse::<usize>()?);
    let per: usize = args.get(4).map_or(Ok(5), |s| s.parse())?;
    let vocabulary: usize = args.get(5).map_or(Ok(200), |s| s.parse())?;
    let days: i64 = args.get(6).map_or(Ok(365), |s| s.parse())?;

    let db = pictures::db::open(url, 4, std::time::Duration::from_secs(10))?;
    let pool = MySqlPool::connect(url).await?;
    if seed_app {
        // Seed 000's "Docker" section, word for word.
        sqlx::raw_sql(
            "CREATE TABLE IF NOT EXISTS pictures (id INT AUTO_INCREMENT PRIMARY KEY, path TEXT, date TEXT);
             CREATE TABLE IF NOT EXISTS tags (tag varchar(32), picture_id INT NOT NULL, confidence FLOAT,
               date TEXT, PRIMARY KEY (tag, picture_id), FOREIGN KEY (picture_id) REFERENCES pictures(id));",
        )
        .execute(&pool)
        .await?;
    } else {
        // Let the service create (or bring up to date) its schema.
        db.migrate().await?;
    }
    std::fs::create_dir_all(dir)?;
    let dir = std::fs::canonicalize(dir)?;

    let started = Instant::now();
    let mut rng = StdRng::seed_from_u64(42);
    let zipf = zipf_table(vocabulary);
    let first: i64 = sqlx::query_scalar("SELECT COALESCE(MAX(id), 0) FROM pictures")
        .fetch_one(&pool)
        .await?;
    let end = chrono::Utc::now().timestamp();
    let span = days * 86_400;
    // A small pool of distinct files, linked under every picture's own name.
    let files: Vec<Vec<u8>> = (0..64).map(|_| jpeg(&mut rng)).collect();
    let originals: Vec<std::path::PathBuf> = files
        .iter()
        .enumerate()
        .map(|(i, bytes)| {
            let path = dir.join(format!(".seed-{i:02}.jpg"));
            // A new inode: earlier pictures linked to an old pool file keep their bytes.
            let _ = std::fs::remove_file(&path);
            std::fs::write(&path, bytes).map(|()| path)
        })
        .collect::<Result<_, _>>()?;
    let mut done = 0;
    while done < n {
        let count = BATCH.min(n - done);
        let mut pictures = QueryBuilder::<sqlx::MySql>::new(if seed_app {
            "INSERT INTO pictures (id, path, date) "
        } else {
            "INSERT INTO pictures (id, path, date, size, tag_list) "
        });
        let mut tags = QueryBuilder::<sqlx::MySql>::new(
            "INSERT INTO tags (tag, picture_id, confidence, date) ",
        );
        let mut rows = Vec::with_capacity(count);
        let mut tag_rows = Vec::with_capacity(count * per);
        for i in 0..count {
            let id = first + (done + i) as i64 + 1;
            let at = end - span + span * (done + i) as i64 / n as i64;
            let date = format_date(at);
            let which = rng.random_range(0..files.len());
            let bytes = &files[which];
            let path = dir.join(format!("{:032x}.jpg", rng.random::<u128>()));
            std::fs::hard_link(&originals[which], &path)?;
            let mut chosen: Vec<usize> = Vec::with_capacity(per);
            while chosen.len() < per.min(vocabulary) {
                let u: f64 = rng.random();
                let k = zipf.partition_point(|&c| c < u).min(vocabulary - 1);
                if !chosen.contains(&k) {
                    chosen.push(k);
                }
            }
            let mut tags = Vec::with_capacity(per);
            for k in chosen {
                let confidence: f32 = rng.random_range(80.0..100.0);
                let confidence = (confidence * 100.0).round() / 100.0;
                tag_rows.push((format!("tag{k:04}"), id, confidence, date.clone()));
                tags.push(Tag::new(format!("tag{k:04}"), f64::from(confidence), None));
            }
            rows.push((
                id,
                path.display().to_string(),
                date,
                bytes.len() as i64,
                encode_tag_list(&tags),
            ));
        }
        pictures.push_values(rows, |mut b, (id, path, date, size, tag_list)| {
            b.push_bind(id).push_bind(path).push_bind(date);
            if !seed_app {
                b.push_bind(size).push_bind(tag_list);
            }
        });
        tags.push_values(tag_rows, |mut b, (tag, id, confidence, date)| {
            b.push_bind(tag)
                .push_bind(id)
                .push_bind(confidence)
                .push_bind(date);
        });
        let mut tx = pool.begin().await?;
        pictures.build().execute(&mut *tx).await?;
        tags.build().execute(&mut *tx).await?;
        tx.commit().await?;
        done += count;
    }
    if !seed_app {
        db.rebuild_statistics().await?;
    }
    println!(
        "seeded {n} pictures ({} tag rows) in {:.1?}",
        n * per,
        started.elapsed()
    );
    Ok(())
}

/// `YYYY-MM-DD HH:MM:SS` (UTC) of a Unix time.
fn format_date(t: i64) -> String {
    chrono::DateTime::from_timestamp(t, 0)
        .unwrap()
        .format("%Y-%m-%d %H:%M:%S")
        .to_string()
}

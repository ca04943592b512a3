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
//!
//! With `--facts USERS` it also writes what Part 2 of the service keeps:
//! owners among USERS users (`user0000`..., each with the API key
//! `bench-key-<n>`; 40% of pictures anonymous, a fifth of the owned ones
//! private), half the pictures named `<place>-<event>-<n>.jpg` (with their
//! trigrams), cameras for 70%, formats, SHA-256s, five dominant colours each,
//! and perceptual hashes (every 50th a near-copy, 1 to 3 bits away, of an
//! earlier one).

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
/// The most placeholders MySQL and MariaDB take in one prepared statement.
const MAX_PLACEHOLDERS: usize = 65_535;

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
    let users: usize = if args.get(1).is_some_and(|a| a == "--facts") {
        let n = args.get(2).ok_or("--facts USERS")?.parse()?;
        args.drain(1..3);
        n
    } else {
        0
    };
    if args.len() < 4 {
        eprintln!(
            "usage: seed [--seed-app | --facts USERS] DATABASE_URL IMAGE_DIR PICTURES [TAGS_PER_PICTURE=5] [VOCABULARY=200] [DAYS=365]"
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
    if users > 0 {
        seed_users(&pool, users).await?;
    }
    let mut facts = Facts::default();
    let mut done = 0;
    while done < n {
        let count = BATCH.min(n - done);
        let first_id = first + done as i64 + 1;
        let picked = (users > 0).then(|| facts.pick(&mut rng, first_id, count, users));
        let mut pictures = QueryBuilder::<sqlx::MySql>::new(match (seed_app, &picked) {
            (true, _) => "INSERT INTO pictures (id, path, date) ",
            (false, None) => "INSERT INTO pictures (id, path, date, size, tag_list) ",
            (false, Some(_)) => {
                "INSERT INTO pictures (id, path, date, size, tag_list, owner, private, name, hash, \
                 format, camera, colors, phash, ph0, ph1, ph2, ph3, width, height, analyzed) "
            }
        });
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
            // A private picture's tags count in its owner's scope.
            let scope = match picked.as_ref().map(|p| &p.owners[i]) {
                Some(Some((owner, true))) => owner.clone(),
                _ => String::new(),
            };
            let mut tags = Vec::with_capacity(per);
            for k in chosen {
                let confidence: f32 = rng.random_range(80.0..100.0);
                let confidence = (confidence * 100.0).round() / 100.0;
                tag_rows.push((
                    format!("tag{k:04}"),
                    id,
                    confidence,
                    date.clone(),
                    scope.clone(),
                ));
                tags.push(Tag::new(format!("tag{k:04}"), f64::from(confidence), None));
            }
            rows.push((
                i,
                id,
                path.display().to_string(),
                date,
                bytes.len() as i64,
                encode_tag_list(&tags),
            ));
        }
        pictures.push_values(rows, |mut b, (i, id, path, date, size, tag_list)| {
            b.push_bind(id).push_bind(path).push_bind(date);
            if !seed_app {
                b.push_bind(size).push_bind(tag_list);
            }
            if let Some(p) = &picked {
                let owner = p.owners[i].clone();
                let bands = pictures::analysis::hash_bands(p.phashes[i]);
                let colors: Vec<(String, f64)> = p.colors[i]
                    .iter()
                    .map(|(r, g, b, f)| {
                        (
                            format!("#{r:02x}{g:02x}{b:02x}"),
                            f64::from((*f * 10_000.0).round() / 10_000.0),
                        )
                    })
                    .collect();
                b.push_bind(owner.as_ref().map_or(String::new(), |(o, _)| o.clone()))
                    .push_bind(i64::from(
                        owner.as_ref().is_some_and(|(_, private)| *private),
                    ))
                    .push_bind(p.names[i].clone())
                    .push_bind(p.hashes[i].clone())
                    .push_bind(p.formats[i])
                    .push_bind(p.cameras[i])
                    .push_bind(serde_json::to_string(&colors).unwrap())
                    .push_bind(p.phashes[i] as i64)
                    .push_bind(bands[0])
                    .push_bind(bands[1])
                    .push_bind(bands[2])
                    .push_bind(bands[3])
                    .push_bind(160i64)
                    .push_bind(120i64)
                    .push_bind(1i64);
            }
        });
        let mut tx = pool.begin().await?;
        pictures.build().execute(&mut *tx).await?;
        let columns = if users > 0 { 5 } else { 4 };
        for chunk in tag_rows.chunks(MAX_PLACEHOLDERS / columns) {
            let mut tags = QueryBuilder::<sqlx::MySql>::new(if users > 0 {
                "INSERT INTO tags (tag, picture_id, confidence, date, scope) "
            } else {
                "INSERT INTO tags (tag, picture_id, confidence, date) "
            });
            tags.push_values(chunk, |mut b, (tag, id, confidence, date, scope)| {
                b.push_bind(tag.clone())
                    .push_bind(*id)
                    .push_bind(*confidence)
                    .push_bind(date.clone());
                if users > 0 {
                    b.push_bind(scope.clone());
                }
            });
            tags.build().execute(&mut *tx).await?;
        }
        if let Some(picked) = picked {
            picked.write(&mut tx, first_id).await?;
        }
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

async fn seed_users(pool: &MySqlPool, users: usize) -> Result<(), sqlx::Error> {
    for chunk in (0..users).collect::<Vec<_>>().chunks(500) {
        let mut q = QueryBuilder::<sqlx::MySql>::new(
            "INSERT IGNORE INTO users (id, email, image_upload_count, created) ",
        );
        q.push_values(chunk, |mut b, n| {
            b.push_bind(format!("user{n:04}"))
                .push_bind(format!("user{n:04}@example.org"))
                .push_bind(0i64)
                .push_bind("2026-01-01 00:00:00");
        });
        q.build().execute(pool).await?;
        let mut q = QueryBuilder::<sqlx::MySql>::new(
            "INSERT IGNORE INTO api_keys (user_id, name, key_hash, created) ",
        );
        q.push_values(chunk, |mut b, n| {
            b.push_bind(format!("user{n:04}"))
                .push_bind("bench")
                .push_bind(pictures::auth::key_hash(&format!("bench-key-{n}")))
                .push_bind("2026-01-01 00:00:00");
        });
        q.build().execute(pool).await?;
    }
    Ok(())
}

const PLACES: [&str; 40] = [
    "paris", "berlin", "lisbon", "oslo", "kyoto", "lima", "cairo", "dublin", "quito", "hanoi",
    "beach", "forest", "harbour", "garden", "market", "alps", "desert", "island", "lake", "river",
    "home", "office", "school", "stadium", "museum", "church", "bridge", "castle", "village",
    "city", "farm", "valley", "canyon", "glacier", "reef", "park", "zoo", "station", "airport",
    "road",
];
const EVENTS: [&str; 40] = [
    "wedding",
    "birthday",
    "holiday",
    "sunset",
    "sunrise",
    "concert",
    "picnic",
    "hike",
    "dinner",
    "party",
    "trip",
    "race",
    "match",
    "festival",
    "parade",
    "graduation",
    "reunion",
    "visit",
    "walk",
    "swim",
    "climb",
    "ride",
    "flight",
    "launch",
    "storm",
    "snow",
    "rain",
    "night",
    "morning",
    "portrait",
    "selfie",
    "family",
    "friends",
    "pets",
    "cats",
    "dogs",
    "flowers",
    "food",
    "cars",
    "boats",
];
const CAMERAS: [&str; 20] = [
    "Canon - Canon EOS 5D Mark IV",
    "Canon - Canon EOS R5",
    "NIKON CORPORATION - NIKON D750",
    "NIKON CORPORATION - NIKON Z 6",
    "SONY - ILCE-7M2",
    "SONY - ILCE-7RM4",
    "Google - Pixel 6a",
    "Google - Pixel 8",
    "Apple - iPhone 12",
    "Apple - iPhone 13 Pro",
    "Apple - iPhone 15",
    "samsung - SM-G991B",
    "samsung - SM-S918B",
    "FUJIFILM - X-T4",
    "FUJIFILM - X100V",
    "OLYMPUS - E-M10",
    "Panasonic - DMC-FZ1000",
    "LEICA - Q2",
    "HUAWEI - P30",
    "Xiaomi - 13T",
];

/// The Part 2 facts of a batch of pictures, written beside their rows.
#[derive(Default)]
struct Facts {
    /// Perceptual hashes written so far, some of which later pictures copy.
    hashes: Vec<u64>,
}

/// A dominant colour: red, green, blue and its share of the picture.
type Rgbw = (u8, u8, u8, f32);

struct Picked {
    /// (owner, private) per picture; `None`: anonymous.
    owners: Vec<Option<(String, bool)>>,
    names: Vec<Option<String>>,
    cameras: Vec<Option<&'static str>>,
    formats: Vec<&'static str>,
    phashes: Vec<u64>,
    colors: Vec<[Rgbw; 5]>,
    hashes: Vec<String>,
}

impl Facts {
    fn pick(&mut self, rng: &mut StdRng, first_id: i64, count: usize, users: usize) -> Picked {
        let mut p = Picked {
            owners: Vec::with_capacity(count),
            names: Vec::with_capacity(count),
            cameras: Vec::with_capacity(count),
            formats: Vec::with_capacity(count),
            phashes: Vec::with_capacity(count),
            colors: Vec::with_capacity(count),
            hashes: Vec::with_capacity(count),
        };
        for i in 0..count {
            let id = first_id + i as i64;
            p.owners.push(rng.random_bool(0.6).then(|| {
                (
                    format!("user{:04}", rng.random_range(0..users)),
                    rng.random_bool(0.2),
                )
            }));
            p.names.push(rng.random_bool(0.5).then(|| {
                format!(
                    "{}-{}-{:04}.jpg",
                    PLACES[rng.random_range(0..PLACES.len())],
                    EVENTS[rng.random_range(0..EVENTS.len())],
                    id % 10_000
                )
            }));
            p.cameras.push(
                rng.random_bool(0.7)
                    .then(|| CAMERAS[rng.random_range(0..CAMERAS.len())]),
            );
            p.formats.push(match rng.random_range(0..20) {
                0..16 => "jpeg",
                16..19 => "png",
                _ => "webp",
            });
            let phash = if id % 50 == 0 && !self.hashes.is_empty() {
                let mut h = self.hashes[rng.random_range(0..self.hashes.len())];
                for _ in 0..rng.random_range(1..=3) {
                    h ^= 1 << rng.random_range(0..64);
                }
                h
            } else {
                rng.random()
            };
            if self.hashes.len() < 100_000 {
                self.hashes.push(phash);
            }
            p.phashes.push(phash);
            let mut left = 1.0f32;
            let colors = std::array::from_fn(|k| {
                let f = if k == 4 {
                    left
                } else {
                    left * rng.random_range(0.3..0.7)
                };
                left -= if k == 4 { 0.0 } else { f };
                (rng.random(), rng.random(), rng.random(), f)
            });
            p.colors.push(colors);
            p.hashes.push(format!(
                "{:032x}{:032x}",
                rng.random::<u128>(),
                rng.random::<u128>()
            ));
        }
        p
    }
}

impl Picked {
    async fn write(
        self,
        tx: &mut sqlx::Transaction<'_, sqlx::MySql>,
        first_id: i64,
    ) -> Result<(), sqlx::Error> {
        let n = self.owners.len();
        let rows: Vec<(i64, i64, Rgbw)> = (0..n)
            .flat_map(|i| {
                self.colors[i]
                    .iter()
                    .enumerate()
                    .map(move |(k, c)| (first_id + i as i64, k as i64, *c))
            })
            .collect();
        // A prepared statement takes at most 65,535 placeholders: 5 colours x
        // 7 columns of a 2,000-picture batch would be 70,000.
        for chunk in rows.chunks(MAX_PLACEHOLDERS / 7) {
            let mut q = QueryBuilder::<sqlx::MySql>::new(
                "INSERT INTO picture_colors (picture_id, rank_no, cell, r, g, b, fraction) ",
            );
            q.push_values(chunk, |mut b, &(id, k, (r, g, bl, f))| {
                b.push_bind(id)
                    .push_bind(k)
                    .push_bind(pictures::db::color_cell([r, g, bl]))
                    .push_bind(i64::from(r))
                    .push_bind(i64::from(g))
                    .push_bind(i64::from(bl))
                    .push_bind(f);
            });
            q.build().execute(&mut **tx).await?;
        }
        let grams: Vec<(String, i64)> = (0..n)
            .flat_map(|i| {
                self.names[i]
                    .as_deref()
                    .map(pictures::db::trigrams)
                    .unwrap_or_default()
                    .into_iter()
                    .map(move |g| (g, first_id + i as i64))
            })
            .collect();
        for chunk in grams.chunks(MAX_PLACEHOLDERS / 2) {
            let mut q = QueryBuilder::<sqlx::MySql>::new(
                "INSERT INTO name_trigrams (trigram, picture_id) ",
            );
            q.push_values(chunk, |mut b, (g, id)| {
                b.push_bind(g.clone()).push_bind(*id);
            });
            q.build().execute(&mut **tx).await?;
        }
        Ok(())
    }
}

/// `YYYY-MM-DD HH:MM:SS` (UTC) of a Unix time.
fn format_date(t: i64) -> String {
    chrono::DateTime::from_timestamp(t, 0)
        .unwrap()
        .format("%Y-%m-%d %H:%M:%S")
        .to_string()
}

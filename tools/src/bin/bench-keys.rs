//! What checking an API key costs (issue 10):
//!
//!     bench-keys DATABASE_URL [CALLS=10000] [USERS=100]
//!
//! Builds the service's own `App` (`pictures::App::build` from a
//! `Config::from_lookup` with that database, no tagger), makes sure users
//! `user0000`.. exist with the keys `bench-key-<n>` (as `seed --facts` writes
//! them; on a fresh database, SQLite say, it creates them through the
//! service's own account store), then times CALLS calls, one at a time, of
//! `pictures::domain::accounts::caller_for_key` over those keys, and beside
//! it the parts: the SHA-256 of the key, the key lookup alone
//! (`Database::key_owner`), and a bare `SELECT 1` on a pool of its own (the
//! round trip no query can beat). Prints µs per call: median, mean, p99.

use pictures::domain::Account;
use pictures::domain::accounts::caller_for_key;
use pictures::{App, Config};
use std::collections::HashMap;
use std::time::{Duration, Instant};

struct Spread {
    median: Duration,
    mean: Duration,
    p99: Duration,
}

fn spread(mut samples: Vec<Duration>) -> Spread {
    samples.sort();
    let total: Duration = samples.iter().sum();
    Spread {
        median: samples[samples.len() / 2],
        mean: total / samples.len() as u32,
        p99: samples[samples.len() * 99 / 100],
    }
}

fn us(d: Duration) -> String {
    format!("{:.1} µs", d.as_secs_f64() * 1e6)
}

fn row(name: &str, s: &Spread) {
    println!(
        "| {name:<44} | {:>10} | {:>10} | {:>10} |",
        us(s.median),
        us(s.mean),
        us(s.p99)
    );
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    let Some(url) = args.get(1).cloned() else {
        eprintln!("usage: bench-keys DATABASE_URL [CALLS=10000] [USERS=100]");
        std::process::exit(2);
    };
    let calls: usize = args.get(2).map_or(Ok(10_000), |s| s.parse())?;
    let users: usize = args.get(3).map_or(Ok(100), |s| s.parse())?;
    let store = std::env::temp_dir().join("pictures-bench-keys");
    std::fs::create_dir_all(&store)?;
    let vars: HashMap<&str, String> = HashMap::from([
        ("DATABASE_URL", url.clone()),
        ("IMAGE_STORE", store.display().to_string()),
        ("CREDENTIALS_FILE", "/nonexistent".to_string()),
        ("DB_MAX_CONNECTIONS", "4".to_string()),
    ]);
    let config = Config::from_lookup(|name| vars.get(name).cloned())?;
    let app = App::build(&config, false).await?;
    app.start_database().await?;

    let mut created = 0;
    for n in 0..users {
        let id = format!("user{n:04}");
        let account = Account {
            id: id.clone(),
            email: Some(format!("{id}@example.org")),
            image_upload_count: 0,
            created: "2026-01-01 00:00:00".into(),
        };
        if app.db.create_user(&account).await? {
            let hash = pictures::auth::key_hash(&format!("bench-key-{n}"));
            app.db
                .create_key(&id, "bench", &hash, "2026-01-01 00:00:00")
                .await?;
            created += 1;
        }
    }
    let keys: Vec<String> = (0..users).map(|n| format!("bench-key-{n}")).collect();
    let scheme = url.split(':').next().unwrap_or("?");
    println!("{scheme}: {users} users ({created} created now), {calls} calls each, one at a time");

    // Warm the pool, the statement caches and the last-use stamps.
    for key in keys.iter().cycle().take(users * 2) {
        caller_for_key(app.db.clone(), &app.auth.admin_keys, key).await?;
    }

    let mut checks = Vec::with_capacity(calls);
    let started = Instant::now();
    for i in 0..calls {
        let key = &keys[(i * 7919) % users];
        let t = Instant::now();
        let caller = caller_for_key(app.db.clone(), &app.auth.admin_keys, key).await?;
        checks.push(t.elapsed());
        std::hint::black_box(caller);
    }
    let wall = started.elapsed();

    let mut hashes = Vec::with_capacity(calls);
    for i in 0..calls {
        let key = &keys[i % users];
        let t = Instant::now();
        std::hint::black_box(pictures::auth::key_hash(key));
        hashes.push(t.elapsed());
    }
    let hashed: Vec<String> = keys.iter().map(|k| pictures::auth::key_hash(k)).collect();
    let mut lookups = Vec::with_capacity(calls);
    for i in 0..calls {
        let t = Instant::now();
        std::hint::black_box(app.db.key_owner(&hashed[(i * 7919) % users]).await?);
        lookups.push(t.elapsed());
    }
    let mut pings = Vec::with_capacity(calls);
    if scheme.starts_with("sqlite") {
        let pool = sqlx::SqlitePool::connect(&url).await?;
        for _ in 0..calls {
            let t = Instant::now();
            let one: i64 = sqlx::query_scalar("SELECT 1").fetch_one(&pool).await?;
            pings.push(t.elapsed());
            std::hint::black_box(one);
        }
    } else {
        let pool = sqlx::MySqlPool::connect(&url.replacen("mariadb:", "mysql:", 1)).await?;
        for _ in 0..calls {
            let t = Instant::now();
            let one: i64 = sqlx::query_scalar("SELECT 1").fetch_one(&pool).await?;
            pings.push(t.elapsed());
            std::hint::black_box(one);
        }
    }

    println!(
        "| {:<44} | {:>10} | {:>10} | {:>10} |",
        "step", "median", "mean", "p99"
    );
    println!("| --- | ---: | ---: | ---: |");
    row("caller_for_key (a user's key)", &spread(checks));
    row("  of which SHA-256 of the key", &spread(hashes));
    row(
        "  of which the key lookup (Database::key_owner)",
        &spread(lookups),
    );
    row("(a bare SELECT 1 on the same database)", &spread(pings));
    println!(
        "{calls} checks in {:.2?}: {:.0} checks/s on one task",
        wall,
        calls as f64 / wall.as_secs_f64()
    );
    Ok(())
}

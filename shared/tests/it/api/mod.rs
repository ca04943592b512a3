//! The contract of every endpoint, through real HTTP against the local API,
//! on SQLite and on MariaDB/MySQL.//!
//! `uploads_and_reads`: what an upload stores and a read gives back;
//! `listings`: searches, dates and pages; `statistics`: GET /tags;
//! `errors`: refused requests, and SQL that stays data.

use crate::common::*;
use pictures::domain::{Inserted, NewPicture, Tag};
use serde_json::Value;

fn tag_names(picture: &Value) -> Vec<&str> {
    picture["tags"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["tag"].as_str().unwrap())
        .collect()
}

/// Every page of a listing, by its `Link` headers from `first`: the ids in
/// order, and the links followed.
async fn follow(t: &TestApp, first: &str) -> (Vec<i64>, Vec<String>) {
    let (mut got, mut links) = (Vec::new(), Vec::new());
    let mut next = Some(first.to_string());
    while let Some(url) = next.take() {
        let r = t.get(&url).await;
        assert_eq!(r.status(), 200, "{url}");
        next = r.headers().get("link").map(|l| {
            let l = l.to_str().unwrap();
            assert!(l.starts_with('<') && l.ends_with(">; rel=\"next\""), "{l}");
            l[1..l.find('>').unwrap()].to_string()
        });
        links.extend(next.clone());
        got.extend(ids(&r.json().await.unwrap()));
        assert!(
            got.len() <= 10_000,
            "{first}: the links go round in circles"
        );
    }
    (got, links)
}

/// Records a picture with a chosen date straight through the database port,
/// as a registration at that time would have.
async fn seed(t: &TestApp, date: &str, tags: &[(&str, f64)]) -> i64 {
    let tags: Vec<Tag> = tags.iter().map(|(n, c)| Tag::new(*n, *c, None)).collect();
    match t
        .app
        .db
        .insert_picture(&NewPicture::plain(
            "/nonexistent/seeded.jpg",
            date,
            2048,
            &tags,
        ))
        .await
        .unwrap()
    {
        Inserted::New(id) => id,
        other => panic!("{other:?}"),
    }
}

/// A random minute of 1 to 9 March 2024, as the database stores dates.
fn early_march(rng: &mut impl rand::Rng) -> String {
    format!(
        "2024-03-{:02} {:02}:{:02}:00",
        rng.random_range(1..=9),
        rng.random_range(0..24),
        rng.random_range(0..60)
    )
}

/// A range's bound as the service reads it: a bare date is its day's first
/// second (`start`) or last.
fn bound(date: &str, start: bool) -> String {
    match (date.len() == 10, start) {
        (true, true) => format!("{date} 00:00:00"),
        (true, false) => format!("{date} 23:59:59"),
        (false, _) => date.to_string(),
    }
}

mod errors;
mod listings;
mod statistics;
mod uploads_and_reads;

//! `POST /images/{id}/retag`: a picture's tags replaced by the tagger's
//! answer now, the statistics moved with them, on SQLite and MariaDB.

use crate::common::*;
use serde_json::{Value, json};
use std::collections::BTreeMap;

/// `GET /tags` as the tag rows themselves say it: per tag (n, min, max, mean).
async fn aggregates(t: &TestApp) -> BTreeMap<String, (i64, f64, f64, f64)> {
    let rows = t.get_json("/images?limit=1000").await;
    let mut by_tag: BTreeMap<String, Vec<f64>> = BTreeMap::new();
    for p in rows.as_array().unwrap() {
        for tag in p["tags"].as_array().unwrap() {
            by_tag
                .entry(tag["tag"].as_str().unwrap().into())
                .or_default()
                .push(tag["confidence"].as_f64().unwrap());
        }
    }
    by_tag
        .into_iter()
        .map(|(t, c)| {
            let n = c.len() as i64;
            let min = c.iter().cloned().fold(f64::INFINITY, f64::min);
            let max = c.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
            (t, (n, min, max, c.iter().sum::<f64>() / n as f64))
        })
        .collect()
}

fn served(stats: &Value) -> BTreeMap<String, (i64, f64, f64, f64)> {
    stats
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            (
                s["tag"].as_str().unwrap().into(),
                (
                    s["n_images"].as_i64().unwrap(),
                    s["min_confidence"].as_f64().unwrap(),
                    s["max_confidence"].as_f64().unwrap(),
                    (s["mean_confidence"].as_f64().unwrap() * 100.0).round() / 100.0,
                ),
            )
        })
        .collect()
}

fn rounded(a: BTreeMap<String, (i64, f64, f64, f64)>) -> BTreeMap<String, (i64, f64, f64, f64)> {
    a.into_iter()
        .map(|(t, (n, lo, hi, mean))| (t, (n, lo, hi, (mean * 100.0).round() / 100.0)))
        .collect()
}

async fn retag(backend: Backend) {
    // Re-tagging is for a picture's owner or an admin; these pictures have no owner.
    let options = Options {
        vars: vec![("API_KEYS".into(), "admin-key".into())],
        ..Options::default()
    };
    let t = TestApp::start_with(backend, options).await;
    // Picture 1 holds rocket's highest confidence; 2 and 3 the usual ones.
    t.cloud.set_tags(&[("rocket", 99.0), ("sky", 85.25)]);
    assert_eq!(t.post_image(&fixture("rocket.jpg"), "").await.status(), 201);
    t.cloud
        .set_tags(&[("rocket", 95.5), ("sky", 85.25), ("missile", 60.0)]);
    for name in ["chelsea.png", "coffee.png"] {
        assert_eq!(t.post_image(&fixture(name), "").await.status(), 201);
    }

    // The tagger now says otherwise of picture 1: rocket falls below 80.
    t.cloud
        .set_tags(&[("rocket", 70.0), ("launch", 90.0), ("sky", 85.25)]);
    // Anonymous callers cannot: the 404 of a picture they may not change.
    let r = t
        .client
        .post(format!("{}/images/1/retag", t.url))
        .send()
        .await
        .unwrap();
    assert_error(r, 404, "not_found").await;
    let r = t
        .client
        .post(format!("{}/images/1/retag", t.url))
        .header("x-api-key", "admin-key")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let body: Value = r.json().await.unwrap();
    assert_eq!(
        body["tags"],
        json!([{"tag": "launch", "confidence": 90.0, "source": "imagga"}, {"tag": "sky", "confidence": 85.25, "source": "imagga"}])
    );
    assert!(body.get("data").is_none());
    assert_eq!(t.get_json("/images/1").await["tags"], body["tags"]);
    assert_eq!(
        t.get_json("/images?tags=rocket")
            .await
            .as_array()
            .unwrap()
            .len(),
        2
    );
    assert_eq!(t.get_json("/images?tags=launch").await[0]["id"], 1);

    // Statistics follow: rocket's maximum went with picture 1's tag.
    let want = rounded(aggregates(&t).await);
    assert_eq!(served(&t.get_json("/tags").await), want);
    assert_eq!(want["rocket"], (2, 95.5, 95.5, 95.5));
    let today = chrono::Utc::now().format("%Y-%m-%d").to_string();
    assert_eq!(
        served(
            &t.get_json(&format!("/tags?min_date={today}&max_date={today}"))
                .await
        ),
        want,
        "the per-day statistics too"
    );

    // With a threshold, and the same answer twice: nothing counted twice.
    for _ in 0..2 {
        let r = t
            .client
            .post(format!("{}/images/2/retag?min_confidence=50", t.url))
            .header("x-api-key", "admin-key")
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
    }
    let want = rounded(aggregates(&t).await);
    assert_eq!(want["launch"].0, 2);
    assert_eq!(served(&t.get_json("/tags").await), want);

    // Every picture at once, resuming after an interruption.
    t.cloud.set_tags(&[("rocket", 88.0)]);
    t.app.db.set_task_cursor("retag", Some(1)).await.unwrap();
    let report =
        pictures::domain::retag_all(&t.app.ports(), pictures::domain::Confidence::DEFAULT, false)
            .await
            .unwrap();
    assert_eq!((report.resumed_after, report.retagged), (1, 2));
    assert_eq!(t.app.db.task_cursor("retag").await.unwrap(), None);
    assert_eq!(
        served(&t.get_json("/tags").await),
        rounded(aggregates(&t).await)
    );
    assert_eq!(
        t.get_json("/images/3").await["tags"],
        json!([{"tag": "rocket", "confidence": 88.0, "source": "imagga"}])
    );

    // Refusals.
    assert_error(
        t.client
            .post(format!("{}/images/99/retag", t.url))
            .send()
            .await
            .unwrap(),
        404,
        "not_found",
    )
    .await;
    assert_error(
        t.client
            .post(format!("{}/images/x/retag", t.url))
            .send()
            .await
            .unwrap(),
        400,
        "invalid_id",
    )
    .await;
    assert_error(
        t.client
            .post(format!("{}/images/1/retag?min_confidence=101", t.url))
            .send()
            .await
            .unwrap(),
        400,
        "invalid_min_confidence",
    )
    .await;
    // A picture whose file has gone keeps its tags.
    let before = t.get_json("/images?limit=1000").await;
    for f in t.files() {
        std::fs::remove_file(f).unwrap();
    }
    assert_error(
        t.client
            .post(format!("{}/images/1/retag", t.url))
            .header("x-api-key", "admin-key")
            .send()
            .await
            .unwrap(),
        503,
        "image_unavailable",
    )
    .await;
    assert_eq!(t.get_json("/images?limit=1000").await, before);
}

#[tokio::test]
async fn retag_on_sqlite() {
    retag(Backend::Sqlite).await;
}

#[tokio::test]
async fn retag_on_mariadb() {
    retag(Backend::MySql).await;
}

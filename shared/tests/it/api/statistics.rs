//! Tag statistics (GET /tags): per range, as stored, rebuilt from tag rows.

use super::*;

contract_tests! {
    async fn tag_statistics(backend) {
        let t = TestApp::start(backend).await;
        seed(&t, "2024-01-10 08:00:00", &[("cat", 90.0), ("animal", 95.0)]).await;
        seed(&t, "2024-01-20 08:00:00", &[("dog", 88.0), ("animal", 97.5)]).await;
        seed(&t, "2024-02-01 00:00:00", &[("cat", 85.0), ("animal", 91.0), ("bird", 82.0)]).await;
        let all = t.get_json("/tags").await;
        assert_eq!(all, serde_json::json!([
            {"tag": "animal", "n_images": 3, "min_confidence": 91.0, "max_confidence": 97.5, "mean_confidence": 94.5},
            {"tag": "cat", "n_images": 2, "min_confidence": 85.0, "max_confidence": 90.0, "mean_confidence": 87.5},
            {"tag": "bird", "n_images": 1, "min_confidence": 82.0, "max_confidence": 82.0, "mean_confidence": 82.0},
            {"tag": "dog", "n_images": 1, "min_confidence": 88.0, "max_confidence": 88.0, "mean_confidence": 88.0},
        ]));
        let january = t.get_json("/tags?min_date=2024-01-01&max_date=2024-01-31").await;
        let names: Vec<&str> = january.as_array().unwrap().iter().map(|s| s["tag"].as_str().unwrap()).collect();
        assert_eq!(names, ["animal", "cat", "dog"]);
        assert_eq!(january[0]["mean_confidence"], 96.25);
        assert_eq!(t.get_json("/tags?min_date=2025-01-01").await, serde_json::json!([]));
    }
}

/// Statistics over random pictures and many ranges (whole days, partial
/// edges, open ends, a single hour) equal the brute-force answer.
async fn statistics_match_brute_force(backend: Backend) {
    use rand::{Rng, SeedableRng};
    let t = TestApp::start(backend).await;
    let mut rng = rand::rngs::StdRng::seed_from_u64(7);
    let names = ["cat", "dog", "car", "sky", "tree", "boat"];
    let mut all: Vec<(String, String, f64)> = Vec::new(); // (date, tag, confidence)
    for _ in 0..60 {
        let date = early_march(&mut rng);
        let mut tags: Vec<(&str, f64)> = Vec::new();
        for name in names {
            if rng.random_bool(0.5) {
                tags.push((name, f64::from(rng.random_range(8000..10000u32)) / 100.0));
            }
        }
        seed(&t, &date, &tags).await;
        all.extend(tags.iter().map(|(n, c)| (date.clone(), n.to_string(), *c)));
    }
    let ranges = [
        (None, None),
        (Some("2024-03-02"), Some("2024-03-05")),
        (Some("2024-03-02 13:30:00"), Some("2024-03-07 08:15:00")),
        (Some("2024-03-04 10:00:00"), None),
        (None, Some("2024-03-03 12:00:00")),
        (Some("2024-03-05 06:00:00"), Some("2024-03-05 07:00:00")),
        (Some("2024-03-05 23:00:00"), Some("2024-03-06 01:00:00")),
    ];
    for (min, max) in ranges {
        let lo = min.map(|m| bound(m, true));
        let hi = max.map(|m| bound(m, false));
        let mut expected: std::collections::BTreeMap<&str, Vec<f64>> = Default::default();
        for (date, tag, c) in &all {
            if lo.as_ref().is_none_or(|l| date >= l) && hi.as_ref().is_none_or(|h| date <= h) {
                expected.entry(tag.as_str()).or_default().push(*c);
            }
        }
        let mut query = Vec::new();
        if let Some(m) = min {
            query.push(format!("min_date={}", m.replace(' ', "%20")));
        }
        if let Some(m) = max {
            query.push(format!("max_date={}", m.replace(' ', "%20")));
        }
        let got = t.get_json(&format!("/tags?{}", query.join("&"))).await;
        let got = got.as_array().unwrap();
        assert_eq!(got.len(), expected.len(), "{min:?}..{max:?}: {got:?}");
        for stat in got {
            let values = &expected[stat["tag"].as_str().unwrap()];
            let mean = values.iter().sum::<f64>() / values.len() as f64;
            assert_eq!(
                stat["n_images"].as_u64().unwrap() as usize,
                values.len(),
                "{stat}"
            );
            assert_eq!(
                stat["min_confidence"].as_f64().unwrap(),
                values.iter().cloned().fold(f64::MAX, f64::min),
                "{stat}"
            );
            assert_eq!(
                stat["max_confidence"].as_f64().unwrap(),
                values.iter().cloned().fold(f64::MIN, f64::max),
                "{stat}"
            );
            assert!(
                (stat["mean_confidence"].as_f64().unwrap() - mean).abs() <= 0.005 + 1e-9,
                "{stat} vs {mean}"
            );
        }
        let counts: Vec<u64> = got
            .iter()
            .map(|s| s["n_images"].as_u64().unwrap())
            .collect();
        assert!(counts.windows(2).all(|w| w[0] >= w[1]), "most used first");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn statistics_match_brute_force_sqlite() {
    statistics_match_brute_force(Backend::Sqlite).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn statistics_match_brute_force_mysql() {
    statistics_match_brute_force(Backend::MySql).await
}

both_backends! {
    // The seed's reference answer for a FLOAT column holding 87.2146 three
    // times: min and max as stored, not 87.21; the mean unrounded, computed
    // in double precision from the stored values.
    async fn statistics_are_as_stored_not_rounded(backend) {
        let t = TestApp::start(backend).await;
        for day in 1..=3 {
            let date = format!("2024-01-0{day} 08:00:00");
            let id = seed(&t, &date, &[]).await;
            // As the seed's own code writes them: tag rows only.
            t.execute(&format!("INSERT INTO tags (tag, picture_id, confidence, date) VALUES ('rocket', {id}, 87.2146, '{date}')")).await;
        }
        t.app.db.rebuild_statistics().await.unwrap();
        for range in ["", "?min_date=2024-01-01&max_date=2024-01-03", "?min_date=2024-01-01%2007:00:00&max_date=2024-01-03%2009:00:00"] {
            let stats = t.get_json(&format!("/tags{range}")).await;
            let stat = &stats[0];
            assert_eq!((stat["n_images"].as_i64(), stat["min_confidence"].as_f64(), stat["max_confidence"].as_f64()), (Some(3), Some(87.2146), Some(87.2146)), "{range}: {stat}");
            let mean = stat["mean_confidence"].as_f64().unwrap();
            match backend {
                // MySQL's FLOAT is single precision: the mean of three f32 87.2146.
                Backend::MySql => assert_eq!(mean, f64::from(87.2146f32), "{range}: {stat}"),
                // SQLite's FLOAT is a double.
                Backend::Sqlite => assert!((mean - 87.2146).abs() < 1e-12, "{range}: {stat}"),
            }
        }
    }

    async fn statistics_rebuild_from_tag_rows(backend) {
        let t = TestApp::start(backend).await;
        seed(&t, "2024-01-10 08:00:00", &[("cat", 90.0), ("animal", 95.0)]).await;
        let before = t.get_json("/tags").await;
        // A writer that knows only the seed's two tables adds a tag row.
        t.execute("INSERT INTO tags (tag, picture_id, confidence, date) VALUES ('legacy', 1, 81.5, '2024-01-10 08:00:00')").await;
        assert_eq!(t.get_json("/tags").await, before, "not counted until rebuilt");
        t.app.db.rebuild_statistics().await.unwrap();
        let after = t.get_json("/tags").await;
        assert_eq!(after.as_array().unwrap().len(), 3);
        assert_eq!(t.get_json("/tags?min_date=2024-01-10&max_date=2024-01-10").await, after);
    }
}

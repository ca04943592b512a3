//! A seed database, filled the way the original app fills it, becomes a
//! working Pictures database; rows that cannot be converted are named and
//! nothing changes.

use super::*;

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
    seeded.execute(mend).await;
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

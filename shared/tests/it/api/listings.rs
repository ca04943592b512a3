//! Listings: searches by tags and dates, pages and their links, newest
//! first.

use super::*;

/// Seven pictures, one a day from 1 May 2024, each tagged `n`, and the
/// first, third, fifth and seventh also `even`: their ids.
async fn seven_days(t: &TestApp) -> Vec<i64> {
    let mut all = Vec::new();
    for i in 0..7 {
        let tags: &[(&str, f64)] = if i % 2 == 0 {
            &[("even", 90.0), ("n", 80.0)]
        } else {
            &[("n", 80.0)]
        };
        all.push(seed(t, &format!("2024-05-0{} 10:00:00", i + 1), tags).await);
    }
    all
}

contract_tests! {
    async fn search_by_all_tags_and_dates(backend) {
        let t = TestApp::start(backend).await;
        let a = seed(&t, "2024-01-10 08:00:00", &[("cat", 90.0), ("animal", 95.0)]).await;
        let b = seed(&t, "2024-01-31 23:59:59", &[("dog", 88.0), ("animal", 97.0)]).await;
        let c = seed(&t, "2024-02-01 00:00:00", &[("cat", 85.0), ("animal", 91.0), ("sofa", 82.0)]).await;
        let d = seed(&t, "2024-03-05 12:30:00", &[("car", 99.0)]).await;

        assert_eq!(ids(&t.get_json("/images").await), [a, b, c, d]);
        // ALL of the tags, each picture listing all of its own tags.
        let cats = t.get_json("/images?tags=cat,animal").await;
        assert_eq!(ids(&cats), [a, c]);
        assert_eq!(tag_names(&cats[1]), ["animal", "cat", "sofa"]);
        assert!(cats[0].get("data").is_none(), "listings carry no data");
        assert_eq!(ids(&t.get_json("/images?tags=%20cat%20,,animal,cat").await), [a, c]);
        assert_eq!(ids(&t.get_json("/images?tags=cat,dog").await), Vec::<i64>::new());
        assert_eq!(ids(&t.get_json("/images?tags=unknown").await), Vec::<i64>::new());
        // Inclusive bounds; a bare date is the whole day.
        assert_eq!(ids(&t.get_json("/images?min_date=2024-01-10%2008:00:00&max_date=2024-01-31").await), [a, b]);
        assert_eq!(ids(&t.get_json("/images?min_date=2024-02-01").await), [c, d]);
        assert_eq!(ids(&t.get_json("/images?max_date=2024-01-31%2023:59:58").await), [a]);
        assert_eq!(ids(&t.get_json("/images?min_date=2024-01-01&max_date=2024-02-29&tags=animal").await), [a, b, c]);
        // max before min: nothing, not an error.
        assert_eq!(ids(&t.get_json("/images?min_date=2024-03-01&max_date=2024-01-01").await), Vec::<i64>::new());
        let first = &t.get_json("/images?tags=car").await[0];
        assert_eq!(first["date"], "2024-03-05 12:30:00");
        assert_eq!(first["size"], 2.0);
        assert_eq!(first["tags"], serde_json::json!([{"tag": "car", "confidence": 99.0}]));
    }

    async fn pages_follow_the_link(backend) {
        let t = TestApp::start(backend).await;
        let all = seven_days(&t).await;
        let (got, links) = follow(&t, "/images?tags=n&limit=3").await;
        assert_eq!(got, all);
        assert_eq!(links.len() + 1, 3, "three pages: {links:?}");
        // The link keeps the filters.
        let r = t.get("/images?tags=even&limit=2&min_date=2024-05-01").await;
        let link = r.headers()["link"].to_str().unwrap().to_string();
        assert!(link.contains("tags=even") && link.contains("min_date=2024-05-01+00%3A00%3A00") && link.contains("limit=2"), "{link}");
        // Exactly one page: no link.
        let r = t.get("/images?limit=7").await;
        assert!(r.headers().get("link").is_none());
        assert_eq!(ids(&t.get_json(&format!("/images?after={}", all[5])).await), [all[6]]);
        assert_eq!(ids(&t.get_json("/images?after=99999999999999").await), Vec::<i64>::new());
    }
}

both_backends! {
    // Date-range listings over pictures whose dates are NOT in id order
    // (rows written by other tools, clocks that moved) equal the brute-force
    // answer, page after page: the range's first id comes from whole days in
    // `picture_days` and partial edge days from the index.
    async fn date_pages_match_brute_force(backend) {
        use rand::SeedableRng;
        let t = TestApp::start(backend).await;
        let mut rng = rand::rngs::StdRng::seed_from_u64(11);
        let mut all: Vec<(i64, String)> = Vec::new();
        for _ in 0..80 {
            let date = early_march(&mut rng);
            let id = seed(&t, &date, &[("cat", 90.0)]).await;
            all.push((id, date));
        }
        let ranges = [
            ("2024-03-02", "2024-03-05"),
            ("2024-03-02 13:30:00", "2024-03-07 08:15:00"),
            ("2024-03-04 10:00:00", "2024-03-04 18:00:00"),
            ("2024-03-05 23:00:00", "2024-03-06 01:00:00"),
            ("2024-03-09", "2024-03-09"),
            ("2024-03-01", "2024-03-31"),
        ];
        for (min, max) in ranges {
            let (lo, hi) = (bound(min, true), bound(max, false));
            let mut expected: Vec<i64> = all
                .iter()
                .filter(|(_, d)| d.as_str() >= lo.as_str() && d.as_str() <= hi.as_str())
                .map(|(id, _)| *id)
                .collect();
            expected.sort();
            let mut got = Vec::new();
            let mut after = 0;
            loop {
                let page = t
                    .get_json(&format!("/images?min_date={min}&max_date={max}&limit=7&after={after}"))
                    .await;
                let page = ids(&page);
                if page.is_empty() {
                    break;
                }
                after = *page.last().unwrap();
                got.extend(page);
            }
            assert_eq!(got, expected, "{min} .. {max}");
            // Newest first, by the Link alone: the same pictures, the other way round.
            let newest = follow(&t, &format!("/images?min_date={min}&max_date={max}&limit=7&order=newest")).await;
            assert_eq!(newest.0, expected.iter().rev().copied().collect::<Vec<_>>(), "{min} .. {max}, newest first");
            // Open-ended: from `min` on.
            let open = ids(&t.get_json(&format!("/images?min_date={min}&limit=1000")).await);
            let mut expected: Vec<i64> = all.iter().filter(|(_, d)| d.as_str() >= lo.as_str()).map(|(id, _)| *id).collect();
            expected.sort();
            assert_eq!(open, expected, "{min} ..");
        }
    }
}

both_backends! {
    // `order=newest`: a camera roll's order, opt-in. Without it every
    // listing (and its links) is as the seeds' clients know it.
    async fn newest_first_is_opt_in_and_pages_by_before(backend) {
        let t = TestApp::start(backend).await;
        let all = seven_days(&t).await;
        let newest: Vec<i64> = all.iter().rev().copied().collect();
        let evens: Vec<i64> = all.iter().step_by(2).copied().collect();

        // The default is unchanged: oldest first, `after` in its links, no `order`.
        let (oldest, links) = follow(&t, "/images?limit=3").await;
        assert_eq!(oldest, all);
        assert!(links.iter().all(|l| l.contains("after=") && !l.contains("order") && !l.contains("before")), "{links:?}");
        assert_eq!(ids(&t.get_json("/images?order=oldest").await), all);

        // Newest first, a page at a time, with and without tags.
        let (got, links) = follow(&t, "/images?order=newest&limit=3").await;
        assert_eq!(got, newest);
        assert_eq!(links.len(), 2);
        assert!(links.iter().all(|l| l.contains("order=newest") && l.contains("before=") && !l.contains("after=")), "{links:?}");
        assert_eq!(ids(&t.get_json("/images?order=newest&limit=1").await), [all[6]]);
        let (got, _) = follow(&t, "/images?order=newest&tags=even&limit=1").await;
        assert_eq!(got, evens.iter().rev().copied().collect::<Vec<_>>());
        let (got, _) = follow(&t, "/images?order=newest&limit=2&min_date=2024-05-02&max_date=2024-05-06").await;
        assert_eq!(got, all[1..6].iter().rev().copied().collect::<Vec<_>>());

        // `before` and `after` are bounds either way; the cursor moves the
        // end the order starts from and the links keep the other bound.
        assert_eq!(ids(&t.get_json(&format!("/images?before={}", all[3])).await), all[..3]);
        let (got, links) = follow(&t, &format!("/images?order=newest&limit=2&after={}&before={}", all[0], all[6])).await;
        assert_eq!(got, all[1..6].iter().rev().copied().collect::<Vec<_>>());
        assert!(links.iter().all(|l| l.contains(&format!("after={}", all[0]))), "{links:?}");
        let (got, links) = follow(&t, &format!("/images?limit=2&after={}&before={}", all[0], all[6])).await;
        assert_eq!(got, all[1..6]);
        assert!(links.iter().all(|l| l.contains(&format!("before={}", all[6]))), "{links:?}");
        assert_eq!(ids(&t.get_json(&format!("/images?order=newest&before={}", all[0])).await), Vec::<i64>::new());
        assert_eq!(ids(&t.get_json(&format!("/images?after={0}&before={0}", all[3])).await), Vec::<i64>::new());

        // A picture registered while a reader pages newest first is not in
        // the pages still to come (they are older), and the next look from
        // the top finds it first.
        let r = t.get("/images?order=newest&limit=3").await;
        let next = r.headers()["link"].to_str().unwrap().to_string();
        let later = seed(&t, "2024-05-08 10:00:00", &[("n", 80.0)]).await;
        let (rest, _) = follow(&t, &next[1..next.find('>').unwrap()]).await;
        assert_eq!(rest, newest[3..]);
        assert_eq!(ids(&t.get_json("/images?order=newest&limit=1").await), [later]);

        assert_error(t.get("/images?order=latest").await, 400, "invalid_order").await;
        assert_error(t.get("/images?order=").await, 400, "invalid_order").await;
        assert_error(t.get("/images?before=-1").await, 400, "invalid_before").await;
        assert_error(t.get("/images?before=1%20OR%201=1").await, 400, "invalid_before").await;
    }
}

//! The contract of every endpoint, through real HTTP against the local API,
//! on SQLite and on MariaDB/MySQL.

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

fn ids(list: &Value) -> Vec<i64> {
    list.as_array()
        .unwrap()
        .iter()
        .map(|p| p["id"].as_i64().unwrap())
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

contract_tests! {
    async fn upload_then_read_back(backend) {
        let t = TestApp::start(backend).await;
        let rocket = t.photo("rocket.jpg");
        let r = t.post_image(&rocket, "").await;
        assert_eq!(r.status(), 201);
        let location = r.headers()["location"].to_str().unwrap().to_string();
        let posted: Value = r.json().await.unwrap();
        let id = posted["id"].as_i64().unwrap();
        assert_eq!(location, format!("/images/{id}"));
        // Default threshold 80: missile (60) is left out; ordered by confidence.
        assert_eq!(posted["tags"], serde_json::json!([
            {"tag": "rocket", "confidence": 95.5, "source": "imagga"},
            {"tag": "sky", "confidence": 85.25, "source": "imagga"},
        ]));
        let kb = (rocket.len() as f64 / 1024.0 * 100.0).round() / 100.0;
        assert_eq!(posted["size"].as_f64().unwrap(), kb);
        let date = posted["date"].as_str().unwrap();
        assert!(chrono::NaiveDateTime::parse_from_str(date, "%Y-%m-%d %H:%M:%S").is_ok(), "{date}");
        assert_eq!(posted["data"].as_str().unwrap(), b64(&rocket));

        // The same object from GET, on the canonical route and the alias
        // (its view URL signed anew).
        let without_url = |mut v: Value| {
            let url = v.as_object_mut().unwrap().remove("view_url").unwrap();
            assert!(url.as_str().unwrap().starts_with(&format!("/images/{id}/file?expires=")), "{url}");
            v
        };
        let posted = without_url(posted);
        for route in [location.clone(), format!("/image/{id}")] {
            assert_eq!(without_url(t.get_json(&route).await), posted, "{route}");
        }
        // One file, holding the upload's bytes, named at random with its real extension.
        let files = t.files();
        assert_eq!(files.len(), 1);
        assert_eq!(std::fs::read(&files[0]).unwrap(), rocket);
        assert_eq!(files[0].extension().unwrap(), "jpg");
        // ImageKit saw one upload and one delete; nothing is left there.
        assert_eq!(t.cloud.counts(), (1, 1, 1));
        assert!(t.cloud.staged().is_empty());
    }

    async fn alias_route_and_threshold(backend) {
        let t = TestApp::start(backend).await;
        let png = t.photo("chelsea.png");
        let r = t.client.post(format!("{}/image?min_confidence=60", t.url))
            .json(&serde_json::json!({"data": format!("data:image/png;base64,{}", b64(&png))}))
            .send().await.unwrap();
        // The seed's route answers 200, as the seed services did (POST /images: 201).
        assert_eq!(r.status(), 200);
        let body: Value = r.json().await.unwrap();
        assert_eq!(tag_names(&body), ["rocket", "sky", "missile"], "60 >= 60 is kept");
        let r = t.post_image(&t.photo("coffee.png"), "?min_confidence=100").await;
        assert_eq!(r.status(), 201);
        let body: Value = r.json().await.unwrap();
        assert_eq!(body["tags"], serde_json::json!([]));
        assert_eq!(t.files().len(), 2);
        assert!(t.files().iter().all(|f| f.extension().unwrap() == "png"));
    }

    async fn never_overwrites_and_ids_grow(backend) {
        let t = TestApp::start(backend).await;
        let mut seen = Vec::new();
        for n in 0..5 {
            let r = t.post_image(&distinct_png(n), "").await;
            assert_eq!(r.status(), 201);
            seen.push(r.json::<Value>().await.unwrap()["id"].as_i64().unwrap());
        }
        assert!(seen.windows(2).all(|w| w[0] < w[1]), "{seen:?}");
        assert_eq!(t.files().len(), 5);
        // The same bytes again, asking for de-duplication: the picture there
        // is, answered 200 where it is; nothing tagged, stored or counted twice.
        let tag_calls = t.cloud.counts().2;
        let r = t.post_image(&distinct_png(2), "?dedup=true").await;
        assert_eq!(r.status(), 200);
        assert_eq!(r.headers()["location"], format!("/images/{}", seen[2]));
        assert_eq!(r.json::<Value>().await.unwrap()["id"], seen[2]);
        assert_eq!(t.files().len(), 5);
        assert_eq!(t.cloud.counts().2, tag_calls);
        assert_eq!(t.get_json("/tags").await[0]["n_images"], 5);
    }

    // The assignment's contract: every JSON upload makes a new picture, with
    // its own id, file and the tags its own min_confidence asks for, and a
    // tagger that fails on the second upload of the same bytes is a 502 that
    // stores nothing, on the canonical route and the seeds' aliases alike.
    async fn every_json_upload_is_a_new_picture(backend) {
        let t = TestApp::start(backend).await;
        let rocket = t.photo("rocket.jpg");
        let mut made = Vec::new();
        for (path, query, status, tags) in [
            ("/images", "?min_confidence=90", 201, vec!["rocket"]),
            ("/images", "?min_confidence=85.25", 201, vec!["rocket", "sky"]),
            ("/image", "?min_confidence=50", 200, vec!["rocket", "sky", "missile"]),
            ("/images/tags", "", 200, vec!["rocket", "sky"]),
        ] {
            let r = t.client.post(format!("{}{path}{query}", t.url))
                .json(&serde_json::json!({"data": b64(&rocket)}))
                .send().await.unwrap();
            assert_eq!(r.status(), status, "{path}{query}");
            let location = r.headers()["location"].to_str().unwrap().to_string();
            let body: Value = r.json().await.unwrap();
            assert_eq!(tag_names(&body), tags, "{path}{query}: its own threshold");
            assert_eq!(location, format!("/images/{}", body["id"]));
            made.push(body["id"].as_i64().unwrap());
        }
        assert!(made.windows(2).all(|w| w[0] < w[1]), "{made:?}: a new id each time");
        assert_eq!(t.files().len(), 4, "a file each");
        let listed = t.get_json("/images").await;
        assert_eq!(ids(&listed), made, "the listing counts every upload");
        let stats = t.get_json("/tags").await;
        assert_eq!(stats[0]["tag"], "rocket");
        assert_eq!(stats[0]["n_images"], 4);
        // The tagger fails on the fifth upload of the same bytes: 502, nothing stored.
        let staged = t.cloud.counts().0;
        t.cloud.fail_imagga(wiremock::ResponseTemplate::new(500));
        let r = t.post_image(&rocket, "").await;
        assert_error(r, 502, "tagging_failed").await;
        let r = t.post_image(&rocket, "?min_confidence=10").await;
        assert_error(r, 502, "tagging_failed").await;
        t.cloud.fail_imagga(wiremock::ResponseTemplate::new(200).set_body_string("garbage"));
        assert_error(t.post_image(&rocket, "").await, 502, "tagging_failed").await;
        assert_eq!(t.files().len(), 4, "no file of a failed upload");
        assert_eq!(ids(&t.get_json("/images").await), made, "no row of a failed upload");
        assert!(t.cloud.counts().0 > staged && t.cloud.staged().is_empty(), "nothing left at ImageKit");
        // Asking to de-duplicate answers with the first picture, untagged again.
        t.cloud.clear_imagga_failure();
        let r = t.post_image(&rocket, "?dedup=true").await;
        assert_eq!(r.status(), 200);
        assert_eq!(r.headers()["location"], format!("/images/{}", made[0]));
        assert_eq!(r.json::<Value>().await.unwrap()["id"], made[0]);
        assert_eq!(t.files().len(), 4);
    }

    async fn long_and_colliding_tags(backend) {
        let t = TestApp::start(backend).await;
        let long = "a-tag-name-that-is-far-longer-than-thirty-two-characters";
        let cut: String = long.chars().take(32).collect();
        t.cloud.set_tags(&[(long, 85.0), (&format!("{cut}-other-ending"), 90.0), ("Sky", 99.0), ("sky", 81.0)]);
        let r = t.post_image(&t.photo("rocket.jpg"), "").await;
        assert_eq!(r.status(), 201);
        let posted: Value = r.json().await.unwrap();
        assert_eq!(posted["tags"], serde_json::json!([
            {"tag": "sky", "confidence": 99.0, "source": "imagga"},
            {"tag": cut, "confidence": 90.0, "source": "imagga"},
        ]));
        let id = posted["id"].as_i64().unwrap();
        let got = t.get_json(&format!("/images/{id}")).await;
        assert_eq!(got["tags"], posted["tags"]);
    }

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
        let mut all = Vec::new();
        for i in 0..7 {
            let tags: &[(&str, f64)] = if i % 2 == 0 { &[("even", 90.0), ("n", 80.0)] } else { &[("n", 80.0)] };
            all.push(seed(&t, &format!("2024-05-0{} 10:00:00", i + 1), tags).await);
        }
        let mut next = Some("/images?tags=n&limit=3".to_string());
        let mut got = Vec::new();
        let mut pages = 0;
        while let Some(url) = next.take() {
            let r = t.get(&url).await;
            assert_eq!(r.status(), 200);
            next = r.headers().get("link").map(|l| {
                let l = l.to_str().unwrap();
                assert!(l.ends_with(">; rel=\"next\""), "{l}");
                l[1..l.find('>').unwrap()].to_string()
            });
            got.extend(ids(&r.json().await.unwrap()));
            pages += 1;
        }
        assert_eq!(got, all);
        assert_eq!(pages, 3);
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

    async fn sql_is_data(backend) {
        let t = TestApp::start(backend).await;
        let id = seed(&t, "2024-01-10 08:00:00", &[("cat' or '1'='1", 90.0), ("cat", 95.0)]).await;
        for q in [
            "/images?tags=cat'%20OR%20'1'='1",
            "/images?tags=x')%20OR%201=1%20--%20",
            "/images?tags=cat;DROP%20TABLE%20pictures",
        ] {
            let got = t.get_json(q).await;
            let expected: Vec<i64> = if q.contains("OR%20'1'='1") { vec![id] } else { vec![] };
            assert_eq!(ids(&got), expected, "{q}");
        }
        assert_error(t.get("/images?min_date=2024-01-01'%20OR%201=1").await, 400, "invalid_date").await;
        assert_error(t.get("/images?limit=1;DROP%20TABLE%20tags").await, 400, "invalid_limit").await;
        assert_error(t.get("/images?after=0%20OR%201=1").await, 400, "invalid_after").await;
        assert_error(t.get("/images/1%20OR%201=1").await, 400, "invalid_id").await;
        assert_error(t.get("/tags?max_date=x'%20UNION%20SELECT").await, 400, "invalid_date").await;
        assert_error(t.post_image(&fixture("rocket.jpg"), "?min_confidence=0%20OR%201=1").await, 400, "invalid_min_confidence").await;
        // Everything is still there.
        assert_eq!(t.row_counts().await, (1, 2));
    }

    async fn missing_picture_and_file(backend) {
        let t = TestApp::start(backend).await;
        assert_error(t.get("/images/12345").await, 404, "not_found").await;
        let r = t.post_image(&t.photo("rocket.jpg"), "").await;
        let id = r.json::<Value>().await.unwrap()["id"].as_i64().unwrap();
        std::fs::remove_file(&t.files()[0]).unwrap();
        let body = assert_error(t.get(&format!("/images/{id}")).await, 503, "image_unavailable").await;
        assert!(!body["message"].as_str().unwrap().contains('/'), "no path in the message: {body}");
    }

    async fn errors_of_every_endpoint(backend) {
        let t = TestApp::start(backend).await;
        let post = |content_type: &'static str, body: Vec<u8>| {
            t.client.post(format!("{}/images", t.url)).header("content-type", content_type).body(body).send()
        };
        // A small image: a large body the server refuses unread can race the client's sending of it.
        let gif = serde_json::to_vec(&serde_json::json!({"data": b64(&fixture("no_time_for_that_tiny.gif"))})).unwrap();
        assert_error(post("text/plain", gif).await.unwrap(), 415, "unsupported_media_type").await;
        assert_error(post("application/json", b"{\"data\": ".to_vec()).await.unwrap(), 400, "invalid_json").await;
        assert_error(post("application/json", b"{\"image\": \"x\"}".to_vec()).await.unwrap(), 400, "missing_data").await;
        assert_error(post("application/json", b"{\"data\": \"*not base64*\"}".to_vec()).await.unwrap(), 400, "invalid_base64").await;
        // Not UTF-8: refused as JSON, never patched into something that parses.
        // (cargo lambda watch answers a 500 of its own instead: tests/emulator.rs.)
        if !backend.emulator {
            assert_error(post("application/json", b"{\"data\": \"R0lG\xff\"}".to_vec()).await.unwrap(), 400, "invalid_json").await;
        }
        assert_error(t.post_image(b"just some text", "").await, 400, "not_an_image").await;
        assert_error(t.post_image(&fixture("rocket.jpg"), "?min_confidence=101").await, 400, "invalid_min_confidence").await;
        assert_error(t.get("/images?limit=0").await, 400, "invalid_limit").await;
        assert_error(t.get("/images?tag=cat").await, 400, "unknown_parameter").await;
        assert_error(t.get("/images?limit=1&limit=2").await, 400, "repeated_parameter").await;
        assert_error(t.get("/image/abc").await, 400, "invalid_id").await;
        assert_error(t.get("/images/0").await, 400, "invalid_id").await;
        assert_error(t.get("/images/99999999999").await, 404, "not_found").await;
        assert_error(t.get("/tags?min_date=2024-13-01").await, 400, "invalid_date").await;
        assert_error(t.get("/images/1?x=1").await, 400, "unknown_parameter").await;
        t.assert_nothing_stored().await;
    }

    // The limit is the serving process's: MAX_BODY_BYTES locally, Lambda's
    // 6 MiB less 64 KiB in a function (the emulator sets AWS_LAMBDA_RUNTIME_API).
    async fn a_body_over_the_limit_is_413(backend) {
        // Locally a small limit: a server that refuses a body by its length
        // closes the connection, and a client still writing megabytes then
        // sees a broken pipe instead of the answer. The emulator reads the
        // whole body before the function sees it.
        let options = Options { max_body_bytes: (!backend.emulator).then_some(1024), ..Options::default() };
        let t = TestApp::start_with(backend, options).await;
        let limit = if backend.emulator { pictures::config::LAMBDA_MAX_BODY_BYTES } else { t.app.max_body_bytes };
        for (size, status, code) in [(limit + 1, 413, "body_too_large"), (limit, 400, "invalid_base64")] {
            // Valid JSON of exactly `size` bytes whose `data` is not base64.
            let body = format!("{{\"data\":\"{}\"}}", "!".repeat(size - 11));
            let r = t.client.post(format!("{}/images", t.url)).header("content-type", "application/json").body(body).send().await.unwrap();
            assert_error(r, status, code).await;
        }
        t.assert_nothing_stored().await;
    }

    // Every byte of every format comes back as it went in: in the POST answer,
    // from GET, and on disk, whatever JSON escapes and line breaks carried it.
    async fn image_bytes_survive_the_round_trip(backend) {
        let t = TestApp::start(backend).await;
        for name in ["rocket.jpg", "chelsea.png", "no_time_for_that_tiny.gif", "multipage_rgb.tif"] {
            let bytes = t.photo(name);
            let encoded = b64(&bytes);
            let wrapped: Vec<&str> = encoded.as_bytes().chunks(76).map(|c| std::str::from_utf8(c).unwrap()).collect();
            let body = serde_json::to_string(&serde_json::json!({"data": wrapped.join("\n")})).unwrap().replace('/', "\\/");
            let r = t.client.post(format!("{}/images", t.url)).header("content-type", "application/json; charset=utf-8").body(body).send().await.unwrap();
            assert_eq!(r.status(), 201, "{name}");
            let posted: Value = r.json().await.unwrap();
            assert_eq!(posted["data"].as_str().unwrap(), b64(&bytes), "{name}");
            let got = t.get_json(&format!("/images/{}", posted["id"])).await;
            assert_eq!(got["data"], posted["data"], "{name}");
        }
        let mut stored: Vec<Vec<u8>> = t.files().iter().map(|f| std::fs::read(f).unwrap()).collect();
        let mut sent: Vec<Vec<u8>> = ["rocket.jpg", "chelsea.png", "no_time_for_that_tiny.gif", "multipage_rgb.tif"].map(|n| t.photo(n)).to_vec();
        stored.sort();
        sent.sort();
        assert!(stored == sent, "the files hold the uploads' bytes");
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
        let date = format!(
            "2024-03-{:02} {:02}:{:02}:00",
            rng.random_range(1..=9),
            rng.random_range(0..24),
            rng.random_range(0..60)
        );
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
        let lo = min.map(|m: &str| {
            if m.len() == 10 {
                format!("{m} 00:00:00")
            } else {
                m.to_string()
            }
        });
        let hi = max.map(|m: &str| {
            if m.len() == 10 {
                format!("{m} 23:59:59")
            } else {
                m.to_string()
            }
        });
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

both_backends! {
    // Date-range listings over pictures whose dates are NOT in id order
    // (rows written by other tools, clocks that moved) equal the brute-force
    // answer, page after page: the range's first id comes from whole days in
    // `picture_days` and partial edge days from the index.
    async fn date_pages_match_brute_force(backend) {
        use rand::{Rng, SeedableRng};
        let t = TestApp::start(backend).await;
        let mut rng = rand::rngs::StdRng::seed_from_u64(11);
        let mut all: Vec<(i64, String)> = Vec::new();
        for _ in 0..80 {
            let date = format!(
                "2024-03-{:02} {:02}:{:02}:00",
                rng.random_range(1..=9),
                rng.random_range(0..24),
                rng.random_range(0..60)
            );
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
            let lo = if min.len() == 10 { format!("{min} 00:00:00") } else { min.to_string() };
            let hi = if max.len() == 10 { format!("{max} 23:59:59") } else { max.to_string() };
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
                let ids: Vec<i64> = page.as_array().unwrap().iter().map(|p| p["id"].as_i64().unwrap()).collect();
                if ids.is_empty() {
                    break;
                }
                after = *ids.last().unwrap();
                got.extend(ids);
            }
            assert_eq!(got, expected, "{min} .. {max}");
            // Newest first, by the Link alone: the same pictures, the other way round.
            let newest = follow(&t, &format!("/images?min_date={min}&max_date={max}&limit=7&order=newest")).await;
            assert_eq!(newest.0, expected.iter().rev().copied().collect::<Vec<_>>(), "{min} .. {max}, newest first");
            // Open-ended: from `min` on.
            let open: Vec<i64> = t
                .get_json(&format!("/images?min_date={min}&limit=1000"))
                .await
                .as_array()
                .unwrap()
                .iter()
                .map(|p| p["id"].as_i64().unwrap())
                .collect();
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
        let mut all = Vec::new();
        for i in 0..7 {
            let tags: &[(&str, f64)] = if i % 2 == 0 { &[("even", 90.0), ("n", 80.0)] } else { &[("n", 80.0)] };
            all.push(seed(&t, &format!("2024-05-0{} 10:00:00", i + 1), tags).await);
        }
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

//! What an upload stores (a new picture, its file, its tags) and what a
//! read gives back, byte for byte.

use super::*;

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

    async fn missing_picture_and_file(backend) {
        let t = TestApp::start(backend).await;
        assert_error(t.get("/images/12345").await, 404, "not_found").await;
        let r = t.post_image(&t.photo("rocket.jpg"), "").await;
        let id = r.json::<Value>().await.unwrap()["id"].as_i64().unwrap();
        std::fs::remove_file(&t.files()[0]).unwrap();
        let body = assert_error(t.get(&format!("/images/{id}")).await, 503, "image_unavailable").await;
        assert!(!body["message"].as_str().unwrap().contains('/'), "no path in the message: {body}");
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

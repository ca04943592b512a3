//! Uploads at scale, through real HTTP on SQLite and MariaDB: de-duplication
//! under concurrency, multipart forms, upload links, presigned upload URLs
//! (folder store and S3 on loopback) with MD5 checks, and asynchronous
//! tagging through the queue.

use crate::common::*;
use md5::{Digest, Md5};
use serde_json::{Value, json};
use std::sync::Arc;
use std::time::Duration;

fn md5_hex(bytes: &[u8]) -> String {
    Md5::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

async fn new_user(t: &TestApp) -> String {
    let r = t
        .client
        .post(format!("{}/users", t.url))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    r.json::<Value>().await.unwrap()["api_key"]
        .as_str()
        .unwrap()
        .to_string()
}

/// Waits (up to 20 s) until the picture's status is no longer `pending`.
async fn settled(t: &TestApp, id: i64) -> Value {
    for _ in 0..400 {
        let p = t.get_json(&format!("/images/{id}")).await;
        if p["status"] != "pending" {
            return p;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("picture {id} is still pending");
}

fn form() -> reqwest::multipart::Form {
    reqwest::multipart::Form::new()
}

fn part(name: &str, bytes: Vec<u8>) -> reqwest::multipart::Part {
    reqwest::multipart::Part::bytes(bytes).file_name(name.to_string())
}

both_backends! {
    async fn the_same_bytes_twenty_times_at_once_are_one_picture(backend) {
        let t = Arc::new(TestApp::start(backend).await);
        let rocket = Arc::new(fixture("rocket.jpg"));
        let uploads: Vec<_> = (0..20)
            .map(|_| {
                let (t, rocket) = (t.clone(), rocket.clone());
                tokio::spawn(async move {
                    let r = t.post_image(&rocket, "?dedup=true").await;
                    let status = r.status().as_u16();
                    (status, r.json::<Value>().await.unwrap()["id"].as_i64().unwrap())
                })
            })
            .collect();
        let mut answers = Vec::new();
        for u in uploads {
            answers.push(u.await.unwrap());
        }
        let created = answers.iter().filter(|(s, _)| *s == 201).count();
        assert_eq!(created, 1, "{answers:?}");
        assert!(answers.iter().all(|(s, id)| (*s == 201 || *s == 200) && *id == answers[0].1), "{answers:?}");
        assert_eq!(t.row_counts().await, (1, 2), "one picture, its two tags");
        assert_eq!(t.files().iter().filter(|f| f.is_file()).count(), 1, "one file");
        assert_eq!(t.get_json("/tags").await[0]["n_images"], 1, "counted once");
        let hash = t.get_json(&format!("/images/{}", answers[0].1)).await["hash"].as_str().unwrap().to_string();
        assert_eq!(t.get_json(&format!("/images?hash={hash}")).await.as_array().unwrap().len(), 1);

        // Different owners each get their own picture of the same bytes.
        let (a, b) = (new_user(&t).await, new_user(&t).await);
        let mut owned = Vec::new();
        for key in [&a, &b, &a] {
            let r = t.client.post(format!("{}/images?dedup=true", t.url)).header("x-api-key", key)
                .json(&json!({"data": b64(&rocket)})).send().await.unwrap();
            owned.push((r.status().as_u16(), r.json::<Value>().await.unwrap()["id"].as_i64().unwrap()));
        }
        assert_eq!(owned[0].0, 201);
        assert_eq!(owned[1].0, 201);
        assert_ne!(owned[0].1, owned[1].1);
        assert_eq!(owned[2], (200, owned[0].1));
        assert_eq!(t.row_counts().await.0, 3);
    }

    async fn a_form_of_good_and_bad_files(backend) {
        let t = TestApp::start_with(backend, Options::with_vars(&[("MAX_FILE_BYTES", "300000")])).await;
        let truncated = fixture("rocket.jpg")[..2000].to_vec();
        let body = form()
            .part("image_files", part("cat.png", fixture("chelsea.png")))
            .part("image_files", part("notes.txt", b"just some text\n".to_vec()))
            .part("image_files", part("cut.jpg", truncated))
            .part("image_files", part("big.png", fixture("motorcycle_left.png")))
            .part("image_files", part("cup.png", fixture("camera.png")));
        let r = t.client.post(format!("{}/images", t.url)).multipart(body).send().await.unwrap();
        assert_eq!(r.status(), 200);
        let answer: Value = r.json().await.unwrap();
        assert_eq!(answer["ids"], json!({"cat.png": 1, "cup.png": 2}), "{answer}");
        let code = |name: &str| answer["errors"][name]["error"].as_str().unwrap_or("").to_string();
        assert_eq!(code("notes.txt"), "not_an_image");
        assert_eq!(code("cut.jpg"), "invalid_image");
        assert_eq!(code("big.png"), "file_too_large");
        assert!(answer["errors"]["big.png"]["message"].is_string());
        // Nothing half-written: two rows, two files, and the names kept.
        assert_eq!(t.row_counts().await.0, 2);
        assert_eq!(t.files().iter().filter(|f| f.is_file()).count(), 2);
        assert_eq!(t.get_json("/images/1").await["name"], "cat.png");
        assert_eq!(t.get_json("/images?name=CUP").await[0]["id"], 2);
        // A form without files is an empty answer, not an error.
        let r = t.client.post(format!("{}/images", t.url)).multipart(form().text("note", "hi")).send().await.unwrap();
        assert_eq!(r.json::<Value>().await.unwrap(), json!({"ids": {}, "errors": {}}));
    }

    async fn upload_links(backend) {
        let t = TestApp::start(backend).await;
        let key = new_user(&t).await;
        let me: Value = t.client.get(format!("{}/users/me", t.url)).header("x-api-key", &key).send().await.unwrap().json().await.unwrap();
        let r = t.client.post(format!("{}/upload-links", t.url)).header("x-api-key", &key)
            .json(&json!({"expiry": 60})).send().await.unwrap();
        assert_eq!(r.status(), 201);
        let link: Value = r.json().await.unwrap();
        let url = link["url"].as_str().unwrap();
        // The link is the credential: uploads go to its creator.
        let body = form().part("image_files", part("cat.png", fixture("chelsea.png")));
        let r = t.client.post(format!("{}{url}?private=true", t.url)).multipart(body).send().await.unwrap();
        assert_eq!(r.status(), 200);
        let answer: Value = r.json().await.unwrap();
        let id = answer["ids"]["cat.png"].as_i64().unwrap();
        let p: Value = t.client.get(format!("{}/images/{id}", t.url)).header("x-api-key", &key).send().await.unwrap().json().await.unwrap();
        assert_eq!((p["owner"].clone(), p["private"].clone()), (me["id"].clone(), json!(true)));
        assert_error(t.get(&format!("/images/{id}")).await, 404, "not_found").await;
        // Unknown, malformed and expired links.
        // Small forms: a refusal is sent before the form is read, and the
        // connection closed after it; a large form could still be on its way.
        let unknown = form().part("f", part("a.gif", fixture("no_time_for_that_tiny.gif")));
        let r = t.client.post(format!("{}/uploads/{}", t.url, "0".repeat(32))).multipart(unknown).send().await.unwrap();
        assert_error(r, 404, "not_found").await;
        t.execute("UPDATE upload_links SET expires = 1").await;
        let late = form().part("f", part("a.gif", fixture("no_time_for_that_tiny.gif")));
        let r = t.client.post(format!("{}{url}", t.url)).multipart(late).send().await.unwrap();
        assert_error(r, 410, "link_expired").await;
        for expiry in [0, 86_401] {
            let r = t.client.post(format!("{}/upload-links", t.url)).json(&json!({"expiry": expiry})).send().await.unwrap();
            assert_error(r, 400, "invalid_expiry").await;
        }
        assert_eq!(t.row_counts().await.0, 1);
    }

    async fn presigned_uploads_on_a_folder_store(backend) {
        let t = TestApp::start(backend).await;
        let key = new_user(&t).await;
        presigned_flow(&t, &key, None).await;
    }

    async fn asynchronous_tagging(backend) {
        let t = TestApp::start_with(backend, Options::with_vars(&[("TAG_RETRY_SECS", "1"), ("TAG_MAX_ATTEMPTS", "2")])).await;
        let mut ids = Vec::new();
        for name in ["rocket.jpg", "chelsea.png", "coffee.png"] {
            let r = t.post_image(&fixture(name), "?async=true").await;
            assert_eq!(r.status(), 201);
            let p: Value = r.json().await.unwrap();
            assert_eq!((p["status"].clone(), p["tags"].clone()), (json!("pending"), json!([])));
            ids.push(p["id"].as_i64().unwrap());
        }
        for id in &ids {
            let p = settled(&t, *id).await;
            assert_eq!(p["status"], "tagged");
            assert_eq!(p["tags"][0]["tag"], "rocket");
        }
        assert_eq!(t.get_json("/images?status=pending").await, json!([]));
        assert_eq!(t.get_json("/images?status=tagged").await.as_array().unwrap().len(), 3);
        assert_eq!(t.get_json("/tags").await[0]["n_images"], 3, "counted once each");
        assert_eq!(t.row_counts().await, (3, 6));
        // The colours and perceptual hash are read by the worker, from the
        // same decode as the tags.
        let p = t.get_json(&format!("/images/{}", ids[1])).await;
        assert!(!p["colors"].as_array().unwrap().is_empty(), "{p}");

        // Accepting reads the header only: a photo cut short is taken, then
        // ends failed with the decoder's reason, nothing tagged.
        let rocket = fixture("rocket.jpg");
        let r = t.post_image(&rocket[..rocket.len() / 2], "?async=true").await;
        assert_eq!(r.status(), 201);
        let cut = r.json::<Value>().await.unwrap()["id"].as_i64().unwrap();
        let p = settled(&t, cut).await;
        assert_eq!(p["status"], "failed");
        assert!(p["failure"].as_str().unwrap().contains("not a complete JPEG"), "{p}");
        assert_eq!(t.row_counts().await, (4, 6));
        t.execute(&format!("DELETE FROM pictures WHERE id = {cut}")).await;

        // A picture the tagger keeps failing on ends failed, with its reason.
        t.cloud.fail_imagga(wiremock::ResponseTemplate::new(500));
        let r = t.post_image(&fixture("motorcycle_left.png"), "?async=true").await;
        let id = r.json::<Value>().await.unwrap()["id"].as_i64().unwrap();
        let p = settled(&t, id).await;
        assert_eq!(p["status"], "failed");
        assert!(p["failure"].as_str().unwrap().contains("gave up after 2 tries"), "{p}");
        assert_eq!(t.get_json("/images?status=failed").await[0]["id"], id);
        assert_eq!(t.row_counts().await, (4, 6));
    }
}

/// The presigned flow of seed 004: upload URLs, PUTs, a batch registration
/// with MD5 checks and the person's names and tags, expiry, the sweep. `s3`
/// says where the objects land, for an S3 store.
async fn presigned_flow(t: &TestApp, key: &str, s3: Option<&S3Server>) {
    let r = t
        .client
        .post(format!("{}/upload-urls", t.url))
        .header("x-api-key", key)
        .json(&json!({"count": 4}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let urls: Value = r.json().await.unwrap();
    let slots = urls["image_upload_urls"].as_array().unwrap().clone();
    assert_eq!(slots.len(), 4);
    let absolute = |u: &str| {
        if u.starts_with('/') {
            format!("{}{u}", t.url)
        } else {
            u.to_string()
        }
    };
    let plain = reqwest::Client::new();
    let (cat, cup) = (fixture("chelsea.png"), fixture("coffee.png"));
    for (slot, bytes) in slots.iter().zip([&cat, &cup, &cat]) {
        assert_eq!(slot["method"], "PUT");
        // A plain HTTP PUT of the binary, no credentials: the URL is the permission.
        let r = plain
            .put(absolute(slot["url"].as_str().unwrap()))
            .body(bytes.clone())
            .send()
            .await
            .unwrap();
        assert!(r.status().is_success(), "{}", r.text().await.unwrap());
    }
    if let Some(s3) = s3 {
        let uploaded = s3
            .objects()
            .into_iter()
            .filter(|o| o.to_string_lossy().contains("/uploads/"))
            .count();
        assert_eq!(uploaded, 3, "the objects went straight to the bucket");
    }
    let id = |i: usize| slots[i]["image_id"].as_str().unwrap().to_string();
    let batch = json!({"images": [
        {"image_id": id(0), "name": "nicecat", "hash": md5_hex(&cat), "is_private": false, "tags": [{"name": "Leafy"}, {"name": "salad"}]},
        {"image_id": id(1), "name": "cup", "hash": md5_hex(&cat), "is_private": true, "tags": []},
        {"image_id": id(2), "name": "cat again", "is_private": "true"},
        {"image_id": id(3), "name": "never uploaded"},
        {"image_id": "0".repeat(32), "name": "no such slot"},
    ]});
    let r = t
        .client
        .post(format!("{}/images/batch", t.url))
        .header("x-api-key", key)
        .json(&batch)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let answer: Value = r.json().await.unwrap();
    let images = answer["images"].as_array().unwrap();
    assert_eq!(images.len(), 2, "{answer}");
    assert_eq!(images[0]["name"], "nicecat");
    let user_tags: Vec<&Value> = images[0]["tags"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|t| t["source"] == "user")
        .collect();
    assert_eq!(user_tags.len(), 2);
    assert_eq!(
        user_tags[0],
        &json!({"tag": "leafy", "confidence": 100.0, "source": "user"})
    );
    // The third slot held the same bytes as the first: the same picture.
    assert_eq!(images[1]["id"], images[0]["id"]);
    let errors: Vec<(String, String)> = answer["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["image_id"].as_str().unwrap().to_string(),
                e["error"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert_eq!(
        errors,
        vec![
            (id(1), "hash_mismatch".to_string()),
            (id(3), "not_uploaded".to_string()),
            ("0".repeat(32), "not_found".to_string()),
        ]
    );
    // The mismatched object is gone; registering it again finds nothing.
    let again = json!({"images": [{"image_id": id(1), "hash": md5_hex(&cup)}]});
    let r = t
        .client
        .post(format!("{}/images/batch", t.url))
        .header("x-api-key", key)
        .json(&again)
        .send()
        .await
        .unwrap();
    let answer: Value = r.json().await.unwrap();
    assert_eq!(answer["errors"][0]["error"], "not_found", "{answer}");
    // Found by its tags and name.
    let found: Value = t
        .client
        .get(format!("{}/images?tags=leafy&name=nice", t.url))
        .header("x-api-key", key)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(found.as_array().unwrap().len(), 1);

    // An expired URL is refused (on a folder store the service checks it).
    if s3.is_none() {
        let signer = t.app.signer().await.unwrap();
        let old = chrono::Utc::now().timestamp() - 10;
        let path = format!("/uploads/put/{}", id(3));
        let url = format!(
            "{}{path}?expires={old}&sig={}",
            t.url,
            signer.sign(&path, old)
        );
        assert_error(
            plain.put(url).body(cup.clone()).send().await.unwrap(),
            403,
            "url_expired",
        )
        .await;
        let tampered = absolute(slots[3]["url"].as_str().unwrap()).replace(&id(3), &id(2));
        assert_error(
            plain.put(tampered).body(cup.clone()).send().await.unwrap(),
            403,
            "bad_signature",
        )
        .await;
    }
    // An object never registered is swept once its URL expired.
    let r = plain
        .put(absolute(slots[3]["url"].as_str().unwrap()))
        .body(cup.clone())
        .send()
        .await
        .unwrap();
    assert!(r.status().is_success());
    t.execute("UPDATE upload_slots SET expires = 1").await;
    let report = pictures::domain::reconcile(&*t.app.db, &*t.app.store, Duration::from_secs(600))
        .await
        .unwrap();
    assert_eq!(report.expired_slots, 1);
    if let Some(s3) = s3 {
        let left = s3
            .objects()
            .into_iter()
            .filter(|o| o.to_string_lossy().contains("/uploads/"))
            .count();
        assert_eq!(left, 0);
    } else {
        let uploads = t.images.join("uploads");
        let left = std::fs::read_dir(&uploads).map(|d| d.count()).unwrap_or(0);
        assert_eq!(left, 0, "{}", uploads.display());
    }
    assert_eq!(t.row_counts().await.0, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn presigned_uploads_on_s3() {
    let s3 = S3Server::start();
    let t = TestApp::start_with(Backend::Sqlite, s3_options(&s3.url, SECRET_KEY)).await;
    let key = new_user(&t).await;
    presigned_flow(&t, &key, Some(&s3)).await;
}

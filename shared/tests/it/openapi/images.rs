//! Pictures: uploads (JSON, multipart, asynchronous, private, the seeds'
//! aliases), listings and searches, reading, changing, retagging and
//! deleting them, as the description documents each answer.

use super::ADMIN;
use super::client::{Api, Covers};
use super::fixtures::*;
use crate::common::*;
use serde_json::json;

pub(super) const ANONYMOUS: Covers = Covers {
    operations: &[
        ("POST", "/images"),
        ("POST", "/image"),
        ("POST", "/images/tags"),
        ("GET", "/images"),
        ("GET", "/images/{id}"),
        ("GET", "/image/{id}"),
        ("GET", "/tags"),
        ("GET", "/images/tags"),
    ],
    statuses: &[200, 201, 400, 404, 413, 415],
};

/// Uploads, searches, reads and tag statistics of anonymous callers.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn anonymous_uploads_searches_and_reads() {
    let t = open_app().await;
    let api = Api::new(&t);
    let rocket = fixture("rocket.jpg");
    let tiny = tiny();
    let first = api
        .req("post", "/images", "/images")
        .json(upload(&rocket))
        .expect(201)
        .await;
    let id = first["id"].as_i64().unwrap();
    let one = format!("/images/{id}");
    // The same bytes again, de-duplicated: the same picture, 200 (and 200
    // on the seeds' aliases, which make a new one).
    api.req("post", "/images", "/images?dedup=true")
        .json(upload(&rocket))
        .expect(200)
        .await;
    api.req("post", "/image", "/image?min_confidence=50")
        .json(upload(&rocket))
        .expect(200)
        .await;
    api.req("post", "/images/tags", "/images/tags")
        .json(upload(&distinct_png(50)))
        .expect(200)
        .await;
    for (path, body, content_type, status) in [
        (
            "/images",
            br#"{"data":"!!"}"#.to_vec(),
            "application/json",
            400,
        ),
        (
            "/images",
            br#"{"data":"aGVsbG8="}"#.to_vec(),
            "application/json",
            400,
        ),
        (
            "/images",
            b"data=1".to_vec(),
            "application/x-www-form-urlencoded",
            415,
        ),
        ("/images/tags", b"x".to_vec(), "text/plain", 415),
    ] {
        api.req("post", path, path)
            .body(content_type, body)
            .expect(status)
            .await;
    }
    let json_type = ("content-type", "application/json");
    // Over the local default (64 MiB): the length alone is refused.
    api.declared(
        "post",
        "/image",
        &[json_type],
        pictures::config::LOCAL_MAX_BODY_BYTES + 1,
        413,
    )
    .await;
    api.req("post", "/images", "/images?min_confidence=101")
        .json(upload(&tiny))
        .expect(400)
        .await;
    for (query, status) in [
        ("", 200),
        ("?tags=rocket,sky&limit=1", 200),
        (
            "?format=jpeg&status=tagged&color=%23336699&faces_min=0&name=x&camera=y",
            200,
        ),
        ("?order=newest&limit=1&after=0&before=99", 200),
        ("?color=%23ff6600&color_distance=96", 200),
        ("?min_date=2024-13-01", 400),
        ("?tags=,,", 400),
        ("?tag=rocket", 400),
        ("?order=latest", 400),
        ("?color_distance=96", 400),
    ] {
        api.req("get", "/images", &format!("/images{query}"))
            .expect(status)
            .await;
    }
    for (path, target, status) in [
        ("/images/{id}", one.clone(), 200),
        ("/image/{id}", format!("/image/{id}"), 200),
        ("/images/{id}", "/images/abc".into(), 400),
        ("/image/{id}", "/image/0".into(), 400),
        ("/images/{id}", "/images/999".into(), 404),
    ] {
        api.req("get", path, &target).expect(status).await;
    }
    for (path, query, status) in [
        ("/tags", "", 200),
        ("/tags", "?min_date=2020-01-01&max_date=2099-12-31", 200),
        ("/tags", "?max_date=soon", 400),
        ("/images/tags", "?min_date=2020-01-01", 200),
        ("/images/tags", "?min_date=yesterday", 400),
    ] {
        api.req("get", path, &format!("{path}{query}"))
            .expect(status)
            .await;
    }
    api.covered(&ANONYMOUS);
}

pub(super) const A_USERS: Covers = Covers {
    operations: &[
        ("POST", "/images"),
        ("POST", "/image"),
        ("POST", "/images/tags"),
        ("GET", "/images"),
        ("GET", "/images/{id}"),
    ],
    statuses: &[200, 201, 400, 401, 403, 404],
};

/// A user's pictures: private, asynchronous, multipart; searching and
/// reading them.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_users_uploads_and_searches() {
    let t = open_app().await;
    let api = Api::new(&t);
    let World {
        one,
        key_a,
        private,
        private_path,
        ..
    } = world(&api).await;
    let tiny = tiny();
    let chelsea = fixture("chelsea.png");
    api.req("post", "/images", "/images?dedup=true")
        .key(&key_a)
        .json(upload(&chelsea))
        .expect(200)
        .await;
    api.req("post", "/images", "/images?private=true")
        .json(upload(&chelsea))
        .expect(401)
        .await;
    api.req("post", "/images", "/images?private=true")
        .key(ADMIN)
        .json(upload(&chelsea))
        .expect(403)
        .await;
    api.req("post", "/images", "/images")
        .key("not-a-key")
        .json(upload(&tiny))
        .expect(401)
        .await;
    let pending = api
        .req("post", "/images", "/images?async=true")
        .key(&key_a)
        .json(json!({"data": b64(&distinct_png(1)), "name": "one", "tags": ["leafy", {"name": "Green"}]}))
        .expect(201)
        .await;
    assert_eq!(pending["status"], "pending");
    let form = files(&[
        ("image_files", "two.png", distinct_png(2)),
        ("image_files", "three.png", distinct_png(3)),
        ("image_files", "notes.txt", b"not a picture".to_vec()),
    ]);
    let answer = api
        .req("post", "/images", "/images")
        .key(&key_a)
        .multipart(form)
        .expect(200)
        .await;
    assert_eq!(answer["ids"].as_object().unwrap().len(), 2, "{answer}");
    assert_eq!(answer["errors"]["notes.txt"]["error"], "not_an_image");
    let form = files(&[("file", "four.png", distinct_png(4))]);
    api.req("post", "/image", "/image")
        .multipart(form)
        .expect(200)
        .await;
    let form = files(&[("file", "five.png", distinct_png(5))]);
    api.req("post", "/images/tags", "/images/tags")
        .multipart(form)
        .expect(200)
        .await;

    // --- Searching and reading them.
    let hash = text(&private["hash"]);
    for (cred, query, status) in [
        (Some(&key_a), "?owner=me", 200),
        (None, "?owner=me", 401),
        (Some(&key_a), &*format!("?hash={hash}"), 200),
        (Some(&key_a), "?status=pending", 200),
        (None, "?owner=you", 400),
    ] {
        let mut r = api.req("get", "/images", &format!("/images{query}"));
        if let Some(key) = cred {
            r = r.key(key);
        }
        r.expect(status).await;
    }
    let (headers, page) = api
        .req("get", "/images", "/images?limit=1")
        .answer(200)
        .await;
    assert_eq!(page.as_array().unwrap().len(), 1);
    assert!(headers["link"].to_str().unwrap().contains("rel=\"next\""));
    api.req("get", "/images/{id}", &private_path)
        .expect(404)
        .await;
    let mine = api
        .req("get", "/images/{id}", &private_path)
        .key(&key_a)
        .expect(200)
        .await;
    assert!(mine["data"].is_string());
    api.req("get", "/images/{id}", &private_path)
        .key(ADMIN)
        .expect(200)
        .await;
    api.req("get", "/images/{id}", &format!("{one}?x=1"))
        .expect(400)
        .await;

    api.covered(&A_USERS);
}

pub(super) const CHANGES: Covers = Covers {
    operations: &[("PATCH", "/images/{id}"), ("POST", "/images/{id}/retag")],
    statuses: &[200, 400, 401, 403, 404, 415],
};

/// Changing a picture (name, tags, privacy) and retagging it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn changing_and_retagging() {
    let t = open_app().await;
    let api = Api::new(&t);
    let World {
        one,
        key_a,
        key_b,
        private_path,
        ..
    } = world(&api).await;
    let changed = api
        .req("patch", "/images/{id}", &private_path)
        .key(&key_a)
        .json(json!({"name": "kitty", "add_tags": ["leafy", {"name": "Pet"}], "remove_tags": []}))
        .expect(200)
        .await;
    assert!(
        changed["tags"]
            .as_array()
            .unwrap()
            .iter()
            .any(|t| t["source"] == "user")
    );
    api.req("patch", "/images/{id}", &private_path)
        .key(&key_a)
        .json(json!({"colour": "red"}))
        .expect(400)
        .await;
    api.req("patch", "/images/{id}", &private_path)
        .key(&key_a)
        .body("text/plain", "x")
        .expect(415)
        .await;
    api.req("patch", "/images/{id}", &private_path)
        .key(&key_b)
        .json(json!({"name": "mine"}))
        .expect(404)
        .await;
    api.req("patch", "/images/{id}", &one)
        .key(ADMIN)
        .json(json!({"private": true}))
        .expect(403)
        .await;
    api.req("patch", "/images/{id}", &one)
        .key("nope")
        .json(json!({}))
        .expect(401)
        .await;
    api.req("patch", "/images/{id}", "/images/x")
        .key(ADMIN)
        .json(json!({}))
        .expect(400)
        .await;
    let retag = format!("{one}/retag");
    api.req("post", "/images/{id}/retag", &retag)
        .key(ADMIN)
        .expect(200)
        .await;
    api.req("post", "/images/{id}/retag", &retag)
        .expect(404)
        .await;
    api.req(
        "post",
        "/images/{id}/retag",
        &format!("{retag}?min_confidence=x"),
    )
    .key(ADMIN)
    .expect(400)
    .await;
    api.req("post", "/images/{id}/retag", &retag)
        .key("nope")
        .expect(401)
        .await;
    api.covered(&CHANGES);
}

pub(super) const DELETIONS: Covers = Covers {
    operations: &[("DELETE", "/images/{id}"), ("DELETE", "/images")],
    statuses: &[200, 204, 400, 401, 404, 413, 415],
};

/// Deleting one picture, and many at once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deleting() {
    let t = open_app().await;
    let api = Api::new(&t);
    let World {
        key_a,
        key_b,
        private_path,
        ..
    } = world(&api).await;
    let two = api
        .req("post", "/images", "/images")
        .key(&key_a)
        .json(upload(&distinct_png(2)))
        .expect(201)
        .await["id"]
        .as_i64()
        .unwrap();
    let json_type = ("content-type", "application/json");
    api.req("delete", "/images/{id}", &private_path)
        .key(&key_b)
        .expect(404)
        .await;
    api.req("delete", "/images/{id}", &private_path)
        .key(&key_a)
        .expect(204)
        .await;
    api.req("delete", "/images/{id}", &private_path)
        .key(&key_a)
        .expect(404)
        .await;
    api.req("delete", "/images/{id}", "/images/abc")
        .key(&key_a)
        .expect(400)
        .await;
    api.req("delete", "/images/{id}", &private_path)
        .key("nope")
        .expect(401)
        .await;
    let deleted = api
        .req("delete", "/images", "/images")
        .key(&key_a)
        .json(json!({"ids": [two, 424242]}))
        .expect(200)
        .await;
    assert_eq!(deleted, json!({"deleted": [two], "not_found": [424242]}));
    let ids: Vec<i64> = (1..=1001).collect();
    api.req("delete", "/images", "/images")
        .key(ADMIN)
        .json(json!({"ids": ids}))
        .expect(400)
        .await;
    api.req("delete", "/images", "/images")
        .key(ADMIN)
        .body("text/plain", "x")
        .expect(415)
        .await;
    api.req("delete", "/images", "/images")
        .key("nope")
        .json(json!({"ids": []}))
        .expect(401)
        .await;
    let cred = ADMIN.to_string();
    api.declared(
        "delete",
        "/images",
        &[json_type, ("x-api-key", &cred)],
        1_100_000,
        413,
    )
    .await;
    api.covered(&DELETIONS);
}

//! Statistics and analysis: the statistics page, a picture's colours and
//! palette, near-duplicates, and the colours of an upload.

use super::client::{Api, Covers};
use super::fixtures::*;
use crate::common::*;

pub(super) const ANALYSIS: Covers = Covers {
    operations: &[
        ("GET", "/stats"),
        ("GET", "/images/{id}/colors"),
        ("GET", "/images/{id}/palette.png"),
        ("GET", "/images/{id}/similar"),
        ("POST", "/colors"),
    ],
    statuses: &[200, 201, 400, 401, 404, 415],
};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn statistics_colors_and_similar() {
    let t = open_app().await;
    let api = Api::new(&t);
    let World {
        one,
        key_a,
        private_path,
        ..
    } = world(&api).await;
    let rocket = fixture("rocket.jpg");
    let tiny = tiny();
    api.req("get", "/stats", "/stats").expect(200).await;
    api.req("get", "/stats", "/stats")
        .key(&key_a)
        .expect(200)
        .await;
    api.req("get", "/stats", "/stats?days=3").expect(400).await;
    api.req("get", "/stats", "/stats")
        .key("nope")
        .expect(401)
        .await;
    api.req("get", "/images/{id}/colors", &format!("{one}/colors?k=3"))
        .expect(200)
        .await;
    api.req("get", "/images/{id}/colors", &format!("{one}/colors?k=0"))
        .expect(400)
        .await;
    api.req("get", "/images/{id}/colors", "/images/999/colors")
        .expect(404)
        .await;
    api.req("get", "/images/{id}/colors", &format!("{one}/colors"))
        .key("nope")
        .expect(401)
        .await;
    api.req(
        "get",
        "/images/{id}/palette.png",
        &format!("{one}/palette.png"),
    )
    .expect(200)
    .await;
    api.req(
        "get",
        "/images/{id}/palette.png",
        &format!("{one}/palette.png?k=17"),
    )
    .expect(400)
    .await;
    api.req(
        "get",
        "/images/{id}/palette.png",
        &format!("{private_path}/palette.png"),
    )
    .expect(404)
    .await;
    api.req(
        "get",
        "/images/{id}/palette.png",
        &format!("{one}/palette.png"),
    )
    .key("nope")
    .expect(401)
    .await;
    // The same photo as a PNG: a near-duplicate.
    let mut copy = Vec::new();
    image::load_from_memory(&rocket)
        .unwrap()
        .write_to(
            &mut std::io::Cursor::new(&mut copy),
            image::ImageFormat::Png,
        )
        .unwrap();
    api.req("post", "/images", "/images")
        .json(upload(&copy))
        .expect(201)
        .await;
    let similar = api
        .req("get", "/images/{id}/similar", &format!("{one}/similar"))
        .expect(200)
        .await;
    assert!(!similar.as_array().unwrap().is_empty(), "{similar}");
    api.req(
        "get",
        "/images/{id}/similar",
        &format!("{one}/similar?max_distance=17"),
    )
    .expect(400)
    .await;
    api.req("get", "/images/{id}/similar", "/images/999/similar")
        .expect(404)
        .await;
    api.req("get", "/images/{id}/similar", &format!("{one}/similar"))
        .key("nope")
        .expect(401)
        .await;
    let form = files(&[("image", "rocket.jpg", rocket.clone())]).text("k", "3");
    let colors = api
        .req("post", "/colors", "/colors")
        .multipart(form)
        .expect(200)
        .await;
    assert_eq!(colors["colors"].as_array().unwrap().len(), 3);
    api.req("post", "/colors", "/colors?k=2")
        .json(upload(&rocket))
        .expect(200)
        .await;
    api.req("post", "/colors", "/colors")
        .body("text/plain", "x")
        .expect(415)
        .await;
    let form = reqwest::multipart::Form::new().text("k", "3");
    api.req("post", "/colors", "/colors")
        .multipart(form)
        .expect(400)
        .await;
    api.req("post", "/colors", "/colors?k=0")
        .json(upload(&rocket))
        .expect(400)
        .await;
    api.req("post", "/colors", "/colors")
        .key("nope")
        .json(upload(&tiny))
        .expect(401)
        .await;
    api.covered(&ANALYSIS);
}

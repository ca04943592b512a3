//! What fails outside the request: a tagger that fails (502, nothing
//! stored) and an image folder gone (503), as documented.

use super::ADMIN;
use super::client::{Api, Covers};
use super::fixtures::*;
use crate::common::*;

pub(super) const TAGGER: Covers = Covers {
    operations: &[
        ("POST", "/images"),
        ("POST", "/images/{id}/retag"),
        ("POST", "/image"),
    ],
    statuses: &[502],
};

/// The tagger fails: 502, nothing stored.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_tagger_is_502() {
    let t = open_app().await;
    let api = Api::new(&t);
    let World { one, .. } = world(&api).await;
    let retag = format!("{one}/retag");
    let stored = (t.row_counts().await, t.files().len());
    t.cloud.fail_imagga(wiremock::ResponseTemplate::new(500));
    api.req("post", "/images", "/images")
        .json(upload(&distinct_png(11)))
        .expect(502)
        .await;
    api.req("post", "/images/{id}/retag", &retag)
        .key(ADMIN)
        .expect(502)
        .await;
    let form = files(&[("f", "twelve.png", distinct_png(12))]);
    api.req("post", "/image", "/image")
        .multipart(form)
        .expect(502)
        .await;
    t.cloud.clear_imagga_failure();
    assert_eq!(
        (t.row_counts().await, t.files().len()),
        stored,
        "nothing stored"
    );
    api.covered(&TAGGER);
}

pub(super) const FOLDER: Covers = Covers {
    operations: &[("GET", "/images/{id}"), ("POST", "/images")],
    statuses: &[503],
};

/// The folder goes away: 503, as documented.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lost_folder_is_503() {
    let t = open_app().await;
    let api = Api::new(&t);
    let World { one, .. } = world(&api).await;
    std::fs::remove_dir_all(&t.images).unwrap();
    std::fs::write(&t.images, b"not a folder").unwrap();
    api.req("get", "/images/{id}", &one).expect(503).await;
    api.req("post", "/images", "/images")
        .json(upload(&distinct_png(13)))
        .expect(503)
        .await;
    api.covered(&FOLDER);
}

//! A picture's file and thumbnails: entity tags and 304, signed view URLs
//! (tampered with, expired), sizes.

use super::client::{Api, Covers};
use super::fixtures::*;

pub(super) const FILES: Covers = Covers {
    operations: &[
        ("GET", "/images/{id}/file"),
        ("GET", "/images/{id}/thumbnail"),
    ],
    statuses: &[200, 304, 400, 401, 403, 404],
};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn files_and_thumbnails() {
    let t = open_app().await;
    let api = Api::new(&t);
    let World {
        one,
        private,
        pid,
        private_path,
        ..
    } = world(&api).await;
    let file = format!("{one}/file");
    let (headers, _) = api.req("get", "/images/{id}/file", &file).answer(200).await;
    let etag = headers["etag"].to_str().unwrap().to_string();
    api.req("get", "/images/{id}/file", &file)
        .header("if-none-match", &etag)
        .expect(304)
        .await;
    let view = relative(&text(&private["view_url"]));
    api.req("get", "/images/{id}/file", &view).expect(200).await;
    api.req("get", "/images/{id}/file", &format!("{view}0"))
        .expect(403)
        .await;
    api.req(
        "get",
        "/images/{id}/file",
        &format!("{private_path}/file?expires=1"),
    )
    .expect(403)
    .await;
    let signer = t.app.signer().await.unwrap();
    let old = chrono::Utc::now().timestamp() - 10;
    let pid_picture = t.app.db.picture(pid).await.unwrap().unwrap();
    let expired = pictures::domain::files::signed_view_url(signer, &pid_picture, old);
    let refused = api
        .req("get", "/images/{id}/file", &expired)
        .expect(403)
        .await;
    assert_eq!(refused["error"], "url_expired");
    api.req("get", "/images/{id}/file", &format!("{private_path}/file"))
        .expect(404)
        .await;
    api.req("get", "/images/{id}/file", "/images/abc/file")
        .expect(400)
        .await;
    api.req("get", "/images/{id}/file", &file)
        .key("nope")
        .expect(401)
        .await;
    let thumbnail = format!("{one}/thumbnail?size=64");
    let (headers, _) = api
        .req("get", "/images/{id}/thumbnail", &thumbnail)
        .answer(200)
        .await;
    let etag = headers["etag"].to_str().unwrap().to_string();
    api.req("get", "/images/{id}/thumbnail", &thumbnail)
        .header("if-none-match", &etag)
        .expect(304)
        .await;
    api.req(
        "get",
        "/images/{id}/thumbnail",
        &format!("{one}/thumbnail?size=10"),
    )
    .expect(400)
    .await;
    api.req("get", "/images/{id}/thumbnail", "/images/999/thumbnail")
        .expect(404)
        .await;
    let signed_thumbnail = view.replace("/file?", "/thumbnail?");
    api.req("get", "/images/{id}/thumbnail", &signed_thumbnail)
        .expect(200)
        .await;
    api.req(
        "get",
        "/images/{id}/thumbnail",
        &format!("{signed_thumbnail}0"),
    )
    .expect(403)
    .await;
    api.req("get", "/images/{id}/thumbnail", &thumbnail)
        .key("nope")
        .expect(401)
        .await;
    api.covered(&FILES);
}

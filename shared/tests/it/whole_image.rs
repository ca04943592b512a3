//! An upload must decode whole before it is tagged or stored, whatever the
//! tagger: a photo cut off after its header is a 400, and nothing is left
//! anywhere (Imagga would have tagged its first rows).

use crate::common::*;

both_backends! {
    async fn a_truncated_photo_is_refused_before_tagging(backend) {
        let t = TestApp::start(backend).await;
        let rocket = fixture("rocket.jpg");
        let png = fixture("chelsea.png");
        for cut in [&rocket[..2_000], &png[..png.len() / 2]] {
            let body = assert_error(t.post_image(cut, "").await, 400, "invalid_image").await;
            assert!(body["message"].as_str().unwrap().contains("not a complete"), "{body}");
        }
        t.assert_nothing_stored().await;
        assert_eq!(t.cloud.counts(), (0, 0, 0), "nothing was sent to ImageKit or Imagga");
        // The whole photo goes through.
        assert_eq!(t.post_image(&rocket, "").await.status(), 201);
        assert_eq!(t.row_counts().await.0, 1);
    }
}

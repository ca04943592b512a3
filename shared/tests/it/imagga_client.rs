//! The Imagga tagger against a loopback server speaking the ImageKit and
//! Imagga wire protocols: the requests it sends, byte for byte where it matters.

use crate::common::*;
use base64::Engine;
use pictures::domain::ImageData;
use pictures::tagger::{ImageKitConfig, ImaggaConfig, ImaggaTagger, Staging, Tagger};
use std::time::Duration;

fn tagger(cloud: &FakeCloud) -> ImaggaTagger {
    let _ = rustls::crypto::ring::default_provider().install_default();
    ImaggaTagger::new(
        ImaggaConfig {
            api_key: IMAGGA_KEY.into(),
            api_secret: IMAGGA_SECRET.into(),
            base_url: cloud.uri(),
        },
        Staging::ImageKit(ImageKitConfig {
            private_key: IMAGEKIT_PRIVATE_KEY.into(),
            upload_url: cloud.uri(),
            api_url: cloud.uri(),
        }),
        Duration::from_secs(5),
    )
}

#[tokio::test]
async fn stages_tags_and_unstages() {
    let cloud = FakeCloud::start(&[("cat", 99.9), ("pet", 42.0)]).await;
    let image = ImageData::from_bytes(fixture("chelsea.png")).unwrap();
    let tags = tagger(&cloud).tag(&image).await.unwrap().tags;
    let got: Vec<(String, f64)> = tags.into_iter().map(|t| (t.name, t.confidence)).collect();
    assert_eq!(
        got,
        [("cat".to_string(), 99.9), ("pet".to_string(), 42.0)],
        "unfiltered, as Imagga sent them"
    );

    let requests = cloud.server.received_requests().await.unwrap();
    assert_eq!(requests.len(), 3);
    let auth = |r: &wiremock::Request| {
        r.headers
            .get("authorization")
            .unwrap()
            .to_str()
            .unwrap()
            .to_string()
    };
    let ik_auth = format!(
        "Basic {}",
        b64(format!("{IMAGEKIT_PRIVATE_KEY}:").as_bytes())
    );

    // 1. ImageKit upload: multipart with the base64 file and a .png name, private key as user.
    let upload = &requests[0];
    assert_eq!(
        (upload.method.as_str(), upload.url.path()),
        ("POST", "/api/v1/files/upload")
    );
    assert_eq!(auth(upload), ik_auth);
    assert!(
        upload.headers["content-type"]
            .to_str()
            .unwrap()
            .starts_with("multipart/form-data; boundary=")
    );
    let body = String::from_utf8(upload.body.clone()).unwrap();
    assert!(
        body.contains(&b64(image.bytes())),
        "the file field carries the image as base64"
    );
    assert!(
        body.contains("name=\"fileName\"") && body.contains(".png\r\n"),
        "{}",
        &body[..300.min(body.len())]
    );

    // 2. Imagga: GET /v2/tags?image_url=<the staged URL>, basic auth key:secret.
    let tag = &requests[1];
    assert_eq!((tag.method.as_str(), tag.url.path()), ("GET", "/v2/tags"));
    assert_eq!(
        auth(tag),
        format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD
                .encode(format!("{IMAGGA_KEY}:{IMAGGA_SECRET}"))
        )
    );
    let image_url = tag
        .url
        .query_pairs()
        .find(|(k, _)| k == "image_url")
        .unwrap()
        .1
        .into_owned();
    assert!(
        image_url.starts_with(&format!("{}/staged/file000001/", cloud.uri())),
        "{image_url}"
    );

    // 3. ImageKit delete of that very file.
    let delete = &requests[2];
    assert_eq!(
        (delete.method.as_str(), delete.url.path()),
        ("DELETE", "/v1/files/file000001")
    );
    assert_eq!(auth(delete), ik_auth);
    assert!(cloud.staged().is_empty());
}

#[tokio::test]
async fn unstages_when_tagging_fails() {
    let cloud = FakeCloud::start(&[]).await;
    cloud.fail_imagga(wiremock::ResponseTemplate::new(429).set_body_string("rate limited"));
    let image = ImageData::from_bytes(fixture("rocket.jpg")).unwrap();
    let err = tagger(&cloud).tag(&image).await.unwrap_err().to_string();
    assert!(err.contains("429"), "{err}");
    assert_eq!(cloud.counts(), (1, 1, 1));
    assert!(cloud.staged().is_empty());
}

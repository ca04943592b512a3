//! The on-device tagger on real photos, against EfficientNet-Lite0's
//! reference probabilities (TF-style preprocessing; see
//! tests/fixtures/images/README.md).

mod common;

use common::*;
use pictures::domain::ImageData;
use pictures::tagger::{LocalTagger, Tagger};
use std::path::Path;
use std::sync::OnceLock;

fn tagger() -> &'static LocalTagger {
    static TAGGER: OnceLock<LocalTagger> = OnceLock::new();
    TAGGER.get_or_init(|| {
        let dir = std::env::var("MODEL_DIR")
            .unwrap_or_else(|_| concat!(env!("CARGO_MANIFEST_DIR"), "/../data/models").into());
        LocalTagger::load(Path::new(&dir)).expect("the model is fetched by `make model`")
    })
}

/// The top `n` classes as (label, probability in percent).
fn top(name: &str, n: usize) -> Vec<(String, f64)> {
    let image = ImageData::from_bytes(fixture(name)).unwrap();
    let p = tagger().classify(&image).unwrap();
    let mut order: Vec<usize> = (0..p.len()).collect();
    order.sort_by(|&a, &b| p[b].total_cmp(&p[a]));
    order
        .into_iter()
        .take(n)
        .map(|c| {
            (
                tagger().vocabulary().label(c).to_string(),
                f64::from(p[c]) * 100.0,
            )
        })
        .collect()
}

fn probability(top: &[(String, f64)], label: &str) -> f64 {
    top.iter()
        .find(|(l, _)| l == label)
        .map_or(0.0, |(_, p)| *p)
}

/// Asserts the top classes, in order, each within `tolerance` percentage
/// points of the reference.
fn assert_reference(name: &str, reference: &[(&str, f64)], tolerance: f64) {
    let got = top(name, reference.len());
    let labels: Vec<&str> = got.iter().map(|(l, _)| l.as_str()).collect();
    let wanted: Vec<&str> = reference.iter().map(|(l, _)| *l).collect();
    let mut sorted_got = labels.clone();
    let mut sorted_wanted = wanted.clone();
    sorted_got.sort();
    sorted_wanted.sort();
    assert_eq!(sorted_got, sorted_wanted, "{name}: {got:?}");
    for (label, p) in reference {
        let q = probability(&got, label);
        assert!(
            (q - p).abs() <= tolerance,
            "{name}: {label} {q:.1}%, reference {p}%"
        );
    }
}

#[test]
fn chelsea_matches_the_reference() {
    assert_reference(
        "chelsea.png",
        &[("tiger cat", 39.0), ("egyptian cat", 38.0), ("tabby", 16.0)],
        6.0,
    );
}

#[test]
fn coffee_matches_the_reference() {
    assert_reference("coffee.png", &[("espresso", 95.0)], 2.0);
}

#[test]
fn rocket_matches_the_reference() {
    assert_reference(
        "rocket.jpg",
        &[("missile", 31.0), ("projectile", 21.0)],
        8.0,
    );
}

#[test]
fn motorcycle_matches_the_reference() {
    assert_reference(
        "motorcycle_left.png",
        &[("moped", 53.0), ("motor scooter", 13.0)],
        5.0,
    );
}

async fn tags_of(name: &str) -> Vec<(String, f64)> {
    let image = ImageData::from_bytes(fixture(name)).unwrap();
    let tags = tagger().tag(&image).await.unwrap();
    tags.into_iter().map(|t| (t.name, t.confidence)).collect()
}

fn confidence(tags: &[(String, f64)], name: &str) -> f64 {
    tags.iter()
        .find(|(n, _)| n == name)
        .map_or(0.0, |(_, c)| *c)
}

#[tokio::test]
async fn parents_collect_their_classes() {
    let cat = tags_of("chelsea.png").await;
    for parent in ["cat", "feline", "carnivore", "mammal", "animal"] {
        assert!(confidence(&cat, parent) >= 80.0, "{parent}: {cat:?}");
    }
    // A parent is the sum of its classes: at least the three cat classes.
    let three: f64 = ["tiger cat", "egyptian cat", "tabby"]
        .iter()
        .map(|l| confidence(&cat, l))
        .sum();
    assert!(confidence(&cat, "cat") >= three - 0.01);
    assert!(confidence(&cat, "cat") <= 100.0);
    // Abstract nodes are never tags.
    for abstract_node in [
        "entity",
        "object",
        "whole",
        "organism",
        "artifact",
        "placental",
    ] {
        assert_eq!(confidence(&cat, abstract_node), 0.0, "{abstract_node}");
    }
    let coffee = tags_of("coffee.png").await;
    assert!(confidence(&coffee, "espresso") >= 80.0, "{coffee:?}");
    let moped = tags_of("motorcycle_left.png").await;
    assert!(
        confidence(&moped, "motor vehicle") >= confidence(&moped, "moped"),
        "{moped:?}"
    );
    assert!(confidence(&moped, "vehicle") >= confidence(&moped, "motor vehicle"));
}

#[tokio::test]
async fn every_supported_kind_of_input_is_tagged() {
    // Grayscale PNG, RGBA PNG, a tiny animated GIF, a two-page TIFF.
    for name in [
        "camera.png",
        "logo.png",
        "no_time_for_that_tiny.gif",
        "multipage_rgb.tif",
    ] {
        let tags = tags_of(name).await;
        assert!(!tags.is_empty(), "{name}");
        assert!(
            tags.iter().all(|(n, c)| !n.is_empty()
                && n.chars().count() <= 32
                && (1.0..=100.0).contains(c))
        );
    }
    assert!(confidence(&tags_of("camera.png").await, "tripod") >= 50.0);
}

/// Re-encodes an image as JPEG, optionally with an EXIF orientation tag.
fn jpeg(img: &image::RgbImage, orientation: Option<u16>) -> Vec<u8> {
    let mut out = Vec::new();
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, 90)
        .encode_image(img)
        .unwrap();
    if let Some(o) = orientation {
        // APP1 "Exif": a little-endian TIFF header and one IFD entry (0x0112).
        let mut tiff = b"II*\0\x08\0\0\0\x01\0\x12\x01\x03\0\x01\0\0\0".to_vec();
        tiff.extend_from_slice(&o.to_le_bytes());
        tiff.extend_from_slice(&[0, 0, 0, 0, 0, 0]);
        let mut app1 = b"Exif\0\0".to_vec();
        app1.extend_from_slice(&tiff);
        let mut segment = vec![0xff, 0xe1];
        segment.extend_from_slice(&((app1.len() + 2) as u16).to_be_bytes());
        segment.extend_from_slice(&app1);
        out.splice(2..2, segment);
    }
    out
}

#[test]
fn exif_orientation_is_honoured() {
    let upright = image::load_from_memory(&fixture("rocket.jpg"))
        .unwrap()
        .to_rgb8();
    // Stored turned a quarter left, tagged "rotate 90° clockwise to display".
    let stored = image::imageops::rotate270(&upright);
    let rotated = ImageData::from_bytes(jpeg(&stored, Some(6))).unwrap();
    let decoded = pictures::tagger::local::decode_upright(&rotated).unwrap();
    assert_eq!(decoded.dimensions(), upright.dimensions());
    let p = tagger().classify(&rotated).unwrap();
    let best = (0..p.len()).max_by(|&a, &b| p[a].total_cmp(&p[b])).unwrap();
    assert_eq!(tagger().vocabulary().label(best), "missile");
    // The same pixels without the tag are read as stored.
    let plain = ImageData::from_bytes(jpeg(&stored, None)).unwrap();
    assert_eq!(
        pictures::tagger::local::decode_upright(&plain)
            .unwrap()
            .dimensions(),
        (427, 640)
    );
}

#[test]
fn large_photos_decode_at_reduced_scale() {
    let cat = image::load_from_memory(&fixture("chelsea.png"))
        .unwrap()
        .to_rgb8();
    let big = image::imageops::resize(&cat, 4000, 2660, image::imageops::FilterType::Triangle);
    let photo = ImageData::from_bytes(jpeg(&big, None)).unwrap();
    let decoded = pictures::tagger::local::decode_upright(&photo).unwrap();
    let (w, h) = decoded.dimensions();
    assert!(w.min(h) >= 256 && w < 4000, "decoded at {w}x{h}");
    let p = tagger().classify(&photo).unwrap();
    let cats: f32 = [281, 282, 285].iter().map(|&c| p[c]).sum();
    assert!(cats > 0.8, "cat classes {cats}");
}

#[tokio::test]
async fn a_corrupt_body_behind_a_good_header_is_refused() {
    let png = fixture("chelsea.png");
    let image =
        ImageData::from_bytes(png[..png.len() / 2].to_vec()).expect("the header still reads");
    let err = tagger().tag(&image).await.unwrap_err();
    assert!(
        matches!(err, pictures::tagger::TaggerError::BadImage(_)),
        "{err:?}"
    );
}

fn local_options() -> Options {
    let dir = std::env::var("MODEL_DIR")
        .unwrap_or_else(|_| concat!(env!("CARGO_MANIFEST_DIR"), "/../data/models").into());
    Options {
        vars: vec![("TAGGER".into(), "local".into()), ("MODEL_DIR".into(), dir)],
        ..Options::default()
    }
}

#[tokio::test]
async fn upload_with_the_default_tagger() {
    let t = TestApp::start_with(Backend::Sqlite, local_options()).await;
    let r = t.post_image(&fixture("chelsea.png"), "").await;
    assert_eq!(r.status(), 201);
    let posted: serde_json::Value = r.json().await.unwrap();
    let names: Vec<&str> = posted["tags"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["tag"].as_str().unwrap())
        .collect();
    assert!(
        names.contains(&"cat") && names.contains(&"animal"),
        "{names:?}"
    );
    assert!(
        posted["tags"]
            .as_array()
            .unwrap()
            .iter()
            .all(|t| t["confidence"].as_f64().unwrap() >= 80.0)
    );
    let id = posted["id"].as_i64().unwrap();
    assert_eq!(
        t.get_json(&format!("/images/{id}")).await["tags"],
        posted["tags"]
    );
    assert_eq!(
        t.get_json("/images?tags=cat,feline")
            .await
            .as_array()
            .unwrap()
            .len(),
        1
    );
    assert_eq!(t.cloud.counts(), (0, 0, 0), "no cloud service was asked");

    let png = fixture("chelsea.png");
    let r = t.post_image(&png[..png.len() / 2], "").await;
    assert_error(r, 400, "invalid_image").await;
    assert_eq!(t.files().len(), 1, "the refused upload left no file");
}

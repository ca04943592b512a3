//! The on-device tagger on real photos (tests/fixtures/images/README.md
//! says what each shows). The classes a photo's classifier ranks first are
//! checked against what the photo shows; tags carry calibrated confidences,
//! and what users rely on is checked at the default `min_confidence`.

use crate::common::*;
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

/// The first `n` classes are all among `right` and hold at least `share`
/// percent of the probability together.
fn assert_top(name: &str, n: usize, right: &[&str], share: f64) {
    let got = top(name, n);
    assert!(
        got.iter().all(|(l, _)| right.contains(&l.as_str())),
        "{name}: {got:?}"
    );
    let sum: f64 = got.iter().map(|(_, p)| p).sum();
    assert!(sum >= share, "{name}: {got:?}");
}

#[test]
fn the_cat_is_a_cat() {
    assert_top(
        "chelsea.png",
        3,
        &["tiger cat", "egyptian cat", "tabby"],
        80.0,
    );
}

#[test]
fn the_coffee_is_an_espresso() {
    assert_top("coffee.png", 1, &["espresso"], 60.0);
}

#[test]
fn the_rocket_is_a_missile() {
    // ImageNet has no rocket: a space shuttle, a missile or a projectile is
    // the nearest, and the launch tower beside it a drilling platform.
    assert_top(
        "rocket.jpg",
        4,
        &[
            "space shuttle",
            "missile",
            "projectile",
            "drilling platform",
        ],
        20.0,
    );
}

#[test]
fn the_motorcycle_is_a_moped() {
    assert_top("motorcycle_left.png", 2, &["moped", "motor scooter"], 30.0);
}

async fn tags_of(name: &str) -> Vec<(String, f64)> {
    let image = ImageData::from_bytes(fixture(name)).unwrap();
    let tags = tagger().tag(&image).await.unwrap().tags;
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
    // A parent is the sum of its classes (before calibration): at least the
    // three cat classes.
    let image = ImageData::from_bytes(fixture("chelsea.png")).unwrap();
    let p = tagger().classify(&image).unwrap();
    let raw: Vec<(String, f64)> = tagger()
        .vocabulary()
        .uncalibrated_tags(&p)
        .into_iter()
        .map(|t| (t.name, t.confidence))
        .collect();
    let three: f64 = ["tiger cat", "egyptian cat", "tabby"]
        .iter()
        .map(|l| confidence(&raw, l))
        .sum();
    assert!(confidence(&raw, "cat") >= three - 0.01);
    assert!(confidence(&raw, "cat") <= 100.0);
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
    // Classified as the upright photo is, not as the stored one.
    let best = |image: &ImageData| {
        let p = tagger().classify(image).unwrap();
        (0..p.len()).max_by(|&a, &b| p[a].total_cmp(&p[b])).unwrap()
    };
    let as_upright = ImageData::from_bytes(jpeg(&upright, None)).unwrap();
    let label = |c| tagger().vocabulary().label(c).to_string();
    assert_eq!(label(best(&rotated)), label(best(&as_upright)));
    assert!(
        [
            "missile",
            "projectile",
            "space shuttle",
            "drilling platform"
        ]
        .contains(&label(best(&rotated)).as_str())
    );
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

/// Real photos get a right tag at the API's default `min_confidence`. A
/// right tag is the photo's class or one of its WordNet parents.
#[tokio::test]
async fn photos_get_a_right_tag_at_the_default_threshold() {
    let default = pictures::domain::Confidence::DEFAULT.value();
    let right_at = |tags: &[(String, f64)], right: &[&str], at: f64| {
        tags.iter()
            .any(|(t, c)| *c >= at && right.contains(&t.as_str()))
    };
    for (name, right) in [
        (
            "chelsea.png",
            &["cat", "domestic cat", "feline", "tabby", "tiger cat"][..],
        ),
        ("coffee.png", &["espresso", "coffee", "cup", "coffee mug"]),
        (
            "motorcycle_left.png",
            &[
                "moped",
                "motor scooter",
                "motorcycle",
                "motor vehicle",
                "vehicle",
            ],
        ),
        ("camera.png", &["camera", "reflex camera", "tripod"]),
    ] {
        let tags = tags_of(name).await;
        assert!(right_at(&tags, right, default), "{name}: {tags:?}");
    }
    // The rocket is a hard case: the networks split it between space
    // shuttle, drilling platform, missile and projectile (7% or less each),
    // so nothing is tagged at the default, and nothing wrong either.
    let rocket = [
        "missile",
        "projectile",
        "rocket",
        "weapon",
        "instrument",
        "device",
        "space shuttle",
        "spacecraft",
        "vehicle",
    ];
    let tags = tags_of("rocket.jpg").await;
    assert!(
        tags.iter()
            .all(|(t, c)| *c < default || rocket.contains(&t.as_str())),
        "{tags:?}"
    );
}

/// Calibration changes confidences, never which tag comes first.
#[test]
fn calibration_keeps_the_order_of_tags() {
    let vocabulary = tagger().vocabulary();
    for name in [
        "chelsea.png",
        "coffee.png",
        "motorcycle_left.png",
        "rocket.jpg",
    ] {
        let p = tagger()
            .classify(&ImageData::from_bytes(fixture(name)).unwrap())
            .unwrap();
        let order = |tags: Vec<pictures::domain::Tag>| {
            let mut tags: Vec<_> = tags.into_iter().map(|t| (t.confidence, t.name)).collect();
            tags.sort_by(|a, b| b.0.total_cmp(&a.0).then_with(|| a.1.cmp(&b.1)));
            tags.into_iter().map(|(_, n)| n).collect::<Vec<_>>()
        };
        let calibrated = order(vocabulary.tags(&p));
        let raw = order(vocabulary.uncalibrated_tags(&p));
        // The maps differ at the 1% floor; the tags both report keep their order.
        let raw: Vec<_> = raw.into_iter().filter(|n| calibrated.contains(n)).collect();
        let calibrated: Vec<_> = calibrated.into_iter().filter(|n| raw.contains(n)).collect();
        assert_eq!(calibrated, raw, "{name}");
        assert!(raw.len() >= 3, "{name}: {raw:?}");
    }
}

fn model_dir() -> String {
    std::env::var("MODEL_DIR")
        .unwrap_or_else(|_| concat!(env!("CARGO_MANIFEST_DIR"), "/../data/models").into())
}

/// The calibration fits one weights file; others are refused at load.
#[test]
fn weights_the_calibration_was_not_fitted_for_are_refused() {
    let weights = Path::new(&model_dir()).join(pictures::tagger::local::WEIGHTS_FILE);
    let mut bytes = std::fs::read(&weights).unwrap();
    // One bit of one weight: still a valid safetensors file.
    let at = bytes.len() - 1000;
    bytes[at] ^= 1;
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join(pictures::tagger::local::WEIGHTS_FILE),
        &bytes,
    )
    .unwrap();
    let err = LocalTagger::load_with(dir.path(), false)
        .err()
        .expect("altered weights are refused")
        .to_string();
    let expected = tagger().vocabulary().calibration().model_sha256();
    assert!(
        err.contains("SHA-256") && err.contains(expected) && err.contains("make model"),
        "{err}"
    );
    // The weights themselves load: only the calibration stands in the way.
    let weights = dir.path().join(pictures::tagger::local::WEIGHTS_FILE);
    let loaded = pictures::tagger::local::Classifier::load(&weights).unwrap();
    assert_eq!(loaded.nets(), ["lite1", "lite2"]);
}

/// What each fixture photo shows, labelled by looking at it: the ImageNet
/// classes it is an instance of (a tag is right when one of them is among
/// its classes, as the calibration counts it) and the other tags that are
/// true of it: people's, and the object detector's words for what it finds
/// (a cup is `crockery` and `tableware`, which ImageNet's classes are not). The logo and the test pattern show nothing of the kind.
const SHOWN: [(&str, &[&str], &[&str]); 8] = [
    ("chelsea.png", &["tabby", "tiger cat", "egyptian cat"], &[]),
    (
        "coffee.png",
        &["espresso", "cup", "coffee mug"],
        &["crockery", "tableware"],
    ),
    (
        "rocket.jpg",
        &["missile", "projectile", "space shuttle"],
        &[],
    ),
    (
        "motorcycle_left.png",
        &["moped", "motor scooter"],
        &["wheeled vehicle"],
    ),
    (
        "camera.png",
        &["reflex camera", "polaroid camera", "tripod", "lens cap"],
        &["person", "face", "portrait"],
    ),
    ("astronaut.png", &[], &["person", "face", "portrait"]),
    ("logo.png", &[], &[]),
    ("multipage_rgb.tif", &[], &[]),
];

/// No fixture photo gets a wrong tag at the default `min_confidence`, and
/// each that shows something gets a right one, but the rocket: the networks
/// are unsure of it (`photos_get_a_right_tag_at_the_default_threshold`).
#[tokio::test]
async fn no_wrong_tags_at_the_default_threshold() {
    let default = pictures::domain::Confidence::DEFAULT.value();
    let vocabulary = tagger().vocabulary();
    for (name, classes, people) in SHOWN {
        let classes: Vec<usize> = classes
            .iter()
            .map(|c| vocabulary.class(c).unwrap_or_else(|| panic!("{c}")))
            .collect();
        let tags = tags_of(name).await;
        let right = |tag: &str| {
            people.contains(&tag)
                || vocabulary
                    .classes_of(tag)
                    .is_some_and(|of| of.iter().any(|c| classes.contains(&usize::from(*c))))
        };
        let kept: Vec<&(String, f64)> = tags.iter().filter(|(_, c)| *c >= default).collect();
        let wrong: Vec<_> = kept.iter().filter(|(t, _)| !right(t)).collect();
        assert!(wrong.is_empty(), "{name}: wrong {wrong:?} of {kept:?}");
        if (!classes.is_empty() || !people.is_empty()) && name != "rocket.jpg" {
            assert!(!kept.is_empty(), "{name}: nothing at {default}: {tags:?}");
        }
    }
}

/// The words a photo is searched by: a cup of coffee is found by `cup` and
/// `coffee`, a motorcycle by `vehicle` (its `motorcycle`, split with the
/// disk brake the networks also see, stays under the default), a cat by
/// `pet`.
#[tokio::test]
async fn everyday_words_tag_the_fixture_photos() {
    let default = pictures::domain::Confidence::DEFAULT.value();
    for (name, words) in [
        ("coffee.png", &["cup", "coffee", "drink"][..]),
        ("motorcycle_left.png", &["vehicle"]),
        ("chelsea.png", &["cat", "pet", "animal"]),
    ] {
        let tags = tags_of(name).await;
        for word in words {
            assert!(
                confidence(&tags, word) >= default,
                "{name}: {word}: {tags:?}"
            );
        }
    }
}

/// `tags=cup` finds the cup of coffee through the API, and `tags=beach`
/// does not.
#[tokio::test]
async fn a_search_by_an_everyday_word_finds_the_photo() {
    let t = TestApp::start_with(Backend::Sqlite, local_options()).await;
    assert_eq!(t.post_image(&fixture("coffee.png"), "").await.status(), 201);
    assert_eq!(
        t.post_image(&fixture("chelsea.png"), "").await.status(),
        201
    );
    let found = |v: serde_json::Value| v.as_array().unwrap().len();
    assert_eq!(found(t.get_json("/images?tags=cup").await), 1);
    assert_eq!(found(t.get_json("/images?tags=coffee,cup").await), 1);
    assert_eq!(found(t.get_json("/images?tags=pet").await), 1);
    assert_eq!(found(t.get_json("/images?tags=beach").await), 0);
}

/// The classifier loads on the first picture, not with the tagger.
#[tokio::test]
async fn the_weights_load_on_the_first_picture() {
    let tagger = LocalTagger::load_with(Path::new(&model_dir()), false).unwrap();
    assert!(!tagger.classifier_loaded());
    let image = ImageData::from_bytes(fixture("coffee.png")).unwrap();
    let first = tagger.tag(&image).await.unwrap();
    assert!(tagger.classifier_loaded());
    assert_eq!(
        tagger.tag(&image).await.unwrap(),
        first,
        "the same answer again"
    );
}

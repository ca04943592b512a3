//! The face and person detectors on real photos (tests/fixtures/images),
//! alone and inside the on-device tagger.

use crate::common::*;
use pictures::domain::ImageData;
use pictures::tagger::local::decode_upright;
use pictures::tagger::people::{People, PeopleDetector};
use pictures::tagger::{LocalTagger, Tagger};
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

fn model_dir() -> PathBuf {
    std::env::var("MODEL_DIR")
        .unwrap_or_else(|_| concat!(env!("CARGO_MANIFEST_DIR"), "/../data/models").into())
        .into()
}

fn detector() -> &'static PeopleDetector {
    static DETECTOR: OnceLock<PeopleDetector> = OnceLock::new();
    DETECTOR.get_or_init(|| {
        PeopleDetector::load(&model_dir()).expect("the detectors are fetched by `make model`")
    })
}

fn people(name: &str) -> People {
    let image = ImageData::from_bytes(fixture(name)).unwrap();
    detector().detect(&decode_upright(&image).unwrap())
}

fn confidence(people: &People, tag: &str) -> f64 {
    people
        .tags()
        .into_iter()
        .find(|t| t.name == tag)
        .map_or(0.0, |t| t.confidence)
}

/// The astronaut's face as MediaPipe's own pipeline finds it: the original
/// face_detection_short_range.tflite run by ai-edge-litert 2.3.0 on the
/// image letterboxed to 128x128 (PIL bilinear), decoded and merged with an
/// independent numpy implementation of the graph's SSD options and weighted
/// suppression; score 0.9209. (xmin, ymin, xmax, ymax) in pixels.
const ASTRONAUT_FACE: [f32; 4] = [177.3, 80.6, 271.8, 175.1];

#[test]
fn the_astronaut_is_a_person_with_a_face() {
    let p = people("astronaut.png");
    assert!(confidence(&p, "person") >= 80.0, "{p:?}");
    assert!(confidence(&p, "face") >= 80.0, "{p:?}");
    assert!(confidence(&p, "portrait") >= 80.0, "{p:?}");
    assert_eq!(confidence(&p, "people"), 0.0, "{p:?}");
    assert_eq!(p.faces.len(), 1, "{p:?}");
    let f = &p.faces[0];
    let got = [f.xmin, f.ymin, f.xmax, f.ymax];
    for (g, r) in got.iter().zip(ASTRONAUT_FACE) {
        assert!(
            (g - r).abs() <= 3.0,
            "face box {got:?}, reference {ASTRONAUT_FACE:?}"
        );
    }
    // Eyes above the nose above the mouth, all inside the box.
    let k = &f.keypoints;
    assert!(k[0].1 < k[2].1 && k[2].1 < k[3].1, "{k:?}");
    assert!(
        k.iter()
            .all(|&(x, y)| x > f.xmin && x < f.xmax && y > f.ymin && y < f.ymax)
    );
}

#[test]
fn the_cameraman_is_a_person() {
    // Grayscale, face in three-quarter view behind the camera.
    let p = people("camera.png");
    assert!(confidence(&p, "person") >= 50.0, "{p:?}");
}

#[test]
fn no_person_where_there_is_none() {
    for name in [
        "chelsea.png",
        "coffee.png",
        "rocket.jpg",
        "motorcycle_left.png",
    ] {
        let p = people(name);
        assert!(confidence(&p, "person") < 20.0, "{name}: {p:?}");
        assert!(
            p.tags().iter().all(|t| t.confidence < 20.0),
            "{name}: {p:?}"
        );
    }
}

#[test]
fn a_twelve_megapixel_photo_gives_the_same_face() {
    let small = image::load_from_memory(&fixture("astronaut.png"))
        .unwrap()
        .to_rgb8();
    let big = image::imageops::resize(&small, 3464, 3464, image::imageops::FilterType::Triangle);
    let p = detector().detect(&big);
    assert_eq!(p.faces.len(), 1, "{p:?}");
    let scale = 3464.0 / 512.0;
    let f = &p.faces[0];
    for (g, r) in [f.xmin, f.ymin, f.xmax, f.ymax].iter().zip(ASTRONAUT_FACE) {
        assert!((g / scale - r).abs() <= 4.0, "{f:?}");
    }
    // The same photo as a JPEG goes through the tagger's reduced-scale decode.
    let mut jpeg = Vec::new();
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut jpeg, 90)
        .encode_image(&big)
        .unwrap();
    let image = ImageData::from_bytes(jpeg).unwrap();
    let p = detector().detect(&decode_upright(&image).unwrap());
    assert!(confidence(&p, "face") >= 80.0, "{p:?}");
}

#[test]
fn odd_inputs_go_through() {
    for name in ["no_time_for_that_tiny.gif", "multipage_rgb.tif", "logo.png"] {
        let p = people(name);
        assert!(
            p.tags()
                .iter()
                .all(|t| (0.0..=100.0).contains(&t.confidence)),
            "{name}"
        );
    }
    assert!(
        detector()
            .detect(&image::RgbImage::new(1, 1))
            .faces
            .is_empty()
    );
}

#[tokio::test]
async fn the_tagger_adds_people_beside_the_classes() {
    let tagger = LocalTagger::load_with(Path::new(&model_dir()), true).unwrap();
    let image = ImageData::from_bytes(fixture("astronaut.png")).unwrap();
    let tags = tagger.tag(&image).await.unwrap().tags;
    let get = |n: &str| tags.iter().find(|t| t.name == n).map(|t| t.confidence);
    assert!(get("person").unwrap_or(0.0) >= 80.0, "{tags:?}");
    assert!(get("face").unwrap_or(0.0) >= 80.0, "{tags:?}");
    // Names stay unique when the classifier has a tag of the same name.
    let mut names: Vec<&str> = tags.iter().map(|t| t.name.as_str()).collect();
    names.sort();
    names.dedup();
    assert_eq!(names.len(), tags.len(), "{tags:?}");

    let off = LocalTagger::load_with(Path::new(&model_dir()), false).unwrap();
    let tags = off.tag(&image).await.unwrap().tags;
    assert!(tags.iter().all(|t| t.name != "face"), "{tags:?}");

    // Without the detector files the tagger still loads and classifies.
    let dir = tempfile::tempdir().unwrap();
    std::fs::copy(
        model_dir().join(pictures::tagger::local::WEIGHTS_FILE),
        dir.path().join(pictures::tagger::local::WEIGHTS_FILE),
    )
    .unwrap();
    let bare = LocalTagger::load_with(dir.path(), true).unwrap();
    let coffee = ImageData::from_bytes(fixture("coffee.png")).unwrap();
    assert!(!bare.tag(&coffee).await.unwrap().tags.is_empty());
    // Files that are there but do not load: found by the first picture,
    // which is classified all the same.
    for file in PeopleDetector::FILES {
        std::fs::write(dir.path().join(file), b"not a model").unwrap();
    }
    let broken = LocalTagger::load_with(dir.path(), true).unwrap();
    let tagging = broken.tag(&coffee).await.unwrap();
    assert!(!tagging.tags.is_empty());
    assert_eq!(tagging.faces, None);
    assert_eq!(broken.detectors_loaded(), (false, false));
}

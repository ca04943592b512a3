//! The object detector on real photos (tests/fixtures/images), alone and
//! inside the on-device tagger, and the face count on a group photo.

use crate::common::*;
use pictures::domain::ImageData;
use pictures::tagger::local::decode_upright;
use pictures::tagger::objects::ObjectDetector;
use pictures::tagger::people::PeopleDetector;
use pictures::tagger::{DetectedObject, LocalTagger, Tagger};
use std::path::PathBuf;
use std::sync::OnceLock;

fn model_dir() -> PathBuf {
    std::env::var("MODEL_DIR")
        .unwrap_or_else(|_| concat!(env!("CARGO_MANIFEST_DIR"), "/../data/models").into())
        .into()
}

fn detector() -> &'static ObjectDetector {
    static DETECTOR: OnceLock<ObjectDetector> = OnceLock::new();
    DETECTOR.get_or_init(|| {
        ObjectDetector::load(&model_dir()).expect("the detector is fetched by `make model`")
    })
}

fn people() -> &'static PeopleDetector {
    static DETECTOR: OnceLock<PeopleDetector> = OnceLock::new();
    DETECTOR.get_or_init(|| {
        PeopleDetector::load(&model_dir()).expect("the detectors are fetched by `make model`")
    })
}

fn rgb(name: &str) -> image::RgbImage {
    decode_upright(&ImageData::from_bytes(fixture(name)).unwrap()).unwrap()
}

fn objects(name: &str) -> Vec<DetectedObject> {
    detector().detect(&rgb(name))
}

fn best<'a>(found: &'a [DetectedObject], label: &str) -> Option<&'a DetectedObject> {
    found.iter().find(|o| o.label == label)
}

/// Boxes as an independent numpy run of the original TF.js graph gives them
/// (every node of models/centernet.json evaluated as TensorFlow defines it,
/// on the image letterboxed to 512x512 with PIL's bilinear resize, peaks
/// by 3x3 max pool): the best peak's score and (x1, y1, x2, y2) relative
/// to the image.
const COFFEE_CUP: (f32, [f64; 4]) = (0.5935, [0.2826, 0.0384, 0.6924, 0.6678]);
const MOTORCYCLE: (f32, [f64; 4]) = (0.694, [0.1585, 0.113, 0.9143, 0.8831]);

fn near_reference(o: &DetectedObject, (_, want): (f32, [f64; 4])) {
    let b = o.bbox;
    let got = [b.x, b.y, b.x + b.w, b.y + b.h];
    for (g, w) in got.iter().zip(want) {
        // The reference's box reaches past the edge where ours is clamped.
        assert!(
            (g - w.clamp(0.0, 1.0)).abs() <= 0.02,
            "{got:?}, reference {want:?}"
        );
    }
}

#[test]
fn the_coffee_has_a_cup_where_the_cup_is() {
    let found = objects("coffee.png");
    let cup = best(&found, "cup").unwrap_or_else(|| panic!("{found:?}"));
    assert_eq!(found[0].label, "cup", "{found:?}");
    near_reference(cup, COFFEE_CUP);
    assert!(cup.confidence >= 70.0, "{cup:?}");
    let tags = detector().tags(&found);
    for name in ["cup", "drinking vessel", "tableware"] {
        let t = tags.iter().find(|t| t.name == name);
        assert!(
            t.is_some_and(|t| t.confidence == cup.confidence),
            "{name}: {tags:?}"
        );
    }
}

#[test]
fn the_motorcycle_is_a_motor_vehicle() {
    let found = objects("motorcycle_left.png");
    let bike = &found[0];
    assert_eq!(bike.label, "motorcycle", "{found:?}");
    near_reference(bike, MOTORCYCLE);
    assert!(bike.confidence >= 80.0, "{bike:?}");
    let tags = detector().tags(&found);
    for name in ["motorcycle", "motor vehicle", "vehicle"] {
        assert!(
            tags.iter().any(|t| t.name == name && t.confidence >= 80.0),
            "{name}: {tags:?}"
        );
    }
}

#[test]
fn the_cat_is_a_cat_and_has_no_face() {
    let img = rgb("chelsea.png");
    let found = detector().detect(&img);
    assert_eq!(found[0].label, "cat", "{found:?}");
    // One cat: its overlapping peaks are one object.
    assert_eq!(
        found.iter().filter(|o| o.label == "cat").count(),
        1,
        "{found:?}"
    );
    let dog = best(&found, "dog").map_or(0.0, |o| o.confidence);
    assert!(dog < found[0].confidence - 20.0, "{found:?}");
    // An animal's face is not a face.
    assert_eq!(people().detect(&img).faces.len(), 0);
}

#[test]
fn the_astronaut_is_one_person() {
    let found = objects("astronaut.png");
    let persons: Vec<_> = found.iter().filter(|o| o.label == "person").collect();
    assert_eq!(persons.len(), 1, "{found:?}");
    let b = persons[0].bbox;
    // Head and shoulders from the left edge to about three quarters across.
    assert!(b.x < 0.1 && b.w > 0.55 && b.w < 0.85 && b.h > 0.9, "{b:?}");
}

#[test]
fn no_confident_objects_in_the_sky() {
    // A rocket on its pad: no COCO class, nothing worth a tag.
    let found = objects("rocket.jpg");
    assert!(found.iter().all(|o| o.confidence < 50.0), "{found:?}");
}

#[test]
fn boxes_stay_inside_the_image_and_odd_inputs_go_through() {
    for name in [
        "coffee.png",
        "camera.png",
        "logo.png",
        "no_time_for_that_tiny.gif",
        "multipage_rgb.tif",
    ] {
        for o in objects(name) {
            let b = o.bbox;
            assert!(
                b.x >= 0.0 && b.y >= 0.0 && b.w > 0.0 && b.h > 0.0,
                "{name}: {o:?}"
            );
            assert!(
                b.x + b.w <= 1.0 + 1e-9 && b.y + b.h <= 1.0 + 1e-9,
                "{name}: {o:?}"
            );
            assert!((0.0..=100.0).contains(&o.confidence), "{name}: {o:?}");
        }
    }
    assert!(detector().detect(&image::RgbImage::new(1, 1)).len() <= 100);
    assert!(detector().detect(&image::RgbImage::new(0, 0)).is_empty());
}

#[test]
fn every_face_of_a_group_facing_the_camera() {
    // Three women side by side, faces about a tenth of the photo's width:
    // the short-range detector alone finds two of them.
    let p = people().detect(&rgb("group.jpg"));
    assert_eq!(p.faces.len(), 3, "{p:?}");
    // One face each, left to right, at head height.
    let mut xs: Vec<f32> = p.faces.iter().map(|f| (f.xmin + f.xmax) / 2.0).collect();
    xs.sort_by(f32::total_cmp);
    assert!(xs.windows(2).all(|w| w[1] - w[0] > 100.0), "{xs:?}");
    assert!(p.faces.iter().all(|f| f.ymax < 360.0), "{p:?}");
    let tags = p.tags();
    assert!(tags.iter().any(|t| t.name == "people"), "{tags:?}");
}

#[test]
fn objects_serialise_as_rekognition_like_instances() {
    let found = objects("coffee.png");
    let json = serde_json::to_value(&found[0]).unwrap();
    assert_eq!(json["label"], "cup");
    for key in ["x", "y", "w", "h"] {
        assert!(json["box"][key].is_f64(), "{json}");
    }
    assert!(json["confidence"].as_f64().unwrap() > 0.0);
    let back: DetectedObject = serde_json::from_value(json).unwrap();
    assert_eq!(back, found[0]);
}

#[tokio::test]
async fn the_tagger_gives_objects_and_one_person_tag() {
    let tagger = LocalTagger::load_with(&model_dir(), true)
        .unwrap()
        .with_objects(&model_dir(), true);
    // Every model loads on the first picture, not with the tagger.
    assert!(!tagger.classifier_loaded());
    assert_eq!(tagger.detectors_loaded(), (false, false));
    let coffee = tagger
        .tag(&ImageData::from_bytes(fixture("coffee.png")).unwrap())
        .await
        .unwrap();
    assert!(tagger.classifier_loaded());
    assert_eq!(tagger.detectors_loaded(), (true, true));
    assert_eq!(coffee.objects[0].label, "cup", "{:?}", coffee.objects);
    assert!(
        coffee.tags.iter().any(|t| t.name == "tableware"),
        "{coffee:?}"
    );

    let astronaut = tagger
        .tag(&ImageData::from_bytes(fixture("astronaut.png")).unwrap())
        .await
        .unwrap();
    let persons: Vec<_> = astronaut
        .tags
        .iter()
        .filter(|t| t.name == "person")
        .collect();
    assert_eq!(persons.len(), 1, "{:?}", astronaut.tags);
    // The stronger evidence: the face detector's, above the object's.
    let object = astronaut
        .objects
        .iter()
        .find(|o| o.label == "person")
        .unwrap();
    assert!(persons[0].confidence >= object.confidence, "{astronaut:?}");
    assert_eq!(astronaut.faces, Some(1));

    let group = tagger
        .tag(&ImageData::from_bytes(fixture("group.jpg")).unwrap())
        .await
        .unwrap();
    assert_eq!(group.faces, Some(3), "{group:?}");
    assert!(
        group.objects.iter().filter(|o| o.label == "person").count() >= 3,
        "{group:?}"
    );

    let off = LocalTagger::load_with(&model_dir(), true)
        .unwrap()
        .with_objects(&model_dir(), false);
    let plain = off
        .tag(&ImageData::from_bytes(fixture("coffee.png")).unwrap())
        .await
        .unwrap();
    assert!(plain.objects.is_empty());
}

fn local_options() -> Options {
    Options {
        vars: vec![
            ("TAGGER".into(), "local".into()),
            ("MODEL_DIR".into(), model_dir().display().to_string()),
            ("API_KEYS".into(), "admin-key".into()),
        ],
        ..Options::default()
    }
}

fn labels(picture: &serde_json::Value) -> Vec<(String, f64)> {
    picture["objects"]
        .as_array()
        .unwrap_or_else(|| panic!("objects: {picture}"))
        .iter()
        .map(|o| {
            let b = &o["box"];
            for side in ["x", "y", "w", "h"] {
                let v = b[side].as_f64().unwrap();
                assert!((0.0..=1.0).contains(&v), "{o}");
            }
            (
                o["label"].as_str().unwrap().to_string(),
                o["confidence"].as_f64().unwrap(),
            )
        })
        .collect()
}

both_backends! {
    // A picture keeps what the detector found, at the upload's threshold:
    // its answer, GET, the listing and a re-tag carry the same objects; a
    // cup anywhere in it is found by `tags=cup` and counted in /tags.
    async fn pictures_keep_their_objects(backend) {
        let t = TestApp::start_with(backend, local_options()).await;
        let coffee = fixture("coffee.png");
        let r = t.post_image(&coffee, "?min_confidence=50").await;
        assert_eq!(r.status(), 201);
        let posted: serde_json::Value = r.json().await.unwrap();
        let found = labels(&posted);
        assert_eq!(found.first().map(|(l, _)| l.as_str()), Some("cup"), "{posted}");
        assert!(found.iter().all(|(_, c)| *c >= 50.0), "{found:?}");
        let id = posted["id"].as_i64().unwrap();
        let got: serde_json::Value = t.get(&format!("/images/{id}")).await.json().await.unwrap();
        assert_eq!(got["objects"], posted["objects"]);
        let cups: serde_json::Value = t.get("/images?tags=cup").await.json().await.unwrap();
        assert_eq!(cups.as_array().unwrap().len(), 1, "{cups}");
        assert_eq!(cups[0]["objects"], posted["objects"]);
        let tags: serde_json::Value = t.get("/tags").await.json().await.unwrap();
        assert!(tags.as_array().unwrap().iter().any(|s| s["tag"] == "cup"), "{tags}");

        // Above every object's confidence: none kept, the same picture.
        let r = t.post_image(&coffee, "?min_confidence=99.99").await;
        let strict: serde_json::Value = r.json().await.unwrap();
        assert_eq!(strict["objects"], serde_json::json!([]), "{strict}");

        // A re-tag (an admin's: the picture is anonymous) at a stricter
        // threshold replaces them whole.
        let cup = found[0].1;
        let r = t
            .client
            .post(format!("{}/images/{id}/retag?min_confidence={}", t.url, cup + 0.01))
            .header("x-api-key", "admin-key")
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
        let again: serde_json::Value = t.get(&format!("/images/{id}")).await.json().await.unwrap();
        assert!(labels(&again).iter().all(|(_, c)| *c > cup), "{again}");
    }
}

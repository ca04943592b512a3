//! People in a photo: MediaPipe's BlazeFace face detectors (short range,
//! and full range for the small faces of group photos) and BlazePose's
//! person detector, run in pure Rust beside the classifier, whose 1,000
//! ImageNet classes include no person.
//!
//! The models come from `make model` (scripts/fetch-detectors.py converts
//! them from the PyPI mediapipe 0.10.14 wheel). Each sees the whole image,
//! scaled to fit its square input with the aspect ratio kept and the rest
//! padded black, as MediaPipe's ImageToTensorCalculator does.

use image::RgbImage;
use std::path::Path;
use std::time::Duration;

use crate::analysis::{Filter, resize, scale_long_side};
use crate::domain::{Tag, TagSource};
use crate::tagger::local::LoadError;

mod detector;
pub mod ssd;

use detector::{Detector, letterbox};
use ssd::SsdOptions;

/// The files `make model` writes into `MODEL_DIR`.
pub const FACE_FILE: &str = "face-detector.safetensors";
pub const FACE_FULL_FILE: &str = "face-detector-full.safetensors";
pub const POSE_FILE: &str = "pose-detector.safetensors";

/// BlazeFace short range (faces within about two metres of the camera),
/// with the options of MediaPipe's face_detection_short_range graph.
const FACE: SsdOptions = SsdOptions {
    size: 128,
    strides: &[8, 16, 16, 16],
    per_layer: 2,
    coords: 16,
    score_clip: 100.0,
    min_score: 0.5,
    min_suppression: 0.3,
};

/// BlazeFace full range (faces up to about five metres away), with the
/// options of MediaPipe's face_detection_full_range graph.
const FACE_FULL: SsdOptions = SsdOptions {
    size: 192,
    strides: &[4],
    per_layer: 1,
    coords: 16,
    score_clip: 100.0,
    min_score: 0.6,
    min_suppression: 0.3,
};

/// A full-range face counts only when the short-range detector, shown the
/// crop around it (the box widened this many times, as a close-up), finds
/// a face there too: the full-range model alone also answers cats' and
/// pandas' faces.
const CONFIRM_CONTEXT: f32 = 2.0;

/// The person detector of MediaPipe's pose_detection graph.
const POSE: SsdOptions = SsdOptions {
    size: 224,
    strides: &[8, 16, 32, 32, 32],
    per_layer: 2,
    coords: 12,
    score_clip: 100.0,
    min_score: 0.5,
    min_suppression: 0.3,
};

/// A face is a portrait's when its box is at least this share of the
/// image's shorter side...
const PORTRAIT_FACE_SIDE: f32 = 0.15;
/// ...and no other face is more than this share of its width.
const PORTRAIT_DOMINANCE: f32 = 0.5;

/// Adds `extra` to `tags`; a name both have (the classifier's `person`
/// collects ballplayer, groom and scuba diver) keeps the higher confidence.
pub fn merge(tags: &mut Vec<Tag>, extra: Vec<Tag>) {
    for t in extra {
        match tags.iter_mut().find(|u| u.name == t.name) {
            Some(u) => u.confidence = u.confidence.max(t.confidence),
            None => tags.push(t),
        }
    }
}

/// The person detector alone also fires just above its 0.5 threshold on
/// things that are not people (0.58 on the scikit-image logo), whereas
/// BlazeFace is sure of real faces (0.78 to 0.92 on the fixtures) and
/// silent elsewhere. So a body counts by how far its score rises above the
/// threshold: 0.5 is no evidence, 1.0 certainty.
fn body_confidence(score: f32) -> f32 {
    ((score - POSE.min_score) / (1.0 - POSE.min_score)).clamp(0.0, 1.0)
}

/// A detection in image pixels.
#[derive(Clone, Debug, PartialEq)]
pub struct Detection {
    /// 0..1.
    pub score: f32,
    pub xmin: f32,
    pub ymin: f32,
    pub xmax: f32,
    pub ymax: f32,
    /// Face: eyes, nose tip, mouth, ear tragions. Person: hip centre, a
    /// point giving the body's scale and rotation, face centre, a point
    /// giving the face's scale.
    pub keypoints: Vec<(f32, f32)>,
}

impl Detection {
    pub fn width(&self) -> f32 {
        self.xmax - self.xmin
    }

    pub fn height(&self) -> f32 {
        self.ymax - self.ymin
    }

    fn centre(&self) -> (f32, f32) {
        ((self.xmin + self.xmax) / 2.0, (self.ymin + self.ymax) / 2.0)
    }

    fn contains(&self, (x, y): (f32, f32)) -> bool {
        (self.xmin..=self.xmax).contains(&x) && (self.ymin..=self.ymax).contains(&y)
    }
}

/// What the detectors found in one image.
#[derive(Clone, Debug, Default)]
pub struct People {
    pub faces: Vec<Detection>,
    pub persons: Vec<Detection>,
    pub width: u32,
    pub height: u32,
}

pub struct PeopleDetector {
    face: Detector,
    face_full: Detector,
    pose: Detector,
}

impl PeopleDetector {
    /// The files `load` reads from `MODEL_DIR`.
    pub const FILES: [&str; 3] = [FACE_FILE, FACE_FULL_FILE, POSE_FILE];

    /// Loads the three detectors from `MODEL_DIR`.
    pub fn load(model_dir: &Path) -> Result<Self, LoadError> {
        Ok(PeopleDetector {
            face: Detector::load(
                &model_dir.join(FACE_FILE),
                &FACE,
                "regressors",
                "classificators",
            )?,
            face_full: Detector::load(
                &model_dir.join(FACE_FULL_FILE),
                &FACE_FULL,
                "Identity",
                "Identity_1",
            )?,
            pose: Detector::load(&model_dir.join(POSE_FILE), &POSE, "Identity", "Identity_1")?,
        })
    }

    /// Faces and persons in an upright RGB image, on the calling thread.
    pub fn detect(&self, img: &RgbImage) -> People {
        let (w, h) = img.dimensions();
        if w == 0 || h == 0 {
            return People::default();
        }
        // One costly shrink of a large image; the face input comes from it.
        let pose_in = scale_long_side(img, POSE.size as u32);
        let mut faces = self.faces_in(&pose_in, (w, h));
        let far = self.far_faces(img, &pose_in, &faces);
        faces.extend(far);
        People {
            faces,
            persons: self.pose.detect(&pose_in, (w, h)),
            width: w,
            height: h,
        }
    }

    /// Faces only, in the pixels of `source` (which `scaled` was made from).
    fn faces_in(&self, scaled: &RgbImage, source: (u32, u32)) -> Vec<Detection> {
        self.face
            .detect(&scale_long_side(scaled, FACE.size as u32), source)
    }

    /// The faces the full-range detector finds that the short-range one
    /// did not, each confirmed on its close-up (`CONFIRM_CONTEXT`).
    fn far_faces(&self, img: &RgbImage, scaled: &RgbImage, near: &[Detection]) -> Vec<Detection> {
        let small = scale_long_side(scaled, FACE_FULL.size as u32);
        self.face_full
            .detect(&small, img.dimensions())
            .into_iter()
            .filter(|f| {
                !near
                    .iter()
                    .any(|n| n.contains(f.centre()) || f.contains(n.centre()))
            })
            .filter(|f| self.confirmed(img, f))
            .collect()
    }

    /// Whether the short-range detector sees a face centred inside `f` when
    /// shown the square around it, `CONFIRM_CONTEXT` times its size.
    fn confirmed(&self, img: &RgbImage, f: &Detection) -> bool {
        let (w, h) = (img.width() as f32, img.height() as f32);
        let side = f.width().max(f.height()) * CONFIRM_CONTEXT;
        let (cx, cy) = f.centre();
        let x0 = (cx - side / 2.0).clamp(0.0, w - 1.0).floor();
        let y0 = (cy - side / 2.0).clamp(0.0, h - 1.0).floor();
        let x1 = (cx + side / 2.0).clamp(x0 + 1.0, w);
        let y1 = (cy + side / 2.0).clamp(y0 + 1.0, h);
        let (cw, ch) = ((x1 - x0).round() as u32, (y1 - y0).round() as u32);
        if cw < 4 || ch < 4 {
            return false;
        }
        let size = FACE.size as f32;
        let scale = size / cw.max(ch) as f32;
        let to = |n: u32| ((n as f32 * scale).round() as u32).clamp(1, FACE.size as u32);
        let crop = resize(
            img,
            to(cw),
            to(ch),
            Filter::Triangle,
            Some((x0 as u32, y0 as u32, cw, ch)),
        );
        self.face.detect(&crop, (cw, ch)).iter().any(|d| {
            let (dx, dy) = d.centre();
            f.contains((dx + x0, dy + y0))
        })
    }

    /// Where each detector's time goes on `img`, op by op (for
    /// measurements): face detector first, then the person detector.
    pub fn profile(&self, img: &RgbImage) -> [Vec<(String, Duration)>; 2] {
        let pose_in = scale_long_side(img, POSE.size as u32);
        let face_in = scale_long_side(&pose_in, FACE.size as u32);
        [(&self.face, &face_in), (&self.pose, &pose_in)].map(|(detector, scaled)| {
            let (input, _) = letterbox(scaled, detector.options.size as u32);
            let mut spent = Vec::new();
            detector.graph.run_timed(input, &mut spent);
            spent
        })
    }

    /// Faces only (for measurements).
    pub fn faces(&self, img: &RgbImage) -> Vec<Detection> {
        self.faces_in(img, img.dimensions())
    }

    /// Bodies only (for measurements).
    pub fn bodies(&self, img: &RgbImage) -> Vec<Detection> {
        self.pose
            .detect(&scale_long_side(img, POSE.size as u32), img.dimensions())
    }
}

impl People {
    /// How many people the image shows: the more of faces and bodies seen.
    pub fn count(&self) -> usize {
        self.faces.len().max(self.persons.len())
    }

    /// `person` when anyone is seen (the best face or body confidence),
    /// `people` when two or more are (the second best of the larger group),
    /// `face` when a face is (the best face score), and `portrait` when one
    /// face dominates the frame (that face's score). Confidences in 0..=100;
    /// nothing below 1.
    pub fn tags(&self) -> Vec<Tag> {
        let mut tags = Vec::new();
        let mut tag = |name: &str, score: f32| {
            let confidence = (f64::from(score) * 100.0).clamp(0.0, 100.0);
            if confidence >= 1.0 {
                tags.push(Tag::new(name, confidence, Some(TagSource::Model)));
            }
        };
        let descending = |mut v: Vec<f32>| {
            v.sort_by(|a, b| b.total_cmp(a));
            v
        };
        let faces = descending(self.faces.iter().map(|d| d.score).collect());
        let bodies = descending(
            self.persons
                .iter()
                .map(|d| body_confidence(d.score))
                .collect(),
        );
        let face = faces.first().copied();
        if let Some(s) = [face, bodies.first().copied()]
            .into_iter()
            .flatten()
            .reduce(f32::max)
        {
            tag("person", s);
        }
        let group = if faces.len() >= bodies.len() {
            &faces
        } else {
            &bodies
        };
        if let Some(&second) = group.get(1) {
            tag("people", second);
        }
        if let Some(s) = face {
            tag("face", s);
        }
        if let Some(main) = self
            .faces
            .iter()
            .max_by(|a, b| a.width().total_cmp(&b.width()))
        {
            let short = self.width.min(self.height) as f32;
            let others_small = self
                .faces
                .iter()
                .filter(|f| !std::ptr::eq(*f, main))
                .all(|f| f.width() <= PORTRAIT_DOMINANCE * main.width());
            if main.width() >= PORTRAIT_FACE_SIDE * short && others_small {
                tag("portrait", main.score);
            }
        }
        tags
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn det(score: f32, x: f32, w: f32) -> Detection {
        Detection {
            score,
            xmin: x,
            ymin: 0.0,
            xmax: x + w,
            ymax: w,
            keypoints: vec![],
        }
    }

    fn names(p: &People) -> Vec<(String, i64)> {
        p.tags()
            .into_iter()
            .map(|t| (t.name, t.confidence.round() as i64))
            .collect()
    }

    #[test]
    fn tags_follow_the_detections() {
        let mut p = People {
            width: 400,
            height: 300,
            ..People::default()
        };
        assert!(p.tags().is_empty());
        p.persons = vec![det(0.7, 0.0, 100.0)];
        assert_eq!(names(&p), [("person".into(), 40)]);
        p.faces = vec![det(0.9, 10.0, 60.0)];
        assert_eq!(
            names(&p),
            [
                ("person".into(), 90),
                ("face".into(), 90),
                ("portrait".into(), 90)
            ]
        );
        p.faces.push(det(0.6, 200.0, 50.0));
        assert_eq!(
            names(&p),
            [
                ("person".into(), 90),
                ("people".into(), 60),
                ("face".into(), 90)
            ]
        );
        assert_eq!(p.count(), 2);
    }
}

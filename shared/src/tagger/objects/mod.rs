//! Objects in a photo: MobileNetV3-CenterNet on COCO's 80 classes (cups,
//! motorcycles, people, dogs, tables...), run in pure Rust beside the
//! classifier, which names one main subject where this finds each thing
//! and where it is.
//!
//! The model comes from `make model` (scripts/fetch-objects.py converts it
//! from the npm package @vladmandic/human 3.3.6). It sees the whole image
//! scaled to fit 512x512, aspect ratio kept and the rest black (on the
//! fixtures this beats stretching it to the square: the cat is a cat, not a
//! dog, and the cup and motorcycle peak higher), and gives, on a 128x128 grid (stride 4), a heatmap
//! per class whose local maxima are object centres, and at each cell the
//! distances to the box's four edges. Decoding is CenterNet's: a cell is a
//! detection when no neighbour in its 3x3 window scores higher for that
//! class (which stands in for non-maximum suppression), the best 100 are
//! kept, and boxes of one class that still overlap by more than half are
//! merged into the best.

use image::RgbImage;
use serde::Deserialize;
use std::path::Path;
use std::time::Duration;

use super::graph::Graph;
use crate::analysis::scale_long_side;
pub use crate::domain::{BoundingBox, DetectedObject};
use crate::domain::{Tag, TagSource};
use crate::tagger::local::LoadError;

/// The file `make model` writes into `MODEL_DIR`.
pub const OBJECTS_FILE: &str = "object-detector.safetensors";

/// Input side (the one the graph was converted at), output stride,
/// classes: the converted graph is checked against them at load.
pub const SIZE: usize = 512;
const STRIDE: usize = 4;
const CLASSES: usize = 80;

/// Peaks below this heatmap value are not candidates (calibrated, 0.15
/// becomes about 6 %: no tag or object worth keeping is lost). The graph
/// gives logits; the sigmoid is monotonic, so peaks are found on them and
/// only the kept ones pay for it.
const MIN_PEAK: f32 = 0.15;

fn logit(p: f32) -> f32 {
    (p / (1.0 - p)).ln()
}

fn sigmoid(x: f32) -> f32 {
    1.0 / (1.0 + (-x).exp())
}
/// As the model's own graph keeps (its TopKV2).
const MAX_PEAKS: usize = 100;
/// Boxes of one class overlapping by more than this are one object.
const SAME_OBJECT_IOU: f32 = 0.5;
/// Objects below this calibrated confidence (percent) are not reported;
/// the caller's threshold filters the rest, as for tags.
const REPORTED_FROM: f64 = 10.0;

/// A heatmap peak's probability as the model gives it is too modest (a
/// plain cup on a table peaks near 0.6), so the confidence is
/// `sigmoid(A * logit(p) + B)`, with A and B fitted on labelled real photos
/// (BENCHMARKS.md, "The object detector", says how and checks them).
const CALIBRATION: (f64, f64) = (1.773, 0.761);

fn calibrated(p: f32) -> f64 {
    let p = f64::from(p).clamp(1e-6, 1.0 - 1e-6);
    let logit = (p / (1.0 - p)).ln();
    100.0 / (1.0 + (-(CALIBRATION.0 * logit + CALIBRATION.1)).exp())
}

#[derive(Deserialize)]
struct ClassesFile {
    classes: Vec<(String, Vec<String>)>,
}

/// A candidate in input pixels (0..side).
#[derive(Clone, Copy, Debug, PartialEq)]
struct Candidate {
    score: f32,
    class: usize,
    x1: f32,
    y1: f32,
    x2: f32,
    y2: f32,
}

fn iou(a: &Candidate, b: &Candidate) -> f32 {
    let w = (a.x2.min(b.x2) - a.x1.max(b.x1)).max(0.0);
    let h = (a.y2.min(b.y2) - a.y1.max(b.y1)).max(0.0);
    let area = |c: &Candidate| (c.x2 - c.x1).max(0.0) * (c.y2 - c.y1).max(0.0);
    let inter = w * h;
    let union = area(a) + area(b) - inter;
    if union > 0.0 { inter / union } else { 0.0 }
}

/// Cells that are a 3x3 maximum of their class's heatmap and at least
/// `min`, best first, at most `keep`: (score, row, column, class).
fn peaks(
    heat: &[f32],
    grid: usize,
    classes: usize,
    min: f32,
    keep: usize,
) -> Vec<(f32, usize, usize, usize)> {
    debug_assert_eq!(heat.len(), grid * grid * classes);
    let at = |y: usize, x: usize, c: usize| heat[(y * grid + x) * classes + c];
    let mut out = Vec::new();
    for y in 0..grid {
        for x in 0..grid {
            for c in 0..classes {
                let v = at(y, x, c);
                if v < min {
                    continue;
                }
                // Ties count as maxima, as the model's Equal(x, MaxPool(x)) does.
                let peak = (y.saturating_sub(1)..=(y + 1).min(grid - 1)).all(|ny| {
                    (x.saturating_sub(1)..=(x + 1).min(grid - 1)).all(|nx| at(ny, nx, c) <= v)
                });
                if peak {
                    out.push((v, y, x, c));
                }
            }
        }
    }
    out.sort_by(|a, b| b.0.total_cmp(&a.0));
    out.truncate(keep);
    out
}

/// Peaks of the class logits (a `grid` x `grid` map) with their boxes,
/// then per class the best of each overlapping group.
fn decode(heat: &[f32], wh: &[f32], grid: usize) -> Vec<Candidate> {
    let mut candidates: Vec<Candidate> = peaks(heat, grid, CLASSES, logit(MIN_PEAK), MAX_PEAKS)
        .into_iter()
        .map(|(raw, y, x, class)| {
            let d = &wh[(y * grid + x) * 4..][..4];
            let (cx, cy) = ((x * STRIDE) as f32, (y * STRIDE) as f32);
            Candidate {
                score: sigmoid(raw),
                class,
                x1: cx - d[0],
                y1: cy - d[1],
                x2: cx + d[2],
                y2: cy + d[3],
            }
        })
        .collect();
    let mut kept: Vec<Candidate> = Vec::new();
    // Best first, so each survivor is the best of its group.
    for c in candidates.drain(..) {
        if !kept
            .iter()
            .any(|k| k.class == c.class && iou(k, &c) > SAME_OBJECT_IOU)
        {
            kept.push(c);
        }
    }
    kept
}

pub struct ObjectDetector {
    graph: Graph,
    /// The input's side in pixels.
    size: usize,
    /// Per class: its label and tags (own name first, then parents).
    classes: Vec<(String, Vec<String>)>,
}

impl ObjectDetector {
    /// The file `load` reads from `MODEL_DIR`.
    pub const FILE: &str = OBJECTS_FILE;

    pub fn load(model_dir: &Path) -> Result<Self, LoadError> {
        Self::load_at(model_dir, SIZE)
    }

    /// The detector for an input of `size` x `size` (a multiple of 32):
    /// the same network at another scale (for measurements).
    pub fn load_at(model_dir: &Path, size: usize) -> Result<Self, LoadError> {
        let path = model_dir.join(OBJECTS_FILE);
        let graph = Graph::load_at(&path, (size != SIZE).then_some(size))?;
        let grid = size / STRIDE;
        if graph.input_size() != (size, size)
            || graph.output_len("logits") != Some(grid * grid * CLASSES)
            || graph.output_len("wh") != Some(grid * grid * 4)
        {
            return Err(LoadError::Weights(format!(
                "{}: not a {size}x{size} CenterNet with {CLASSES} classes",
                path.display()
            )));
        }
        let file: ClassesFile = serde_json::from_str(include_str!("coco-tags.json"))
            .expect("the compiled-in COCO classes parse");
        assert_eq!(file.classes.len(), CLASSES);
        Ok(ObjectDetector {
            graph,
            size,
            classes: file.classes,
        })
    }

    /// The input's side in pixels.
    pub fn size(&self) -> usize {
        self.size
    }

    /// The `[side][side][3]` input, RGB in 0..255, and where the image sits
    /// in it: (x, y, width, height) in input pixels.
    fn input(&self, img: &RgbImage) -> (Vec<f32>, [f32; 4]) {
        let size = self.size;
        let fitted = scale_long_side(img, size as u32);
        let (w, h) = (fitted.width() as usize, fitted.height() as usize);
        let (x0, y0) = ((size - w) / 2, (size - h) / 2);
        let mut input = vec![0.0f32; size * size * 3];
        for (y, row) in fitted.as_raw().chunks_exact(w * 3).enumerate() {
            let start = ((y + y0) * size + x0) * 3;
            for (d, &v) in input[start..start + w * 3].iter_mut().zip(row) {
                *d = f32::from(v);
            }
        }
        (input, [x0 as f32, y0 as f32, w as f32, h as f32])
    }

    /// Objects in an upright RGB image, best first, on the calling thread.
    pub fn detect(&self, img: &RgbImage) -> Vec<DetectedObject> {
        let (w, h) = img.dimensions();
        if w == 0 || h == 0 {
            return Vec::new();
        }
        let (input, [x0, y0, fw, fh]) = self.input(img);
        let out = self.graph.run(input);
        decode(&out["logits"], &out["wh"], self.size / STRIDE)
            .into_iter()
            .map(|c| {
                // From input pixels to 0..1 of the image.
                let rx = |v: f32| f64::from((v - x0) / fw).clamp(0.0, 1.0);
                let ry = |v: f32| f64::from((v - y0) / fh).clamp(0.0, 1.0);
                let (x1, y1, x2, y2) = (rx(c.x1), ry(c.y1), rx(c.x2), ry(c.y2));
                DetectedObject {
                    label: self.classes[c.class].0.clone(),
                    confidence: calibrated(c.score),
                    bbox: BoundingBox {
                        x: x1,
                        y: y1,
                        w: x2 - x1,
                        h: y2 - y1,
                    },
                }
            })
            .filter(|o| o.confidence >= REPORTED_FROM && o.bbox.w > 0.0 && o.bbox.h > 0.0)
            .collect()
    }

    /// Each detected class's tags, its parents' included, at the
    /// confidence of its best object; a parent of several classes (a cup
    /// and a bowl are both `tableware`) takes the best of them. Two persons
    /// or more are also `people`, at the second best's confidence (as the
    /// people detectors say it).
    pub fn tags(&self, objects: &[DetectedObject]) -> Vec<Tag> {
        let mut tags: Vec<Tag> = Vec::new();
        let mut add = |name: &str, confidence: f64| match tags.iter_mut().find(|t| t.name == name) {
            Some(t) => t.confidence = t.confidence.max(confidence),
            None => tags.push(Tag::new(name, confidence, Some(TagSource::Model))),
        };
        for o in objects {
            if let Some((_, names)) = self.classes.iter().find(|(l, _)| *l == o.label) {
                for name in names {
                    add(name, o.confidence);
                }
            }
        }
        let mut persons: Vec<f64> = objects
            .iter()
            .filter(|o| o.label == "person")
            .map(|o| o.confidence)
            .collect();
        persons.sort_by(|a, b| b.total_cmp(a));
        if let Some(&second) = persons.get(1) {
            add("people", second);
        }
        tags
    }

    /// Where the detector's time goes, op by op (for measurements).
    pub fn profile(&self, img: &RgbImage) -> Vec<(String, Duration)> {
        let mut spent = Vec::new();
        self.graph.run_timed(self.input(img).0, &mut spent);
        spent
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn peaks_are_local_maxima_per_class() {
        // 4x4 grid, 2 classes.
        let mut heat = vec![0.0f32; 4 * 4 * 2];
        let mut set = |y: usize, x: usize, c: usize, v: f32| heat[(y * 4 + x) * 2 + c] = v;
        set(1, 1, 0, 0.9);
        set(1, 2, 0, 0.8); // beside a higher one: not a peak
        set(3, 3, 0, 0.5);
        set(1, 2, 1, 0.7); // another class at the same cell: a peak
        set(0, 0, 1, 0.1); // under the threshold
        let p = peaks(&heat, 4, 2, 0.15, 10);
        assert_eq!(p, [(0.9, 1, 1, 0), (0.7, 1, 2, 1), (0.5, 3, 3, 0)]);
        assert_eq!(peaks(&heat, 4, 2, 0.15, 2).len(), 2);
    }

    #[test]
    fn boxes_come_from_the_edge_distances() {
        const GRID: usize = SIZE / STRIDE;
        let mut heat = vec![0.0f32; GRID * GRID * CLASSES];
        let mut wh = vec![0.0f32; GRID * GRID * 4];
        heat.fill(-10.0);
        // A cup (class 41) centred at cell (row 10, column 20).
        heat[(10 * GRID + 20) * CLASSES + 41] = logit(0.6);
        wh[(10 * GRID + 20) * 4..][..4].copy_from_slice(&[8.0, 4.0, 12.0, 6.0]);
        // A weaker cup overlapping it, one cell right: merged away.
        heat[(10 * GRID + 22) * CLASSES + 41] = logit(0.4);
        wh[(10 * GRID + 22) * 4..][..4].copy_from_slice(&[16.0, 4.0, 4.0, 6.0]);
        let d = decode(&heat, &wh, GRID);
        assert_eq!(d.len(), 1);
        let c = d[0];
        assert_eq!(c.class, 41);
        assert!((c.score - 0.6).abs() < 1e-6);
        assert_eq!((c.x1, c.y1, c.x2, c.y2), (72.0, 36.0, 92.0, 46.0));
    }

    #[test]
    fn calibration_is_monotonic_and_bounded() {
        let mut last = 0.0;
        for i in 1..100 {
            let c = calibrated(i as f32 / 100.0);
            assert!(c > last && (0.0..=100.0).contains(&c));
            last = c;
        }
        assert!((calibrated(1.0) - 100.0).abs() < 0.01);
    }
}

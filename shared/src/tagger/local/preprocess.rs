//! From uploaded bytes to a network's input: decoded upright (EXIF
//! orientation applied), centre-cropped to side/(side + 32) of the short
//! side (224/256 for Lite0, 260/292 for Lite2), bicubic-resized to the
//! network's side, RGB, `(x - 127) / 128`.

use crate::analysis::{self, Filter};
use image::metadata::Orientation;
use image::{DynamicImage, ImageDecoder, ImageReader, RgbImage};
use std::io::Cursor;

use super::net::VARIANTS;
use crate::domain::{ImageData, ImageFormat};

/// Decoding at reduced scale stops once the short side would drop below
/// the largest network's crop (292 for Lite2's 260), so no network's input
/// is enlarged from a photo that had the pixels.
const MIN_DECODED_SIDE: u32 = {
    let mut side = 0;
    let mut i = 0;
    while i < VARIANTS.len() {
        if VARIANTS[i].size > side {
            side = VARIANTS[i].size;
        }
        i += 1;
    }
    (side + 32) as u32
};

/// Decodes the image upright as RGB, at reduced scale where the format
/// allows it (JPEG's DCT scaling: a 12-megapixel photo decodes at 1/8).
pub fn decode_upright(image: &ImageData) -> Result<RgbImage, String> {
    match image.format() {
        ImageFormat::Jpeg => decode_jpeg(image.bytes()),
        ImageFormat::Tiff => decode_with_image(image).or_else(|_| decode_tiff(image.bytes())),
        // HEIF's decoders decode whole whatever the size asked for.
        ImageFormat::Heic | ImageFormat::Avif => {
            crate::analysis::decode_small(image, crate::domain::analysis::ANALYSIS_SIDE)
        }
        _ => decode_with_image(image),
    }
}

fn decode_with_image(image: &ImageData) -> Result<RgbImage, String> {
    let mut decoder = ImageReader::with_format(
        Cursor::new(image.bytes()),
        image
            .format()
            .to_image()
            .ok_or("no decoder for the format")?,
    )
    .into_decoder()
    .map_err(|e| e.to_string())?;
    let orientation = decoder.orientation().unwrap_or(Orientation::NoTransforms);
    let mut img = DynamicImage::from_decoder(decoder).map_err(|e| e.to_string())?;
    img.apply_orientation(orientation);
    Ok(img.to_rgb8())
}

/// TIFFs the image crate refuses, such as float samples (taken as 0..1).
fn decode_tiff(bytes: &[u8]) -> Result<RgbImage, String> {
    use tiff::ColorType;
    use tiff::decoder::{Decoder, DecodingResult};
    let mut decoder = Decoder::new(Cursor::new(bytes)).map_err(|e| e.to_string())?;
    let (w, h) = decoder.dimensions().map_err(|e| e.to_string())?;
    let channels = match decoder.colortype().map_err(|e| e.to_string())? {
        ColorType::Gray(_) => 1,
        ColorType::GrayA(_) => 2,
        ColorType::RGB(_) => 3,
        ColorType::RGBA(_) => 4,
        other => return Err(format!("unsupported TIFF colour type {other:?}")),
    };
    let planar = decoder
        .get_tag_u32(tiff::tags::Tag::PlanarConfiguration)
        .ok()
        == Some(2);
    let mut buffer = DecodingResult::U8(Vec::new());
    decoder
        .read_image_to_buffer(&mut buffer)
        .map_err(|e| e.to_string())?;
    let samples: Vec<f32> = match buffer {
        DecodingResult::F32(v) => v.into_iter().map(|x| x * 255.0).collect(),
        DecodingResult::F64(v) => v.into_iter().map(|x| (x * 255.0) as f32).collect(),
        DecodingResult::U8(v) => v.into_iter().map(f32::from).collect(),
        DecodingResult::U16(v) => v.into_iter().map(|x| f32::from(x) / 257.0).collect(),
        _ => return Err("unsupported TIFF sample format".into()),
    };
    let pixels = (w as usize) * (h as usize);
    if samples.len() < pixels * channels {
        return Err("short TIFF data".into());
    }
    let to_u8 = |x: f32| x.round().clamp(0.0, 255.0) as u8;
    // Planar files store each channel's plane one after the other.
    let sample = |i: usize, c: usize| {
        if planar {
            samples[c * pixels + i]
        } else {
            samples[i * channels + c]
        }
    };
    let rgb = (0..pixels)
        .flat_map(|i| match channels {
            1 | 2 => [to_u8(sample(i, 0)); 3],
            _ => [
                to_u8(sample(i, 0)),
                to_u8(sample(i, 1)),
                to_u8(sample(i, 2)),
            ],
        })
        .collect();
    RgbImage::from_raw(w, h, rgb).ok_or_else(|| "short TIFF data".into())
}

fn decode_jpeg(bytes: &[u8]) -> Result<RgbImage, String> {
    let mut decoder = jpeg_decoder::Decoder::new(Cursor::new(bytes));
    decoder.read_info().map_err(|e| e.to_string())?;
    let info = decoder.info().ok_or("no JPEG header")?;
    let (w, h) = (u32::from(info.width), u32::from(info.height));
    let short = w.min(h).max(1);
    if short > 2 * MIN_DECODED_SIDE {
        // The decoder picks the smallest scale that still covers this size.
        let want_w = (w * MIN_DECODED_SIDE).div_ceil(short) as u16;
        let want_h = (h * MIN_DECODED_SIDE).div_ceil(short) as u16;
        decoder.scale(want_w, want_h).map_err(|e| e.to_string())?;
    }
    let pixels = decoder.decode().map_err(|e| e.to_string())?;
    let info = decoder.info().ok_or("no JPEG header")?;
    let (w, h) = (u32::from(info.width), u32::from(info.height));
    let rgb: Vec<u8> = match info.pixel_format {
        jpeg_decoder::PixelFormat::RGB24 => pixels,
        jpeg_decoder::PixelFormat::L8 => pixels.iter().flat_map(|&l| [l, l, l]).collect(),
        jpeg_decoder::PixelFormat::L16 => pixels
            .chunks_exact(2)
            .flat_map(|p| {
                let l = p[0]; // big-endian: the high byte
                [l, l, l]
            })
            .collect(),
        // Adobe CMYK JPEGs store inverted ink values.
        jpeg_decoder::PixelFormat::CMYK32 => pixels
            .chunks_exact(4)
            .flat_map(|p| {
                let k = u16::from(p[3]);
                [p[0], p[1], p[2]].map(|c| ((u16::from(c) * k) / 255) as u8)
            })
            .collect(),
    };
    let mut img = DynamicImage::ImageRgb8(RgbImage::from_raw(w, h, rgb).ok_or("short JPEG data")?);
    if let Some(o) = decoder.exif_data().and_then(Orientation::from_exif_chunk) {
        img.apply_orientation(o);
    }
    Ok(img.to_rgb8())
}

/// A network's input, `[side][side][3]`.
pub fn prepare(img: &RgbImage, side: usize) -> Vec<f32> {
    let (w, h) = img.dimensions();
    // EfficientNet's evaluation crop: the central side/(side + 32) of the short side.
    let crop = ((f64::from(w.min(h)) * side as f64 / (side + 32) as f64) as u32).max(1);
    let (x, y) = ((w - crop).div_ceil(2), (h - crop).div_ceil(2));
    let side = side as u32;
    let resized = analysis::resize(
        img,
        side,
        side,
        Filter::CatmullRom,
        Some((x, y, crop, crop)),
    );
    resized
        .into_raw()
        .into_iter()
        .map(|v| (f32::from(v) - 127.0) / 128.0)
        .collect()
}

//! One cheap, complete decode per upload, shared by every analysis.

use std::io::Cursor;

use image::metadata::Orientation;
use image::{DynamicImage, ImageDecoder, ImageReader, RgbImage};
use jpeg_decoder::PixelFormat;
use tiff::decoder::{Decoder as TiffDecoder, DecodingResult};
use tiff::tags::{PlanarConfiguration, Tag as TiffTag};

use crate::domain::{ImageData, ImageFormat};

/// Decodes every pixel of the image (so a truncated or corrupt file is
/// refused) and returns an upright (EXIF orientation applied) RGB copy whose
/// long side is at most `max_side`; transparency is flattened onto white, as
/// a page shows it. Animated GIFs give their first frame.
///
/// JPEGs decode at the smallest DCT scale (1/8, 1/4, 1/2 or 1) whose long
/// side is still at least `max_side`: every coefficient is read, so damage
/// anywhere is caught, but the inverse DCT, colour conversion and resizing
/// shrink, which makes a 12-megapixel photo two to three times cheaper than a
/// full decode. Other formats decode fully, then shrink with a triangle filter.
///
/// The error says why the image does not decode (the caller answers 400
/// invalid_image with it).
/// Every decoder is held to [`decode_cost`] of the image: it fails rather
/// than allocate more than the header promised (the decode memory budget
/// reserves exactly that).
pub fn decode_small(image: &ImageData, max_side: u32) -> Result<RgbImage, String> {
    if max_side == 0 {
        return Err("max_side must be at least 1".to_string());
    }
    let bytes = image.bytes();
    let max_alloc = decode_cost(image, max_side);
    let (w, h) = image.dimensions();
    // Coded frames are whole blocks (HEVC's up to 64 pixels), a little past
    // the declared size; nothing larger is decoded.
    let coded_pixels = (u64::from(w) + 64) * (u64::from(h) + 64);
    let (rgb, orientation, icc) = match image.format() {
        ImageFormat::Jpeg => decode_jpeg(bytes, max_side, max_alloc)?,
        ImageFormat::Tiff => decode_with_image(bytes, ImageFormat::Tiff, max_alloc)
            // The tiff crate reads more sample formats (floats, planar) than image's wrapper.
            .or_else(|first| decode_tiff(bytes, max_alloc).map_err(|_| first))?,
        // Upright already (HEIF's rotations are the container's), and in sRGB.
        ImageFormat::Heic => {
            let decoded = super::heif::decode_heic(bytes, coded_pixels)?;
            (flatten(decoded), Orientation::NoTransforms, None)
        }
        ImageFormat::Avif => {
            let (decoded, icc) = super::heif::decode_avif(bytes, coded_pixels)?;
            (flatten(decoded), Orientation::NoTransforms, icc)
        }
        format => decode_with_image(bytes, format, max_alloc)?,
    };
    let mut small = fit(rgb, max_side);
    // Colours as a screen shows them: a phone's Display P3 read as sRGB is dull.
    if let Some(icc) = icc {
        super::heif::to_srgb(&mut small, &icc);
    }
    let mut upright = DynamicImage::ImageRgb8(small);
    upright.apply_orientation(orientation);
    Ok(upright.into_rgb8())
}

/// Decoded pixels, how to turn them upright, and the ICC profile they are in.
type Decoded = (RgbImage, Orientation, Option<Vec<u8>>);

/// Shrinks (never enlarges) to a long side of at most `max_side`.
fn fit(rgb: RgbImage, max_side: u32) -> RgbImage {
    if rgb.width().max(rgb.height()) <= max_side {
        return rgb;
    }
    super::scale_long_side(&rgb, max_side)
}

/// The bytes [`decode_small`] allocates at most for `image` at `max_side`,
/// from its header alone: the decoder's output and, for progressive JPEGs,
/// its coefficients; the RGB copy; the small copies made from it. A header
/// that does not read costs as if every pixel took 16 bytes, so that a file
/// that lies about itself is never cheaper than one that does not.
pub fn decode_cost(image: &ImageData, max_side: u32) -> u64 {
    let (w, h) = image.dimensions();
    let pixels = u64::from(w) * u64::from(h);
    // The small copy is never larger than the image.
    let side = u64::from(max_side.min(w.max(h)));
    let small = side * side * 3;
    // Resized and turned upright: two small copies, and a mebibyte of slack
    // for the decoders' tables and rows.
    let base = 2 * small + (1 << 20);
    let rgb = pixels * 3;
    let unknown = pixels * 16;
    let bytes = image.bytes();
    let decoded = match image.format() {
        ImageFormat::Jpeg => {
            let mut decoder = jpeg_decoder::Decoder::new(Cursor::new(bytes));
            match decoder.read_info().ok().and(decoder.info()) {
                Some(info) if matches!(info.pixel_format, PixelFormat::L8 | PixelFormat::RGB24) => {
                    let long = w.max(h);
                    let denominator = [8, 4, 2, 1]
                        .into_iter()
                        .find(|d| long.div_ceil(*d) >= max_side)
                        .unwrap_or(1);
                    let scaled =
                        u64::from(w.div_ceil(denominator)) * u64::from(h.div_ceil(denominator));
                    // Every coefficient of a progressive JPEG is kept until its last scan.
                    let coefficients = match info.coding_process {
                        jpeg_decoder::CodingProcess::DctProgressive => pixels * 2 * 3,
                        _ => 0,
                    };
                    coefficients + scaled * 3 * 2
                }
                // CMYK and 16-bit: a full decode through `image`.
                Some(_) => pixels * 8 + rgb,
                None => unknown,
            }
        }
        // Decoded whole, then shrunk: priced per pixel, as measured (`heif`).
        ImageFormat::Heic => pixels * super::heif::HEIC_BYTES_PER_PIXEL,
        ImageFormat::Avif => pixels * super::heif::AVIF_BYTES_PER_PIXEL,
        format => {
            let through_image = format
                .to_image()
                .and_then(|f| {
                    ImageReader::with_format(Cursor::new(bytes), f)
                        .into_decoder()
                        .ok()
                })
                .map_or(unknown, |d| d.total_bytes());
            // A GIF's frame is decoded beside its canvas.
            let frames = if format == ImageFormat::Gif { 2 } else { 1 };
            let tiff = match format {
                ImageFormat::Tiff => tiff_bytes(bytes).unwrap_or(unknown),
                _ => 0,
            };
            (through_image * frames).max(tiff) + rgb
        }
    };
    decoded + base
}

/// What the tiff crate's decode of the whole image takes.
fn tiff_bytes(bytes: &[u8]) -> Option<u64> {
    let mut decoder = TiffDecoder::new(Cursor::new(bytes)).ok()?;
    let (w, h) = decoder.dimensions().ok()?;
    let bits: u64 = match decoder.colortype().ok()? {
        tiff::ColorType::Gray(b) => u64::from(b),
        tiff::ColorType::GrayA(b) => 2 * u64::from(b),
        tiff::ColorType::RGB(b) => 3 * u64::from(b),
        tiff::ColorType::RGBA(b) => 4 * u64::from(b),
        _ => return None,
    };
    Some(u64::from(w) * u64::from(h) * bits.div_ceil(8).max(1) * 2)
}

fn decode_jpeg(bytes: &[u8], max_side: u32, max_alloc: u64) -> Result<Decoded, String> {
    let mut decoder = jpeg_decoder::Decoder::new(Cursor::new(bytes));
    decoder.set_max_decoding_buffer_size(usize::try_from(max_alloc).unwrap_or(usize::MAX));
    decoder.read_info().map_err(|e| e.to_string())?;
    let format = decoder
        .info()
        .map(|i| i.pixel_format)
        .ok_or("the JPEG has no frame header")?;
    if !matches!(format, PixelFormat::L8 | PixelFormat::RGB24) {
        // CMYK and 16-bit lossless: rare enough to take the full decode.
        return decode_with_image(bytes, ImageFormat::Jpeg, max_alloc);
    }
    // The decoder picks the smallest scale whose width or height reaches the
    // request; asking for max_side on both axes makes that the long side.
    let request = u16::try_from(max_side).unwrap_or(u16::MAX);
    let (w, h) = decoder.scale(request, request).map_err(|e| e.to_string())?;
    let pixels = decoder.decode().map_err(|e| e.to_string())?;
    let orientation = decoder
        .exif_data()
        .and_then(Orientation::from_exif_chunk)
        .unwrap_or(Orientation::NoTransforms);
    let icc = decoder.icc_profile();
    let (w, h) = (u32::from(w), u32::from(h));
    let rgb = match format {
        PixelFormat::L8 => image::GrayImage::from_raw(w, h, pixels)
            .map(|gray| DynamicImage::ImageLuma8(gray).into_rgb8()),
        _ => RgbImage::from_raw(w, h, pixels),
    };
    Ok((
        rgb.ok_or("the JPEG decoded to fewer pixels than its header declares")?,
        orientation,
        icc,
    ))
}

fn decode_with_image(bytes: &[u8], format: ImageFormat, max_alloc: u64) -> Result<Decoded, String> {
    let format = format
        .to_image()
        .ok_or_else(|| format!("no decoder for {}", format.name()))?;
    let mut reader = ImageReader::with_format(Cursor::new(bytes), format);
    let mut limits = image::Limits::default();
    limits.max_alloc = Some(max_alloc);
    reader.limits(limits);
    let mut decoder = reader.into_decoder().map_err(|e| e.to_string())?;
    let orientation = decoder.orientation().unwrap_or(Orientation::NoTransforms);
    let icc = decoder.icc_profile().ok().flatten();
    let image = DynamicImage::from_decoder(decoder).map_err(|e| e.to_string())?;
    Ok((flatten(image), orientation, icc))
}

/// RGB, with any transparency composited onto white.
fn flatten(image: DynamicImage) -> RgbImage {
    if !image.color().has_alpha() {
        return image.into_rgb8();
    }
    let rgba = image.into_rgba8();
    let mut rgb = RgbImage::new(rgba.width(), rgba.height());
    for (out, px) in rgb.pixels_mut().zip(rgba.pixels()) {
        let a = u32::from(px[3]);
        for c in 0..3 {
            out[c] = ((u32::from(px[c]) * a + 255 * (255 - a) + 127) / 255) as u8;
        }
    }
    rgb
}

/// Gray or RGB TIFFs, with or without alpha, of any sample type and either
/// planar configuration. Integers span their type's range; floats 0..1.
fn decode_tiff(bytes: &[u8], max_alloc: u64) -> Result<Decoded, String> {
    let mut limits = tiff::decoder::Limits::default();
    limits.decoding_buffer_size = usize::try_from(max_alloc).unwrap_or(usize::MAX);
    let mut decoder = TiffDecoder::new(Cursor::new(bytes))
        .map_err(|e| e.to_string())?
        .with_limits(limits);
    let (w, h) = decoder.dimensions().map_err(|e| e.to_string())?;
    let channels = match decoder.colortype().map_err(|e| e.to_string())? {
        tiff::ColorType::Gray(_) => 1,
        tiff::ColorType::GrayA(_) => 2,
        tiff::ColorType::RGB(_) => 3,
        tiff::ColorType::RGBA(_) => 4,
        other => return Err(format!("unsupported TIFF colour type {other:?}")),
    };
    let planar = decoder
        .find_tag_unsigned::<u16>(TiffTag::PlanarConfiguration)
        .ok()
        .flatten()
        == Some(PlanarConfiguration::Planar.to_u16());
    let orientation = decoder
        .find_tag_unsigned::<u8>(TiffTag::Orientation)
        .ok()
        .flatten()
        .and_then(Orientation::from_exif)
        .unwrap_or(Orientation::NoTransforms);
    let mut result = DecodingResult::U8(Vec::new());
    decoder
        .read_image_to_buffer(&mut result)
        .map_err(|e| e.to_string())?;
    let layout = Layout {
        pixels: w as usize * h as usize,
        channels,
        planar,
    };
    let samples = match &result {
        DecodingResult::U8(v) => layout.to_rgb(v, |x| f32::from(x) / 255.0),
        DecodingResult::U16(v) => layout.to_rgb(v, |x| f32::from(x) / 65_535.0),
        DecodingResult::U32(v) => layout.to_rgb(v, |x| (f64::from(x) / f64::from(u32::MAX)) as f32),
        DecodingResult::U64(v) => layout.to_rgb(v, |x| (x as f64 / u64::MAX as f64) as f32),
        DecodingResult::I8(v) => layout.to_rgb(v, |x| (f32::from(x) + 128.0) / 255.0),
        DecodingResult::I16(v) => layout.to_rgb(v, |x| (f32::from(x) + 32_768.0) / 65_535.0),
        DecodingResult::I32(v) => layout.to_rgb(v, |x| {
            ((f64::from(x) + 2_147_483_648.0) / f64::from(u32::MAX)) as f32
        }),
        DecodingResult::I64(v) => {
            layout.to_rgb(v, |x| ((x as f64 / i64::MAX as f64 + 1.0) / 2.0) as f32)
        }
        DecodingResult::F16(v) => layout.to_rgb(v, |x| x.to_f32()),
        DecodingResult::F32(v) => layout.to_rgb(v, |x| x),
        DecodingResult::F64(v) => layout.to_rgb(v, |x| x as f32),
    }?;
    let rgb = RgbImage::from_raw(w, h, samples).ok_or("the TIFF has fewer pixels than declared")?;
    Ok((rgb, orientation, None))
}

struct Layout {
    pixels: usize,
    channels: usize,
    planar: bool,
}

impl Layout {
    /// Interleaved 8-bit RGB from samples mapped to 0..1 by `unit`.
    fn to_rgb<T: Copy>(&self, data: &[T], unit: impl Fn(T) -> f32) -> Result<Vec<u8>, String> {
        let Layout {
            pixels,
            channels,
            planar,
        } = *self;
        if data.len() < pixels * channels {
            return Err("the TIFF has fewer samples than its size declares".to_string());
        }
        let at = |p: usize, c: usize| {
            let v = unit(
                data[if planar {
                    c * pixels + p
                } else {
                    p * channels + c
                }],
            );
            if v.is_nan() { 0.0 } else { v.clamp(0.0, 1.0) }
        };
        let mut out = Vec::with_capacity(pixels * 3);
        for p in 0..pixels {
            let (color, alpha) = match channels {
                1 => ([at(p, 0); 3], 1.0),
                2 => ([at(p, 0); 3], at(p, 1)),
                3 => ([at(p, 0), at(p, 1), at(p, 2)], 1.0),
                _ => ([at(p, 0), at(p, 1), at(p, 2)], at(p, 3)),
            };
            out.extend(color.map(|v| ((v * alpha + 1.0 - alpha) * 255.0).round() as u8));
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::analysis::fixture;

    #[test]
    fn the_tiff_crate_reads_planar_float_tiffs() {
        let (rgb, orientation, _) =
            decode_tiff(&fixture("images/multipage_rgb.tif"), 1 << 26).unwrap();
        assert_eq!(rgb.dimensions(), (10, 10));
        assert_eq!(orientation, Orientation::NoTransforms);
        // A test pattern, not a flat field.
        let first = rgb.get_pixel(0, 0);
        assert!(rgb.pixels().any(|p| p != first));
        // An ordinary 8-bit RGB TIFF reads the same through either decoder.
        let bytes = fixture("exif/canon.tif");
        let (ours, ..) = decode_tiff(&bytes, 1 << 26).unwrap();
        let (theirs, ..) = decode_with_image(&bytes, ImageFormat::Tiff, 1 << 26).unwrap();
        assert_eq!(ours, theirs);
    }

    #[test]
    fn jpeg_scale_keeps_the_long_side_at_least_the_request() {
        let bytes = fixture("images/rocket.jpg"); // 640x427
        for (max_side, expected) in [
            (80, (80, 54)),
            (100, (160, 107)),
            (320, (320, 214)),
            (321, (640, 427)),
        ] {
            let (rgb, ..) = decode_jpeg(&bytes, max_side, 1 << 26).unwrap();
            assert_eq!(rgb.dimensions(), expected, "max_side {max_side}");
        }
    }

    #[test]
    fn transparency_goes_white() {
        let mut rgba = image::RgbaImage::new(2, 1);
        rgba.put_pixel(0, 0, image::Rgba([0, 0, 0, 0]));
        rgba.put_pixel(1, 0, image::Rgba([200, 0, 0, 255]));
        let rgb = flatten(DynamicImage::ImageRgba8(rgba));
        assert_eq!(rgb.get_pixel(0, 0).0, [255, 255, 255]);
        assert_eq!(rgb.get_pixel(1, 0).0, [200, 0, 0]);
    }
}

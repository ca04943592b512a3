//! HEIF containers: HEIC (HEVC), the iPhone's default, and AVIF (AV1).
//!
//! The container is read by `heifer-isobmff` for both; HEIC pixels by
//! `heifer` (pure Rust: nothing to install or ship, on Lambda too) and
//! AVIF pixels by libaom through `aom-decode` (built from source and linked
//! statically, so the functions' zips carry it). Both decode the whole
//! image, which the decode budget prices per pixel ([`heic_bytes_per_pixel`],
//! [`AVIF_BYTES_PER_PIXEL`]).

use heifer::heifer_isobmff::HeifFile;
use heifer::heifer_isobmff::boxes::{ColorInfo, Property};
use image::{DynamicImage, RgbImage, RgbaImage};

use crate::domain::ImageFormat;

/// What heifer allocates at its peak per pixel of a HEIC: the RGBA result
/// (4 bytes), its 16-bit planes and a tile's frame, measured at 8.0 bytes a
/// pixel on 12-megapixel photos; then the RGB copy the analyses read (3).
pub const HEIC_BYTES_PER_PIXEL: u64 = 12;

/// libaom keeps its frame pool and reference buffers (about 14 bytes a pixel
/// of a 12-megapixel photo, measured as resident memory, since its own
/// allocations are C's), then the RGB result and its copy (6).
pub const AVIF_BYTES_PER_PIXEL: u64 = 20;

/// Brands a HEIF file names in its `ftyp` box (ISO/IEC 23008-12 and the AVIF spec).
const BRANDS: [&[u8; 4]; 12] = [
    b"heic", b"heix", b"heim", b"heis", b"hevc", b"hevx", b"mif1", b"msf1", b"mif2", b"avif",
    b"avis", b"avio",
];

/// Whether the bytes start with an `ftyp` box naming a HEIF brand.
pub fn is_heif(bytes: &[u8]) -> bool {
    if bytes.get(4..8) != Some(b"ftyp") {
        return false;
    }
    let Some(size) = bytes
        .get(..4)
        .map(|b| u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
    else {
        return false;
    };
    let end = (size as usize).clamp(8, bytes.len().min(256));
    bytes[8..end]
        .chunks_exact(4)
        .any(|brand| BRANDS.iter().any(|b| &b[..] == brand))
}

/// The format of the primary image (HEVC or AV1) and its size as the
/// container declares it (`ispe`, cropped by `clap`), before any rotation.
pub fn primary(bytes: &[u8]) -> Result<(ImageFormat, (u32, u32)), String> {
    let file = HeifFile::parse(bytes).map_err(|e| e.to_string())?;
    let id = file.primary_id;
    let item = file.item(id).map_err(|e| e.to_string())?;
    let coded = match &item.item_type.0 {
        b"grid" | b"iovl" => file
            .referenced_items(id, b"dimg")
            .first()
            .and_then(|tile| file.item(*tile).ok())
            .map(|tile| tile.item_type.0)
            .ok_or("the grid has no tiles")?,
        other => *other,
    };
    let format = match &coded {
        b"hvc1" => ImageFormat::Heic,
        b"av01" => ImageFormat::Avif,
        other => {
            return Err(format!(
                "HEIF images coded as {:?} are not supported (HEVC and AV1 are)",
                String::from_utf8_lossy(other)
            ));
        }
    };
    let (mut w, mut h) = file
        .image_size(id)
        .map_err(|e| e.to_string())?
        .ok_or("the primary image has no size (ispe)")?;
    // Encoders code whole blocks and crop with `clap` (a 451-pixel side is coded as 452).
    for property in file.item_properties(id).map_err(|e| e.to_string())? {
        if let Property::CleanAperture { width, height, .. } = property {
            let side = |(n, d): (u32, u32), coded: u32| match d {
                0 => coded,
                d => (n / d).clamp(1, coded),
            };
            (w, h) = (side(*width, w), side(*height, h));
        }
    }
    Ok((format, (w, h)))
}

/// The TIFF block of the primary image's `Exif` item (past its offset
/// field and any `Exif\0\0`), if it has one.
pub fn exif_block(bytes: &[u8]) -> Option<Vec<u8>> {
    let file = HeifFile::parse(bytes).ok()?;
    file.exif(file.primary_id).ok().flatten()
}

/// The primary image of a HEIC, upright (`irot`, `imir` and `clap` applied,
/// as the container prescribes: the EXIF orientation of a HEIF is only
/// informative), in sRGB (from its ICC profile or `nclx`), with any alpha.
/// `max_pixels` bounds every frame heifer assembles.
pub fn decode_heic(bytes: &[u8], max_pixels: u64) -> Result<DynamicImage, String> {
    let options = heifer::Options {
        // The CPU pool runs decodes side by side; one thread each.
        max_threads: 1,
        max_pixels,
    };
    let image = match heifer::decode_srgb_rgba8(bytes, &options) {
        // PQ/HLG or an exotic profile: the coded values, rather than nothing.
        Err(heifer::Error::Unsupported(_)) => heifer::decode_rgba8(bytes, &options),
        other => other,
    }
    .map_err(|e| e.to_string())?;
    let (w, h) = (image.width, image.height);
    let rgba = RgbaImage::from_raw(w, h, image.data)
        .ok_or("the HEIC decoded to fewer pixels than it declares")?;
    Ok(match image.has_alpha {
        true => DynamicImage::ImageRgba8(rgba),
        false => DynamicImage::ImageRgb8(DynamicImage::ImageRgba8(rgba).into_rgb8()),
    })
}

/// The primary image of an AVIF, upright (`irot` then `imir`), with any
/// alpha; and its ICC profile, which the caller applies. A frame larger
/// than `max_pixels` (the AV1 sequence header's, read before libaom
/// allocates) is refused.
pub fn decode_avif(
    bytes: &[u8],
    max_pixels: u64,
) -> Result<(DynamicImage, Option<Vec<u8>>), String> {
    use aom_decode::avif::{Avif, Image};
    let parsed = Avif::parse_avif(bytes).map_err(|e| e.to_string())?;
    let header = parsed.primary_item_metadata().map_err(|e| e.to_string())?;
    let frame = u64::from(header.max_frame_width.get()) * u64::from(header.max_frame_height.get());
    if frame > max_pixels {
        return Err(format!(
            "the AV1 frame ({}x{}) is larger than the image declares",
            header.max_frame_width, header.max_frame_height
        ));
    }
    let depth = header.bit_depth;
    let mut avif = Avif::from_parsed_avif_data(parsed, &aom_decode::Config { threads: 1 })
        .map_err(|e| e.to_string())?;
    let decoded = avif.convert().map_err(|e| e.to_string())?;
    drop(avif);
    let short = || "the AVIF decoded to fewer pixels than it declares".to_string();
    // 10- and 12-bit samples come at their own depth.
    let to8 = |v: u16| (u32::from(v) * 255 / ((1u32 << depth.clamp(8, 16)) - 1)).min(255) as u8;
    let image = match decoded {
        Image::RGB8(img) => {
            let (w, h) = (img.width() as u32, img.height() as u32);
            let raw = img.rows().flatten().copied().flat_map(|p| [p.r, p.g, p.b]);
            DynamicImage::ImageRgb8(RgbImage::from_raw(w, h, raw.collect()).ok_or_else(short)?)
        }
        Image::RGBA8(img) => {
            let (w, h) = (img.width() as u32, img.height() as u32);
            let raw = img
                .rows()
                .flatten()
                .copied()
                .flat_map(|p| [p.r, p.g, p.b, p.a]);
            DynamicImage::ImageRgba8(RgbaImage::from_raw(w, h, raw.collect()).ok_or_else(short)?)
        }
        Image::RGB16(img) => {
            let (w, h) = (img.width() as u32, img.height() as u32);
            let raw = img
                .rows()
                .flatten()
                .flat_map(|p| [to8(p.r), to8(p.g), to8(p.b)]);
            DynamicImage::ImageRgb8(RgbImage::from_raw(w, h, raw.collect()).ok_or_else(short)?)
        }
        Image::RGBA16(img) => {
            let (w, h) = (img.width() as u32, img.height() as u32);
            let raw = img
                .rows()
                .flatten()
                .flat_map(|p| [to8(p.r), to8(p.g), to8(p.b), to8(p.a)]);
            DynamicImage::ImageRgba8(RgbaImage::from_raw(w, h, raw.collect()).ok_or_else(short)?)
        }
        Image::Gray8(img) => {
            let (w, h) = (img.width() as u32, img.height() as u32);
            DynamicImage::ImageLuma8(
                image::GrayImage::from_raw(w, h, img.rows().flatten().copied().collect())
                    .ok_or_else(short)?,
            )
        }
        Image::Gray16(img) => {
            let (w, h) = (img.width() as u32, img.height() as u32);
            let raw = img.rows().flatten().copied().map(to8).collect();
            DynamicImage::ImageLuma8(image::GrayImage::from_raw(w, h, raw).ok_or_else(short)?)
        }
    };
    let file = HeifFile::parse(bytes).map_err(|e| e.to_string())?;
    let id = file.primary_id;
    let mut upright = image;
    let mut icc = None;
    for property in file.item_properties(id).map_err(|e| e.to_string())? {
        match property {
            // Anticlockwise quarters.
            Property::Rotation(q) => {
                upright = match q % 4 {
                    1 => upright.rotate270(),
                    2 => upright.rotate180(),
                    3 => upright.rotate90(),
                    _ => upright,
                }
            }
            Property::Mirror(true) => upright = upright.flipv(),
            Property::Mirror(false) => upright = upright.fliph(),
            Property::Color(ColorInfo::Icc(profile)) if !profile.is_empty() => {
                icc = Some(profile.clone())
            }
            _ => {}
        }
    }
    Ok((upright, icc))
}

/// The image converted from the colour space of its ICC profile to sRGB;
/// as it was when the profile does not read or is sRGB already.
pub fn to_srgb(rgb: &mut RgbImage, icc: &[u8]) {
    use moxcms::{ColorProfile, Layout, TransformOptions};
    let Ok(source) = ColorProfile::new_from_slice(icc) else {
        return;
    };
    let srgb = ColorProfile::new_srgb();
    if source.red_colorant == srgb.red_colorant
        && source.green_colorant == srgb.green_colorant
        && source.blue_colorant == srgb.blue_colorant
    {
        return;
    }
    let Ok(transform) =
        source.create_transform_8bit(Layout::Rgb, &srgb, Layout::Rgb, TransformOptions::default())
    else {
        return;
    };
    let mut out = vec![0; rgb.as_raw().len()];
    if transform.transform(rgb.as_raw(), &mut out).is_ok() {
        rgb.copy_from_slice(&out);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::ImageData;

    fn phone(name: &str) -> Vec<u8> {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../tests/fixtures/phone/");
        std::fs::read(format!("{path}{name}")).unwrap()
    }

    #[test]
    fn the_container_says_which_and_how_big() {
        for (name, format, size) in [
            // Stored sideways: the declared size is the coded one.
            ("iphone.heic", ImageFormat::Heic, (300, 451)),
            ("pixel.avif", ImageFormat::Avif, (500, 741)),
            ("live-photo.heic", ImageFormat::Heic, (640, 427)),
        ] {
            let bytes = phone(name);
            assert!(is_heif(&bytes), "{name}");
            assert_eq!(primary(&bytes), Ok((format, size)), "{name}");
            assert!(exif_block(&bytes).is_some(), "{name}");
            let image = ImageData::from_bytes(bytes).unwrap();
            assert_eq!(image.format(), format);
            // Upright: the rotation is the container's.
            let small = super::super::decode_small(&image, 200).unwrap();
            let (w, h) = size;
            let upright = if name == "live-photo.heic" {
                (w, h)
            } else {
                (h, w)
            };
            assert_eq!(
                small.width() > small.height(),
                upright.0 > upright.1,
                "{name}"
            );
        }
        assert!(!is_heif(b"\0\0\0\x18ftypisom\0\0\0\0isommp42"));
        assert!(!is_heif(b"\xff\xd8\xff\xe0"));
    }

    #[test]
    fn cut_or_lying_files_fail_cleanly() {
        for name in ["iphone.heic", "pixel.avif"] {
            let bytes = phone(name);
            for cut in (0..bytes.len()).step_by(499) {
                let part = &bytes[..cut];
                if let Ok(image) = ImageData::from_bytes(part.to_vec()) {
                    assert!(
                        super::super::decode_small(&image, 64).is_err(),
                        "{name} cut at {cut}"
                    );
                }
            }
        }
        // Files whose `ispe` claims 16x16 pixels: the budget priced 16x16,
        // so neither decoder may make the real frame.
        for name in ["iphone.heic", "pixel.avif"] {
            let mut lying = phone(name);
            let at = lying.windows(4).position(|w| w == b"ispe").unwrap() + 8;
            lying[at..at + 8].copy_from_slice(&[0, 0, 0, 16, 0, 0, 0, 16]);
            let image = ImageData::from_bytes(lying).unwrap();
            assert_eq!(image.dimensions(), (16, 16), "{name}");
            assert!(super::super::decode_small(&image, 64).is_err(), "{name}");
        }
    }

    #[test]
    fn display_p3_becomes_srgb() {
        // Pure P3 green is outside sRGB: it clips to sRGB's green, and a
        // mid grey stays grey.
        let bytes = std::fs::read(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../tests/fixtures/phone/display-p3.jpg"
        ))
        .unwrap();
        let mut decoder = jpeg_decoder::Decoder::new(std::io::Cursor::new(&bytes));
        decoder.read_info().unwrap();
        let icc = decoder
            .icc_profile()
            .expect("the fixture carries its profile");
        let mut rgb = RgbImage::from_raw(2, 1, vec![0, 255, 0, 128, 128, 128]).unwrap();
        to_srgb(&mut rgb, &icc);
        let [r, g, b] = rgb.get_pixel(0, 0).0;
        assert!(r <= 30 && g >= 250 && b <= 30, "{:?}", rgb.get_pixel(0, 0));
        let [r, g, b] = rgb.get_pixel(1, 0).0;
        assert!(r.abs_diff(128) <= 2 && g.abs_diff(128) <= 2 && b.abs_diff(128) <= 2);
    }
}

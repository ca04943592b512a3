//! A file without the place it was taken: the EXIF GPS directory blanked
//! where it lies, every other byte as it was. Nothing is re-encoded and no
//! offset moves: the GPS entries and the values they point at are zeroed
//! and the directory left empty, which every EXIF reader takes as "no
//! location". The EXIF block is found in JPEG (APP1), PNG (`eXIf`, its CRC
//! written again), WebP (`EXIF`), TIFF (the file itself) and HEIF/AVIF
//! (the `Exif` item that `iloc` places).
//!
//! Every read is bounds-checked: a hostile file cannot make this panic, and
//! a malformed block is left as it is (a reader cannot find a location in
//! it either).

use crate::domain::ImageFormat;

/// The bytes without their GPS directory; `None` when there is none.
pub fn without_location(bytes: &[u8], format: ImageFormat) -> Option<Vec<u8>> {
    let mut out = bytes.to_vec();
    let changed = match format {
        ImageFormat::Jpeg => jpeg_exif(&out)
            .into_iter()
            .fold(false, |changed, at| blank_gps(&mut out[at..]) | changed),
        ImageFormat::Tiff => blank_gps(&mut out),
        ImageFormat::Png => blank_png(&mut out),
        ImageFormat::WebP => webp_exif(&out).is_some_and(|at| blank_gps(&mut out[at..])),
        ImageFormat::Bmp | ImageFormat::Gif => false,
        ImageFormat::Heic | ImageFormat::Avif => {
            heif_exif(&out).is_some_and(|at| blank_gps(&mut out[at..]))
        }
    };
    changed.then_some(out)
}

fn be16(b: &[u8], at: usize) -> Option<usize> {
    Some(u16::from_be_bytes(b.get(at..at + 2)?.try_into().ok()?) as usize)
}

fn be32(b: &[u8], at: usize) -> Option<usize> {
    Some(u32::from_be_bytes(b.get(at..at + 4)?.try_into().ok()?) as usize)
}

fn be64(b: &[u8], at: usize) -> Option<usize> {
    usize::try_from(u64::from_be_bytes(b.get(at..at + 8)?.try_into().ok()?)).ok()
}

/// Where each `Exif\0\0` APP1 segment's TIFF header starts, before the image data.
fn jpeg_exif(b: &[u8]) -> Vec<usize> {
    let mut found = Vec::new();
    if b.get(..2) != Some(&[0xff, 0xd8]) {
        return found;
    }
    let mut at = 2;
    while b.get(at) == Some(&0xff) {
        let Some(&marker) = b.get(at + 1) else { break };
        match marker {
            // Fill bytes.
            0xff => at += 1,
            // Markers without a length.
            0x01 | 0xd0..=0xd8 => at += 2,
            // Start of scan, end of image: the metadata is behind us.
            0xda | 0xd9 => break,
            _ => {
                let Some(len) = be16(b, at + 2) else { break };
                let data = at + 4;
                if marker == 0xe1 && b.get(data..data + 6) == Some(b"Exif\0\0") {
                    found.push(data + 6);
                }
                at += 2 + len;
            }
        }
    }
    found
}

/// Blanks the GPS directory of each `eXIf` chunk and writes its CRC again.
fn blank_png(b: &mut [u8]) -> bool {
    if b.get(..8) != Some(b"\x89PNG\r\n\x1a\n") {
        return false;
    }
    let mut changed = false;
    let mut at = 8;
    while let Some(len) = be32(b, at) {
        let (kind, data, end) = (at + 4, at + 8, at + 8 + len);
        if end + 4 > b.len() {
            break;
        }
        if &b[kind..kind + 4] == b"eXIf" && blank_gps(&mut b[data..end]) {
            let crc = crc32fast::hash(&b[kind..end]);
            b[end..end + 4].copy_from_slice(&crc.to_be_bytes());
            changed = true;
        }
        if &b[kind..kind + 4] == b"IEND" {
            break;
        }
        at = end + 4;
    }
    changed
}

/// Where the `EXIF` chunk's TIFF header starts.
fn webp_exif(b: &[u8]) -> Option<usize> {
    if b.get(..4) != Some(b"RIFF") || b.get(8..12) != Some(b"WEBP") {
        return None;
    }
    let mut at = 12;
    while let Some(fourcc) = b.get(at..at + 4) {
        let len = u32::from_le_bytes(b.get(at + 4..at + 8)?.try_into().ok()?) as usize;
        let data = at + 8;
        if fourcc == b"EXIF" {
            // Some writers keep JPEG's `Exif\0\0` in front.
            let skip = if b.get(data..data + 6) == Some(b"Exif\0\0") {
                6
            } else {
                0
            };
            return Some(data + skip);
        }
        at = data + len + (len & 1);
    }
    None
}

/// One ISO BMFF box: its type, where its content starts and where it ends.
fn boxes(b: &[u8], from: usize, to: usize) -> Vec<([u8; 4], usize, usize)> {
    let mut out = Vec::new();
    let mut at = from;
    while at + 8 <= to {
        let Some(size) = be32(b, at) else { break };
        let kind: [u8; 4] = b[at + 4..at + 8].try_into().unwrap_or_default();
        let (content, end) = match size {
            0 => (at + 8, to),
            1 => match be64(b, at + 8) {
                Some(large) => (at + 16, at.saturating_add(large)),
                None => break,
            },
            n => (at + 8, at.saturating_add(n)),
        };
        if end > to || end < content {
            break;
        }
        out.push((kind, content, end));
        at = end;
    }
    out
}

/// Where the TIFF header of a HEIF or AVIF file's `Exif` item starts: the
/// item named in `iinf`, placed by `iloc` (file offsets, one extent).
fn heif_exif(b: &[u8]) -> Option<usize> {
    let (_, meta, meta_end) = *boxes(b, 0, b.len()).iter().find(|(k, ..)| k == b"meta")?;
    // `meta` is a full box: version and flags first.
    let children = boxes(b, meta + 4, meta_end);
    let (_, iinf, iinf_end) = *children.iter().find(|(k, ..)| k == b"iinf")?;
    let version = *b.get(iinf)?;
    let first = iinf + 4 + if version == 0 { 2 } else { 4 };
    let item = boxes(b, first, iinf_end)
        .into_iter()
        .find_map(|(kind, at, _)| {
            let version = *b.get(at)?;
            if kind != *b"infe" || version < 2 {
                return None;
            }
            let (id, type_at) = match version {
                2 => (be16(b, at + 4)?, at + 8),
                _ => (be32(b, at + 4)?, at + 10),
            };
            (b.get(type_at..type_at + 4)? == b"Exif").then_some(id)
        })?;
    let (_, iloc, _) = *children.iter().find(|(k, ..)| k == b"iloc")?;
    let version = *b.get(iloc)?;
    let sizes = be16(b, iloc + 4)?;
    let (offset_size, length_size, base_size) = (sizes >> 12, (sizes >> 8) & 15, (sizes >> 4) & 15);
    let index_size = if version >= 1 { sizes & 15 } else { 0 };
    let sized = |at: usize, n: usize| match n {
        0 => Some(0),
        4 => be32(b, at),
        8 => be64(b, at),
        _ => None,
    };
    let (count, mut at) = match version {
        2 => (be32(b, iloc + 6)?, iloc + 10),
        _ => (be16(b, iloc + 6)?, iloc + 8),
    };
    for _ in 0..count {
        let (id, next) = match version {
            2 => (be32(b, at)?, at + 4),
            _ => (be16(b, at)?, at + 2),
        };
        at = next;
        let method = if version >= 1 {
            let m = be16(b, at)? & 15;
            at += 2;
            m
        } else {
            0
        };
        at += 2; // data_reference_index
        let base = sized(at, base_size)?;
        at += base_size;
        let extents = be16(b, at)?;
        at += 2;
        let mut first_extent = None;
        for _ in 0..extents {
            at += index_size;
            let offset = sized(at, offset_size)?;
            at += offset_size;
            let length = sized(at, length_size)?;
            at += length_size;
            first_extent.get_or_insert((offset, length));
        }
        if id == item {
            let (offset, _) = first_extent?;
            if method != 0 || extents != 1 {
                return None;
            }
            let start = base.checked_add(offset)?;
            // The item starts with the offset of its TIFF header, past `Exif\0\0`.
            return start.checked_add(4)?.checked_add(be32(b, start)?);
        }
    }
    None
}

/// Zeroes the GPS directory of the TIFF structure `t` starts with (and the
/// values its entries point at), leaving it empty. `true` when there was one.
fn blank_gps(t: &mut [u8]) -> bool {
    let little = match t.get(..4) {
        Some(b"II\x2a\x00") => true,
        Some(b"MM\x00\x2a") => false,
        _ => return false,
    };
    let u16_at = |t: &[u8], at: usize| -> Option<usize> {
        let b: [u8; 2] = t.get(at..at + 2)?.try_into().ok()?;
        Some(if little {
            u16::from_le_bytes(b)
        } else {
            u16::from_be_bytes(b)
        } as usize)
    };
    let u32_at = |t: &[u8], at: usize| -> Option<usize> {
        let b: [u8; 4] = t.get(at..at + 4)?.try_into().ok()?;
        Some(if little {
            u32::from_le_bytes(b)
        } else {
            u32::from_be_bytes(b)
        } as usize)
    };
    let Some(ifd0) = u32_at(t, 4) else {
        return false;
    };
    let Some(entries) = u16_at(t, ifd0) else {
        return false;
    };
    let gps = (0..entries).find_map(|i| {
        let entry = ifd0 + 2 + 12 * i;
        (u16_at(t, entry)? == 0x8825)
            .then(|| u32_at(t, entry + 8))
            .flatten()
    });
    let Some(gps) = gps else { return false };
    let Some(count) = u16_at(t, gps) else {
        return false;
    };
    if t.len() < gps + 2 + 12 * count {
        return false;
    }
    for i in 0..count {
        let entry = gps + 2 + 12 * i;
        let unit = match u16_at(t, entry + 2) {
            Some(1 | 2 | 6 | 7) => 1,
            Some(3 | 8) => 2,
            Some(4 | 9 | 11 | 13) => 4,
            Some(5 | 10 | 12) => 8,
            _ => 0,
        };
        let size = u32_at(t, entry + 4).and_then(|n| n.checked_mul(unit));
        if let (Some(size), Some(at)) = (size, u32_at(t, entry + 8))
            && size > 4
            && let Some(value) = at.checked_add(size).and_then(|end| t.get_mut(at..end))
        {
            value.fill(0);
        }
        t[entry..entry + 12].fill(0);
    }
    // An empty directory, with no next one.
    t[gps..gps + 2].fill(0);
    if let Some(next) = t.get_mut(gps + 2 + 12 * count..gps + 6 + 12 * count) {
        next.fill(0);
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::analysis::fixture;

    #[test]
    fn the_place_goes_and_nothing_else() {
        for (name, format) in [
            ("exif/south_west.jpg", ImageFormat::Jpeg),
            ("exif/canon.jpg", ImageFormat::Jpeg),
        ] {
            let original = fixture(name);
            let before = crate::analysis::read_exif(&original);
            let Some(stripped) = without_location(&original, format) else {
                assert!(before.gps.is_none(), "{name} has a location");
                continue;
            };
            assert!(before.gps.is_some(), "{name}: changed without a location");
            let after = crate::analysis::read_exif(&stripped);
            assert_eq!(after.gps, None, "{name}");
            assert_eq!(
                (after.camera, after.taken_at),
                (before.camera, before.taken_at),
                "{name}"
            );
            assert_eq!(stripped.len(), original.len(), "{name}: nothing moves");
            // Only the GPS directory's bytes differ, and the pixels still decode the same.
            let changed = original
                .iter()
                .zip(&stripped)
                .filter(|(a, b)| a != b)
                .count();
            assert!(
                changed > 0 && changed < 400,
                "{name}: {changed} bytes changed"
            );
            let image = |b: &[u8]| image::load_from_memory(b).unwrap().into_rgb8();
            assert_eq!(image(&original), image(&stripped), "{name}");
        }
    }

    #[test]
    fn every_container() {
        let gps_file = fixture("exif/south_west.jpg");
        let exif = jpeg_exif(&gps_file)[0];
        // The TIFF block of the JPEG, to be wrapped in the other containers.
        let len = be16(&gps_file, exif - 8).unwrap() - 8;
        let tiff = gps_file[exif..exif + len].to_vec();
        let png = png_with_exif(&tiff);
        let stripped = without_location(&png, ImageFormat::Png).expect("the PNG had a place");
        assert!(crate::analysis::read_exif(&png).gps.is_some());
        assert_eq!(crate::analysis::read_exif(&stripped).gps, None);
        image::load_from_memory(&stripped).expect("CRCs are right");
        let mut t = tiff.clone();
        assert!(blank_gps(&mut t));
        assert!(
            !blank_gps(&mut t.clone()[..3].to_vec()),
            "too short to read"
        );
        assert_eq!(without_location(b"GIF89a", ImageFormat::Gif), None);
        // Cut anywhere, nothing panics.
        for cut in (0..gps_file.len()).step_by(97) {
            let _ = without_location(&gps_file[..cut], ImageFormat::Jpeg);
            let _ = without_location(&png[..cut.min(png.len())], ImageFormat::Png);
            let _ = heif_exif(&gps_file[..cut]);
        }
    }

    fn png_with_exif(tiff: &[u8]) -> Vec<u8> {
        let mut plain = Vec::new();
        image::RgbImage::new(2, 2)
            .write_to(
                &mut std::io::Cursor::new(&mut plain),
                image::ImageFormat::Png,
            )
            .unwrap();
        // eXIf goes before the image data: after the 33-byte signature and IHDR.
        let mut out = plain[..33].to_vec();
        out.extend_from_slice(&(tiff.len() as u32).to_be_bytes());
        let mut chunk = b"eXIf".to_vec();
        chunk.extend_from_slice(tiff);
        out.extend_from_slice(&chunk);
        out.extend_from_slice(&crc32fast::hash(&chunk).to_be_bytes());
        out.extend_from_slice(&plain[33..]);
        out
    }
}

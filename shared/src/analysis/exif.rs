//! Camera, capture time and place from an image's EXIF block.

use std::io::Cursor;

use exif::{Exif, In, Tag, Value};
use serde::Serialize;

/// A position in decimal degrees: north and east positive.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Gps {
    pub lat: f64,
    pub lon: f64,
}

/// What the service shows of an image's EXIF; every field is optional
/// because most uploads (screenshots, edited or re-encoded files) carry none.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct ExifInfo {
    pub camera: Option<String>,
    pub taken_at: Option<String>,
    pub gps: Option<Gps>,
}

/// Never fails: no or unreadable EXIF gives all `None`, and each field is
/// read on its own, so one malformed tag does not hide the others.
///
/// * `camera` is `"Make - Model"` (each trimmed of whitespace and NULs), just
///   the one that exists if only one does, `None` if neither.
/// * `taken_at` is DateTimeOriginal, else DateTime, as `"YYYY-MM-DD HH:MM:SS"`;
///   a date that is not a real calendar date and time is `None`.
/// * `gps` is the position in decimal degrees (S and W negative); `None` if a
///   coordinate or its hemisphere is missing, malformed or out of range.
///
/// Reads JPEG, TIFF, PNG (eXIf chunk), WebP and HEIF (HEIC, AVIF) containers.
pub fn read_exif(bytes: &[u8]) -> ExifInfo {
    let mut reader = exif::Reader::new();
    // Keep what parses when a later IFD is broken, as cameras' often are.
    reader.continue_on_error(true);
    let read = match super::heif::is_heif(bytes) {
        // The primary image's `Exif` item, wherever `iloc` puts it (in
        // `idat`, in pieces) and whatever brands the file names.
        true => match super::heif::exif_block(bytes) {
            Some(tiff) => reader.read_raw(tiff),
            None => return ExifInfo::default(),
        },
        false => reader.read_from_container(&mut Cursor::new(bytes)),
    };
    let exif = match read {
        Ok(exif) => exif,
        Err(exif::Error::PartialResult(partial)) => partial.into_inner().0,
        Err(_) => return ExifInfo::default(),
    };
    ExifInfo {
        camera: camera(&exif),
        taken_at: taken_at(&exif),
        gps: gps(&exif),
    }
}

fn camera(exif: &Exif) -> Option<String> {
    match (text(exif, Tag::Make), text(exif, Tag::Model)) {
        (Some(make), Some(model)) => Some(format!("{make} - {model}")),
        (one, other) => one.or(other),
    }
}

/// The first non-blank string of a text tag, trimmed of the spaces and NULs
/// firmwares pad fixed-size fields with.
fn text(exif: &Exif, tag: Tag) -> Option<String> {
    let field = exif.get_field(tag, In::PRIMARY)?;
    let strings: Vec<&[u8]> = match &field.value {
        Value::Ascii(strings) => strings.iter().map(Vec::as_slice).collect(),
        // Some writers store text as UNDEFINED or BYTE.
        Value::Undefined(bytes, _) | Value::Byte(bytes) => bytes.split(|&b| b == 0).collect(),
        _ => return None,
    };
    strings.into_iter().find_map(|s| {
        let s = String::from_utf8_lossy(s);
        let s = s.trim_matches(|c: char| c.is_whitespace() || c == '\0');
        (!s.is_empty()).then(|| s.to_string())
    })
}

fn taken_at(exif: &Exif) -> Option<String> {
    [Tag::DateTimeOriginal, Tag::DateTime]
        .into_iter()
        .find_map(|tag| text(exif, tag).and_then(|s| format_datetime(s.as_bytes())))
}

/// EXIF's `YYYY:MM:DD HH:MM:SS` as `YYYY-MM-DD HH:MM:SS`, if it is a real
/// date and time (cameras without a set clock write zeros).
fn format_datetime(ascii: &[u8]) -> Option<String> {
    let dt = exif::DateTime::from_ascii(ascii).ok()?;
    let date = chrono::NaiveDate::from_ymd_opt(
        i32::from(dt.year),
        u32::from(dt.month),
        u32::from(dt.day),
    )?;
    let time = chrono::NaiveTime::from_hms_opt(
        u32::from(dt.hour),
        u32::from(dt.minute),
        u32::from(dt.second),
    )?;
    Some(date.and_time(time).format("%Y-%m-%d %H:%M:%S").to_string())
}

fn gps(exif: &Exif) -> Option<Gps> {
    let lat = coordinate(exif, Tag::GPSLatitude, Tag::GPSLatitudeRef, 'N', 'S', 90.0)?;
    let lon = coordinate(
        exif,
        Tag::GPSLongitude,
        Tag::GPSLongitudeRef,
        'E',
        'W',
        180.0,
    )?;
    Some(Gps { lat, lon })
}

/// Degrees, minutes, seconds (minutes and seconds may be absent or
/// fractional) and a hemisphere letter, as signed decimal degrees.
fn coordinate(
    exif: &Exif,
    tag: Tag,
    ref_tag: Tag,
    positive: char,
    negative: char,
    limit: f64,
) -> Option<f64> {
    let sign = match text(exif, ref_tag)?.to_ascii_uppercase().chars().next()? {
        c if c == positive => 1.0,
        c if c == negative => -1.0,
        _ => return None,
    };
    let parts: Vec<f64> = match &exif.get_field(tag, In::PRIMARY)?.value {
        Value::Rational(v) if (1..=3).contains(&v.len()) => {
            if v.iter().any(|r| r.denom == 0) {
                return None;
            }
            v.iter().map(|r| r.to_f64()).collect()
        }
        _ => return None,
    };
    let (deg, min, sec) = (
        parts[0],
        parts.get(1).copied().unwrap_or(0.0),
        parts.get(2).copied().unwrap_or(0.0),
    );
    if !(min < 60.0 && sec < 60.0) {
        return None;
    }
    let value = deg + min / 60.0 + sec / 3600.0;
    (value.is_finite() && value <= limit).then_some(sign * value)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn datetimes_must_be_real() {
        assert_eq!(
            format_datetime(b"2023:07:14 09:30:15").as_deref(),
            Some("2023-07-14 09:30:15")
        );
        for bad in [
            &b"2023:02:30 10:00:00"[..],
            b"0000:00:00 00:00:00",
            b"2023:07:14 24:00:00",
            b"2023-07-14 09:30:15",
            b"2023:07:14",
            b"                   ",
            b"",
        ] {
            assert_eq!(
                format_datetime(bad),
                None,
                "{}",
                String::from_utf8_lossy(bad)
            );
        }
    }

    #[test]
    fn garbage_gives_nothing() {
        for bytes in [
            &b""[..],
            b"not an image",
            b"\xff\xd8\xff\xe1\x00\x10Exif\x00\x00MM\x00*\x00\x00\x00\x08",
        ] {
            assert_eq!(read_exif(bytes), ExifInfo::default());
        }
    }
}

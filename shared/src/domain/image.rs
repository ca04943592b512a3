//! An uploaded image: base64 decoded once, format sniffed from its bytes.

use base64::Engine;
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
use sha2::{Digest, Sha256};
use std::io::Cursor;

use super::Error;
pub use super::format::ImageFormat;

/// Standard alphabet; padding optional, as the contract allows.
const BASE64_IN: GeneralPurpose = GeneralPurpose::new(
    &base64::alphabet::STANDARD,
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

/// Images whose header declares more pixels than this are refused before any
/// decoder allocates for them (a 60,000 x 60,000 header would need 10 GiB).
pub const MAX_PIXELS: u64 = 100_000_000;

/// The bytes of an image of a supported format whose header reads.
#[derive(Debug, Clone)]
pub struct ImageData {
    /// Shared, so the copies handed to the decode pool and the tagger cost
    /// nothing: a 50-megapixel photo's 20 MB are held once.
    bytes: std::sync::Arc<Vec<u8>>,
    format: ImageFormat,
    width: u32,
    height: u32,
}

impl ImageData {
    /// Decodes the `data` field of an upload: standard base64, padding
    /// optional, whitespace ignored, an optional `data:image/...;base64,` prefix.
    pub fn from_base64(data: &str) -> Result<Self, Error> {
        let mut s = data.trim();
        if let Some(rest) = s.strip_prefix("data:") {
            match rest.split_once(',') {
                Some((meta, payload)) if meta.ends_with(";base64") => s = payload,
                _ => {
                    return Err(Error::invalid(
                        "invalid_base64",
                        "a data: URL must be of the form data:image/...;base64,<data>",
                    ));
                }
            }
        }
        if s.is_empty() {
            return Err(Error::invalid("empty_data", "data is empty"));
        }
        // `base64` without -w0 wraps lines; accept that rather than refuse it.
        let stripped;
        if s.bytes().any(|b| b.is_ascii_whitespace()) {
            stripped = s.split_ascii_whitespace().collect::<String>();
            s = &stripped;
        }
        let bytes = BASE64_IN.decode(s).map_err(|e| {
            Error::invalid("invalid_base64", format!("data is not valid base64: {e}"))
        })?;
        Self::from_bytes(bytes)
    }

    /// Sniffs the format from the bytes (never from a name) and reads the
    /// header, so truncated or garbage files are refused before anything is stored.
    pub fn from_bytes(bytes: Vec<u8>) -> Result<Self, Error> {
        if bytes.is_empty() {
            return Err(Error::invalid("empty_data", "data is empty"));
        }
        let unreadable = |name: &str, e: String| {
            Error::invalid(
                "invalid_image",
                format!("data is not a readable {name} image: {e}"),
            )
        };
        let (format, (width, height)) = if crate::analysis::heif::is_heif(&bytes) {
            // HEIC or AVIF: the container says which, by its primary image's coding.
            crate::analysis::heif::primary(&bytes).map_err(|e| unreadable("HEIF", e))?
        } else {
            let format = image::guess_format(&bytes)
                .ok()
                .and_then(ImageFormat::from_image)
                .ok_or_else(|| {
                    Error::invalid(
                        "not_an_image",
                        "data is not a JPEG, PNG, GIF, WebP, BMP, TIFF, HEIC or AVIF image",
                    )
                })?;
            let dimensions = match format.to_image() {
                // The tiff crate reads more sample formats (floats) than image's wrapper.
                Some(image::ImageFormat::Tiff) => tiff::decoder::Decoder::new(Cursor::new(&bytes))
                    .and_then(|mut d| d.dimensions())
                    .map_err(|e| e.to_string()),
                Some(f) => image::ImageReader::with_format(Cursor::new(&bytes), f)
                    .into_dimensions()
                    .map_err(|e| e.to_string()),
                None => Err("no decoder".to_string()),
            };
            (
                format,
                dimensions.map_err(|e| unreadable(format.name(), e))?,
            )
        };
        if width == 0 || height == 0 {
            return Err(Error::invalid("invalid_image", "the image has no pixels"));
        }
        if u64::from(width) * u64::from(height) > MAX_PIXELS {
            return Err(Error::invalid(
                "image_too_large",
                format!(
                    "the image is {width}x{height} pixels; at most {} megapixels are accepted",
                    MAX_PIXELS / 1_000_000
                ),
            ));
        }
        Ok(ImageData {
            bytes: std::sync::Arc::new(bytes),
            format,
            width,
            height,
        })
    }

    pub fn bytes(&self) -> &[u8] {
        &self.bytes
    }

    pub fn into_bytes(self) -> Vec<u8> {
        std::sync::Arc::try_unwrap(self.bytes).unwrap_or_else(|shared| (*shared).clone())
    }

    pub fn format(&self) -> ImageFormat {
        self.format
    }

    pub fn dimensions(&self) -> (u32, u32) {
        (self.width, self.height)
    }

    pub fn len(&self) -> u64 {
        self.bytes.len() as u64
    }

    pub fn is_empty(&self) -> bool {
        self.bytes.is_empty()
    }
}

/// Standard base64 with padding, as every response carries image data.
pub fn encode_base64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

/// The SHA-256 of a file, in hex: how pictures of the same bytes are found.
pub fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn png_1x1() -> Vec<u8> {
        let mut out = Vec::new();
        image::RgbImage::new(1, 1)
            .write_to(&mut Cursor::new(&mut out), image::ImageFormat::Png)
            .unwrap();
        out
    }

    fn code(r: Result<ImageData, Error>) -> &'static str {
        match r {
            Err(Error::Invalid { code, .. }) => code,
            other => panic!("expected an input error, got {other:?}"),
        }
    }

    #[test]
    fn accepts_padding_prefix_and_wrapping() {
        let png = png_1x1();
        let b64 = encode_base64(&png);
        let unpadded = b64.trim_end_matches('=');
        let wrapped: String = b64
            .as_bytes()
            .chunks(10)
            .map(|c| std::str::from_utf8(c).unwrap())
            .collect::<Vec<_>>()
            .join("\n");
        for input in [
            b64.clone(),
            unpadded.to_string(),
            format!("data:image/png;base64,{b64}"),
            wrapped,
        ] {
            let img = ImageData::from_base64(&input).unwrap();
            assert_eq!(img.format(), ImageFormat::Png);
            assert_eq!(img.bytes(), &png[..]);
            assert_eq!(img.dimensions(), (1, 1));
        }
    }

    #[test]
    fn refuses_what_is_not_an_image() {
        assert_eq!(code(ImageData::from_base64("")), "empty_data");
        assert_eq!(
            code(ImageData::from_base64("data:image/png;base64,")),
            "empty_data"
        );
        assert_eq!(
            code(ImageData::from_base64("!!!not base64!!!")),
            "invalid_base64"
        );
        assert_eq!(
            code(ImageData::from_base64("data:text/plain,hello")),
            "invalid_base64"
        );
        let text = encode_base64(b"hello, this is a text file\n");
        assert_eq!(code(ImageData::from_base64(&text)), "not_an_image");
        let pdf = encode_base64(b"%PDF-1.7\n1 0 obj << /Type /Catalog >> endobj\n");
        assert_eq!(code(ImageData::from_base64(&pdf)), "not_an_image");
        // A PNG signature followed by garbage.
        let mut fake = png_1x1()[..8].to_vec();
        fake.extend_from_slice(b"garbage garbage garbage");
        assert_eq!(code(ImageData::from_bytes(fake)), "invalid_image");
    }

    #[test]
    fn refuses_huge_declared_dimensions() {
        // A valid PNG header declaring 60,000 x 60,000 pixels, and no pixel data.
        let mut png = png_1x1();
        png[16..20].copy_from_slice(&60_000u32.to_be_bytes());
        png[20..24].copy_from_slice(&60_000u32.to_be_bytes());
        // Fix the IHDR CRC so the header itself is well formed.
        let crc = crc32fast::hash(&png[12..29]);
        png[29..33].copy_from_slice(&crc.to_be_bytes());
        assert_eq!(code(ImageData::from_bytes(png)), "image_too_large");
    }

    fn fixture(name: &str) -> Vec<u8> {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../tests/fixtures/images/");
        std::fs::read(format!("{path}{name}")).unwrap()
    }

    #[test]
    fn only_whole_images_decode() {
        for name in [
            "rocket.jpg",
            "chelsea.png",
            "no_time_for_that_tiny.gif",
            "multipage_rgb.tif",
        ] {
            let whole = ImageData::from_bytes(fixture(name)).unwrap();
            assert!(crate::analysis::decode_small(&whole, 64).is_ok(), "{name}");
        }
        // Headers that read, pixels cut off: a photo's first 2,000 bytes, half a PNG.
        for (name, keep) in [("rocket.jpg", 2_000), ("chelsea.png", 0)] {
            let bytes = fixture(name);
            let keep = if keep == 0 { bytes.len() / 2 } else { keep };
            let cut = ImageData::from_bytes(bytes[..keep].to_vec()).expect("the header reads");
            assert!(
                crate::analysis::decode_small(&cut, 64).is_err(),
                "{name}: a cut file must not decode"
            );
        }
    }
}

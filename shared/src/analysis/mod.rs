//! What the service learns from an image's pixels and metadata at upload
//! time, and the pictures it draws from them: EXIF (camera, capture time,
//! place), dominant colours, a perceptual hash for finding near duplicates,
//! a palette chart and thumbnails.
//!
//! Everything here is a pure, CPU-bound function of its input (no I/O, no
//! global state but a font registered once), so handlers run it on a
//! blocking thread. The usual flow at upload:
//!
//! ```no_run
//! # fn f(image: pictures::domain::ImageData) -> Result<(), String> {
//! use pictures::analysis::*;
//! let exif = read_exif(image.bytes());
//! let small = decode_small(&image, 384)?; // refuses truncated files
//! let colors = dominant_colors(&small, 5);
//! let hash = perceptual_hash(&small);
//! # Ok(()) }
//! ```

mod budget;
mod colors;
mod decode;
mod exif;
pub mod heif;
mod location;
mod palette;
mod phash;
mod resize;
mod thumbnail;

pub use self::exif::{ExifInfo, Gps, read_exif};
pub use budget::{BudgetError, DecodeBudget, Reservation};
pub use colors::{Color, dominant_colors, parse_hex};
pub use decode::{decode_cost, decode_small};
pub use location::without_location;
pub use palette::{PALETTE_SIZE, palette_png};
pub use phash::{NEAR_DUPLICATE_BITS, hamming, hash_bands, perceptual_hash};
pub use resize::{Filter, resize, scale_long_side};
pub use thumbnail::{THUMBNAIL_SIZES, encode_thumbnail, thumbnail};

/// A file of the repository's test fixtures (`tests/fixtures/<name>`).
#[cfg(test)]
pub(crate) fn fixture(name: &str) -> Vec<u8> {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../tests/fixtures/");
    std::fs::read(format!("{path}{name}")).unwrap()
}

//! What is read from a picture's file (format, size, EXIF, colours,
//! perceptual hash), and the answers built on it: `GET /stats`, colours and
//! palettes, near-duplicates.

use super::caller::Caller;
use super::ports::{Analysis, Database};
use super::{ColorShare, Facts, Gps, Picture, PictureId};
use super::{Error, ImageData};
use crate::analysis::{self, Color, DecodeBudget};
use crate::store::ImageStore;
use image::RgbImage;
use std::sync::Arc;

/// The long side of the copy every analysis reads (colours, perceptual hash)
/// and the tagger's networks take their 224-pixel inputs from. A JPEG
/// decodes straight to about this size (a 2-megapixel photo at 1/4, 12
/// megapixels at 1/8), which is most of what a picture costs to accept.
pub const ANALYSIS_SIDE: u32 = 384;

/// How many dominant colours a picture keeps.
pub const STORED_COLORS: usize = 5;

fn undecodable(image: &ImageData, why: String) -> Error {
    Error::invalid(
        "invalid_image",
        format!(
            "data is not a complete {} image: {why}",
            image.format().name()
        ),
    )
}

/// The facts read from the bytes alone, without decoding a pixel: hash,
/// format, size and EXIF. Colours and the perceptual hash wait for a decode
/// (`analyzed` stays false until then). `hash` is the bytes' SHA-256 when
/// the caller has it already.
pub fn header_facts(image: &ImageData, hash: Option<String>) -> Facts {
    let exif = analysis::read_exif(image.bytes());
    let (width, height) = image.dimensions();
    Facts {
        hash: Some(hash.unwrap_or_else(|| super::image::sha256_hex(image.bytes()))),
        format: Some(image.format()),
        width: Some(width),
        height: Some(height),
        camera: exif.camera,
        taken_at: exif.taken_at,
        gps: exif.gps.map(|g| Gps {
            lat: g.lat,
            lon: g.lon,
        }),
        colors: Vec::new(),
        phash: None,
        faces: None,
        objects: Vec::new(),
        analyzed: false,
    }
}

/// The facts of an image: every pixel decoded (so a truncated file is an
/// error) into a small upright copy, which gives the dominant colours and
/// the perceptual hash; EXIF from the bytes. The copy is returned too, for
/// the tagger to read instead of decoding the file again. CPU-bound: call
/// it on a blocking thread.
pub fn facts_of(image: &ImageData, hash: Option<String>) -> Result<(Facts, RgbImage), Error> {
    let small = analysis::decode_small(image, ANALYSIS_SIDE).map_err(|e| undecodable(image, e))?;
    Ok((facts_of_decoded(image, hash, &small), small))
}

/// [`facts_of`], given the small copy.
pub fn facts_of_decoded(image: &ImageData, hash: Option<String>, small: &RgbImage) -> Facts {
    Facts {
        colors: analysis::dominant_colors(small, STORED_COLORS)
            .into_iter()
            // As stored: four decimals.
            .map(|c| ColorShare {
                rgb: c.rgb,
                fraction: (c.fraction * 10_000.0).round() / 10_000.0,
            })
            .collect(),
        phash: Some(analysis::perceptual_hash(small)),
        analyzed: true,
        ..header_facts(image, hash)
    }
}

/// Runs `work` on a small upright copy of `image` (long side `max_side`)
/// on the CPU pool, once the decode budget has room for it: every decode of
/// the service goes through here. `413 decode_too_large` for an image that
/// could never fit, `503` when the budget stays taken, `400 invalid_image`
/// for pixels that do not decode.
pub async fn with_decoded<T: Send + 'static>(
    budget: &DecodeBudget,
    image: &ImageData,
    max_side: u32,
    work: impl FnOnce(&ImageData, RgbImage) -> Result<T, Error> + Send + 'static,
) -> Result<T, Error> {
    let reservation = budget
        .reserve(analysis::decode_cost(image, max_side))
        .await?;
    let image = image.clone();
    crate::cpu::run(move || {
        // Held until the pixels are dropped, on the thread that made them.
        let _reservation = reservation;
        let small = analysis::decode_small(&image, max_side).map_err(|e| undecodable(&image, e))?;
        work(&image, small)
    })
    .await
    .map_err(|e| {
        Error::invalid(
            "invalid_image",
            format!("the image could not be decoded: {e}"),
        )
    })?
}

/// The `k` dominant colours of an image (k-means on a small copy; the same
/// image and `k` always give the same answer).
pub async fn image_colors(
    budget: &DecodeBudget,
    image: ImageData,
    k: usize,
) -> Result<Vec<Color>, Error> {
    with_decoded(budget, &image, ANALYSIS_SIDE, move |_, small| {
        Ok(analysis::dominant_colors(&small, k))
    })
    .await
}

/// The `k` dominant colours of a picture the caller may see.
pub async fn picture_colors(
    db: &dyn Database,
    store: &dyn ImageStore,
    budget: &DecodeBudget,
    caller: &Caller,
    id: Option<PictureId>,
    k: usize,
) -> Result<Vec<Color>, Error> {
    let picture = super::access::visible(db, caller, id).await?;
    let bytes = store.get(&picture.path).await?;
    image_colors(budget, ImageData::from_bytes(bytes)?, k).await
}

/// Seed 003's pie chart of colours and their weights, as a PNG.
pub async fn palette(weights: Vec<([u8; 3], f64)>) -> Result<Vec<u8>, Error> {
    tokio::task::spawn_blocking(move || analysis::palette_png(&weights))
        .await
        .map_err(|e| Error::invalid("invalid_field", e.to_string()))
}

/// `GET /stats`, as seed 002 reports it.
#[derive(Debug, Clone, PartialEq)]
pub struct Stats {
    /// The last 30 UTC days that have uploads, oldest first.
    pub uploads_per_day: Vec<(String, i64)>,
    /// Most pictures first, then by name.
    pub formats: Vec<(String, i64)>,
    pub most_popular_format: Option<String>,
    /// At most 10, most pictures first, then by name.
    pub top_camera_models: Vec<(String, i64)>,
}

fn by_count(mut v: Vec<(String, i64)>) -> Vec<(String, i64)> {
    v.retain(|(_, n)| *n > 0);
    v.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    v
}

pub async fn stats(db: &dyn Analysis, caller: &Caller) -> Result<Stats, Error> {
    let counts = db.picture_stats(&caller.visibility()).await?;
    let mut days: Vec<(String, i64)> = counts.days.into_iter().filter(|(_, n)| *n > 0).collect();
    days.sort();
    let recent = days.split_off(days.len().saturating_sub(30));
    let formats = by_count(counts.formats);
    let mut cameras = by_count(counts.cameras);
    cameras.truncate(10);
    Ok(Stats {
        uploads_per_day: recent,
        most_popular_format: formats
            .first()
            .and_then(|(f, _)| super::ImageFormat::parse(f))
            .map(|f| f.name().to_uppercase()),
        formats,
        top_camera_models: cameras,
    })
}

/// The widest Hamming distance a near-duplicate search takes.
pub const MAX_DISTANCE: u32 = 16;

/// Every 16-bit value within `radius` bits of `value`.
fn within(value: u16, radius: u32) -> Vec<i64> {
    let mut out = vec![i64::from(value)];
    let mut frontier = vec![(value, 0u32)];
    for _ in 0..radius {
        let mut next = Vec::new();
        for (v, from) in frontier {
            // Flip bits above the last one flipped: each value once.
            for bit in from..16 {
                let w = v ^ (1 << bit);
                out.push(i64::from(w));
                next.push((w, bit + 1));
            }
        }
        frontier = next;
    }
    out
}

/// A visible picture near another, and how near.
#[derive(Debug, Clone)]
pub struct Similar {
    pub picture: Picture,
    pub distance: u32,
}

/// `GET /images/{id}/similar`: visible pictures whose perceptual hash is
/// within `max_distance` bits of this one's, nearest first. Indexed
/// (multi-index hashing): a hash within d bits of another has one of its four
/// 16-bit bands within d/4 bits of the other's same band, so only the
/// pictures sharing such a band value are read and compared.
pub async fn similar(
    db: &dyn Database,
    caller: &Caller,
    id: Option<PictureId>,
    max_distance: u32,
    limit: usize,
) -> Result<Vec<Similar>, Error> {
    let picture = super::access::visible(db, caller, id).await?;
    let Some(phash) = picture.facts.phash else {
        return Err(Error::Missing(format!(
            "picture {} has not been analysed yet (make backfill)",
            picture.id
        )));
    };
    let radius = max_distance / 4;
    let mut near: Vec<(u32, i64)> = Vec::new();
    let mut seen = std::collections::HashSet::new();
    for (band, value) in analysis::hash_bands(phash).into_iter().enumerate() {
        let values = within(value as u16, radius);
        for (other, hash) in db.hash_candidates(band, &values).await? {
            let d = (hash ^ phash).count_ones();
            if other != picture.id && d <= max_distance && seen.insert(other) {
                near.push((d, other));
            }
        }
    }
    near.sort();
    // Invisible ones drop out; read a few more than needed.
    let ids: Vec<i64> = near.iter().map(|(_, id)| *id).collect();
    let mut out = Vec::new();
    for chunk in ids.chunks(limit.max(1) * 2) {
        for p in db.visible_pictures(chunk, &caller.visibility()).await? {
            let distance = near
                .iter()
                .find(|(_, id)| *id == p.id)
                .map_or(0, |(d, _)| *d);
            out.push(Similar {
                picture: p,
                distance,
            });
        }
        if out.len() >= limit {
            break;
        }
    }
    out.truncate(limit);
    Ok(out)
}

/// Reads what the service keeps of a file (hash, format, size in pixels,
/// EXIF, dominant colours, perceptual hash), decoding every pixel so a
/// truncated or corrupt file is refused before it is tagged or stored,
/// whatever the tagger; with the small upright copy the colours were read
/// from, which the tagger reads too. Within the decode budget, on the CPU
/// pool.
pub async fn examine(
    budget: &DecodeBudget,
    image: &ImageData,
    hash: Option<String>,
) -> Result<(Facts, Arc<RgbImage>), Error> {
    let (facts, small) = with_decoded(budget, image, ANALYSIS_SIDE, move |image, small| {
        Ok((facts_of_decoded(image, hash, &small), small))
    })
    .await?;
    Ok((facts, Arc::new(small)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn neighbourhoods() {
        assert_eq!(within(5, 0), vec![5]);
        let one = within(0, 1);
        assert_eq!(one.len(), 17);
        let two = within(0xffff, 2);
        assert_eq!(two.len(), 1 + 16 + 120);
        let unique: std::collections::HashSet<_> = two.iter().collect();
        assert_eq!(unique.len(), two.len());
        assert!(two.iter().all(|v| (*v as u16 ^ 0xffff).count_ones() <= 2));
    }
}

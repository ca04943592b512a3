//! The records the operations pass around: pictures, their tags, what is
//! read from their files.

use chrono::Utc;
use std::collections::HashMap;

use super::Error;
use super::ImageFormat;

/// The longest tag the schema stores (`tags.tag VARCHAR(32)`), in characters.
pub const MAX_TAG_CHARS: usize = 32;
pub(super) const DATE_FORMAT: &str = "%Y-%m-%d %H:%M:%S";

/// Rounds to two decimals, the precision of every number the API prints.
pub fn round2(x: f64) -> f64 {
    (x * 100.0).round() / 100.0
}

/// Now, in the schema's `YYYY-MM-DD HH:MM:SS` UTC form.
pub fn utc_now() -> String {
    Utc::now().format(DATE_FORMAT).to_string()
}

/// A confidence threshold in 0..=100.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Confidence(f64);

impl Confidence {
    pub const DEFAULT: Confidence = Confidence(80.0);

    pub fn parse(s: &str) -> Result<Self, Error> {
        match s.trim().parse::<f64>() {
            Ok(x) if (0.0..=100.0).contains(&x) => Ok(Confidence(x)),
            _ => Err(Error::invalid(
                "invalid_min_confidence",
                format!("min_confidence must be a number from 0 to 100, not {s:?}"),
            )),
        }
    }

    pub fn value(self) -> f64 {
        self.0
    }
}

/// Where a tag came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TagSource {
    /// The on-device model.
    Model,
    Imagga,
    /// Given by a person (confidence 100); kept when a picture is re-tagged.
    User,
}

impl TagSource {
    pub fn as_str(self) -> &'static str {
        match self {
            TagSource::Model => "model",
            TagSource::Imagga => "imagga",
            TagSource::User => "user",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "model" => TagSource::Model,
            "imagga" => TagSource::Imagga,
            "user" => TagSource::User,
            _ => return None,
        })
    }
}

/// One tag of a picture, confidence in 0..=100. `source` is `None` for tags
/// recorded before sources were.
#[derive(Debug, Clone, PartialEq)]
pub struct Tag {
    pub name: String,
    pub confidence: f64,
    pub source: Option<TagSource>,
}

impl Tag {
    pub fn new(name: impl Into<String>, confidence: f64, source: Option<TagSource>) -> Self {
        Tag {
            name: name.into(),
            confidence,
            source,
        }
    }
}

/// A picture's tagging: done, waiting in the queue, or given up on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    Tagged,
    Pending,
    Failed,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Tagged => "tagged",
            Status::Pending => "pending",
            Status::Failed => "failed",
        }
    }

    pub fn parse(s: &str) -> Result<Self, Error> {
        match s.trim().to_ascii_lowercase().as_str() {
            "tagged" => Ok(Status::Tagged),
            "pending" => Ok(Status::Pending),
            "failed" => Ok(Status::Failed),
            _ => Err(Error::invalid(
                "invalid_status",
                format!("status must be tagged, pending or failed, not {s:?}"),
            )),
        }
    }
}

/// A point on Earth, from EXIF.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Gps {
    pub lat: f64,
    pub lon: f64,
}

/// One of a picture's dominant colours and the share of the picture it covers.
#[derive(Debug, Clone, PartialEq)]
pub struct ColorShare {
    pub rgb: [u8; 3],
    pub fraction: f64,
}

impl ColorShare {
    pub fn hex(&self) -> String {
        let [r, g, b] = self.rgb;
        format!("#{r:02x}{g:02x}{b:02x}")
    }
}

/// A box in relative coordinates: 0..1 of the image's width and height,
/// from its top-left corner (as Rekognition's `Instances[].BoundingBox`).
#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct BoundingBox {
    pub x: f64,
    pub y: f64,
    pub w: f64,
    pub h: f64,
}

/// One thing the detector found: its COCO class name, how sure it is
/// (calibrated, 0..=100, like a tag's confidence) and where it is.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct DetectedObject {
    pub label: String,
    pub confidence: f64,
    #[serde(rename = "box")]
    pub bbox: BoundingBox,
}

/// What the service reads from a picture's file: all `None` (and no
/// colours) for rows recorded before they were read.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Facts {
    /// SHA-256 of the bytes, lower-case hex.
    pub hash: Option<String>,
    pub format: Option<ImageFormat>,
    pub width: Option<u32>,
    pub height: Option<u32>,
    /// EXIF `"Make - Model"`.
    pub camera: Option<String>,
    /// EXIF DateTimeOriginal, `YYYY-MM-DD HH:MM:SS`.
    pub taken_at: Option<String>,
    pub gps: Option<Gps>,
    /// The dominant colours, largest first.
    pub colors: Vec<ColorShare>,
    /// 64-bit perceptual hash.
    pub phash: Option<u64>,
    /// Faces the people detector saw.
    pub faces: Option<u32>,
    /// What the object detector found and where, best first (those at the
    /// upload's `min_confidence` or above); empty when none was looked for.
    pub objects: Vec<DetectedObject>,
    /// Whether the facts were read (EXIF, colours, hash) rather than unknown.
    pub analyzed: bool,
}

/// A picture as the database holds it.
#[derive(Debug, Clone, PartialEq)]
pub struct Picture {
    pub id: i64,
    /// Where the store keeps the file.
    pub path: String,
    /// Bytes; `None` for rows written before sizes were recorded.
    pub size: Option<u64>,
    pub date: String,
    /// Ordered by confidence descending, then name ascending.
    pub tags: Vec<Tag>,
    pub owner: Option<String>,
    pub private: bool,
    pub name: Option<String>,
    pub status: Status,
    /// Why tagging failed, for a failed picture.
    pub failure: Option<String>,
    /// The id its presigned upload slot carried (seed 004).
    pub external_id: Option<String>,
    pub facts: Facts,
}

impl Picture {
    /// Where its statistics count.
    pub fn scope(&self) -> &str {
        super::caller::scope_of(self.owner.as_deref(), self.private)
    }

    pub fn size_bytes(&self) -> u64 {
        self.size.unwrap_or(0)
    }
}

/// What one registration inserts, in one transaction.
#[derive(Debug, Clone)]
pub struct NewPicture<'a> {
    pub path: &'a str,
    pub date: &'a str,
    pub size: u64,
    pub tags: &'a [Tag],
    pub owner: Option<&'a str>,
    pub private: bool,
    pub name: Option<&'a str>,
    pub status: Status,
    pub external_id: Option<&'a str>,
    pub facts: &'a Facts,
    /// Queue it for the tagger with this threshold (asynchronous uploads).
    pub queue: Option<f64>,
    /// One picture per owner and content: a concurrent upload of the same
    /// bytes that also asked for this gets [`Inserted::Existing`].
    pub dedup: bool,
}

impl<'a> NewPicture<'a> {
    /// A public, anonymous, tagged picture with nothing but its tags known:
    /// what the original assignment's app recorded.
    pub fn plain(path: &'a str, date: &'a str, size: u64, tags: &'a [Tag]) -> Self {
        static NO_FACTS: std::sync::LazyLock<Facts> = std::sync::LazyLock::new(Facts::default);
        NewPicture {
            path,
            date,
            size,
            tags,
            owner: None,
            private: false,
            name: None,
            status: Status::Tagged,
            external_id: None,
            facts: &NO_FACTS,
            queue: None,
            dedup: false,
        }
    }
}

/// What an insert did: a new row, or the owner's existing picture of the
/// same bytes (the unique key on owner and `dedup_key`, for uploads that
/// de-duplicate).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Inserted {
    New(i64),
    Existing(i64),
}

/// Statistics of one tag over a date range.
#[derive(Debug, Clone, PartialEq)]
pub struct TagStat {
    pub tag: String,
    pub n_images: i64,
    pub min_confidence: f64,
    pub max_confidence: f64,
    pub mean_confidence: f64,
}

/// Lower-cases, trims and collapses inner whitespace; cuts to the column's 32
/// characters. `None` for a blank name.
pub fn normalize_tag(raw: &str) -> Option<String> {
    let words: Vec<&str> = raw.split_whitespace().collect();
    if words.is_empty() {
        return None;
    }
    let name: String = words
        .join(" ")
        .to_lowercase()
        .chars()
        .take(MAX_TAG_CHARS)
        .collect();
    // Cutting can leave a trailing space ("a very long ... x" cut mid-gap).
    Some(name.trim_end().to_string())
}

/// At most this many objects are kept per picture, the surest first.
pub const MAX_OBJECTS: usize = 50;

/// The objects to store: those at or above `min`, the surest first, at most
/// [`MAX_OBJECTS`], confidences to 2 decimals and boxes to 4.
pub fn select_objects(raw: Vec<DetectedObject>, min: Confidence) -> Vec<DetectedObject> {
    let round4 = |v: f64| (v.clamp(0.0, 1.0) * 10_000.0).round() / 10_000.0;
    let mut kept: Vec<DetectedObject> = raw
        .into_iter()
        .filter(|o| o.confidence >= min.value())
        .map(|o| DetectedObject {
            confidence: round2(o.confidence.min(100.0)),
            bbox: BoundingBox {
                x: round4(o.bbox.x),
                y: round4(o.bbox.y),
                w: round4(o.bbox.w),
                h: round4(o.bbox.h),
            },
            label: o.label,
        })
        .collect();
    kept.sort_by(|a, b| b.confidence.total_cmp(&a.confidence));
    kept.truncate(MAX_OBJECTS);
    kept
}

/// Turns a tagger's answer into the tags to store: only those at or above
/// `min`, names normalised and cut to 32 characters, one entry per name (the
/// highest confidence wins), confidences rounded to 2 decimals, in response
/// order.
pub fn select_tags(raw: Vec<Tag>, min: Confidence) -> Vec<Tag> {
    let mut best: HashMap<String, (f64, Option<TagSource>)> = HashMap::new();
    for tag in raw {
        if tag.confidence.is_nan() || tag.confidence < min.value() {
            continue;
        }
        let Some(name) = normalize_tag(&tag.name) else {
            continue;
        };
        let confidence = round2(tag.confidence.min(100.0));
        best.entry(name)
            .and_modify(|(c, s)| {
                if confidence > *c {
                    (*c, *s) = (confidence, tag.source);
                }
            })
            .or_insert((confidence, tag.source));
    }
    let mut tags: Vec<Tag> = best
        .into_iter()
        .map(|(name, (confidence, source))| Tag {
            name,
            confidence,
            source,
        })
        .collect();
    sort_tags(&mut tags);
    tags
}

/// Confidence descending, then name ascending: the order of every tag list.
pub fn sort_tags(tags: &mut [Tag]) {
    tags.sort_by(|a, b| {
        b.confidence
            .total_cmp(&a.confidence)
            .then_with(|| a.name.cmp(&b.name))
    });
}

/// A user's account as the API shows it.
#[derive(Debug, Clone, PartialEq)]
pub struct Account {
    pub id: String,
    pub email: Option<String>,
    pub image_upload_count: i64,
    pub created: String,
}

/// A key as its owner may list it: never the key itself.
#[derive(Debug, Clone, PartialEq)]
pub struct KeyInfo {
    pub id: i64,
    pub name: String,
    pub created: String,
    pub last_used: Option<String>,
}

/// The key a presented key's hash names, and whose it is.
#[derive(Debug, Clone)]
pub struct KeyOwner {
    pub key_id: i64,
    pub key_hash: String,
    pub user_id: String,
    pub email: Option<String>,
    pub last_used: Option<String>,
}

/// The counters `GET /stats` reads, merged over the scopes the caller sees:
/// `(value, pictures)`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PictureStats {
    /// `YYYY-MM-DD` (UTC) → uploads.
    pub days: Vec<(String, i64)>,
    /// `jpeg`, `png`... → pictures.
    pub formats: Vec<(String, i64)>,
    /// `"Make - Model"` → pictures.
    pub cameras: Vec<(String, i64)>,
}

/// A claimed job.
#[derive(Debug, Clone, PartialEq)]
pub struct TagJob {
    pub picture_id: i64,
    pub min_confidence: f64,
    /// Claims so far, this one included.
    pub attempts: u32,
}

/// An upload link: whoever holds its id uploads as its creator until it expires.
#[derive(Debug, Clone, PartialEq)]
pub struct UploadLink {
    pub id: String,
    /// The creator (`None`: anonymous, under `AUTH=open`).
    pub owner: Option<String>,
    /// Unix seconds.
    pub expires: i64,
    pub created: String,
}

/// A presigned upload slot: one object to PUT, then register.
#[derive(Debug, Clone, PartialEq)]
pub struct UploadSlot {
    pub image_id: String,
    pub owner: Option<String>,
    /// Where the object goes in the store.
    pub location: String,
    /// Unix seconds.
    pub expires: i64,
    pub created: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::domain::error::input_code as code;

    #[test]
    fn selecting_tags() {
        let raw = vec![
            Tag::new("Cat", 99.123, None),
            Tag::new("dog", 79.99, None),
            Tag::new("animal", 80.0, None),
            Tag::new("x".repeat(40), 85.0, None),
            Tag::new(format!("{}y", "x".repeat(32)), 90.0, None),
            Tag::new("  ", 95.0, None),
            Tag::new("nan", f64::NAN, None),
            Tag::new("zebra", 80.0, None),
        ];
        let tags = select_tags(raw, Confidence::DEFAULT);
        let got: Vec<(&str, f64)> = tags
            .iter()
            .map(|t| (t.name.as_str(), t.confidence))
            .collect();
        assert_eq!(
            got,
            vec![
                ("cat", 99.12),
                (&*"x".repeat(32), 90.0),
                ("animal", 80.0),
                ("zebra", 80.0),
            ]
        );
    }

    #[test]
    fn confidences() {
        assert_eq!(Confidence::parse("0").unwrap().value(), 0.0);
        assert_eq!(Confidence::parse("100").unwrap().value(), 100.0);
        assert_eq!(Confidence::parse("42.5").unwrap().value(), 42.5);
        for bad in ["abc", "-1", "101", "", "NaN", "inf", "100.01"] {
            assert_eq!(
                code(Confidence::parse(bad).unwrap_err()),
                "invalid_min_confidence"
            );
        }
    }
}

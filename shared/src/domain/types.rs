//! Newtypes that parse untrusted input once, and the records the operations
//! pass around.

use chrono::{NaiveDate, NaiveDateTime, Utc};
use std::collections::HashMap;

use super::Error;
use super::ImageFormat;
use super::caller::{UserId, Visibility};

/// The longest tag the schema stores (`tags.tag VARCHAR(32)`), in characters.
pub const MAX_TAG_CHARS: usize = 32;
/// How many tags one search may require; each one is a join.
pub const MAX_SEARCH_TAGS: usize = 16;
const DATE_FORMAT: &str = "%Y-%m-%d %H:%M:%S";

/// Rounds to two decimals, the precision of every number the API prints.
pub fn round2(x: f64) -> f64 {
    (x * 100.0).round() / 100.0
}

/// Now, in the schema's `YYYY-MM-DD HH:MM:SS` UTC form.
pub fn utc_now() -> String {
    Utc::now().format(DATE_FORMAT).to_string()
}

/// `pictures.id`: a positive integer. `Ok(None)` for a well-formed id that
/// cannot exist (beyond the `INT` column), so callers answer 404 without
/// asking the database.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PictureId(pub i64);

impl PictureId {
    pub fn parse(s: &str) -> Result<Option<Self>, Error> {
        let bad = || {
            Error::invalid(
                "invalid_id",
                format!("id must be a positive integer, not {s:?}"),
            )
        };
        if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
            return Err(bad());
        }
        let digits = s.trim_start_matches('0');
        if digits.is_empty() {
            return Err(bad());
        }
        Ok(digits
            .parse::<i32>()
            .ok()
            .map(|id| PictureId(i64::from(id))))
    }
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

/// Page size for `GET /images`: 1..=1000, default 100.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limit(pub u32);

impl Limit {
    pub const DEFAULT: Limit = Limit(100);
    pub const MAX: u32 = 1000;

    pub fn parse(s: &str) -> Result<Self, Error> {
        match s.parse::<u32>() {
            Ok(n) if (1..=Self::MAX).contains(&n) => Ok(Limit(n)),
            _ => Err(Error::invalid(
                "invalid_limit",
                format!(
                    "limit must be an integer from 1 to {}, not {s:?}",
                    Self::MAX
                ),
            )),
        }
    }
}

/// Inclusive bounds on a picture's date, both in `YYYY-MM-DD HH:MM:SS`.
/// Dates are stored as strings in that form, so comparing strings compares times.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DateRange {
    pub min: Option<String>,
    pub max: Option<String>,
}

impl DateRange {
    /// A bare `YYYY-MM-DD` means the start of that day as a lower bound.
    pub fn parse_min(s: &str) -> Result<String, Error> {
        parse_bound("min_date", s, "00:00:00")
    }

    /// A bare `YYYY-MM-DD` means the end of that day as an upper bound.
    pub fn parse_max(s: &str) -> Result<String, Error> {
        parse_bound("max_date", s, "23:59:59")
    }

    /// True when no date can satisfy both bounds.
    pub fn is_empty(&self) -> bool {
        matches!((&self.min, &self.max), (Some(a), Some(b)) if a > b)
    }
}

fn parse_bound(name: &str, s: &str, time_of_day: &str) -> Result<String, Error> {
    use chrono::Datelike as _;
    let s = s.trim();
    // Stored dates compare as strings, so a bound must have their exact shape:
    // chrono also reads years such as -24 or 10000, which do not.
    let four_digit_year = |year: i32| (0..=9999).contains(&year);
    if let Ok(t) = NaiveDateTime::parse_from_str(s, DATE_FORMAT)
        && four_digit_year(t.year())
    {
        // Re-format: chrono accepts unpadded fields, the stored strings are padded.
        return Ok(t.format(DATE_FORMAT).to_string());
    }
    if let Ok(d) = NaiveDate::parse_from_str(s, "%Y-%m-%d")
        && four_digit_year(d.year())
    {
        return Ok(format!("{} {time_of_day}", d.format("%Y-%m-%d")));
    }
    Err(Error::invalid(
        "invalid_date",
        format!("{name} must be a date as YYYY-MM-DD or YYYY-MM-DD HH:MM:SS, not {s:?}"),
    ))
}

/// The tags a search requires: at least one, normalised like stored tags,
/// without duplicates, in the order given.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TagList(Vec<String>);

/// The most bytes a tag list may take before it is read: 16 tags of 32
/// characters, four bytes each, with room for blanks and repeats.
pub const MAX_TAG_LIST_BYTES: usize = 4096;
/// The most comma-separated pieces it may have, blanks and repeats included.
pub const MAX_TAG_LIST_PIECES: usize = 4 * MAX_SEARCH_TAGS;

impl TagList {
    /// Parses a comma-separated list; blanks around commas and repeats are
    /// ignored. Its size is checked before anything else, and the work is
    /// linear in it: a hostile list costs microseconds, not minutes.
    pub fn parse(s: &str) -> Result<Self, Error> {
        let too_many = || {
            Error::invalid(
                "invalid_tags",
                format!("a search may require at most {MAX_SEARCH_TAGS} tags"),
            )
        };
        if s.len() > MAX_TAG_LIST_BYTES
            || s.bytes().filter(|&b| b == b',').count() >= MAX_TAG_LIST_PIECES
        {
            return Err(too_many());
        }
        let mut seen = std::collections::HashSet::new();
        let tags: Vec<String> = s
            .split(',')
            .filter_map(normalize_tag)
            .filter(|name| seen.insert(name.clone()))
            .collect();
        if tags.is_empty() {
            return Err(Error::invalid(
                "invalid_tags",
                "tags must name at least one tag",
            ));
        }
        if tags.len() > MAX_SEARCH_TAGS {
            return Err(too_many());
        }
        Ok(TagList(tags))
    }

    pub fn as_slice(&self) -> &[String] {
        &self.0
    }
}

/// What `GET /images` asks for: every filter optional, all of them combined
/// with AND, over what the caller may see.
#[derive(Debug, Clone, PartialEq)]
pub struct SearchQuery {
    pub dates: DateRange,
    pub tags: Option<TagList>,
    pub limit: Limit,
    /// Only pictures with an id greater than this (the keyset cursor when
    /// oldest first, else a lower bound).
    pub after: i64,
    /// Only pictures with an id smaller than this (the keyset cursor when
    /// newest first, else an upper bound).
    pub before: Option<i64>,
    pub order: Order,
    pub visibility: Visibility,
    /// A case-insensitive piece of the picture's name.
    pub name: Option<String>,
    pub camera: Option<String>,
    pub format: Option<ImageFormat>,
    pub status: Option<Status>,
    /// Only this user's pictures (`owner=me`).
    pub owner: Option<UserId>,
    /// SHA-256 of the bytes, lower-case hex.
    pub hash: Option<String>,
    /// A dominant colour near this one.
    pub color: Option<NearColor>,
    pub faces_min: Option<u32>,
    /// Whose tags `tags` must be: a person's, or the tagger's (any when `None`).
    pub tags_from: Option<TagOrigin>,
}

/// Who gave a tag, for searches that care (seed 004's `tag` and `content_label`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TagOrigin {
    Person,
    Tagger,
}

/// Which end of the id order a search starts from. Ids grow as pictures
/// are registered, so `Newest` is a camera roll's order.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Order {
    /// Ascending ids: the order every client had before `order=` existed.
    #[default]
    Oldest,
    Newest,
}

impl Order {
    pub fn parse(s: &str) -> Result<Self, Error> {
        match s {
            "oldest" => Ok(Order::Oldest),
            "newest" => Ok(Order::Newest),
            _ => Err(Error::invalid(
                "invalid_order",
                format!("order must be oldest or newest, not {s:?}"),
            )),
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Order::Oldest => "oldest",
            Order::Newest => "newest",
        }
    }
}

/// How near (Euclidean distance in RGB, 0..=255 a channel) a dominant colour
/// must be to match `color=` when the caller does not say.
pub const COLOR_RADIUS: u32 = 48;

/// A colour search: a dominant colour within `distance` of `rgb`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NearColor {
    pub rgb: [u8; 3],
    pub distance: ColorDistance,
}

/// `color_distance=`: a Euclidean distance in RGB, the metric of the
/// default radius, so widening it keeps one meaning and the search stays a
/// lookup of the colour index's cells. 0 is the exact colour; 442 takes
/// every colour (black to white is 441.7).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ColorDistance(u32);

impl ColorDistance {
    pub const DEFAULT: ColorDistance = ColorDistance(COLOR_RADIUS);
    pub const MAX: u32 = 442;

    pub fn parse(s: &str) -> Result<Self, Error> {
        match s.parse::<u32>() {
            Ok(n) if n <= Self::MAX => Ok(ColorDistance(n)),
            _ => Err(Error::invalid(
                "invalid_color_distance",
                format!(
                    "color_distance must be an integer from 0 to {} (a distance in RGB), not {s:?}",
                    Self::MAX
                ),
            )),
        }
    }

    pub fn get(self) -> u32 {
        self.0
    }
}

impl Default for SearchQuery {
    fn default() -> Self {
        SearchQuery {
            dates: DateRange::default(),
            tags: None,
            limit: Limit::DEFAULT,
            after: 0,
            before: None,
            order: Order::Oldest,
            visibility: Visibility::Public,
            name: None,
            camera: None,
            format: None,
            status: None,
            owner: None,
            hash: None,
            color: None,
            faces_min: None,
            tags_from: None,
        }
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

#[cfg(test)]
mod tests {
    use super::*;

    fn code(e: Error) -> &'static str {
        match e {
            Error::Invalid { code, .. } => code,
            other => panic!("not an input error: {other:?}"),
        }
    }

    #[test]
    fn picture_ids() {
        assert_eq!(PictureId::parse("42").unwrap(), Some(PictureId(42)));
        assert_eq!(PictureId::parse("007").unwrap(), Some(PictureId(7)));
        assert_eq!(PictureId::parse("99999999999").unwrap(), None);
        assert_eq!(
            PictureId::parse("2147483647").unwrap(),
            Some(PictureId(2147483647))
        );
        for bad in ["", "0", "000", "-1", "abc", "1.5", "+1", " 1", "1e3"] {
            assert_eq!(
                code(PictureId::parse(bad).unwrap_err()),
                "invalid_id",
                "{bad:?}"
            );
        }
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

    #[test]
    fn limits() {
        assert_eq!(Limit::parse("1").unwrap(), Limit(1));
        assert_eq!(Limit::parse("1000").unwrap(), Limit(1000));
        for bad in ["0", "1001", "-5", "ten", ""] {
            assert_eq!(code(Limit::parse(bad).unwrap_err()), "invalid_limit");
        }
    }

    #[test]
    fn date_bounds() {
        assert_eq!(
            DateRange::parse_min("2024-03-05").unwrap(),
            "2024-03-05 00:00:00"
        );
        assert_eq!(
            DateRange::parse_max("2024-03-05").unwrap(),
            "2024-03-05 23:59:59"
        );
        assert_eq!(
            DateRange::parse_min("2024-03-05 07:08:09").unwrap(),
            "2024-03-05 07:08:09"
        );
        for bad in [
            "2024-13-01",
            "2024-02-30",
            "yesterday",
            "2024-01-01T00:00:00",
            "",
            "2024-01-01 25:00:00",
            // Found by fuzzing: chrono reads these years, stored dates never have them.
            "-024-01-01",
            "-0024-01-01 00:00:00",
            "+10000-01-01",
            "10000-01-01",
        ] {
            assert_eq!(
                code(DateRange::parse_min(bad).unwrap_err()),
                "invalid_date",
                "{bad:?}"
            );
        }
        let r = DateRange {
            min: Some("2024-02-01 00:00:00".into()),
            max: Some("2024-01-01 00:00:00".into()),
        };
        assert!(r.is_empty());
    }

    #[test]
    fn tag_lists() {
        let t = TagList::parse(" cat , dog,cat,,Dog ").unwrap();
        assert_eq!(t.as_slice(), ["cat", "dog"]);
        assert_eq!(code(TagList::parse(",,").unwrap_err()), "invalid_tags");
        assert_eq!(code(TagList::parse(" ").unwrap_err()), "invalid_tags");
    }

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
}

//! Newtypes that parse untrusted input once, and what a search asks for.

use chrono::{NaiveDate, NaiveDateTime};

use super::caller::{UserId, Visibility};
use super::types::{DATE_FORMAT, Status, normalize_tag};
use super::{Error, ImageFormat};

/// How many tags one search may require; each one is a join.
pub const MAX_SEARCH_TAGS: usize = 16;

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

impl SearchQuery {
    /// The same search one page on, past picture `id` (the last of a page):
    /// the cursor moves the end the order starts from; the other bound stays.
    pub fn past(&self, id: i64) -> SearchQuery {
        let mut next = self.clone();
        match self.order {
            Order::Oldest => next.after = id,
            Order::Newest => next.before = Some(id),
        }
        next
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

#[cfg(test)]
mod tests {
    use super::*;

    use crate::domain::error::input_code as code;

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
}

//! The rows the adapter reads, by column name, and how the columns that
//! hold JSON or derived keys (tag lists, colours, objects, colour cells,
//! name trigrams) are written and read.

use std::collections::HashMap;

use crate::domain::{
    ColorShare, DetectedObject, Facts, Gps, ImageFormat, Picture, Status, Tag, TagSource,
};

/// The columns of a picture, as [`PictureRow`] reads them.
pub(super) const PICTURE_COLUMNS: &str = "p.id, p.path, p.size, p.date, p.tag_list, p.owner, \
    p.private, p.name, p.status, p.failure, p.external_id, p.hash, p.format, p.width, p.height, \
    p.camera, p.taken_at, p.gps_lat, p.gps_lon, p.colors, p.phash, p.faces, p.analyzed, p.objects";

/// A picture's row ([`PICTURE_COLUMNS`]).
#[derive(sqlx::FromRow)]
pub(super) struct PictureRow {
    id: i64,
    path: String,
    size: Option<i64>,
    date: String,
    tag_list: Option<String>,
    owner: String,
    private: i64,
    name: Option<String>,
    status: String,
    failure: Option<String>,
    external_id: Option<String>,
    hash: Option<String>,
    format: Option<String>,
    width: Option<i64>,
    height: Option<i64>,
    camera: Option<String>,
    taken_at: Option<String>,
    gps_lat: Option<f64>,
    gps_lon: Option<f64>,
    colors: Option<String>,
    phash: Option<i64>,
    faces: Option<i64>,
    analyzed: i64,
    objects: Option<String>,
}

impl PictureRow {
    /// The picture, and whether its tags were read with it (rows written
    /// before `tag_list` existed have theirs in the tags table only).
    pub fn into_picture(self) -> (Picture, bool) {
        let tags = decode_tag_list(self.tag_list);
        let has_tags = tags.is_some();
        let picture = Picture {
            id: self.id,
            path: self.path,
            size: self.size.map(|s| s as u64),
            date: self.date,
            tags: tags.unwrap_or_default(),
            owner: (!self.owner.is_empty()).then_some(self.owner),
            private: self.private != 0,
            name: self.name,
            status: Status::parse(&self.status).unwrap_or(Status::Tagged),
            failure: self.failure,
            external_id: self.external_id,
            facts: Facts {
                hash: self.hash,
                format: self.format.as_deref().and_then(ImageFormat::parse),
                width: self.width.map(|v| v as u32),
                height: self.height.map(|v| v as u32),
                camera: self.camera,
                taken_at: self.taken_at,
                gps: self
                    .gps_lat
                    .zip(self.gps_lon)
                    .map(|(lat, lon)| Gps { lat, lon }),
                colors: decode_colors(self.colors),
                phash: self.phash.map(|v| v as u64),
                faces: self.faces.map(|v| v as u32),
                analyzed: self.analyzed != 0,
                objects: decode_objects(self.objects),
            },
        };
        (picture, has_tags)
    }
}

/// A tag row of a picture, as stored (`FLOAT` confidence).
#[derive(sqlx::FromRow)]
pub(super) struct TagRow {
    pub picture_id: i64,
    pub tag: String,
    pub confidence: f32,
    pub source: Option<String>,
}

/// Groups tag rows by picture, each list in response order.
pub(super) fn group_tags(rows: impl IntoIterator<Item = TagRow>) -> HashMap<i64, Vec<Tag>> {
    let mut by_picture: HashMap<i64, Vec<Tag>> = HashMap::new();
    for row in rows {
        by_picture.entry(row.picture_id).or_default().push(Tag {
            name: row.tag,
            confidence: crate::domain::round2(f64::from(row.confidence)),
            source: row.source.as_deref().and_then(TagSource::parse),
        });
    }
    by_picture
        .values_mut()
        .for_each(|tags| crate::domain::sort_tags(tags));
    by_picture
}

/// `pictures.tag_list`: the tags in response order, as
/// `[["cat", 93.21, "model"], ...]` (older rows: without the source).
pub fn encode_tag_list(tags: &[Tag]) -> String {
    let mut tags = tags.to_vec();
    crate::domain::sort_tags(&mut tags);
    let items: Vec<serde_json::Value> = tags
        .iter()
        .map(|t| match t.source {
            Some(s) => serde_json::json!([t.name, t.confidence, s.as_str()]),
            None => serde_json::json!([t.name, t.confidence]),
        })
        .collect();
    serde_json::to_string(&items).expect("tags serialise")
}

/// `None` for rows written before `tag_list` existed (or unreadable ones):
/// their tags are read from the tags table.
fn decode_tag_list(list: Option<String>) -> Option<Vec<Tag>> {
    let items: Vec<(String, f64, Option<String>)> =
        serde_json::from_str::<Vec<serde_json::Value>>(&list?)
            .ok()?
            .into_iter()
            .map(|v| {
                Some((
                    v.get(0)?.as_str()?.to_string(),
                    v.get(1)?.as_f64()?,
                    v.get(2).and_then(|s| s.as_str()).map(String::from),
                ))
            })
            .collect::<Option<_>>()?;
    Some(
        items
            .into_iter()
            .map(|(name, confidence, source)| Tag {
                name,
                confidence,
                source: source.as_deref().and_then(TagSource::parse),
            })
            .collect(),
    )
}

/// `pictures.colors`: `[["#rrggbb", fraction], ...]`.
pub(super) fn encode_colors(colors: &[ColorShare]) -> Option<String> {
    if colors.is_empty() {
        return None;
    }
    let items: Vec<(String, f64)> = colors
        .iter()
        .map(|c| (c.hex(), (c.fraction * 10_000.0).round() / 10_000.0))
        .collect();
    serde_json::to_string(&items).ok()
}

fn decode_colors(text: Option<String>) -> Vec<ColorShare> {
    let Some(text) = text else { return Vec::new() };
    let items: Vec<(String, f64)> = serde_json::from_str(&text).unwrap_or_default();
    items
        .into_iter()
        .filter_map(|(hex, fraction)| {
            let h = hex.strip_prefix('#')?;
            let n = u32::from_str_radix(h, 16).ok().filter(|_| h.len() == 6)?;
            Some(ColorShare {
                rgb: [(n >> 16) as u8, (n >> 8) as u8, n as u8],
                fraction,
            })
        })
        .collect()
}

/// The objects as stored: JSON `[{label, confidence, box}]`; `None` for none.
pub(super) fn encode_objects(objects: &[DetectedObject]) -> Option<String> {
    (!objects.is_empty())
        .then(|| serde_json::to_string(objects).ok())
        .flatten()
}

fn decode_objects(text: Option<String>) -> Vec<DetectedObject> {
    text.and_then(|t| serde_json::from_str(&t).ok())
        .unwrap_or_default()
}

/// A colour's cell on the 8x8x8 grid of `picture_colors`.
pub fn color_cell([r, g, b]: [u8; 3]) -> i64 {
    (i64::from(r >> 5) << 6) | (i64::from(g >> 5) << 3) | i64::from(b >> 5)
}

/// The cells a colour within `radius` of `rgb` can fall in.
pub(super) fn cells_near(rgb: [u8; 3], radius: u32) -> Vec<i64> {
    let span = |c: u8| {
        let lo = (i32::from(c) - radius as i32).max(0) >> 5;
        let hi = (i32::from(c) + radius as i32).min(255) >> 5;
        lo..=hi
    };
    let mut cells = Vec::new();
    for r in span(rgb[0]) {
        for g in span(rgb[1]) {
            for b in span(rgb[2]) {
                cells.push(i64::from((r << 6) | (g << 3) | b));
            }
        }
    }
    cells
}

/// The lower-cased three-character pieces of a name, each once.
pub fn trigrams(name: &str) -> Vec<String> {
    let chars: Vec<char> = name.to_lowercase().chars().collect();
    let mut out: Vec<String> = chars.windows(3).map(|w| w.iter().collect()).collect();
    out.sort();
    out.dedup();
    out
}

/// `%piece%` for LIKE, with the wildcards of the piece escaped.
pub(super) fn like_pattern(piece: &str) -> String {
    let mut p = String::from("%");
    for c in piece.to_lowercase().chars() {
        if matches!(c, '%' | '_' | '!') {
            p.push('!');
        }
        p.push(c);
    }
    p.push('%');
    p
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tag_lists_round_trip() {
        let tags = vec![
            Tag::new("cat", 93.21, Some(TagSource::Model)),
            Tag::new("pet", 100.0, Some(TagSource::User)),
            Tag::new("old", 50.0, None),
        ];
        let decoded = decode_tag_list(Some(encode_tag_list(&tags))).unwrap();
        assert_eq!(decoded[0], tags[1]);
        assert_eq!(decoded[1], tags[0]);
        assert_eq!(decoded[2], tags[2]);
        // What the service wrote before sources were recorded.
        let old = decode_tag_list(Some(r#"[["cat",93.21]]"#.into())).unwrap();
        assert_eq!(old, vec![Tag::new("cat", 93.21, None)]);
        assert_eq!(decode_tag_list(Some("nonsense".into())), None);
    }

    #[test]
    fn colour_cells() {
        assert_eq!(color_cell([0, 0, 0]), 0);
        assert_eq!(color_cell([255, 255, 255]), 511);
        let near = cells_near([100, 100, 100], 48);
        for rgb in [
            [100, 100, 100],
            [148, 100, 100],
            [52, 100, 100],
            [120, 80, 130],
        ] {
            assert!(near.contains(&color_cell(rgb)), "{rgb:?}");
        }
        let c = decode_colors(encode_colors(&[ColorShare {
            rgb: [255, 0, 16],
            fraction: 0.5,
        }]));
        assert_eq!(c[0].hex(), "#ff0010");
    }

    #[test]
    fn name_pieces() {
        assert_eq!(trigrams("Cat"), vec!["cat"]);
        assert_eq!(trigrams("ab"), Vec::<String>::new());
        assert_eq!(trigrams("IMG_01"), vec!["_01", "g_0", "img", "mg_"]);
        assert_eq!(like_pattern("50%_A!"), "%50!%!_a!!%");
    }
}

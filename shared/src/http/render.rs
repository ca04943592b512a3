//! How a picture looks on the wire, in one place: Part 1's fields first
//! (`id`, `size`, `date`, `tags`, `data`), then what Part 2 adds.

use serde::Serialize;

use super::ApiError;
use crate::App;
use crate::domain::files::view_url;
use crate::domain::image::encode_base64;
use crate::domain::{Caller, DetectedObject, Picture, Tag, round2};

#[derive(Serialize)]
pub struct TagBody<'a> {
    pub tag: &'a str,
    pub confidence: f64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source: Option<&'static str>,
}

pub fn tag_body(t: &Tag) -> TagBody<'_> {
    TagBody {
        tag: &t.name,
        confidence: t.confidence,
        source: t.source.map(|s| s.as_str()),
    }
}

#[derive(Serialize)]
pub struct GpsBody {
    pub lat: f64,
    pub lon: f64,
}

#[derive(Serialize)]
pub struct ColorBody {
    pub hex: String,
    pub fraction: f64,
}

#[derive(Serialize)]
pub struct PictureBody<'a> {
    pub id: i64,
    pub size: f64,
    pub date: &'a str,
    pub tags: Vec<TagBody<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub data: Option<String>,
    /// Why `data` is not here (`too_large`: it would not fit in the answer).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub data_omitted: Option<&'static str>,
    pub name: Option<&'a str>,
    pub owner: Option<&'a str>,
    pub private: bool,
    pub status: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub failure: Option<&'a str>,
    pub format: Option<&'static str>,
    pub width: Option<u32>,
    pub height: Option<u32>,
    pub hash: Option<&'a str>,
    pub view_url: String,
    pub camera: Option<&'a str>,
    pub taken_at: Option<&'a str>,
    /// Shown to the owner and admins only.
    pub gps: Option<GpsBody>,
    pub colors: Vec<ColorBody>,
    pub faces: Option<u32>,
    /// What the object detector found, with boxes relative to the image.
    pub objects: &'a [DetectedObject],
    /// How far from the picture a `similar` search started at.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub distance: Option<u32>,
}

/// What a picture's JSON costs besides its data, generously.
const ENVELOPE_BYTES: usize = 64 * 1024;

/// The picture as `caller` may see it, with `data` when given and when it
/// fits in the platform's response limit.
pub async fn picture_body<'a>(
    app: &App,
    caller: &Caller,
    p: &'a Picture,
    data: Option<&[u8]>,
) -> Result<PictureBody<'a>, ApiError> {
    let (data, data_omitted) = match data {
        Some(bytes)
            if base64_len(bytes.len()) + ENVELOPE_BYTES > app.settings.max_response_bytes =>
        {
            (None, Some("too_large"))
        }
        Some(bytes) => (Some(encode_base64(bytes)), None),
        None => (None, None),
    };
    let sees_location = caller.may_change(p.owner.as_deref());
    let f = &p.facts;
    Ok(PictureBody {
        id: p.id,
        size: round2(p.size_bytes() as f64 / 1024.0),
        date: &p.date,
        tags: p.tags.iter().map(tag_body).collect(),
        data,
        data_omitted,
        name: p.name.as_deref(),
        owner: p.owner.as_deref(),
        private: p.private,
        status: p.status.as_str(),
        failure: p.failure.as_deref(),
        format: f.format.map(|f| f.as_str()),
        width: f.width,
        height: f.height,
        hash: f.hash.as_deref(),
        view_url: view_url(&app.ports(), p).await?,
        camera: f.camera.as_deref(),
        taken_at: f.taken_at.as_deref(),
        gps: f.gps.filter(|_| sees_location).map(|g| GpsBody {
            lat: g.lat,
            lon: g.lon,
        }),
        colors: f
            .colors
            .iter()
            .map(|c| ColorBody {
                hex: c.hex(),
                fraction: c.fraction,
            })
            .collect(),
        faces: f.faces,
        objects: &f.objects,
        distance: None,
    })
}

fn base64_len(n: usize) -> usize {
    n.div_ceil(3) * 4
}

/// Many pictures, without their data.
pub async fn picture_list<'a>(
    app: &App,
    caller: &Caller,
    pictures: &'a [Picture],
) -> Result<Vec<PictureBody<'a>>, ApiError> {
    let mut out = Vec::with_capacity(pictures.len());
    for p in pictures {
        out.push(picture_body(app, caller, p, None).await?);
    }
    Ok(out)
}

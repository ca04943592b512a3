//! Statistics and what is read from the pictures: per-tag statistics, the
//! upload statistics of seed 002, colours and palettes, near-duplicates.

use axum::Json;
use axum::extract::{FromRequest, RawQuery, Request, State};
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use serde_json::{Value, json};
use std::sync::Arc;

use super::ApiError;
use super::body::{FormPart, is_json, is_multipart, next_part, read_body};
use super::params::{Params, PathArg};
use super::render::picture_body;
use super::route::Route;
use super::search::parse_stats_query;
use crate::App;
use crate::analysis::Color;
use crate::domain::analysis::{self, MAX_DISTANCE};
use crate::domain::{Caller, ImageData, PictureId, TagStat};
use axum::routing::{get, post};

#[derive(Serialize)]
struct TagStatBody<'a> {
    tag: &'a str,
    n_images: i64,
    min_confidence: f64,
    max_confidence: f64,
    mean_confidence: f64,
}

/// As the seed's reference answers: min and max as the FLOAT column holds
/// them (its shortest decimal form, 87.2146 rather than 87.21459960937), the
/// mean unrounded, as computed in double precision.
fn stat_body(s: &TagStat) -> TagStatBody<'_> {
    let as_stored = |x: f64| (x as f32).to_string().parse::<f64>().unwrap_or(x);
    TagStatBody {
        tag: &s.tag,
        n_images: s.n_images,
        min_confidence: as_stored(s.min_confidence),
        max_confidence: as_stored(s.max_confidence),
        mean_confidence: s.mean_confidence,
    }
}

/// `GET /tags`: statistics per tag over a date range, of what the caller may see.
pub async fn get_tags(
    State(app): State<Arc<App>>,
    caller: Caller,
    RawQuery(query): RawQuery,
) -> Result<Response, ApiError> {
    let dates = parse_stats_query(query.as_deref())?;
    let stats = crate::domain::tag_stats(&*app.db, &caller, &dates).await?;
    let body: Vec<TagStatBody> = stats.iter().map(stat_body).collect();
    Ok(Json(body).into_response())
}

pub fn stats_json(stats: &analysis::Stats) -> Value {
    let pairs = |v: &[(String, i64)], key: &str| -> Vec<Value> {
        v.iter()
            .map(|(name, n)| json!({key: name, "count": n}))
            .collect()
    };
    json!({
        "uploads_per_day": pairs(&stats.uploads_per_day, "date"),
        "most_popular_format": stats.most_popular_format,
        "formats": stats.formats.iter().map(|(f, n)| json!({"format": f, "count": n})).collect::<Vec<_>>(),
        "top_camera_models": pairs(&stats.top_camera_models, "camera"),
    })
}

/// `GET /stats`.
pub async fn get_stats(
    State(app): State<Arc<App>>,
    caller: Caller,
    RawQuery(query): RawQuery,
) -> Result<Response, ApiError> {
    Params::parse(query.as_deref(), &[])?;
    Ok(Json(stats_json(&analysis::stats(&*app.db, &caller).await?)).into_response())
}

pub fn parse_k(params: &Params) -> Result<usize, ApiError> {
    Ok(params
        .map("k", |s| match s.trim().parse::<usize>() {
            Ok(k) if (1..=16).contains(&k) => Ok(k),
            _ => Err(crate::Error::invalid(
                "invalid_k",
                format!("k must be an integer from 1 to 16, not {s:?}"),
            )),
        })?
        .unwrap_or(6))
}

pub fn colors_json(colors: &[Color]) -> Value {
    json!({
        "colors": colors
            .iter()
            .map(|c| json!({"rgb": c.rgb, "hex": c.hex(), "count": c.count, "fraction": c.fraction}))
            .collect::<Vec<_>>()
    })
}

/// `GET /images/{id}/colors?k=6`.
pub async fn get_colors(
    State(app): State<Arc<App>>,
    caller: Caller,
    PathArg(id): PathArg,
    RawQuery(query): RawQuery,
) -> Result<Response, ApiError> {
    let colors = colors_of(&app, &caller, &id, query.as_deref()).await?;
    Ok(Json(colors_json(&colors)).into_response())
}

/// The colours of picture `id` for `?k=`.
async fn colors_of(
    app: &App,
    caller: &Caller,
    id: &str,
    query: Option<&str>,
) -> Result<Vec<Color>, ApiError> {
    let k = parse_k(&Params::parse(query, &["k"])?)?;
    let id = PictureId::parse(id)?;
    Ok(analysis::picture_colors(&*app.db, &*app.store, &app.decodes, caller, id, k).await?)
}

/// `GET /images/{id}/palette.png?k=6`: seed 003's pie chart of the colours.
pub async fn get_palette(
    State(app): State<Arc<App>>,
    caller: Caller,
    PathArg(id): PathArg,
    RawQuery(query): RawQuery,
) -> Result<Response, ApiError> {
    let colors = colors_of(&app, &caller, &id, query.as_deref()).await?;
    let weights: Vec<([u8; 3], f64)> = colors.iter().map(|c| (c.rgb, c.count as f64)).collect();
    Ok(png_response(analysis::palette(weights).await?))
}

pub fn png_response(png: Vec<u8>) -> Response {
    (
        [
            (header::CONTENT_TYPE, HeaderValue::from_static("image/png")),
            (header::CACHE_CONTROL, HeaderValue::from_static("no-cache")),
        ],
        png,
    )
        .into_response()
}

/// The image of a stateless colour request: the multipart field `image`
/// (seed 003), or JSON `{"data": "<base64>"}`; and the form's `k`, if any.
pub async fn image_of_request(
    app: &Arc<App>,
    request: Request,
) -> Result<(ImageData, Option<String>), ApiError> {
    if is_multipart(request.headers()) {
        let mut form = axum::extract::Multipart::from_request(request, app)
            .await
            .map_err(|e| ApiError::invalid("invalid_body", e.body_text()))?;
        let mut image = None;
        let mut k = None;
        while let Some(part) = next_part(&mut form, app.settings.max_file_bytes).await? {
            match part {
                FormPart::File(f) if image.is_none() => image = Some(f.result?),
                FormPart::Field { name, value } if name == "k" => k = Some(value),
                FormPart::Field { name, value } if name == "image" && image.is_none() => {
                    image = Some(value.into_bytes())
                }
                _ => {}
            }
        }
        let bytes = image.ok_or_else(|| {
            ApiError::invalid("missing_image", "the form has no file in its `image` field")
        })?;
        return Ok((ImageData::from_bytes(bytes)?, k));
    }
    let (parts, body) = request.into_parts();
    if !is_json(&parts.headers) {
        return Err(ApiError::NotJson);
    }
    let bytes = read_body(&parts.headers, body, app.max_body_bytes).await?;
    Ok((super::upload::parse_upload_body(&bytes)?, None))
}

/// `POST /colors?k=6`: the colours of an image that is not stored.
pub async fn post_colors(
    State(app): State<Arc<App>>,
    _caller: Caller,
    RawQuery(query): RawQuery,
    request: Request,
) -> Result<Response, ApiError> {
    let params = Params::parse(query.as_deref(), &["k"])?;
    let (image, form_k) = image_of_request(&app, request).await?;
    let k = match form_k {
        Some(k) if params.get("k").is_none() => {
            parse_k(&Params::parse(Some(&format!("k={k}")), &["k"])?)?
        }
        _ => parse_k(&params)?,
    };
    let colors = analysis::image_colors(&app.decodes, image, k).await?;
    Ok(Json(colors_json(&colors)).into_response())
}

/// `GET /images/{id}/similar?max_distance=8&limit=20`.
pub async fn get_similar(
    State(app): State<Arc<App>>,
    caller: Caller,
    PathArg(id): PathArg,
    RawQuery(query): RawQuery,
) -> Result<Response, ApiError> {
    let params = Params::parse(query.as_deref(), &["max_distance", "limit"])?;
    let max_distance = params
        .map("max_distance", |s| match s.parse::<u32>() {
            Ok(d) if d <= MAX_DISTANCE => Ok(d),
            _ => Err(crate::Error::invalid(
                "invalid_max_distance",
                format!("max_distance must be an integer from 0 to {MAX_DISTANCE}, not {s:?}"),
            )),
        })?
        .unwrap_or(8);
    let limit = params
        .map("limit", |s| match s.parse::<usize>() {
            Ok(n) if (1..=100).contains(&n) => Ok(n),
            _ => Err(crate::Error::invalid(
                "invalid_limit",
                format!("limit must be an integer from 1 to 100, not {s:?}"),
            )),
        })?
        .unwrap_or(20);
    let id = PictureId::parse(&id)?;
    let found = analysis::similar(&*app.db, &caller, id, max_distance, limit).await?;
    let mut out = Vec::with_capacity(found.len());
    for s in &found {
        let mut body = picture_body(&app, &caller, &s.picture, None).await?;
        body.distance = Some(s.distance);
        out.push(body);
    }
    Ok(Json(out).into_response())
}

/// The routes of statistics and analysis.
pub(super) const ROUTES: &[Route] = &[
    Route::new("GET", "/tags", "get-tags", || get(get_tags)),
    Route::new("GET", "/stats", "get-tags", || get(get_stats)),
    Route::new("GET", "/images/{id}/colors", "get-image", || {
        get(get_colors)
    }),
    Route::new("GET", "/images/{id}/palette.png", "get-image", || {
        get(get_palette)
    }),
    Route::new("GET", "/images/{id}/similar", "get-images", || {
        get(get_similar)
    }),
    Route::new("POST", "/colors", "colors", || post(post_colors)),
];

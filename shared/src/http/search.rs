//! `GET /images`: the search's query string, and the page with its `Link`
//! to the next one.

use axum::Json;
use axum::extract::{RawQuery, State};
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use std::sync::Arc;

use super::ApiError;
use super::params::Params;
use super::render::picture_list;
use crate::App;
use crate::domain::{
    self, Caller, ColorDistance, DateRange, ImageFormat, Limit, NearColor, Order, SearchQuery,
    Status, TagList,
};

pub const SEARCH_PARAMS: &[&str] = &[
    "min_date",
    "max_date",
    "tags",
    "limit",
    "after",
    "name",
    "camera",
    "format",
    "status",
    "owner",
    "hash",
    "color",
    "color_distance",
    "faces_min",
    "order",
    "before",
];

fn date_range(params: &Params) -> Result<DateRange, ApiError> {
    Ok(DateRange {
        min: params.map("min_date", DateRange::parse_min)?,
        max: params.map("max_date", DateRange::parse_max)?,
    })
}

fn parse_cursor(
    name: &'static str,
    code: &'static str,
) -> impl Fn(&str) -> Result<i64, crate::Error> {
    move |s: &str| match s.parse::<u64>() {
        Ok(n) => Ok(n.min(i64::MAX as u64) as i64),
        Err(_) => Err(crate::Error::invalid(
            code,
            format!("{name} must be a picture id (a non-negative integer), not {s:?}"),
        )),
    }
}

/// `color=` and its optional `color_distance=`, which means nothing alone.
fn near_color(params: &Params) -> Result<Option<NearColor>, ApiError> {
    let distance = params.map("color_distance", ColorDistance::parse)?;
    match params.map("color", parse_color)? {
        Some(rgb) => Ok(Some(NearColor {
            rgb,
            distance: distance.unwrap_or(ColorDistance::DEFAULT),
        })),
        None if distance.is_some() => Err(ApiError::invalid(
            "invalid_parameter",
            "color_distance needs color: the colour to measure the distance from",
        )),
        None => Ok(None),
    }
}

fn parse_hash(s: &str) -> Result<String, crate::Error> {
    let s = s.trim().to_ascii_lowercase();
    if s.len() == 64 && s.bytes().all(|b| b.is_ascii_hexdigit()) {
        Ok(s)
    } else {
        Err(crate::Error::invalid(
            "invalid_hash",
            "hash must be a SHA-256: 64 hexadecimal digits",
        ))
    }
}

pub fn parse_color(s: &str) -> Result<[u8; 3], crate::Error> {
    let hex = s.trim().trim_start_matches('#');
    match u32::from_str_radix(hex, 16) {
        Ok(n) if hex.len() == 6 => Ok([(n >> 16) as u8, (n >> 8) as u8, n as u8]),
        _ => Err(crate::Error::invalid(
            "invalid_color",
            format!("color must be #rrggbb, not {s:?}"),
        )),
    }
}

fn non_blank(name: &'static str, max: usize) -> impl Fn(&str) -> Result<String, crate::Error> {
    move |s: &str| {
        let s = s.trim();
        if s.is_empty() || s.chars().count() > max {
            Err(crate::Error::invalid(
                "invalid_parameter",
                format!("{name} must be 1 to {max} characters"),
            ))
        } else {
            Ok(s.to_string())
        }
    }
}

/// The query string of `GET /images`, for `caller`.
pub fn parse_search(query: Option<&str>, caller: &Caller) -> Result<SearchQuery, ApiError> {
    let params = Params::parse(query, SEARCH_PARAMS)?;
    let owner = match params.get("owner") {
        None => None,
        Some("me") => Some(
            caller
                .require_user()
                .map_err(|e| match e {
                    crate::Error::Unauthorized(_) => crate::Error::Unauthorized(
                        "owner=me needs a user: send your API key or token".into(),
                    ),
                    other => other,
                })?
                .id
                .clone(),
        ),
        Some(other) => {
            return Err(ApiError::invalid(
                "invalid_parameter",
                format!("owner takes only \"me\", not {other:?}"),
            ));
        }
    };
    Ok(SearchQuery {
        dates: date_range(&params)?,
        tags: params.map("tags", TagList::parse)?,
        limit: params.map("limit", Limit::parse)?.unwrap_or(Limit::DEFAULT),
        after: params
            .map("after", parse_cursor("after", "invalid_after"))?
            .unwrap_or(0),
        before: params.map("before", parse_cursor("before", "invalid_before"))?,
        order: params.map("order", Order::parse)?.unwrap_or_default(),
        visibility: caller.visibility(),
        name: params.map("name", non_blank("name", 255))?,
        camera: params.map("camera", non_blank("camera", 128))?,
        format: params.map("format", |s| {
            ImageFormat::parse(s).ok_or_else(|| {
                crate::Error::invalid(
                    "invalid_format",
                    format!(
                        "format must be jpeg, png, gif, webp, bmp, tiff, heic or avif, not {s:?}"
                    ),
                )
            })
        })?,
        status: params.map("status", Status::parse)?,
        owner,
        hash: params.map("hash", parse_hash)?,
        color: near_color(&params)?,
        faces_min: params.map("faces_min", |s| {
            s.parse::<u32>().map_err(|_| {
                crate::Error::invalid(
                    "invalid_parameter",
                    format!("faces_min must be a non-negative integer, not {s:?}"),
                )
            })
        })?,
        tags_from: None,
    })
}

/// The query string of `GET /images`, as an anonymous caller sends it.
pub fn parse_search_query(query: Option<&str>) -> Result<SearchQuery, ApiError> {
    parse_search(query, &Caller::Anonymous)
}

/// The query string of `GET /tags`.
pub fn parse_stats_query(query: Option<&str>) -> Result<DateRange, ApiError> {
    date_range(&Params::parse(query, &["min_date", "max_date"])?)
}

/// The URL of a search (the next page's, in a `Link`).
fn search_url(search: &SearchQuery) -> String {
    let mut q = form_urlencoded::Serializer::new(String::new());
    if let Some(min) = &search.dates.min {
        q.append_pair("min_date", min);
    }
    if let Some(max) = &search.dates.max {
        q.append_pair("max_date", max);
    }
    if let Some(tags) = &search.tags {
        q.append_pair("tags", &tags.as_slice().join(","));
    }
    for (name, value) in [
        ("name", search.name.clone()),
        ("camera", search.camera.clone()),
        ("format", search.format.map(|f| f.as_str().to_string())),
        ("status", search.status.map(|s| s.as_str().to_string())),
        ("owner", search.owner.as_ref().map(|_| "me".to_string())),
        ("hash", search.hash.clone()),
        (
            "color",
            search
                .color
                .map(|NearColor { rgb: [r, g, b], .. }| format!("#{r:02x}{g:02x}{b:02x}")),
        ),
        (
            "color_distance",
            search
                .color
                .filter(|c| c.distance != ColorDistance::DEFAULT)
                .map(|c| c.distance.get().to_string()),
        ),
        ("faces_min", search.faces_min.map(|n| n.to_string())),
    ] {
        if let Some(value) = value {
            q.append_pair(name, &value);
        }
    }
    q.append_pair("limit", &search.limit.0.to_string());
    let after = (search.after > 0).then(|| ("after", search.after.to_string()));
    let before = search.before.map(|id| ("before", id.to_string()));
    // The bound the order starts from comes last.
    let bounds = match search.order {
        Order::Oldest => [before, after],
        Order::Newest => {
            q.append_pair("order", "newest");
            [after, before]
        }
    };
    for (name, value) in bounds.into_iter().flatten() {
        q.append_pair(name, &value);
    }
    format!("/images?{}", q.finish())
}

/// `GET /images`: pictures by date range, tags and the other filters, a page at a time.
pub async fn get_images(
    State(app): State<Arc<App>>,
    caller: Caller,
    RawQuery(query): RawQuery,
) -> Result<Response, ApiError> {
    let search = parse_search(query.as_deref(), &caller)?;
    let page = domain::search(&*app.db, &*app.store, &search).await?;
    let body = picture_list(&app, &caller, &page.pictures).await?;
    let mut response = Json(body).into_response();
    if let Some(next) = &page.next {
        let link = format!("<{}>; rel=\"next\"", search_url(next));
        if let Ok(value) = HeaderValue::from_str(&link) {
            response.headers_mut().insert(header::LINK, value);
        }
    }
    Ok(response)
}

//! The four handlers: parse, call one domain operation, render.

use axum::Json;
use axum::body::Body;
use axum::extract::{MatchedPath, Path, RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use std::sync::Arc;

use super::ApiError;
use super::params::Params;
use crate::App;
use crate::domain::image::encode_base64;
use crate::domain::{
    self, Confidence, DateRange, ImageData, Limit, Picture, PictureId, SearchQuery, TagList,
    TagStat, round2,
};

#[derive(Serialize)]
struct PictureBody<'a> {
    id: i64,
    size: f64,
    date: &'a str,
    tags: Vec<TagBody<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    data: Option<String>,
}

#[derive(Serialize)]
struct TagBody<'a> {
    tag: &'a str,
    confidence: f64,
}

#[derive(Serialize)]
struct TagStatBody<'a> {
    tag: &'a str,
    n_images: i64,
    min_confidence: f64,
    max_confidence: f64,
    mean_confidence: f64,
}

fn picture_body<'a>(p: &'a Picture, data: Option<&[u8]>) -> PictureBody<'a> {
    PictureBody {
        id: p.id,
        size: round2(p.size_bytes as f64 / 1024.0),
        date: &p.date,
        tags: p
            .tags
            .iter()
            .map(|t| TagBody {
                tag: &t.name,
                confidence: t.confidence,
            })
            .collect(),
        data: data.map(encode_base64),
    }
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

fn date_range(params: &Params) -> Result<DateRange, ApiError> {
    Ok(DateRange {
        min: params.map("min_date", DateRange::parse_min)?,
        max: params.map("max_date", DateRange::parse_max)?,
    })
}

/// The upload body: a JSON object whose `data` is a string. Anything else
/// is refused with a code saying which part is wrong.
fn upload_data(body: &[u8]) -> Result<String, ApiError> {
    let value: serde_json::Value = serde_json::from_slice(body).map_err(|e| {
        ApiError::invalid("invalid_json", format!("the body is not valid JSON: {e}"))
    })?;
    let serde_json::Value::Object(mut fields) = value else {
        return Err(ApiError::invalid(
            "invalid_body",
            "the body must be a JSON object",
        ));
    };
    match fields.remove("data") {
        None => Err(ApiError::invalid(
            "missing_data",
            "the body has no \"data\" field",
        )),
        Some(serde_json::Value::String(data)) => Ok(data),
        Some(_) => Err(ApiError::invalid(
            "invalid_body",
            "\"data\" must be a string of base64",
        )),
    }
}

/// `application/json`, or any `+json` type, with or without parameters.
fn is_json(headers: &HeaderMap) -> bool {
    let Some(value) = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
    else {
        return false;
    };
    let essence = value
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    essence == "application/json"
        || (essence.starts_with("application/") && essence.ends_with("+json"))
}

async fn read_body(
    headers: &HeaderMap,
    body: Body,
    limit: usize,
) -> Result<axum::body::Bytes, ApiError> {
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > limit as u64) {
        return Err(ApiError::BodyTooLarge { limit });
    }
    axum::body::to_bytes(body, limit).await.map_err(|e| {
        // to_bytes reports an over-long body as a length-limit error in its source chain.
        let too_long = std::iter::successors(Some(&e as &dyn std::error::Error), |e| e.source())
            .any(|e| e.is::<http_body_util::LengthLimitError>());
        if too_long {
            ApiError::BodyTooLarge { limit }
        } else {
            ApiError::BodyUnreadable
        }
    })
}

/// `POST /images` (and the seeds' `/image`, `/images/tags`): `{"data":
/// "<base64>"}` → 201 (200 through the seeds' routes) with the picture.
pub async fn post_image(
    State(app): State<Arc<App>>,
    matched: MatchedPath,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    let min = parse_upload_query(query.as_deref())?;
    if !is_json(&headers) {
        return Err(ApiError::NotJson);
    }
    let bytes = read_body(&headers, body, app.max_body_bytes).await?;
    let image = parse_upload_body(&bytes)?;
    drop(bytes);

    // Run to completion even if the client goes away, so a registration is
    // never cut between storing the file and recording it.
    let task_app = app.clone();
    let (picture, image) = tokio::spawn(async move {
        let picture = domain::register(&task_app, &image, min).await;
        picture.map(|p| (p, image))
    })
    .await
    .map_err(|e| ApiError::Internal(e.to_string()))??;

    let location = HeaderValue::from_str(&format!("/images/{}", picture.id))
        .map_err(|e| ApiError::Internal(e.to_string()))?;
    let body = picture_body(&picture, Some(image.bytes()));
    Ok((
        super::routes::upload_status(matched.as_str()),
        [(header::LOCATION, location)],
        Json(body),
    )
        .into_response())
}

/// The query string of `POST /images`: the confidence threshold.
pub fn parse_upload_query(query: Option<&str>) -> Result<Confidence, ApiError> {
    let params = Params::parse(query, &["min_confidence"])?;
    Ok(params
        .map("min_confidence", Confidence::parse)?
        .unwrap_or(Confidence::DEFAULT))
}

/// The body of `POST /images`: JSON, then base64, then a sniffed and
/// size-checked image.
pub fn parse_upload_body(body: &[u8]) -> Result<ImageData, ApiError> {
    let data = upload_data(body)?;
    Ok(ImageData::from_base64(&data)?)
}

/// The query string of `GET /images`.
pub fn parse_search_query(query: Option<&str>) -> Result<SearchQuery, ApiError> {
    let params = Params::parse(query, &["min_date", "max_date", "tags", "limit", "after"])?;
    Ok(SearchQuery {
        dates: date_range(&params)?,
        tags: params.map("tags", TagList::parse)?,
        limit: params.map("limit", Limit::parse)?.unwrap_or(Limit::DEFAULT),
        after: params.map("after", parse_cursor)?.unwrap_or(0),
    })
}

/// The query string of `GET /tags`.
pub fn parse_stats_query(query: Option<&str>) -> Result<DateRange, ApiError> {
    date_range(&Params::parse(query, &["min_date", "max_date"])?)
}

/// `GET /images`: pictures by date range and tags, a page at a time.
pub async fn get_images(
    State(app): State<Arc<App>>,
    RawQuery(query): RawQuery,
) -> Result<Response, ApiError> {
    let search = parse_search_query(query.as_deref())?;
    let page = domain::search(&app, &search).await?;
    let body: Vec<PictureBody> = page
        .pictures
        .iter()
        .map(|p| picture_body(p, None))
        .collect();
    let mut response = Json(body).into_response();
    if let Some(after) = page.next_after {
        let link = format!("<{}>; rel=\"next\"", next_page_url(&search, after));
        if let Ok(value) = HeaderValue::from_str(&link) {
            response.headers_mut().insert(header::LINK, value);
        }
    }
    Ok(response)
}

fn parse_cursor(s: &str) -> Result<i64, crate::Error> {
    match s.parse::<u64>() {
        Ok(n) => Ok(n.min(i64::MAX as u64) as i64),
        Err(_) => Err(crate::Error::invalid(
            "invalid_after",
            format!("after must be a picture id (a non-negative integer), not {s:?}"),
        )),
    }
}

/// The same search, one page on.
fn next_page_url(search: &SearchQuery, after: i64) -> String {
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
    q.append_pair("limit", &search.limit.0.to_string());
    q.append_pair("after", &after.to_string());
    format!("/images?{}", q.finish())
}

/// `GET /images/{id}` (and `/image/{id}`): one picture with its data.
pub async fn get_image(
    State(app): State<Arc<App>>,
    Path(id): Path<String>,
    RawQuery(query): RawQuery,
) -> Result<Response, ApiError> {
    Params::parse(query.as_deref(), &[])?;
    let id = PictureId::parse(&id)?;
    let (picture, data) = domain::get_picture(&app, id).await?;
    Ok(Json(picture_body(&picture, Some(&data))).into_response())
}

/// `POST /images/{id}/retag?min_confidence=`: the picture's tags replaced by
/// the tagger's answer now → 200 with the picture (without its data).
pub async fn retag_image(
    State(app): State<Arc<App>>,
    Path(id): Path<String>,
    RawQuery(query): RawQuery,
) -> Result<Response, ApiError> {
    let min = parse_upload_query(query.as_deref())?;
    let id = PictureId::parse(&id)?;
    // Runs to completion even if the client goes away, like an upload.
    let task_app = app.clone();
    let picture = tokio::spawn(async move { domain::retag(&task_app, id, min).await })
        .await
        .map_err(|e| ApiError::Internal(e.to_string()))??;
    Ok(Json(picture_body(&picture, None)).into_response())
}

/// `GET /tags`: statistics per tag over a date range.
pub async fn get_tags(
    State(app): State<Arc<App>>,
    RawQuery(query): RawQuery,
) -> Result<Response, ApiError> {
    let stats = domain::tag_stats(&app, &parse_stats_query(query.as_deref())?).await?;
    let body: Vec<TagStatBody> = stats.iter().map(stat_body).collect();
    Ok(Json(body).into_response())
}

pub async fn not_found() -> ApiError {
    ApiError::RouteNotFound
}

pub async fn method_not_allowed() -> ApiError {
    ApiError::MethodNotAllowed
}

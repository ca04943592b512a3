//! Pictures: upload (JSON or multipart), search, read, change, delete,
//! re-tag, and their files. Each handler parses, calls one domain operation
//! and renders.

use axum::Json;
use axum::body::Body;
use axum::extract::{FromRequest, MatchedPath, RawQuery, Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::{Map, Value, json};
use std::sync::Arc;

use super::ApiError;
use super::body::{FormPart, is_json, is_multipart, json_body, next_part, read_body};
use super::caller::AnyCaller;
use super::params::{Params, PathArg};
use super::render::{picture_body, picture_list};
use super::routes::Route;
use crate::App;
use crate::db::PictureChange;
use crate::domain::files::{self, FileAnswer, Signed};
use crate::domain::pictures::{self as ops, Registered, Upload, parse_name, parse_user_tags};
use crate::domain::{
    self, Caller, ColorDistance, Confidence, DateRange, ImageData, ImageFormat, Limit, NearColor,
    Order, PictureId, SearchQuery, Status, TagList,
};
use axum::routing::{delete, get, patch, post};

/// `true`/`false` (and `1`/`0`) for a flag named `name`.
pub fn parse_flag(name: &'static str, s: &str) -> Result<bool, crate::Error> {
    match s.trim().to_ascii_lowercase().as_str() {
        "true" | "1" | "yes" => Ok(true),
        "false" | "0" | "no" | "" => Ok(false),
        _ => Err(crate::Error::invalid(
            "invalid_parameter",
            format!("{name} must be true or false, not {s:?}"),
        )),
    }
}

/// The upload options a query string may carry.
#[derive(Debug, Clone, Default)]
pub struct UploadOptions {
    pub min: Option<Confidence>,
    pub private: Option<bool>,
    pub asynchronous: Option<bool>,
    pub name: Option<String>,
    pub dedup: Option<bool>,
}

pub const UPLOAD_PARAMS: &[&str] = &["min_confidence", "private", "async", "name", "dedup"];

/// The query string of `POST /images`.
pub fn parse_upload_options(query: Option<&str>) -> Result<UploadOptions, ApiError> {
    let params = Params::parse(query, UPLOAD_PARAMS)?;
    Ok(UploadOptions {
        min: params.map("min_confidence", Confidence::parse)?,
        private: params.map("private", |s| parse_flag("private", s))?,
        asynchronous: params.map("async", |s| parse_flag("async", s))?,
        name: params.get("name").map(str::to_string),
        dedup: params.map("dedup", |s| parse_flag("dedup", s))?,
    })
}

/// The query string of `POST /images`: the confidence threshold.
pub fn parse_upload_query(query: Option<&str>) -> Result<Confidence, ApiError> {
    Ok(parse_upload_options(query)?
        .min
        .unwrap_or(Confidence::DEFAULT))
}

/// A person's tags as clients send them: `["leafy"]` or `[{"name": "leafy"}]`.
#[derive(Deserialize)]
#[serde(untagged)]
pub enum TagName {
    Plain(String),
    Named { name: String },
}

impl TagName {
    pub fn as_str(&self) -> &str {
        match self {
            TagName::Plain(s) | TagName::Named { name: s } => s,
        }
    }
}

/// The JSON upload body: `data` is a string of base64; the rest optional.
struct JsonUpload {
    data: String,
    name: Option<String>,
    private: Option<bool>,
    asynchronous: Option<bool>,
    dedup: Option<bool>,
    tags: Vec<String>,
}

fn json_upload(body: &[u8]) -> Result<JsonUpload, ApiError> {
    let value: Value = serde_json::from_slice(body).map_err(|e| {
        ApiError::invalid("invalid_json", format!("the body is not valid JSON: {e}"))
    })?;
    let Value::Object(mut fields) = value else {
        return Err(ApiError::invalid(
            "invalid_body",
            "the body must be a JSON object",
        ));
    };
    let data = match fields.remove("data") {
        None => {
            return Err(ApiError::invalid(
                "missing_data",
                "the body has no \"data\" field",
            ));
        }
        Some(Value::String(data)) => data,
        Some(_) => {
            return Err(ApiError::invalid(
                "invalid_body",
                "\"data\" must be a string of base64",
            ));
        }
    };
    let field =
        |fields: &mut Map<String, Value>, name: &str| fields.remove(name).filter(|v| !v.is_null());
    let bad = |what: &str| ApiError::invalid("invalid_body", what.to_string());
    let name = match field(&mut fields, "name") {
        None => None,
        Some(Value::String(s)) => Some(s),
        Some(_) => return Err(bad("\"name\" must be a string")),
    };
    let flag = |v: Option<Value>, what: &str| match v {
        None => Ok(None),
        Some(Value::Bool(b)) => Ok(Some(b)),
        Some(_) => Err(bad(&format!("\"{what}\" must be true or false"))),
    };
    let private = flag(field(&mut fields, "private"), "private")?;
    let asynchronous = flag(field(&mut fields, "async"), "async")?;
    let dedup = flag(field(&mut fields, "dedup"), "dedup")?;
    let tags = match field(&mut fields, "tags") {
        None => Vec::new(),
        Some(v) => serde_json::from_value::<Vec<TagName>>(v)
            .map_err(|_| bad("\"tags\" must be a list of names, or of {\"name\": ...}"))?
            .iter()
            .map(|t| t.as_str().to_string())
            .collect(),
    };
    Ok(JsonUpload {
        data,
        name,
        private,
        asynchronous,
        dedup,
        tags,
    })
}

/// The body of `POST /images`: JSON, then base64, then a sniffed and
/// size-checked image.
pub fn parse_upload_body(body: &[u8]) -> Result<ImageData, ApiError> {
    let upload = json_upload(body)?;
    Ok(ImageData::from_base64(&upload.data)?)
}

/// Registers on a task of its own, so a registration runs to completion
/// even if the client goes away (never cut between storing the file and
/// recording it).
pub async fn register_detached(
    app: &Arc<App>,
    caller: &Caller,
    upload: Upload,
) -> Result<Registered, ApiError> {
    let app = app.clone();
    let caller = caller.clone();
    tokio::spawn(async move { domain::register(&app, &caller, upload).await })
        .await
        .map_err(|e| ApiError::Internal(e.to_string()))?
        .map_err(ApiError::from)
}

fn location(id: i64) -> Result<HeaderValue, ApiError> {
    HeaderValue::from_str(&format!("/images/{id}")).map_err(|e| ApiError::Internal(e.to_string()))
}

/// The answer to one registered upload: the picture with its data and its
/// `Location`; `201` for a new one on the canonical route, `200` through the
/// seeds' routes (as their services answered) and for the caller's picture
/// of the same bytes.
pub async fn registered_response(
    app: &App,
    caller: &Caller,
    registered: &Registered,
    data: &[u8],
    canonical: bool,
) -> Result<Response, ApiError> {
    let status = if registered.new && canonical {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    let body = picture_body(app, caller, &registered.picture, Some(data)).await?;
    Ok((
        status,
        [(header::LOCATION, location(registered.picture.id)?)],
        Json(body),
    )
        .into_response())
}

/// `POST /images` (and the seeds' `/image`, `/images/tags`): one picture as
/// JSON `{"data": "<base64>"}`, or many as a multipart form.
pub async fn post_image(
    State(app): State<Arc<App>>,
    caller: Caller,
    matched: MatchedPath,
    RawQuery(query): RawQuery,
    request: Request,
) -> Result<Response, ApiError> {
    let options = parse_upload_options(query.as_deref())?;
    let canonical = matched.as_str() == "/images";
    if is_multipart(request.headers()) {
        let form = axum::extract::Multipart::from_request(request, &app)
            .await
            .map_err(|e| ApiError::invalid("invalid_body", e.body_text()))?;
        let answer = upload_form(&app, &caller, form, &options).await?;
        return Ok(Json(answer).into_response());
    }
    let (parts, body) = request.into_parts();
    if !is_json(&parts.headers) {
        return Err(ApiError::NotJson);
    }
    let bytes = read_body(&parts.headers, body, app.max_body_bytes).await?;
    let mut upload = json_upload(&bytes)?;
    drop(bytes);
    // The base64 text goes as soon as it is decoded; the bytes are shared
    // from then on (the response's `data` reads the same ones).
    let image = ImageData::from_base64(&std::mem::take(&mut upload.data))?;
    let data = image.clone();
    let upload = Upload {
        image,
        min: options.min.unwrap_or(Confidence::DEFAULT),
        private: options.private.or(upload.private).unwrap_or(false),
        name: parse_name(options.name.as_deref().or(upload.name.as_deref()))?,
        asynchronous: options
            .asynchronous
            .or(upload.asynchronous)
            .unwrap_or(false),
        external_id: None,
        user_tags: parse_user_tags(upload.tags.iter().map(String::as_str))?,
        // The assignment's contract: a new picture on every call, unless asked.
        dedup: options.dedup.or(upload.dedup).unwrap_or(false),
    };
    let registered = register_detached(&app, &caller, upload).await?;
    registered_response(&app, &caller, &registered, data.bytes(), canonical).await
}

/// A form's files, each registered on its own: `{"ids": {name: id},
/// "errors": {name: {error, message}}}`. Fields named like the query's
/// options (`private`, `async`, `min_confidence`, `dedup`) apply to the
/// files after them. Files de-duplicate unless `dedup=false`.
pub async fn upload_form(
    app: &Arc<App>,
    caller: &Caller,
    mut form: axum::extract::Multipart,
    options: &UploadOptions,
) -> Result<FormAnswer, ApiError> {
    let mut options = options.clone();
    let mut answer = FormAnswer::default();
    let mut files = 0;
    while let Some(part) = next_part(&mut form, app.settings.max_file_bytes).await? {
        let file = match part {
            FormPart::Field { name, value } => {
                match name.as_str() {
                    "private" => options.private = Some(parse_flag("private", &value)?),
                    "async" => options.asynchronous = Some(parse_flag("async", &value)?),
                    "min_confidence" => options.min = Some(Confidence::parse(&value)?),
                    "dedup" => options.dedup = Some(parse_flag("dedup", &value)?),
                    _ => {}
                }
                continue;
            }
            FormPart::File(file) => file,
        };
        files += 1;
        if files > MAX_FORM_FILES {
            // The rest of the form is not read: the answer names the first
            // file left out, and the connection closes behind it.
            answer.errors.push((
                file.name,
                ApiError::invalid(
                    "too_many_files",
                    format!("a form takes at most {MAX_FORM_FILES} files; this one and the rest were not read"),
                ),
            ));
            break;
        }
        let outcome = async {
            let image = ImageData::from_bytes(file.result?)?;
            let upload = Upload {
                image,
                min: options.min.unwrap_or(Confidence::DEFAULT),
                private: options.private.unwrap_or(false),
                name: parse_name(Some(&file.name))?,
                asynchronous: options.asynchronous.unwrap_or(false),
                external_id: None,
                user_tags: Vec::new(),
                // Forms de-duplicate, as seed 002's did.
                dedup: options.dedup.unwrap_or(true),
            };
            register_detached(app, caller, upload).await
        }
        .await;
        match outcome {
            Ok(registered) => answer.registered.push((file.name, registered)),
            // The service itself failing stops the form; a bad file does not.
            Err(e) if e.status().is_server_error() => return Err(e),
            Err(e) => answer.errors.push((file.name, e)),
        }
    }
    Ok(answer)
}

/// The most files one form registers (as many as one batch of upload URLs).
pub const MAX_FORM_FILES: usize = crate::domain::uploads::MAX_SLOTS as usize;

/// What a form upload did, file by file.
#[derive(Default)]
pub struct FormAnswer {
    pub registered: Vec<(String, Registered)>,
    pub errors: Vec<(String, ApiError)>,
}

pub fn error_json(e: &ApiError) -> Value {
    json!({"error": e.code(), "message": e.public_message()})
}

impl serde::Serialize for FormAnswer {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let ids: Map<String, Value> = self
            .registered
            .iter()
            .map(|(name, r)| (name.clone(), json!(r.picture.id)))
            .collect();
        let errors: Map<String, Value> = self
            .errors
            .iter()
            .map(|(name, e)| (name.clone(), error_json(e)))
            .collect();
        json!({"ids": ids, "errors": errors}).serialize(s)
    }
}

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

/// The same search, one page on: past `cursor`, the last id of this page.
fn next_page_url(search: &SearchQuery, cursor: i64) -> String {
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
    // The cursor moves the end the order starts from; the other bound stays.
    match search.order {
        Order::Oldest => {
            if let Some(before) = search.before {
                q.append_pair("before", &before.to_string());
            }
            q.append_pair("after", &cursor.to_string());
        }
        Order::Newest => {
            q.append_pair("order", "newest");
            if search.after > 0 {
                q.append_pair("after", &search.after.to_string());
            }
            q.append_pair("before", &cursor.to_string());
        }
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
    let page = domain::search(&app, &search).await?;
    let body = picture_list(&app, &caller, &page.pictures).await?;
    let mut response = Json(body).into_response();
    if let Some(cursor) = page.next_cursor {
        let link = format!("<{}>; rel=\"next\"", next_page_url(&search, cursor));
        if let Ok(value) = HeaderValue::from_str(&link) {
            response.headers_mut().insert(header::LINK, value);
        }
    }
    Ok(response)
}

/// `GET /images/{id}` (and `/image/{id}`): one picture with its data.
pub async fn get_image(
    State(app): State<Arc<App>>,
    caller: Caller,
    PathArg(id): PathArg,
    RawQuery(query): RawQuery,
) -> Result<Response, ApiError> {
    let params = Params::parse(query.as_deref(), &["data"])?;
    let with_data = params
        .map("data", |s| parse_flag("data", s))?
        .unwrap_or(true);
    let id = PictureId::parse(&id)?;
    if !with_data {
        // What a client polling a queued picture asks: no file read at all.
        let picture = ops::visible(&app, &caller, id).await?;
        return Ok(Json(picture_body(&app, &caller, &picture, None).await?).into_response());
    }
    let (picture, data) = domain::get_picture(&app, &caller, id).await?;
    // As the file route serves it: without its place unless the caller owns it.
    let data = files::bytes_for(&caller, &picture, data);
    Ok(Json(picture_body(&app, &caller, &picture, Some(&data)).await?).into_response())
}

/// `PATCH /images/{id}`: `{"private"?, "name"?, "add_tags"?, "remove_tags"?}`.
pub async fn patch_image(
    State(app): State<Arc<App>>,
    caller: Caller,
    PathArg(id): PathArg,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    Params::parse(query.as_deref(), &[])?;
    let id = PictureId::parse(&id)?;
    #[derive(Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Patch {
        private: Option<bool>,
        #[serde(default, with = "serde_with_null")]
        name: Option<Option<String>>,
        #[serde(default)]
        add_tags: Vec<TagName>,
        #[serde(default)]
        remove_tags: Vec<TagName>,
    }
    let patch: Patch = json_body(&headers, body, 65_536).await?;
    let change = PictureChange {
        private: patch.private,
        name: match patch.name {
            None => None,
            Some(name) => Some(parse_name(name.as_deref())?),
        },
        add_tags: parse_user_tags(patch.add_tags.iter().map(TagName::as_str))?,
        remove_tags: parse_user_tags(patch.remove_tags.iter().map(TagName::as_str))?,
    };
    let picture = ops::change(&app, &caller, id, &change).await?;
    Ok(Json(picture_body(&app, &caller, &picture, None).await?).into_response())
}

/// `"name": null` clears the name; no `name` leaves it.
mod serde_with_null {
    use serde::{Deserialize, Deserializer};

    pub fn deserialize<'de, D: Deserializer<'de>>(
        d: D,
    ) -> Result<Option<Option<String>>, D::Error> {
        Ok(Some(Option::<String>::deserialize(d)?))
    }
}

/// `DELETE /images/{id}` → 204.
pub async fn delete_image(
    State(app): State<Arc<App>>,
    caller: Caller,
    PathArg(id): PathArg,
    RawQuery(query): RawQuery,
) -> Result<Response, ApiError> {
    Params::parse(query.as_deref(), &[])?;
    let id = PictureId::parse(&id)?;
    ops::delete(&app, &caller, id).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// `DELETE /images` `{"ids": [...]}` → `{"deleted": [...], "not_found": [...]}`.
pub async fn delete_images(
    State(app): State<Arc<App>>,
    caller: Caller,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    Params::parse(query.as_deref(), &[])?;
    #[derive(Deserialize)]
    struct Ids {
        ids: Vec<i64>,
    }
    let Ids { ids } = json_body(&headers, body, 1 << 20).await?;
    let report = ops::delete_many(&app, &caller, &ids).await?;
    Ok(Json(json!({"deleted": report.deleted, "not_found": report.not_found})).into_response())
}

/// `POST /images/{id}/retag?min_confidence=`: the picture's tags replaced by
/// the tagger's answer now → 200 with the picture (without its data).
pub async fn retag_image(
    State(app): State<Arc<App>>,
    caller: Caller,
    PathArg(id): PathArg,
    RawQuery(query): RawQuery,
) -> Result<Response, ApiError> {
    let min = Params::parse(query.as_deref(), &["min_confidence"])?
        .map("min_confidence", Confidence::parse)?
        .unwrap_or(Confidence::DEFAULT);
    let id = PictureId::parse(&id)?;
    // Runs to completion even if the client goes away, like an upload.
    let task_app = app.clone();
    let task_caller = caller.clone();
    let picture =
        tokio::spawn(async move { domain::retag(&task_app, &task_caller, id, min).await })
            .await
            .map_err(|e| ApiError::Internal(e.to_string()))??;
    Ok(Json(picture_body(&app, &caller, &picture, None).await?).into_response())
}

/// The signature of a signed URL, when the query carries one; anything
/// else in the query is refused.
fn signed_query(
    query: Option<&str>,
    extra: &[&'static str],
) -> Result<(Option<Signed>, Params), ApiError> {
    let mut allowed = vec!["expires", "sig"];
    allowed.extend_from_slice(extra);
    let params = Params::parse(query, &allowed)?;
    let signed = match (params.get("expires"), params.get("sig")) {
        (Some(expires), Some(sig)) => Some(Signed {
            expires: expires.to_string(),
            sig: sig.to_string(),
        }),
        (None, None) => None,
        _ => {
            return Err(crate::Error::Forbidden {
                code: "bad_signature",
                message: "a signed URL carries both expires and sig".into(),
            }
            .into());
        }
    };
    Ok((signed, params))
}

/// A file, as the domain says to send it.
pub fn file_response(answer: FileAnswer) -> Response {
    let cache = |private: bool| {
        // A file never changes, but who may see it can: caches keep it and
        // ask again each time (a 304 by its ETag), so a picture made private
        // or deleted, or a link revoked, is closed at once, shared caches
        // included. A private picture's file is never for a shared cache.
        HeaderValue::from_static(if private {
            "private, no-cache"
        } else {
            "public, no-cache"
        })
    };
    let etag = |e: &str| HeaderValue::from_str(e).unwrap_or(HeaderValue::from_static("\"\""));
    match answer {
        FileAnswer::Bytes {
            bytes,
            mime,
            etag: tag,
            private,
        } => (
            StatusCode::OK,
            [
                (header::CONTENT_TYPE, HeaderValue::from_static(mime)),
                (header::ETAG, etag(&tag)),
                (header::CACHE_CONTROL, cache(private)),
            ],
            bytes,
        )
            .into_response(),
        FileAnswer::NotModified { etag: tag, private } => (
            StatusCode::NOT_MODIFIED,
            [
                (header::ETAG, etag(&tag)),
                (header::CACHE_CONTROL, cache(private)),
            ],
        )
            .into_response(),
        FileAnswer::Redirect {
            url,
            etag: tag,
            private: _,
        } => match HeaderValue::from_str(&url) {
            Ok(location) => (
                StatusCode::TEMPORARY_REDIRECT,
                [
                    (header::LOCATION, location),
                    (header::ETAG, etag(&tag)),
                    (header::CACHE_CONTROL, HeaderValue::from_static("no-store")),
                ],
            )
                .into_response(),
            Err(e) => ApiError::Internal(e.to_string()).into_response(),
        },
    }
}

/// Whether a signed URL stands in for credentials here; without one the
/// usual rules hold (`AUTH=required` needs credentials).
fn file_caller(app: &App, caller: AnyCaller, signed: &Option<Signed>) -> Result<Caller, ApiError> {
    match signed {
        Some(_) => Ok(caller.0),
        None => caller.required(app),
    }
}

fn if_none_match(headers: &HeaderMap) -> Option<&str> {
    headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
}

/// `GET /images/{id}/file`: the bytes (or, on S3, a redirect to them).
pub async fn get_file(
    State(app): State<Arc<App>>,
    caller: AnyCaller,
    PathArg(id): PathArg,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let (signed, _) = signed_query(query.as_deref(), &[])?;
    let caller = file_caller(&app, caller, &signed)?;
    let id = PictureId::parse(&id)?;
    let answer = files::file(&app, &caller, id, signed.as_ref(), if_none_match(&headers)).await?;
    Ok(file_response(answer))
}

/// `GET /images/{id}/thumbnail?size=256`.
pub async fn get_thumbnail(
    State(app): State<Arc<App>>,
    caller: AnyCaller,
    PathArg(id): PathArg,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let (signed, params) = signed_query(query.as_deref(), &["size"])?;
    let caller = file_caller(&app, caller, &signed)?;
    let size = params
        .map("size", files::parse_thumbnail_size)?
        .unwrap_or(256);
    let id = PictureId::parse(&id)?;
    let answer = files::thumbnail(
        &app,
        &caller,
        id,
        size,
        signed.as_ref(),
        if_none_match(&headers),
    )
    .await?;
    Ok(file_response(answer))
}

/// The routes of pictures and their files.
pub(super) const ROUTES: &[Route] = &[
    Route::new("POST", "/images", "post-image", || post(post_image)),
    Route::new("GET", "/images", "get-images", || get(get_images)),
    Route::new("GET", "/images/{id}", "get-image", || get(get_image)),
    Route::new("PATCH", "/images/{id}", "manage-images", || {
        patch(patch_image)
    }),
    Route::new("DELETE", "/images/{id}", "manage-images", || {
        delete(delete_image)
    }),
    Route::new("DELETE", "/images", "manage-images", || {
        delete(delete_images)
    }),
    Route::new("POST", "/images/{id}/retag", "post-image", || {
        post(retag_image)
    }),
    Route::new("GET", "/images/{id}/file", "get-image", || get(get_file)),
    Route::new("GET", "/images/{id}/thumbnail", "get-image", || {
        get(get_thumbnail)
    }),
];

//! `POST /images`: one picture as JSON `{"data": "<base64>"}`, or many as
//! a multipart form, and the options both take.

use axum::Json;
use axum::extract::{FromRequest, MatchedPath, RawQuery, Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::{Map, Value, json};
use std::sync::Arc;

use super::ApiError;
use super::body::{FormPart, is_json, is_multipart, next_part, read_body};
use super::params::Params;
use super::render::picture_body;
use crate::App;
use crate::domain::pictures::{Registered, Upload, parse_name, parse_user_tags};
use crate::domain::{self, Caller, Confidence, ImageData};

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

impl UploadOptions {
    /// The upload of `image` these options ask for; `dedup` is the route's
    /// default when they do not say.
    pub fn upload(&self, image: ImageData, name: Option<String>, dedup: bool) -> Upload {
        Upload {
            private: self.private.unwrap_or(false),
            name,
            asynchronous: self.asynchronous.unwrap_or(false),
            dedup: self.dedup.unwrap_or(dedup),
            ..Upload::new(image, self.min.unwrap_or(Confidence::DEFAULT))
        }
    }
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
    tokio::spawn(async move { domain::register(&app.ports(), &caller, upload).await })
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
    // The body's options, where the query string does not say.
    let name = parse_name(options.name.as_deref().or(upload.name.as_deref()))?;
    let options = UploadOptions {
        private: options.private.or(upload.private),
        asynchronous: options.asynchronous.or(upload.asynchronous),
        dedup: options.dedup.or(upload.dedup),
        ..options
    };
    let upload = Upload {
        user_tags: parse_user_tags(upload.tags.iter().map(String::as_str))?,
        // The assignment's contract: a new picture on every call, unless asked.
        ..options.upload(image, name, false)
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
            // Forms de-duplicate, as seed 002's did.
            let upload = options.upload(image, parse_name(Some(&file.name))?, true);
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

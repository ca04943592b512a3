//! Seed 003, colour micro-services, with form fields as Python `requests`
//! sends them (`files=`, `data=`): prominent colours, hex codes, and the
//! palette pie chart. Bad input is a 400 JSON error.

use axum::Json;
use axum::extract::{Request, State};
use axum::response::{IntoResponse, Response};
use serde_json::{Map, Value, json};
use std::sync::Arc;

use crate::App;
use crate::domain::analysis;
use crate::domain::{Caller, Error};
use crate::http::ApiError;
use crate::http::analysis::{image_of_request, parse_k, png_response};
use crate::http::body::{is_form, is_multipart, read_body};
use crate::http::params::Params;

/// `POST /prominent-colors`, multipart `image` and optional `k` (default 6)
/// → `[colors, freqs]`: colours as `[r, g, b]`, `freqs` from label
/// (`"0"`..) to pixel count, label `i` being `colors[i]`.
pub async fn prominent_colors(
    State(app): State<Arc<App>>,
    _caller: Caller,
    request: Request,
) -> Result<Response, ApiError> {
    if !is_multipart(request.headers()) {
        return Err(ApiError::invalid(
            "invalid_body",
            "send the image as the multipart field `image` (files={'image': ...})",
        ));
    }
    let (image, k) = image_of_request(&app, request).await?;
    let k = parse_k(&Params::parse(
        k.map(|k| format!("k={k}")).as_deref(),
        &["k"],
    )?)?;
    let colors = analysis::image_colors(&app.decodes, image, k).await?;
    let rgbs: Vec<[u8; 3]> = colors.iter().map(|c| c.rgb).collect();
    let freqs: Map<String, Value> = colors
        .iter()
        .enumerate()
        .map(|(i, c)| (i.to_string(), json!(c.count)))
        .collect();
    Ok(Json(json!([rgbs, freqs])).into_response())
}

/// The fields of a form as `requests` sends `data=` (urlencoded), or of a
/// multipart form.
async fn form_fields(app: &Arc<App>, request: Request) -> Result<Vec<(String, String)>, ApiError> {
    if is_multipart(request.headers()) {
        use axum::extract::FromRequest;
        let mut form = axum::extract::Multipart::from_request(request, app)
            .await
            .map_err(|e| ApiError::invalid("invalid_body", e.body_text()))?;
        let mut fields = Vec::new();
        while let Some(part) = crate::http::body::next_part(&mut form, 1 << 20).await? {
            if let crate::http::body::FormPart::Field { name, value } = part {
                fields.push((name, value));
            }
        }
        return Ok(fields);
    }
    if !is_form(request.headers()) {
        return Err(ApiError::invalid(
            "invalid_body",
            "send the fields as a form (data={...})",
        ));
    }
    let (parts, body) = request.into_parts();
    let bytes = read_body(&parts.headers, body, 1 << 20).await?;
    Ok(form_urlencoded::parse(&bytes).into_owned().collect())
}

fn field<'a>(fields: &'a [(String, String)], name: &str) -> Result<&'a str, ApiError> {
    fields
        .iter()
        .find(|(n, _)| n == name)
        .map(|(_, v)| v.as_str())
        .ok_or_else(|| {
            ApiError::invalid("missing_field", format!("the form has no field {name:?}"))
        })
}

fn json_field<T: serde::de::DeserializeOwned>(
    fields: &[(String, String)],
    name: &str,
    what: &str,
) -> Result<T, ApiError> {
    serde_json::from_str(field(fields, name)?).map_err(|_| {
        ApiError::invalid(
            "invalid_field",
            format!("the field {name:?} must be {what}"),
        )
    })
}

/// `POST /rgb2hex`, form field `rgbs` (a JSON list of `[r, g, b]`) → `["#rrggbb", ...]`.
pub async fn rgb2hex(
    State(app): State<Arc<App>>,
    _caller: Caller,
    request: Request,
) -> Result<Response, ApiError> {
    let fields = form_fields(&app, request).await?;
    let rgbs: Vec<[u8; 3]> =
        json_field(&fields, "rgbs", "a JSON list of [r, g, b] lists of 0..255")?;
    let hex: Vec<String> = rgbs
        .iter()
        .map(|[r, g, b]| format!("#{r:02x}{g:02x}{b:02x}"))
        .collect();
    Ok(Json(hex).into_response())
}

/// `POST /centroids`, form fields `colors` (JSON hex codes) and `counts`
/// (JSON numbers) → the palette pie chart, as `palette.png` draws it.
pub async fn centroids(
    State(app): State<Arc<App>>,
    _caller: Caller,
    request: Request,
) -> Result<Response, ApiError> {
    let fields = form_fields(&app, request).await?;
    let colors: Vec<String> = json_field(&fields, "colors", "a JSON list of \"#rrggbb\" codes")?;
    let counts: Vec<f64> = json_field(&fields, "counts", "a JSON list of numbers")?;
    if colors.len() != counts.len() || colors.is_empty() || colors.len() > 64 {
        return Err(Error::invalid(
            "invalid_field",
            "colors and counts must be lists of the same length, 1 to 64 items",
        )
        .into());
    }
    let mut weights = Vec::with_capacity(colors.len());
    for (hex, count) in colors.iter().zip(&counts) {
        let rgb = crate::http::search::parse_color(hex)?;
        if !count.is_finite() || *count < 0.0 {
            return Err(
                Error::invalid("invalid_field", "counts must be numbers of 0 or more").into(),
            );
        }
        weights.push((rgb, *count));
    }
    Ok(png_response(analysis::palette(weights).await?))
}

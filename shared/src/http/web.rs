//! The web gallery: static HTML, CSS and ES modules from `web/`, compiled
//! into the binary (no build step, no external assets), served with a
//! Content-Security-Policy that allows nothing from elsewhere but the
//! pictures' own presigned URLs.

use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

use super::ApiError;
use super::params::PathArg;
use super::route::Route;
use axum::routing::get;

/// Only the page's own files: not its browser test, nor that test's node_modules.
#[derive(rust_embed::Embed)]
#[folder = "../web/"]
#[include = "*.html"]
#[include = "*.css"]
#[include = "*.js"]
#[include = "*.svg"]
#[include = "*.png"]
#[include = "*.ico"]
#[exclude = "node_modules/*"]
#[exclude = "tests/*"]
struct Assets;

/// Scripts, styles, fonts and frames only from here; images also from the
/// store's presigned URLs (https) and the page's own blobs (previews of
/// files about to be uploaded).
pub const CSP: &str = "default-src 'self'; script-src 'self'; style-src 'self'; \
    img-src 'self' blob: data: https:; connect-src 'self'; font-src 'self'; \
    object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

fn mime(name: &str) -> &'static str {
    match name.rsplit('.').next().unwrap_or("") {
        "html" => "text/html; charset=utf-8",
        "css" => "text/css; charset=utf-8",
        "js" | "mjs" => "text/javascript; charset=utf-8",
        "svg" => "image/svg+xml",
        "png" => "image/png",
        "ico" => "image/x-icon",
        "json" | "webmanifest" => "application/json",
        _ => "application/octet-stream",
    }
}

/// The name under which the gallery finds its tags' specificity.
const TAG_BREADTH: &str = "tag-breadth.json";

/// `{"classes": 1000, "breadth": {"cat": 7, "animal": 398, ...}}`: how many
/// of the on-device model's classes each tag of its vocabulary stands for,
/// made from the vocabulary compiled in, so it can never disagree with the
/// tags the model gives. The gallery shows a picture's most specific tags
/// first with it.
fn tag_breadth() -> &'static (Vec<u8>, [u8; 32]) {
    static BODY: std::sync::OnceLock<(Vec<u8>, [u8; 32])> = std::sync::OnceLock::new();
    BODY.get_or_init(|| {
        let vocabulary = crate::tagger::local::Vocabulary::builtin();
        let breadth: serde_json::Map<String, serde_json::Value> = vocabulary
            .breadths()
            .map(|(tag, n)| (tag.to_string(), n.into()))
            .collect();
        let body = serde_json::to_vec(&serde_json::json!({
            "classes": vocabulary.classes(),
            "breadth": breadth,
        }))
        .unwrap_or_default();
        let hash = <sha2::Sha256 as sha2::Digest>::digest(&body).into();
        (body, hash)
    })
}

fn serve(name: &str, headers: &HeaderMap) -> Response {
    let (data, hash) = if name == TAG_BREADTH {
        let (body, hash) = tag_breadth();
        (body.clone(), *hash)
    } else {
        let Some(file) = Assets::get(name) else {
            return ApiError::RouteNotFound.into_response();
        };
        (file.data.into_owned(), file.metadata.sha256_hash())
    };
    let etag = format!("\"{}\"", hex::encode(&hash[..16]));
    let etag = HeaderValue::from_str(&etag).unwrap_or(HeaderValue::from_static("\"\""));
    let common = [
        (
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(CSP),
        ),
        (
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        ),
        (
            header::REFERRER_POLICY,
            HeaderValue::from_static("no-referrer"),
        ),
        // Assets change with the binary: revalidate, cheaply, by entity tag.
        (header::CACHE_CONTROL, HeaderValue::from_static("no-cache")),
        (header::ETAG, etag.clone()),
    ];
    let fresh = headers
        .get(header::IF_NONE_MATCH)
        .is_some_and(|v| v.as_bytes() == etag.as_bytes());
    if fresh {
        return (StatusCode::NOT_MODIFIED, common).into_response();
    }
    (
        common,
        [(header::CONTENT_TYPE, HeaderValue::from_static(mime(name)))],
        data,
    )
        .into_response()
}

/// `GET /`: the gallery.
pub async fn index(headers: HeaderMap) -> Response {
    serve("index.html", &headers)
}

/// `GET /assets/{file}`: its scripts, styles and icons.
pub async fn asset(PathArg(file): PathArg, headers: HeaderMap) -> Response {
    if file.contains('/') || file.starts_with('.') || file == "index.html" {
        return ApiError::RouteNotFound.into_response();
    }
    serve(&file, &headers)
}

/// The routes of the gallery.
pub(super) const ROUTES: &[Route] = &[
    Route::new("GET", "/", "web", || get(index)),
    Route::new("GET", "/assets/{file}", "web", || get(asset)),
];

//! The routes table: the one place that says which function serves which
//! method and path. `template.yaml` and the cargo-lambda router in
//! `Cargo.toml` are checked against it by tests/routes.rs.

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::routing::{MethodRouter, delete, get, patch, post, put};
use http::uri::PathAndQuery;
use lambda_http::RequestExt;
use std::sync::Arc;
use tower::ServiceExt;
use tower::util::MapRequest;

use super::ApiError;
use crate::App;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Route {
    pub method: &'static str,
    pub path: &'static str,
    pub function: &'static str,
}

const fn route(method: &'static str, path: &'static str, function: &'static str) -> Route {
    Route {
        method,
        path,
        function,
    }
}

/// Canonical routes first, then the seeds' (Part 3 of the contract): the
/// aliases of seeds 000 and 001, and the doors of seeds 002, 003 and 004.
/// Routes join the function of the resource they belong to.
pub const ROUTES: &[Route] = &[
    // Pictures.
    route("POST", "/images", "post-image"),
    route("GET", "/images", "get-images"),
    route("GET", "/images/{id}", "get-image"),
    route("PATCH", "/images/{id}", "manage-images"),
    route("DELETE", "/images/{id}", "manage-images"),
    route("DELETE", "/images", "manage-images"),
    route("POST", "/images/{id}/retag", "post-image"),
    route("GET", "/images/{id}/file", "get-image"),
    route("GET", "/images/{id}/thumbnail", "get-image"),
    // Statistics and analysis.
    route("GET", "/tags", "get-tags"),
    route("GET", "/stats", "get-tags"),
    route("GET", "/images/{id}/colors", "get-image"),
    route("GET", "/images/{id}/palette.png", "get-image"),
    route("GET", "/images/{id}/similar", "get-images"),
    route("POST", "/colors", "colors"),
    // Users and keys.
    route("POST", "/users", "accounts"),
    route("GET", "/users/me", "accounts"),
    route("DELETE", "/users/me", "accounts"),
    route("POST", "/users/me/keys", "accounts"),
    route("GET", "/users/me/keys", "accounts"),
    route("DELETE", "/users/me/keys/{id}", "accounts"),
    // Uploads at scale.
    route("POST", "/upload-links", "uploads"),
    route("POST", "/uploads/{upload_id}", "post-image"),
    route("POST", "/upload-urls", "uploads"),
    route("PUT", "/uploads/put/{image_id}", "uploads"),
    route("POST", "/images/batch", "post-image"),
    // Seeds 000 and 001: aliases.
    route("POST", "/image", "post-image"),
    route("POST", "/images/tags", "post-image"),
    route("GET", "/image/{id}", "get-image"),
    route("GET", "/images/tags", "get-tags"),
    // Seed 002.
    route("POST", "/api/generate-upload-link", "uploads"),
    route("POST", "/api/upload-images/{upload_id}", "post-image"),
    route("GET", "/api/images/{image_id}", "get-image"),
    route("GET", "/api/stats", "get-tags"),
    // Seed 003.
    route("POST", "/prominent-colors", "colors"),
    route("POST", "/rgb2hex", "colors"),
    route("POST", "/centroids", "colors"),
    // Seed 004.
    route("POST", "/api/v1/users", "accounts"),
    route("DELETE", "/api/v1/users", "accounts"),
    route("GET", "/images/upload_urls", "uploads"),
    route("GET", "/api/v1/images/upload_urls", "uploads"),
    route("POST", "/api/v1/images", "post-image"),
    route("GET", "/api/v1/images/private/summary", "get-images"),
    route("DELETE", "/api/v1/images", "manage-images"),
    // The web gallery.
    route("GET", "/", "web"),
    route("GET", "/assets/{file}", "web"),
];

/// Every function binary that serves HTTP routes, by name.
pub const FUNCTIONS: &[&str] = &[
    "post-image",
    "get-images",
    "get-image",
    "get-tags",
    "manage-images",
    "accounts",
    "uploads",
    "colors",
    "web",
];

fn handler(route: &Route) -> MethodRouter<Arc<App>> {
    use super::{analysis as a, pictures as p, seeds, uploads as u, users, web};
    match (route.method, route.path) {
        ("POST", "/images" | "/image" | "/images/tags") => post(p::post_image),
        ("GET", "/images") => get(p::get_images),
        ("GET", "/images/{id}" | "/image/{id}") => get(p::get_image),
        ("PATCH", "/images/{id}") => patch(p::patch_image),
        ("DELETE", "/images/{id}") => delete(p::delete_image),
        ("DELETE", "/images") => delete(p::delete_images),
        ("POST", "/images/{id}/retag") => post(p::retag_image),
        ("GET", "/images/{id}/file") => get(p::get_file),
        ("GET", "/images/{id}/thumbnail") => get(p::get_thumbnail),
        ("GET", "/tags" | "/images/tags") => get(a::get_tags),
        ("GET", "/stats") => get(a::get_stats),
        ("GET", "/images/{id}/colors") => get(a::get_colors),
        ("GET", "/images/{id}/palette.png") => get(a::get_palette),
        ("GET", "/images/{id}/similar") => get(a::get_similar),
        ("POST", "/colors") => post(a::post_colors),
        ("POST", "/users") => post(users::create_user),
        ("GET", "/users/me") => get(users::me),
        ("DELETE", "/users/me") => delete(users::delete_me),
        ("POST", "/users/me/keys") => post(users::create_key),
        ("GET", "/users/me/keys") => get(users::keys),
        ("DELETE", "/users/me/keys/{id}") => delete(users::delete_key),
        ("POST", "/upload-links") => post(u::create_link),
        ("POST", "/uploads/{upload_id}") => post(u::upload_through_link),
        ("POST", "/upload-urls") => post(u::create_upload_urls),
        ("GET", "/images/upload_urls") => get(u::get_upload_urls),
        ("PUT", "/uploads/put/{image_id}") => put(u::put_slot),
        ("POST", "/images/batch") => post(u::register_batch),
        ("POST", "/api/generate-upload-link") => post(seeds::s002::generate_upload_link),
        ("POST", "/api/upload-images/{upload_id}") => post(seeds::s002::upload_images),
        ("GET", "/api/images/{image_id}") => get(seeds::s002::image),
        ("GET", "/api/stats") => get(seeds::s002::stats),
        ("POST", "/prominent-colors") => post(seeds::s003::prominent_colors),
        ("POST", "/rgb2hex") => post(seeds::s003::rgb2hex),
        ("POST", "/centroids") => post(seeds::s003::centroids),
        ("POST", "/api/v1/users") => post(seeds::s004::create_user),
        ("DELETE", "/api/v1/users") => delete(seeds::s004::delete_user),
        ("GET", "/api/v1/images/upload_urls") => get(seeds::s004::upload_urls),
        ("POST", "/api/v1/images") => post(seeds::s004::register),
        ("GET", "/api/v1/images/private/summary") => get(seeds::s004::private_summary),
        ("DELETE", "/api/v1/images") => delete(seeds::s004::delete_images),
        ("GET", "/") => get(web::index),
        ("GET", "/assets/{file}") => get(web::asset),
        (method, path) => unreachable!("no handler for {method} {path}"),
    }
}

/// The router of one function (`Some("get-image")`), or of all of them
/// (`None`, the local API). Anything else is a JSON 404 or 405.
pub fn router(app: Arc<App>, function: Option<&str>) -> Router {
    let mut paths: Vec<(&str, MethodRouter<Arc<App>>)> = Vec::new();
    for r in ROUTES
        .iter()
        .filter(|r| function.is_none_or(|f| f == r.function))
    {
        match paths.iter_mut().find(|(p, _)| *p == r.path) {
            Some((_, methods)) => *methods = std::mem::take(methods).merge(handler(r)),
            None => paths.push((r.path, handler(r))),
        }
    }
    let mut router = Router::new();
    for (path, methods) in paths {
        router = router.route(path, methods);
    }
    router
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        // Bodies are read by the handlers within their own limits.
        .layer(DefaultBodyLimit::disable())
        .with_state(app)
}

/// Seed 004's surface promises `detail` on every error, the router's too.
fn refusal(error: ApiError, uri: &http::Uri) -> axum::response::Response {
    if uri.path().starts_with("/api/v1/") {
        error.into_response_with_detail()
    } else {
        axum::response::IntoResponse::into_response(error)
    }
}

async fn not_found(uri: http::Uri) -> axum::response::Response {
    refusal(ApiError::RouteNotFound, &uri)
}

async fn method_not_allowed(uri: http::Uri) -> axum::response::Response {
    refusal(ApiError::MethodNotAllowed, &uri)
}

/// One function's router as Lambda runs it: requests from API Gateway events,
/// routed on the path the client asked for.
pub fn lambda_service(
    app: Arc<App>,
    function: &str,
) -> MapRequest<Router, fn(lambda_http::Request) -> lambda_http::Request> {
    router(app, Some(function)).map_request(without_stage as fn(_) -> _)
}

/// Behind a REST API (v1) stage, lambda_http prefixes the path with the stage
/// (`/prod/images/1`) unless AWS_LAMBDA_HTTP_IGNORE_STAGE_IN_PATH is set; the
/// event's own path (`/images/1`) is what the routes describe.
fn without_stage(mut request: lambda_http::Request) -> lambda_http::Request {
    let raw = request.raw_http_path();
    if raw.is_empty() || raw == request.uri().path() {
        return request;
    }
    let path_and_query = match request.uri().query() {
        Some(query) => format!("{raw}?{query}"),
        None => raw.to_owned(),
    };
    if let Ok(path_and_query) = path_and_query.parse::<PathAndQuery>() {
        let mut parts = request.uri().clone().into_parts();
        parts.path_and_query = Some(path_and_query);
        if let Ok(uri) = http::Uri::from_parts(parts) {
            *request.uri_mut() = uri;
        }
    }
    request
}

//! The routes table: the one place that says which function serves which
//! method and path. `template.yaml` and the cargo-lambda router in
//! `Cargo.toml` are checked against it by tests/routes.rs.

use axum::Router;
use axum::routing::{MethodRouter, get, post};
use http::uri::PathAndQuery;
use lambda_http::RequestExt;
use std::sync::Arc;
use tower::ServiceExt;
use tower::util::MapRequest;

use super::handlers;
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

/// Canonical routes first; the aliases exist because the seed implementations
/// and their clients use them (`/images/tags` is the assignment notebook's).
pub const ROUTES: &[Route] = &[
    route("POST", "/images", "post-image"),
    route("GET", "/images", "get-images"),
    route("GET", "/images/{id}", "get-image"),
    route("GET", "/tags", "get-tags"),
    route("POST", "/images/{id}/retag", "post-image"),
    route("POST", "/image", "post-image"),
    route("POST", "/images/tags", "post-image"),
    route("GET", "/image/{id}", "get-image"),
    route("GET", "/images/tags", "get-tags"),
];

/// Uploads through the seeds' routes answer `200`, as the seed services did
/// (Flask's default) and as their clients check; `POST /images` answers `201`.
pub fn upload_status(matched_path: &str) -> http::StatusCode {
    match matched_path {
        "/images" => http::StatusCode::CREATED,
        _ => http::StatusCode::OK,
    }
}

/// Every function binary, by name.
pub const FUNCTIONS: &[&str] = &["post-image", "get-images", "get-image", "get-tags"];

fn handler(route: &Route) -> MethodRouter<Arc<App>> {
    match (route.function, route.path) {
        ("post-image", "/images/{id}/retag") => post(handlers::retag_image),
        ("post-image", _) => post(handlers::post_image),
        ("get-images", _) => get(handlers::get_images),
        ("get-image", _) => get(handlers::get_image),
        ("get-tags", _) => get(handlers::get_tags),
        (other, _) => unreachable!("no handler for function {other}"),
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
        .fallback(handlers::not_found)
        .method_not_allowed_fallback(handlers::method_not_allowed)
        .with_state(app)
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

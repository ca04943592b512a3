//! The routes table, gathered from the resource modules that declare their
//! routes beside their handlers, and the routers built from it: the local
//! API's (every route) and each Lambda function's (its own).

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::routing::MethodRouter;
use http::uri::PathAndQuery;
use lambda_http::RequestExt;
use std::sync::{Arc, LazyLock};
use tower::ServiceExt;
use tower::util::MapRequest;

use super::ApiError;
use super::route::Route;
use crate::App;

/// Every route, canonical first, then the seeds' (Part 3 of the contract).
/// `template.yaml`, the cargo-lambda router in `Cargo.toml` and
/// `openapi.yaml` are checked against it (tests/it/routes.rs, tests/it/openapi/).
pub static ROUTES: LazyLock<Vec<Route>> = LazyLock::new(|| {
    use super::{analysis, pictures, seeds, uploads, users, web};
    [
        pictures::ROUTES,
        analysis::ROUTES,
        users::ROUTES,
        uploads::ROUTES,
        seeds::ROUTES,
        web::ROUTES,
    ]
    .concat()
});

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

/// The router of one function (`Some("get-image")`), or of all of them
/// (`None`, the local API). Anything else is a JSON 404 or 405.
pub fn router(app: Arc<App>, function: Option<&str>) -> Router {
    let mut paths: Vec<(&str, MethodRouter<Arc<App>>)> = Vec::new();
    for r in ROUTES
        .iter()
        .filter(|r| function.is_none_or(|f| f == r.function))
    {
        match paths.iter_mut().find(|(p, _)| *p == r.path) {
            Some((_, methods)) => *methods = std::mem::take(methods).merge(r.handler()),
            None => paths.push((r.path, r.handler())),
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

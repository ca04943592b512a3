//! The HTTP edge: one routes table, thin handlers (one file per resource),
//! one error type, and who is calling resolved once per request.

mod analysis;
mod body;
mod caller;
mod docs;
mod error;
mod params;
mod pictures;
mod render;
mod route;
mod routes;
mod search;
mod seeds;
mod upload;
mod uploads;
mod users;
mod web;

pub use body::close_if_unread;
pub use caller::AnyCaller;
pub use docs::{OPENAPI_YAML, docs_router, openapi_json};
pub use error::ApiError;
pub use route::Route;
pub use routes::{FUNCTIONS, ROUTES, lambda_service, router};
pub use search::{parse_search_query, parse_stats_query};
pub use upload::{parse_upload_body, parse_upload_query};

//! The HTTP edge: one routes table, thin handlers, one error type.

mod docs;
mod error;
mod handlers;
mod params;
mod routes;

pub use docs::{OPENAPI_YAML, docs_router, openapi_json};
pub use error::ApiError;
pub use handlers::{parse_search_query, parse_stats_query, parse_upload_body, parse_upload_query};
pub use routes::{FUNCTIONS, ROUTES, Route, lambda_service, router};

//! The HTTP edge: one routes table, thin handlers, one error type.

mod docs;
mod error;
mod handlers;
mod params;
mod routes;

pub use docs::{OPENAPI_YAML, docs_router, openapi_json};
pub use error::ApiError;
pub use routes::{FUNCTIONS, ROUTES, Route, lambda_service, router};

//! The HTTP edge: one routes table, thin handlers, one error type.

mod error;
mod handlers;
mod params;
mod routes;

pub use error::ApiError;
pub use routes::{FUNCTIONS, ROUTES, Route, router};

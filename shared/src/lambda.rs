//! The `main` of every function binary.

use crate::App;
use crate::http::{FUNCTIONS, lambda_service};

pub type Error = lambda_http::Error;

/// Builds the app once (cold start) and serves `function`'s routes on the
/// Lambda runtime API until the process is stopped.
pub async fn run(function: &'static str) -> Result<(), Error> {
    assert!(FUNCTIONS.contains(&function), "unknown function {function}");
    crate::telemetry::init(true);
    let app = App::from_env(function == "post-image").await?;
    // Connect and migrate while the runtime fetches the first event; a
    // database that is down then delays nothing but the queries that need it.
    let warming = app.clone();
    tokio::spawn(async move { warming.warm_up().await });
    lambda_http::run(lambda_service(app, function)).await
}

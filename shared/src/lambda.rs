//! The `main` of every function binary.

use aws_lambda_events::event::sqs::{SqsBatchResponse, SqsEvent};
use lambda_http::{LambdaEvent, service_fn};
use serde_json::Value;
use std::sync::Arc;

use crate::App;
use crate::auth::unix_now;
use crate::domain::queue::{JobOutcome, drain, run_job};
use crate::http::{FUNCTIONS, lambda_service};
use crate::queue::TagMessage;

pub type Error = lambda_http::Error;

/// Builds the app once (cold start) and serves `function`'s routes on the
/// Lambda runtime API until the process is stopped.
pub async fn run(function: &'static str) -> Result<(), Error> {
    assert!(FUNCTIONS.contains(&function), "unknown function {function}");
    crate::telemetry::init(true);
    // Only the functions that register pictures tag them.
    let app = App::from_env(function == "post-image").await?;
    // Connect and migrate while the runtime fetches the first event; a
    // database that is down then delays nothing but the queries that need it.
    let warming = app.clone();
    tokio::spawn(async move { warming.warm_up().await });
    lambda_http::run(lambda_service(app, function)).await
}

/// The `tag-image` function: the tagging queue's worker on AWS. An SQS
/// batch names pictures whose jobs wait in the queue table; each is claimed,
/// tagged and recorded, and the messages of jobs that must be tried again
/// are reported as failures so SQS delivers them again (after the dead-letter
/// queue's count, they rest there). A scheduled event (no `Records`) drains
/// due jobs whose announcement was lost.
pub async fn run_tag_image() -> Result<(), Error> {
    crate::telemetry::init(true);
    let app = App::from_env(true).await?;
    let warming = app.clone();
    tokio::spawn(async move { warming.warm_up().await });
    lambda_http::lambda_runtime::run(service_fn(|event: LambdaEvent<Value>| {
        let app = app.clone();
        async move { tag_image(&app, event.payload).await }
    }))
    .await
}

/// One invocation of `tag-image`.
pub async fn tag_image(app: &Arc<App>, event: Value) -> Result<Value, Error> {
    if event.get("Records").is_none() {
        let done = drain(&app.ports(), 10).await?;
        let swept = crate::domain::uploads::sweep_expired(&*app.db, &*app.store).await?;
        return Ok(serde_json::json!({"drained": done, "expired_upload_slots": swept}));
    }
    let event: SqsEvent = serde_json::from_value(event)?;
    let mut response = SqsBatchResponse::default();
    for record in event.records {
        let id = record.message_id.clone().unwrap_or_default();
        let message: Option<TagMessage> = record
            .body
            .as_deref()
            .and_then(|b| serde_json::from_str(b).ok());
        let Some(message) = message else {
            // Not ours to understand: retrying would not help.
            tracing::warn!(message_id = %id, "a tagging message without a picture id; dropped");
            continue;
        };
        let retry = match app
            .db
            .claim_job(message.picture_id, unix_now(), app.settings.tag_lease_secs)
            .await
        {
            // Done already, or another worker holds it: nothing to do.
            Ok(None) => false,
            Ok(Some(job)) => match run_job(&app.ports(), &job, false).await {
                Ok(JobOutcome::Retry(why)) => {
                    tracing::warn!(picture = job.picture_id, %why, "tagging will be tried again");
                    true
                }
                Ok(_) => false,
                Err(e) => {
                    tracing::warn!(picture = job.picture_id, error = %e, "a tagging job could not be recorded");
                    true
                }
            },
            Err(e) => {
                tracing::warn!(error = %e, "the tagging queue table cannot be read");
                true
            }
        };
        if retry {
            response.add_failure(id);
        }
    }
    Ok(serde_json::to_value(response)?)
}

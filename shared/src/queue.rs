//! The adapters of the tagging queue's port: the local API's (it wakes the
//! process's own worker) and, on AWS, an SQS queue (`TAG_QUEUE_URL`) that
//! feeds the `tag-image` function. Each message names one picture whose job waits in
//! the queue table; the table stays the record, so a message lost or sent
//! twice changes nothing but when the job runs.

use async_trait::async_trait;
use aws_sdk_sqs::Client;
use std::time::Duration;

use crate::domain::ports::TagQueue;
use crate::store::S3Settings;

/// The queue of the local API: wakes its worker.
#[derive(Default)]
pub struct LocalQueue {
    pub wake: tokio::sync::Notify,
}

#[async_trait]
impl TagQueue for LocalQueue {
    async fn enqueue(&self, _: i64) {
        self.wake.notify_one();
    }
}

pub struct SqsQueue {
    client: Client,
    url: String,
}

/// What a message carries.
#[derive(serde::Serialize, serde::Deserialize, Debug, PartialEq, Eq)]
pub struct TagMessage {
    pub picture_id: i64,
}

impl SqsQueue {
    /// `aws` holds the SDK's settings read from the environment (region,
    /// credentials); `endpoint` points it at an SQS-compatible server.
    pub async fn open(url: &str, aws: &S3Settings, endpoint: Option<&str>) -> Self {
        let mut loader = aws_config::defaults(aws_config::BehaviorVersion::latest())
            .timeout_config(
                aws_config::timeout::TimeoutConfig::builder()
                    .connect_timeout(Duration::from_secs(3))
                    .operation_timeout(Duration::from_secs(10))
                    .build(),
            );
        if let Some(endpoint) = endpoint {
            loader = loader.endpoint_url(endpoint);
        }
        if let Some(region) = &aws.region {
            loader = loader.region(aws_config::Region::new(region.clone()));
        }
        if let Some((id, secret, token)) = &aws.credentials {
            loader = loader.credentials_provider(aws_sdk_sqs::config::Credentials::new(
                id,
                secret,
                token.clone(),
                None,
                "environment",
            ));
        }
        SqsQueue {
            client: Client::new(&loader.load().await),
            url: url.to_string(),
        }
    }
}

#[async_trait]
impl TagQueue for SqsQueue {
    async fn enqueue(&self, picture_id: i64) {
        let body = serde_json::to_string(&TagMessage { picture_id }).expect("a message serialises");
        let sent = self
            .client
            .send_message()
            .queue_url(&self.url)
            .message_body(body)
            .send()
            .await;
        if let Err(e) = sent {
            // The job waits in the table; the scheduled drain of tag-image takes it.
            tracing::warn!(picture_id, error = %aws_sdk_sqs::error::DisplayErrorContext(&e), "could not announce a tagging job to SQS");
        }
    }
}

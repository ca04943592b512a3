//! The `tag-image` Lambda function: the tagging queue's worker on AWS, fed
//! by SQS (and a schedule that drains jobs whose message was lost).

#[tokio::main]
async fn main() -> Result<(), pictures::lambda::Error> {
    pictures::lambda::run_tag_image().await
}

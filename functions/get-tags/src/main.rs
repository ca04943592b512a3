//! The `get-tags` Lambda function.

#[tokio::main]
async fn main() -> Result<(), pictures::lambda::Error> {
    pictures::lambda::run("get-tags").await
}

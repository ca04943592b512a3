//! The `get-image` Lambda function.

#[tokio::main]
async fn main() -> Result<(), pictures::lambda::Error> {
    pictures::lambda::run("get-image").await
}

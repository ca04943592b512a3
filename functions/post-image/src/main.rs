//! The `post-image` Lambda function.

#[tokio::main]
async fn main() -> Result<(), pictures::lambda::Error> {
    pictures::lambda::run("post-image").await
}

//! The `get-images` Lambda function.

#[tokio::main]
async fn main() -> Result<(), pictures::lambda::Error> {
    pictures::lambda::run("get-images").await
}

//! The `manage-images` Lambda function.

#[tokio::main]
async fn main() -> Result<(), pictures::lambda::Error> {
    pictures::lambda::run("manage-images").await
}

//! The `web` Lambda function: the web gallery's page and assets.

#[tokio::main]
async fn main() -> Result<(), pictures::lambda::Error> {
    pictures::lambda::run("web").await
}

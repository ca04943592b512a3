//! Every function behind one HTTP listener: `make run`, docker compose.

#[tokio::main]
async fn main() -> std::process::ExitCode {
    pictures::local::serve().await
}

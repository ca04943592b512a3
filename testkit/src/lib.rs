//! What every integration test starts from: a real database (a SQLite file,
//! or a database of its own on the MariaDB/MySQL server), a real image
//! folder, the local API on a free loopback port (or `cargo lambda watch`),
//! a loopback server speaking the ImageKit and Imagga wire protocols, and
//! an S3-compatible server. A dev-dependency of the library and of every
//! function crate, built once for all of them.

use base64::Engine;
use std::path::Path;

mod app;
mod cloud;
mod emulator;
mod events;
mod images;
mod s3;

pub use app::{Options, TestApp, assert_error, create_mysql_database, drop_mysql_database};
pub use cloud::{CloudState, FakeCloud, IMAGEKIT_PRIVATE_KEY, IMAGGA_KEY, IMAGGA_SECRET};
pub use emulator::Emulator;
pub use events::{Events, invoke_event};
pub use images::{distinct_png, png_declaring};
pub use s3::{ACCESS_KEY, BUCKET, S3Server, SECRET_KEY, s3_options};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    MySql,
}

/// What a test's requests go through: the local API (every route in this
/// process), or `cargo lambda watch` with the four function binaries behind
/// the router of Cargo.toml (see [`Emulator`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Target {
    pub backend: Backend,
    pub emulator: bool,
}

impl Target {
    /// The emulator on a MariaDB/MySQL database of the test's own, like a deployment.
    pub const EMULATOR: Target = Target {
        backend: Backend::MySql,
        emulator: true,
    };
}

impl From<Backend> for Target {
    fn from(backend: Backend) -> Self {
        Target {
            backend,
            emulator: false,
        }
    }
}

/// The MariaDB/MySQL server tests create their databases on.
pub fn mysql_server_url() -> String {
    std::env::var("TEST_MYSQL_URL").unwrap_or_else(|_| "mysql://root@127.0.0.1:3306".into())
}

/// The repository's root (where tests/fixtures is).
pub fn repo_root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .ancestors()
        .find(|d| d.join("tests/fixtures/images").is_dir())
        .expect("tests/fixtures/images above the crate")
}

pub fn fixture(name: &str) -> Vec<u8> {
    let path = repo_root().join("tests/fixtures/images").join(name);
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// The ids of a listing's pictures, in its order.
pub fn ids(list: &serde_json::Value) -> Vec<i64> {
    list.as_array()
        .expect("a listing is an array")
        .iter()
        .map(|p| p["id"].as_i64().expect("a picture has an id"))
        .collect()
}

pub fn b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

/// Declares the tests of the API's contract, run through each way in:
/// `name::sqlite` and `name::mysql` against the local API, `name::emulator`
/// through `cargo lambda watch` (on MariaDB/MySQL).
#[macro_export]
macro_rules! contract_tests {
    ($(async fn $name:ident($target:ident) $body:block)*) => {$(
        mod $name {
            #[allow(unused_imports)]
            use super::*;
            async fn run($target: $crate::Target) $body
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() { run($crate::Backend::Sqlite.into()).await }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn mysql() { run($crate::Backend::MySql.into()).await }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn emulator() { run($crate::Target::EMULATOR).await }
        }
    )*};
}

/// Declares one async test per backend: `name::sqlite` and `name::mysql`.
#[macro_export]
macro_rules! both_backends {
    ($(async fn $name:ident($backend:ident) $body:block)*) => {$(
        mod $name {
            #[allow(unused_imports)]
            use super::*;
            async fn run($backend: $crate::Backend) $body
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() { run($crate::Backend::Sqlite).await }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn mysql() { run($crate::Backend::MySql).await }
        }
    )*};
}

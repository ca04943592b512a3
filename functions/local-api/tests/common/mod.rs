//! What the tests of the real `local-api` process share: the binary pointed
//! at a database and an image folder with the on-device tagger, started on a
//! free port, and killed with SIGKILL.
#![allow(dead_code)] // each test binary uses its own part of it

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

pub fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

pub fn fixture(name: &str) -> Vec<u8> {
    std::fs::read(workspace().join("tests/fixtures/images").join(name)).unwrap()
}

/// `local-api` on this database and image folder, its output discarded.
pub fn local_api(database_url: &str, images: &Path) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_local-api"));
    c.env("DATABASE_URL", database_url)
        .env("IMAGE_STORE", images)
        .env("TAGGER", "local")
        .env("MODEL_DIR", workspace().join("data/models"))
        .env("CREDENTIALS_FILE", "/nonexistent/credentials.json")
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    c
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A running `local-api`; dropping it kills it.
pub struct Server {
    child: Child,
    pub url: String,
}

impl Server {
    /// Starts `command` on a free port and waits until `ready` (a path)
    /// answers.
    pub async fn start(mut command: Command, ready: &str) -> Server {
        let port = free_port();
        let child = command
            .env("BIND", format!("127.0.0.1:{port}"))
            .spawn()
            .unwrap();
        let server = Server {
            child,
            url: format!("http://127.0.0.1:{port}"),
        };
        for _ in 0..400 {
            if reqwest::get(format!("{}{ready}", server.url)).await.is_ok() {
                return server;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("local-api did not start (is the model fetched? `make model`)");
    }

    pub fn kill(mut self) {
        self.child.kill().unwrap(); // SIGKILL: no shutdown code runs
        self.child.wait().unwrap();
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

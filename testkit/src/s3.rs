//! An S3-compatible server on loopback.

use crate::Options;
use std::path::{Path, PathBuf};

pub const ACCESS_KEY: &str = "pictures-test-key";
pub const SECRET_KEY: &str = "pictures-test-secret";
pub const BUCKET: &str = "pictures";

/// An S3-compatible server on loopback (s3s-fs, which checks request
/// signatures), with one bucket, in a folder of its own.
pub struct S3Server {
    child: std::process::Child,
    pub url: String,
    pub root: tempfile::TempDir,
}

impl S3Server {
    pub fn start() -> Self {
        let root = tempfile::tempdir().unwrap();
        std::fs::create_dir(root.path().join(BUCKET)).unwrap();
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let binary = std::env::var("S3S_FS").unwrap_or_else(|_| "s3s-fs".into());
        let child = std::process::Command::new(&binary)
            .args(["--host", "127.0.0.1", "--port", &port.to_string()])
            .args(["--access-key", ACCESS_KEY, "--secret-key", SECRET_KEY])
            .arg(root.path())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("{binary}: {e} (make test installs s3s-fs)"));
        for _ in 0..100 {
            if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
                break;
            }
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
        S3Server {
            child,
            url: format!("http://127.0.0.1:{port}"),
            root,
        }
    }

    /// The objects stored, as files of s3s-fs's folder.
    pub fn objects(&self) -> Vec<PathBuf> {
        fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
            for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
                let path = entry.path();
                if path.is_dir() {
                    walk(&path, out);
                } else if !path.file_name().unwrap().to_string_lossy().starts_with('.') {
                    out.push(path);
                }
            }
        }
        let mut out = Vec::new();
        walk(&self.root.path().join(BUCKET), &mut out);
        out
    }
}

impl Drop for S3Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub fn s3_options(endpoint: &str, secret: &str) -> Options {
    let vars = [
        ("IMAGE_STORE", format!("s3://{BUCKET}/images")),
        ("AWS_ENDPOINT_URL", endpoint.to_string()),
        ("AWS_REGION", "us-east-1".into()),
        ("AWS_ACCESS_KEY_ID", ACCESS_KEY.into()),
        ("AWS_SECRET_ACCESS_KEY", secret.into()),
        ("S3_FORCE_PATH_STYLE", "true".into()),
    ];
    Options {
        vars: vars.into_iter().map(|(k, v)| (k.to_string(), v)).collect(),
        ..Options::default()
    }
}

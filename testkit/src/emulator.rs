//! `cargo lambda watch` as `make watch` runs it, for the contract tests.

use crate::repo_root;
use serde_json::Value;
use std::collections::HashMap;
use std::path::{Path, PathBuf};

/// `cargo lambda watch` (PyPI cargo-lambda in .venv, `make tools`) on a free
/// loopback port, as `make watch` runs it: its router (Cargo.toml), its
/// HTTP-to-event conversion, its Runtime API, each function started on its
/// first invocation with `vars` as its environment. One difference: the
/// emulator starts a function with `cargo run --bin <fn>`, and here `cargo`
/// is a shim that runs this build's binary instead (anything else goes to
/// cargo). The real `cargo run` resolves features without the
/// dev-dependencies (wiremock turns on hyper's `full`, regex's `unicode`) and
/// would compile 19 crates again, aws-sdk-s3 among them, for the same code.
pub struct Emulator {
    pub url: String,
    child: std::process::Child,
    log: PathBuf,
}

impl Emulator {
    pub async fn start(vars: &HashMap<String, String>, dir: &Path) -> Self {
        use std::os::unix::fs::PermissionsExt;
        use std::os::unix::process::CommandExt;
        let root = repo_root();
        let venv = root.join(".venv/bin/cargo-lambda");
        let program = std::env::var_os("CARGO_LAMBDA")
            .map(PathBuf::from)
            .unwrap_or(if venv.exists() {
                venv
            } else {
                "cargo-lambda".into()
            });
        // The binaries cargo built with this test (the function crates' tests need them).
        let bin_dir = std::env::current_exe()
            .unwrap()
            .parent()
            .and_then(Path::parent)
            .unwrap()
            .to_path_buf();
        for function in pictures::http::FUNCTIONS {
            let binary = bin_dir.join(function);
            assert!(
                binary.exists(),
                "{} is not built: cargo build --workspace --tests (make test) builds it",
                binary.display()
            );
        }
        // Cargo sets CARGO for tests; else the first on PATH (the shim must not find itself).
        let real_cargo = std::env::var_os("CARGO")
            .map(PathBuf::from)
            .or_else(|| {
                std::env::split_paths(&std::env::var_os("PATH")?)
                    .map(|d| d.join("cargo"))
                    .find(|c| c.is_file())
            })
            .expect("cargo");
        let shims = dir.join("shims");
        std::fs::create_dir_all(&shims).unwrap();
        let shim = shims.join("cargo");
        std::fs::write(
            &shim,
            format!(
                "#!/bin/sh\n\
                 # `cargo run ... --bin <fn>` from cargo lambda watch: this build's binary.\n\
                 if [ \"$1\" = run ]; then\n\
                 while [ $# -gt 0 ]; do [ \"$1\" = --bin ] && exec '{bins}/'\"$2\"; shift; done\n\
                 fi\n\
                 exec '{cargo}' \"$@\"\n",
                bins = bin_dir.display(),
                cargo = real_cargo.display(),
            ),
        )
        .unwrap();
        std::fs::set_permissions(&shim, std::fs::Permissions::from_mode(0o755)).unwrap();
        let path = format!(
            "{}:{}",
            shims.display(),
            std::env::var("PATH").unwrap_or_default()
        );
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let log = dir.join("emulator.log");
        let out = std::fs::File::create(&log).unwrap();
        let child = std::process::Command::new(&program)
            // `--ignore-changes`: an edit elsewhere in the tree must not restart a function mid-test.
            .args([
                "lambda",
                "watch",
                "--ignore-changes",
                "-A",
                "127.0.0.1",
                "-P",
            ])
            .arg(port.to_string())
            .current_dir(root)
            .envs(vars)
            // cargo-lambda runs $CARGO when set (cargo sets it for tests), else cargo from PATH.
            .env("CARGO", &shim)
            .env("PATH", path)
            .env("RUST_LOG", "warn")
            .stdin(std::process::Stdio::null())
            .stdout(out.try_clone().unwrap())
            .stderr(out)
            // A process group of its own, with the functions it starts: one kill ends them all.
            .process_group(0)
            .spawn()
            .unwrap_or_else(|e| panic!("{}: {e} (make tools installs it)", program.display()));
        let emulator = Emulator {
            url: format!("http://127.0.0.1:{port}"),
            child,
            log,
        };
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
        while tokio::net::TcpStream::connect(("127.0.0.1", port))
            .await
            .is_err()
        {
            assert!(
                std::time::Instant::now() < deadline,
                "cargo lambda watch did not listen: {}",
                emulator.log()
            );
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
        emulator
            .warm_up(deadline + std::time::Duration::from_secs(30))
            .await;
        emulator
    }

    /// Starts every function with one request that reaches it. Under load
    /// the emulator sometimes answers a function's very first invocation
    /// with a 500 of its own (no function code ran: nothing in the log);
    /// the tests' own requests then meet functions that are up.
    async fn warm_up(&self, deadline: std::time::Instant) {
        let client = reqwest::Client::new();
        let probes = [
            ("GET", "/tags"),
            ("GET", "/images?limit=1"),
            ("GET", "/images/2147483647"),
            ("POST", "/images"),
        ];
        for (method, path) in probes {
            loop {
                let request = match method {
                    "POST" => client
                        .post(format!("{}{path}", self.url))
                        .header("content-type", "text/plain")
                        .body("x"),
                    _ => client.get(format!("{}{path}", self.url)),
                };
                let answered = match request.send().await {
                    Ok(r) if r.status() != 500 => r.json::<Value>().await.is_ok(),
                    _ => false,
                };
                if answered {
                    break;
                }
                assert!(
                    std::time::Instant::now() < deadline,
                    "{method} {path} never reached its function: {}",
                    self.log()
                );
                tokio::time::sleep(std::time::Duration::from_millis(100)).await;
            }
        }
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

impl Drop for Emulator {
    fn drop(&mut self) {
        // A failed test shows what the emulator and its functions said.
        if std::thread::panicking() {
            eprintln!("--- cargo lambda watch log ---\n{}", self.log());
        }
        let _ = std::process::Command::new("kill")
            .args(["-KILL", "--", &format!("-{}", self.child.id())])
            .status();
        let _ = self.child.wait();
    }
}

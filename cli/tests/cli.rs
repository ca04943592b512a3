//! The `pictures` binary against a real local API (the workspace's
//! `local-api`, on-device tagger, SQLite in a temporary folder).

use std::io::{Read as _, Write as _};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn fixtures() -> PathBuf {
    workspace().join("tests/fixtures/images")
}

fn fixture(name: &str) -> Vec<u8> {
    std::fs::read(fixtures().join(name)).unwrap()
}

/// target/<profile>/local-api, beside target/<profile>/deps/<this test>.
fn local_api() -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    let profile_dir = exe.parent().and_then(Path::parent).unwrap();
    let path = profile_dir.join(format!("local-api{}", std::env::consts::EXE_SUFFIX));
    assert!(
        path.is_file(),
        "{} is missing: these tests run the local API binary; build it with \
         `cargo build -p local-api` (`cargo nextest run --workspace` builds it)",
        path.display()
    );
    path
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

struct Server {
    child: Child,
    url: String,
    port: u16,
    dir: tempfile::TempDir,
}

impl Server {
    fn start(extra_env: &[(&str, &str)]) -> Server {
        let dir = tempfile::tempdir().unwrap();
        let port = free_port();
        let mut command = Command::new(local_api());
        command
            .env("BIND", format!("127.0.0.1:{port}"))
            .env(
                "DATABASE_URL",
                format!("sqlite://{}/p.db", dir.path().display()),
            )
            .env("IMAGE_STORE", dir.path().join("images"))
            .env("CREDENTIALS_FILE", "/nonexistent")
            .env("TAGGER", "local")
            .env("MODEL_DIR", workspace().join("data/models"))
            .env("AUTH", "open")
            .env_remove("API_KEYS")
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        for (k, v) in extra_env {
            command.env(k, v);
        }
        let child = command.spawn().unwrap();
        let mut server = Server {
            child,
            url: format!("http://127.0.0.1:{port}"),
            port,
            dir,
        };
        let deadline = Instant::now() + Duration::from_secs(120);
        while Instant::now() < deadline {
            if let Some(status) = server.child.try_wait().unwrap() {
                panic!("local-api exited at start ({status}); is the model there? `make model`");
            }
            if server.health() {
                return server;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        panic!("local-api did not answer GET /health within 120 s");
    }

    fn health(&self) -> bool {
        let Ok(mut s) = TcpStream::connect(("127.0.0.1", self.port)) else {
            return false;
        };
        let _ = s.set_read_timeout(Some(Duration::from_secs(5)));
        let request = "GET /health HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n";
        if s.write_all(request.as_bytes()).is_err() {
            return false;
        }
        let mut answer = String::new();
        let _ = s.read_to_string(&mut answer);
        answer.starts_with("HTTP/1.1 200")
    }

    /// Runs `pictures ARGS` against this server, isolated from the user's
    /// own configuration.
    fn pictures(&self, args: &[&str]) -> Output {
        self.pictures_in(self.dir.path(), args)
    }

    fn pictures_in(&self, cwd: &Path, args: &[&str]) -> Output {
        let home = self.dir.path().join("home");
        std::fs::create_dir_all(&home).unwrap();
        Command::new(env!("CARGO_BIN_EXE_pictures"))
            .args(args)
            .current_dir(cwd)
            .env("PICTURES_URL", &self.url)
            .env_remove("PICTURES_API_KEY")
            .env("HOME", &home)
            .env("XDG_CONFIG_HOME", home.join(".config"))
            .output()
            .unwrap()
    }

    /// `pictures ARGS --json`: its stdout as JSON, checking the exit status.
    fn json(&self, args: &[&str], success: bool) -> Value {
        let mut all = args.to_vec();
        all.push("--json");
        let out = self.pictures(&all);
        assert_eq!(
            out.status.success(),
            success,
            "{args:?}: {}",
            describe(&out)
        );
        serde_json::from_slice(&out.stdout)
            .unwrap_or_else(|e| panic!("{args:?}: stdout is not JSON ({e}): {}", describe(&out)))
    }

    /// Every picture the API lists, through `search --all`.
    fn count(&self) -> usize {
        let list = self.json(&["search", "--all", "--limit", "1000"], true);
        list.as_array().unwrap().len()
    }

    /// Uploads the API counted, from `GET /stats`.
    fn uploads(&self) -> u64 {
        let stats = self.json(&["stats"], true);
        stats["uploads_per_day"]
            .as_array()
            .unwrap()
            .iter()
            .map(|d| d["count"].as_u64().unwrap())
            .sum()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn describe(out: &Output) -> String {
    format!(
        "status {}\nstdout: {}\nstderr: {}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// One line, no Rust debug output.
fn assert_clean_error(out: &Output) {
    assert!(!out.status.success(), "{}", describe(out));
    let err = text(&out.stderr);
    assert_eq!(err.trim_end().lines().count(), 1, "{}", describe(out));
    for noise in [
        "panicked",
        "Error {",
        "Api {",
        "Transport {",
        "RUST_BACKTRACE",
    ] {
        assert!(!err.contains(noise), "{}", describe(out));
    }
}

fn by_file<'a>(report: &'a Value, file: &str) -> &'a Value {
    report["files"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["file"] == file)
        .unwrap_or_else(|| panic!("{file} is not in {report}"))
}

const FIXTURES: [&str; 10] = [
    "astronaut.png",
    "camera.png",
    "chelsea.png",
    "coffee.png",
    "group.jpg",
    "logo.png",
    "motorcycle_left.png",
    "multipage_rgb.tif",
    "no_time_for_that_tiny.gif",
    "rocket.jpg",
];

/// An admin key: anonymous pictures are deleted by admins only.
const ADMIN_KEY: &str = "admin-key-for-the-cli-tests";

#[test]
fn import_then_resume_search_get_and_delete() {
    let server = Server::start(&[("API_KEYS", ADMIN_KEY)]);
    let dir = fixtures();
    let dir = dir.to_str().unwrap();

    // A fresh server: all ten are new; the README is not an image.
    let first = server.json(
        &["import", dir, "--jobs", "3", "--min-confidence", "50"],
        true,
    );
    assert_eq!(first["new"], 10, "{first}");
    assert_eq!(first["already_there"], 0, "{first}");
    assert_eq!(first["failed"], 0, "{first}");
    assert_eq!(first["ignored"], 1, "{first}");
    let files: Vec<&str> = first["files"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["file"].as_str().unwrap())
        .collect();
    assert_eq!(files, FIXTURES);
    assert_eq!(server.count(), 10);
    assert_eq!(server.uploads(), 10);

    // Again: nothing new, and no bytes were uploaded (the server counted no upload).
    let second = server.json(&["import", dir], true);
    assert_eq!(second["new"], 0, "{second}");
    assert_eq!(second["already_there"], 10, "{second}");
    assert_eq!(second["failed"], 0, "{second}");
    assert_eq!(server.count(), 10);
    assert_eq!(server.uploads(), 10);

    // Same for people: a summary on stdout, exit 0.
    let out = server.pictures(&["import", dir]);
    assert!(out.status.success(), "{}", describe(&out));
    let summary = text(&out.stdout);
    assert!(summary.contains("already there"), "{summary}");
    assert!(
        summary.lines().any(|l| l.trim() == "already there  10"),
        "{summary}"
    );
    assert!(
        summary.lines().any(|l| l.trim() == "new             0"),
        "{summary}"
    );

    // Search by tag.
    let cats = server.json(&["search", "--tags", "cat"], true);
    let cats = cats.as_array().unwrap();
    let chelsea = cats
        .iter()
        .find(|p| p["name"] == "chelsea.png")
        .unwrap_or_else(|| panic!("chelsea is not a cat: {cats:?}"));
    let id = chelsea["id"].as_i64().unwrap().to_string();
    let out = server.pictures(&["search", "--tags", "cat"]);
    assert!(out.status.success(), "{}", describe(&out));
    let table = text(&out.stdout);
    assert!(table.starts_with("ID"), "{table}");
    assert!(table.contains("chelsea.png"), "{table}");
    // Paging: one per page, --all follows the Link header to the end.
    let one = server.json(&["search", "--limit", "1"], true);
    assert_eq!(one.as_array().unwrap().len(), 1);
    let all = server.json(&["search", "--limit", "2", "--all"], true);
    assert_eq!(all.as_array().unwrap().len(), 10);
    let none = server.json(&["search", "--tags", "cat", "--name", "coffee"], true);
    assert_eq!(none, Value::Array(vec![]));

    // Tags and stats, both ways.
    let tags = server.json(&["tags"], true);
    assert!(
        tags.as_array().unwrap().iter().any(|t| t["tag"] == "cat"),
        "{tags}"
    );
    let out = server.pictures(&["tags"]);
    assert!(out.status.success(), "{}", describe(&out));
    assert!(text(&out.stdout).lines().any(|l| l.starts_with("cat ")));
    let stats = server.json(&["stats"], true);
    assert_eq!(stats["most_popular_format"], "PNG", "{stats}");
    let out = server.pictures(&["stats"]);
    assert!(
        text(&out.stdout).contains("Most popular format: PNG"),
        "{}",
        describe(&out)
    );

    // Get: the original bytes, to -o or to <id>.png.
    let target = server.dir.path().join("out.png");
    let got = server.json(&["get", &id, "-o", target.to_str().unwrap()], true);
    assert_eq!(got["bytes"], fixture("chelsea.png").len(), "{got}");
    assert!(got["picture"].get("data").is_none(), "{got}");
    assert_eq!(std::fs::read(&target).unwrap(), fixture("chelsea.png"));
    let cwd = tempfile::tempdir().unwrap();
    let out = server.pictures_in(cwd.path(), &["get", &id]);
    assert!(out.status.success(), "{}", describe(&out));
    let default_name = cwd.path().join(format!("{id}.png"));
    assert_eq!(
        std::fs::read(&default_name).unwrap(),
        fixture("chelsea.png")
    );

    // Delete: gone, and get says so in one line, with a non-zero exit.
    let out = server.pictures(&["delete", &id]);
    assert_clean_error(&out);
    let out = server.pictures(&["delete", &id, "--api-key", ADMIN_KEY]);
    assert!(out.status.success(), "{}", describe(&out));
    assert_eq!(server.count(), 9);
    let out = server.pictures(&["get", &id]);
    assert_clean_error(&out);
    assert!(text(&out.stderr).contains("404"), "{}", describe(&out));
    let error = server.json(&["get", &id], false);
    assert_eq!(error["status"], 404, "{error}");
    assert!(error["message"].is_string(), "{error}");
    let deleted = server.json(&["delete", &id, "999999", "--api-key", ADMIN_KEY], false);
    assert_eq!(deleted["deleted"], Value::Array(vec![]), "{deleted}");
    assert_eq!(
        deleted["not_found"].as_array().unwrap().len(),
        2,
        "{deleted}"
    );

    // Resuming after a deletion uploads just that one again.
    let third = server.json(&["import", dir], true);
    assert_eq!(
        (third["new"].as_u64(), third["already_there"].as_u64()),
        (Some(1), Some(9))
    );
}

#[test]
fn bad_and_too_large_files_are_reported_and_the_rest_imports() {
    // coffee.png (456 KiB, 608 KiB in base64) is over this body limit;
    // chelsea.png's data no longer fits in an answer: `get` takes /file.
    let server = Server::start(&[
        ("MAX_BODY_BYTES", "500000"),
        ("MAX_RESPONSE_BYTES", "200000"),
    ]);
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::write(d.join("fake.jpg"), "I am a text file, not a JPEG.\n").unwrap();
    std::fs::write(d.join("truncated.jpg"), &fixture("rocket.jpg")[..2000]).unwrap();
    std::fs::write(d.join("notes.txt"), "not an image, ignored\n").unwrap();
    std::fs::create_dir(d.join("more")).unwrap();
    for name in ["chelsea.png", "coffee.png", "rocket.jpg"] {
        std::fs::write(d.join(name), fixture(name)).unwrap();
    }
    std::fs::write(d.join("more/logo.png"), fixture("logo.png")).unwrap();
    let path = d.to_str().unwrap();

    let report = server.json(&["import", path, "--jobs", "2"], false);
    assert_eq!(report["new"], 2, "{report}");
    assert_eq!(report["failed"], 3, "{report}");
    assert_eq!(report["ignored"], 1, "{report}");
    assert_eq!(
        by_file(&report, "fake.jpg")["error"],
        "not_an_image",
        "{report}"
    );
    assert_eq!(
        by_file(&report, "truncated.jpg")["error"],
        "invalid_image",
        "{report}"
    );
    let coffee = by_file(&report, "coffee.png");
    assert_eq!(coffee["error"], "body_too_large", "{report}");
    assert!(
        coffee["message"].as_str().unwrap().contains("too large"),
        "{report}"
    );
    for ok in ["chelsea.png", "rocket.jpg"] {
        assert_eq!(by_file(&report, ok)["result"], "new", "{report}");
    }
    assert_eq!(server.uploads(), 2);

    // For people: each failure with its file and reason; exit non-zero;
    // --recursive takes the subfolder too.
    let out = server.pictures(&["import", path, "--recursive"]);
    assert!(!out.status.success(), "{}", describe(&out));
    let summary = text(&out.stdout);
    for line in ["new            1", "already there  2", "failed         3"] {
        assert!(
            summary.lines().any(|l| l.trim() == line),
            "{line}: {summary}"
        );
    }
    assert!(summary.contains("Failures:"), "{summary}");
    for file in [
        "fake.jpg: not an image",
        "truncated.jpg: ",
        "coffee.png: too large",
    ] {
        assert!(summary.contains(&format!("  {file}")), "{file}: {summary}");
    }
    assert_eq!(server.uploads(), 3);

    // A picture too large for a JSON answer comes from its file route.
    let list = server.json(&["search", "--name", "chelsea"], true);
    let id = list[0]["id"].as_i64().unwrap().to_string();
    let target = d.join("copy.png");
    server.json(&["get", &id, "-o", target.to_str().unwrap()], true);
    assert_eq!(std::fs::read(&target).unwrap(), fixture("chelsea.png"));
}

#[test]
fn accounts_keys_and_errors() {
    let server = Server::start(&[]);
    // Sign-up prints the key once; --json gives it to scripts.
    let out = server.pictures(&["signup", "--email", "ada@example.com"]);
    assert!(out.status.success(), "{}", describe(&out));
    assert!(
        text(&out.stdout).contains("PICTURES_API_KEY="),
        "{}",
        describe(&out)
    );
    let user = server.json(&["signup", "--email", "grace@example.com"], true);
    let key = user["api_key"].as_str().unwrap().to_string();

    // The key from the config file, then a second key made with it.
    let config = server.dir.path().join("home/.config/pictures");
    std::fs::create_dir_all(&config).unwrap();
    std::fs::write(config.join("config.toml"), format!("api_key = \"{key}\"\n")).unwrap();
    let made = server.json(&["keys", "create", "laptop"], true);
    assert!(made["key"].is_string(), "{made}");
    let keys = server.json(&["keys", "list"], true);
    let keys = keys.as_array().unwrap();
    assert_eq!(keys.len(), 2, "{keys:?}");
    assert!(keys.iter().all(|k| k.get("key").is_none()));
    let id = made["id"].to_string().trim_matches('"').to_string();
    let out = server.pictures(&["keys", "delete", &id]);
    assert!(out.status.success(), "{}", describe(&out));
    let laptop = made["key"].as_str().unwrap();
    let out = server.pictures(&["keys", "list", "--api-key", laptop]);
    assert_clean_error(&out);
    assert!(text(&out.stderr).contains("401"), "{}", describe(&out));

    // Private pictures of this user: imported, then visible with --mine.
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("rocket.jpg"), fixture("rocket.jpg")).unwrap();
    let report = server.json(
        &[
            "import",
            dir.path().to_str().unwrap(),
            "--private",
            "--async",
        ],
        true,
    );
    assert_eq!(report["new"], 1, "{report}");
    let mine = server.json(&["search", "--mine"], true);
    assert_eq!(mine[0]["private"], true, "{mine}");
    // Anonymous callers do not see it: the same bytes are new to them.
    std::fs::remove_dir_all(&config).unwrap();
    assert_eq!(server.json(&["search"], true), Value::Array(vec![]));

    // A server that is not there: one line, and JSON for scripts.
    let out = server.pictures(&["tags", "--url", "http://127.0.0.1:9"]);
    assert_clean_error(&out);
    assert!(
        text(&out.stderr).contains("cannot reach"),
        "{}",
        describe(&out)
    );
    let out = server.pictures(&[
        "import",
        dir.path().to_str().unwrap(),
        "--url",
        "http://127.0.0.1:9",
        "--json",
    ]);
    assert_clean_error(&out);
    let error: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(error["error"], "unreachable", "{error}");
    let out = server.pictures(&["import", "/nonexistent/folder"]);
    assert_clean_error(&out);
}

/// A new, empty MariaDB/MySQL database (the server `make test` starts), by
/// the command-line client.
fn mysql_database() -> (String, String) {
    let name = format!("pictures_cli_{}", std::process::id());
    let sql = format!("DROP DATABASE IF EXISTS {name}; CREATE DATABASE {name}");
    let created = ["mariadb", "mysql"].iter().any(|client| {
        Command::new(client)
            .args([
                "--protocol=tcp",
                "-h127.0.0.1",
                "-P3306",
                "-uroot",
                "-e",
                &sql,
            ])
            .status()
            .is_ok_and(|s| s.success())
    });
    assert!(
        created,
        "MariaDB/MySQL must run on 127.0.0.1:3306 (make test starts it)"
    );
    (name.clone(), format!("mysql://root@127.0.0.1:3306/{name}"))
}

/// A phone's camera roll: HEIC, AVIF, a Live Photo's still, a Motion
/// Photo and a Display P3 JPEG, imported by extension and content, tagged,
/// found by format, and got back byte for byte; on SQLite and MariaDB.
#[test]
fn phone_photos_import_on_sqlite_and_mariadb() {
    let phone = workspace().join("tests/fixtures/phone");
    let (db, mysql) = mysql_database();
    for database in [None, Some(mysql.as_str())] {
        let server = match database {
            None => Server::start(&[("API_KEYS", ADMIN_KEY)]),
            Some(url) => Server::start(&[("DATABASE_URL", url), ("API_KEYS", ADMIN_KEY)]),
        };
        let report = server.json(&["import", phone.to_str().unwrap(), "--jobs", "2"], true);
        assert_eq!(report["new"], 5, "{database:?}: {report}");
        assert_eq!(report["failed"], 0, "{database:?}: {report}");
        let heic = server.json(&["search", "--format", "heic"], true);
        let names: Vec<&str> = heic
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p["name"].as_str().unwrap())
            .collect();
        assert_eq!(names, ["iphone.heic", "live-photo.heic"], "{database:?}");
        let cats = server.json(&["search", "--tags", "cat", "--format", "heic"], true);
        assert_eq!(
            cats[0]["name"], "iphone.heic",
            "{database:?}: tagged from its pixels"
        );
        assert_eq!(cats[0]["camera"], "Apple - iPhone 15 Pro", "{database:?}");
        let avif = server.json(&["search", "--format", "avif"], true);
        assert_eq!(avif[0]["name"], "pixel.avif", "{database:?}");
        let stats = server.json(&["stats"], true);
        let formats = stats["formats"].to_string();
        assert!(
            formats.contains("\"heic\"") && formats.contains("\"avif\""),
            "{stats}"
        );
        // Back byte for byte to an admin, the Motion Photo with its video;
        // to anyone else without its location: as long, not the same.
        for (found, file) in [(&heic[0], "iphone.heic"), (&avif[0], "pixel.avif")] {
            let id = found["id"].as_i64().unwrap().to_string();
            let original = std::fs::read(phone.join(file)).unwrap();
            let out = server.pictures(&["get", &id, "-o", "-", "--api-key", ADMIN_KEY]);
            assert!(out.status.success(), "{}", describe(&out));
            assert!(out.stdout == original, "{file}");
            let out = server.pictures(&["get", &id, "-o", "-"]);
            assert!(out.status.success(), "{}", describe(&out));
            assert!(
                out.stdout.len() == original.len() && out.stdout != original,
                "{file}: served without its location"
            );
            assert!(
                text(&out.stderr).contains("without its location"),
                "{}",
                describe(&out)
            );
        }
        let motion = server.json(&["search", "--name", "motion"], true);
        let id = motion[0]["id"].as_i64().unwrap().to_string();
        let out = server.pictures(&["get", &id, "-o", "-"]);
        assert!(out.stdout == std::fs::read(phone.join("motion-photo.jpg")).unwrap());
    }
    let _ = Command::new("mariadb")
        .args([
            "--protocol=tcp",
            "-h127.0.0.1",
            "-uroot",
            "-e",
            &format!("DROP DATABASE {db}"),
        ])
        .status();
}

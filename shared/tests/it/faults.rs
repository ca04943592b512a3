//! Faults while the service runs: the database going away and coming back,
//! a full or read-only image folder, and many uploads at once.

use crate::common::*;
use std::collections::BTreeSet;
use std::sync::{Arc, Mutex};
use tokio::task::JoinHandle;

/// A TCP forwarder in front of MariaDB that can cut every connection and
/// refuse new ones (the server "goes away"), then accept again.
struct DbProxy {
    port: u16,
    to: String,
    tasks: Arc<Mutex<Vec<JoinHandle<()>>>>,
}

impl DbProxy {
    async fn start(to: String) -> DbProxy {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let proxy = DbProxy {
            port: listener.local_addr().unwrap().port(),
            to,
            tasks: Arc::default(),
        };
        proxy.serve(listener);
        proxy
    }

    fn serve(&self, listener: tokio::net::TcpListener) {
        let (to, tasks) = (self.to.clone(), self.tasks.clone());
        let accepting = tokio::spawn(async move {
            while let Ok((mut client, _)) = listener.accept().await {
                let to = to.clone();
                let connection = tokio::spawn(async move {
                    if let Ok(mut server) = tokio::net::TcpStream::connect(to).await {
                        let _ = tokio::io::copy_bidirectional(&mut client, &mut server).await;
                    }
                });
                tasks.lock().unwrap().push(connection);
            }
        });
        self.tasks.lock().unwrap().push(accepting);
    }

    /// Closes the listening port and every open connection.
    fn cut(&self) {
        for task in self.tasks.lock().unwrap().drain(..) {
            task.abort();
        }
    }

    async fn restore(&self) {
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", self.port))
            .await
            .unwrap();
        self.serve(listener);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_database_outage_gives_503_and_the_service_recovers_by_itself() {
    let server = mysql_server_url();
    let (name, _) = create_mysql_database().await;
    let proxy = DbProxy::start(server.rsplit('@').next().unwrap().to_string()).await;
    let user = server
        .trim_start_matches("mysql://")
        .split('@')
        .next()
        .unwrap();
    let options = Options {
        database_url: Some(format!("mysql://{user}@127.0.0.1:{}/{name}", proxy.port)),
        ..Options::default()
    };
    let t = TestApp::start_with(Backend::MySql, options).await;
    let rocket = fixture("rocket.jpg");
    assert_eq!(t.post_image(&rocket, "").await.status(), 201);

    proxy.cut();
    for _ in 0..3 {
        assert_error(t.post_image(&rocket, "").await, 503, "database_unavailable").await;
    }
    assert_error(t.get("/images/1").await, 503, "database_unavailable").await;
    assert_error(
        t.get("/images?tags=rocket").await,
        503,
        "database_unavailable",
    )
    .await;
    assert_error(t.get("/tags").await, 503, "database_unavailable").await;
    assert_eq!(t.files().len(), 1, "the failed uploads left no file");
    assert!(t.cloud.staged().is_empty(), "nor a staged copy");

    proxy.restore().await;
    assert_eq!(
        t.post_image(&fixture("coffee.png"), "").await.status(),
        201,
        "the same process serves again once the database is back"
    );
    let listed = t.get_json("/images").await;
    let ids: Vec<i64> = listed
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["id"].as_i64().unwrap())
        .collect();
    assert_eq!(ids.len(), 2, "{listed}");
    assert_eq!(t.files().len(), 2);
    assert_eq!(t.get("/tags").await.status(), 200);
    drop(t);
    drop_mysql_database(name);
}

/// A small tmpfs mounted over the image folder for the test's duration.
struct Mounted(std::path::PathBuf);

impl Mounted {
    fn tmpfs(at: &std::path::Path, size_kb: u32) -> Mounted {
        std::fs::create_dir_all(at).unwrap();
        let status = std::process::Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size_kb}k"), "tmpfs"])
            .arg(at)
            .status()
            .expect("mount(8)");
        assert!(
            status.success(),
            "mounting a {size_kb} KB tmpfs needs root (make test runs as root in CI)"
        );
        Mounted(at.to_path_buf())
    }

    fn read_only(&self) {
        let status = std::process::Command::new("mount")
            .args(["-o", "remount,ro"])
            .arg(&self.0)
            .status()
            .unwrap();
        assert!(status.success());
    }
}

impl Drop for Mounted {
    fn drop(&mut self) {
        let _ = std::process::Command::new("umount").arg(&self.0).status();
    }
}

both_backends! {
    async fn a_full_or_read_only_image_folder_is_503_and_leaves_nothing(backend) {
        let t = TestApp::start(backend).await;
        let folder = Mounted::tmpfs(&t.images, 64);
        // rocket.jpg is 110 KB: the folder fills up half-way through the write.
        assert_error(t.post_image(&fixture("rocket.jpg"), "").await, 503, "store_unavailable").await;
        assert!(t.files().is_empty(), "no partial file: {:?}", t.files());
        assert_eq!(t.row_counts().await, (0, 0));
        assert!(t.cloud.staged().is_empty());
        // A picture that fits is stored: the folder itself works.
        let gif = fixture("no_time_for_that_tiny.gif");
        assert_eq!(t.post_image(&gif, "").await.status(), 201);

        folder.read_only();
        assert_error(t.post_image(&distinct_png(1), "").await, 503, "store_unavailable").await;
        assert_eq!(t.files().len(), 1);
        assert_eq!(t.row_counts().await.0, 1);
        assert_eq!(t.get_json("/images/1").await["id"], 1, "reads still work");
    }

    async fn two_hundred_concurrent_uploads_get_distinct_ids_files_and_all_tags(backend) {
        let t = Arc::new(TestApp::start(backend).await);
        let uploads: Vec<_> = (0..200)
            .map(|n| {
                let t = t.clone();
                tokio::spawn(async move {
                    let r = t.post_image(&distinct_png(n), "").await;
                    assert_eq!(r.status(), 201);
                    r.json::<serde_json::Value>().await.unwrap()["id"].as_i64().unwrap()
                })
            })
            .collect();
        let mut ids = BTreeSet::new();
        for upload in uploads {
            ids.insert(upload.await.unwrap());
        }
        assert_eq!(ids.len(), 200, "distinct ids");
        let files: BTreeSet<_> = t.files().into_iter().collect();
        assert_eq!(files.len(), 200, "distinct files");
        // The fake tagger answers rocket 95.5, sky 85.25 and missile 60 for every
        // picture; the default min_confidence (80) keeps two.
        assert_eq!(t.row_counts().await, (200, 400), "every tag row");
        let listed = t.get_json("/images?tags=rocket,sky&limit=1000").await;
        assert_eq!(listed.as_array().unwrap().len(), 200);
    }
}

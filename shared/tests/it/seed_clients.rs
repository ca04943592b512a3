//! The seeds' own clients, call for call: the assignment's notebook (seed
//! 000) and seed 001's README, replayed as their `requests` calls send them,
//! on SQLite and MariaDB.

use crate::common::*;
use pictures::{App, Config};
use serde_json::{Value, json};
use std::collections::HashMap;

/// What `requests.post(url, json=...)` sends.
async fn post_json(t: &TestApp, path_and_query: &str, body: &Value) -> reqwest::Response {
    t.client
        .post(format!("{}{path_and_query}", t.url))
        .json(body)
        .send()
        .await
        .unwrap()
}

async fn notebook(backend: Backend) {
    let t = TestApp::start(backend).await;
    let bytes = fixture("rocket.jpg");

    // In [3]: url = "http://localhost:8080/images"
    //         tags = requests.post(f"{url}/tags", json={"data": b64str}).json()
    let r = post_json(&t, "/images/tags", &json!({"data": b64(&bytes)})).await;
    assert_eq!(r.status(), 200, "the seed's upload answers 200");
    assert_eq!(r.headers()["location"], "/images/1");
    let uploaded: Value = r.json().await.unwrap();
    assert_eq!(uploaded["id"], 1);
    assert_eq!(uploaded["data"], b64(&bytes));
    assert_eq!(
        uploaded["tags"][0],
        json!({"tag": "rocket", "confidence": 95.5, "source": "imagga"})
    );
    let r = post_json(
        &t,
        "/images/tags",
        &json!({"data": b64(&fixture("chelsea.png"))}),
    )
    .await;
    assert_eq!(r.status(), 200);

    // In [12]: requests.get(f"{url}").json(); In [11]: ?tags=...; In [14]: /images/2
    let images = t.get_json("/images").await;
    assert_eq!(images.as_array().unwrap().len(), 2);
    assert!(images[0].get("data").is_none());
    assert_eq!(
        t.get_json("/images?tags=rocket,sky")
            .await
            .as_array()
            .unwrap()
            .len(),
        2
    );
    assert_eq!(t.get_json("/images/2").await["id"], 2);

    // In [17]: requests.get(f"""{url}/tags?min_date=... 00:00:00&max_date=... 00:00:00""")
    // (requests sends the spaces as %20).
    let today = chrono::Utc::now().format("%Y-%m-%d").to_string();
    let query = format!("min_date={today}%2000:00:00&max_date={today}%2023:59:59");
    let stats = t.get_json(&format!("/images/tags?{query}")).await;
    assert_eq!(stats, t.get_json(&format!("/tags?{query}")).await);
    assert_eq!(
        stats[0],
        json!({"tag": "rocket", "n_images": 2, "min_confidence": 95.5, "max_confidence": 95.5, "mean_confidence": 95.5})
    );
    assert_eq!(t.get_json("/images/tags").await, t.get_json("/tags").await);
    // Its parameters are GET /tags' own.
    assert_error(
        t.get("/images/tags?tags=rocket").await,
        400,
        "unknown_parameter",
    )
    .await;

    // The canonical upload keeps 201; seed 001's alias answers 200.
    let r = post_json(&t, "/images", &json!({"data": b64(&fixture("coffee.png"))})).await;
    assert_eq!(r.status(), 201);
    // The same bytes again are a new picture, as the assignment has it...
    let r = post_json(&t, "/images", &json!({"data": b64(&bytes)})).await;
    assert_eq!(r.status(), 201);
    assert_eq!(r.headers()["location"], "/images/4");
    // ...unless the client asks for the picture there is: 200 and its Location.
    let r = post_json(&t, "/images?dedup=true", &json!({"data": b64(&bytes)})).await;
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["location"], "/images/1");
    let r = post_json(
        &t,
        "/image?min_confidence=60",
        &json!({"data": b64(&fixture("motorcycle_left.png"))}),
    )
    .await;
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["location"], "/images/5");
    let body: Value = r.json().await.unwrap();
    assert_eq!(
        body["tags"].as_array().unwrap().len(),
        3,
        "min_confidence=60 keeps missile"
    );
    // Refusals are the same through the aliases.
    let r = post_json(&t, "/images/tags", &json!({"data": "not base64!"})).await;
    assert_error(r, 400, "invalid_base64").await;
    assert_eq!(t.row_counts().await.0, 5);
}

#[tokio::test]
async fn the_assignment_notebook_on_sqlite() {
    notebook(Backend::Sqlite).await;
}

#[tokio::test]
async fn the_assignment_notebook_on_mariadb() {
    notebook(Backend::MySql).await;
}

/// Seed 001's README: its `credentials.json` sections (`imagekitio`,
/// `imaggan`) drive the Imagga client, and its client counts an upload as
/// done only on `status_code == 200`.
#[tokio::test]
async fn seed_001_credentials_and_client() {
    let cloud = FakeCloud::start(&[("car", 97.0), ("motor vehicle", 91.5), ("wheel", 55.0)]).await;
    let dir = tempfile::tempdir().unwrap();
    let credentials = dir.path().join("credentials.json");
    std::fs::write(
        &credentials,
        json!({
            "imagekitio": {"public_key": "public_test", "private_key": IMAGEKIT_PRIVATE_KEY, "url_endpoint": format!("{}/ik", cloud.uri())},
            "imaggan": {"api_key": IMAGGA_KEY, "api_secret": IMAGGA_SECRET},
        })
        .to_string(),
    )
    .unwrap();
    let vars: HashMap<&str, String> = [
        (
            "DATABASE_URL",
            format!("sqlite://{}/pictures.db", dir.path().display()),
        ),
        (
            "IMAGE_STORE",
            dir.path().join("Images").display().to_string(),
        ),
        ("CREDENTIALS_FILE", credentials.display().to_string()),
        ("IMAGGA_BASE_URL", cloud.uri()),
        ("IMAGEKIT_UPLOAD_URL", cloud.uri()),
        ("IMAGEKIT_API_URL", cloud.uri()),
    ]
    .into_iter()
    .collect();
    let config = Config::from_lookup(|k| vars.get(k).cloned()).unwrap();
    let app = App::build(&config, true).await.unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let router = pictures::http::router(app, None);
    tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
    let client = reqwest::Client::new();

    // response = requests.post(f'http://localhost:80/image?min_confidence=60', json={"data": b64str_image})
    let r = client
        .post(format!("{url}/image?min_confidence=60"))
        .json(&json!({"data": b64(&fixture("motorcycle_left.png"))}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let body: Value = r.json().await.unwrap();
    assert_eq!(
        body["tags"],
        json!([{"tag": "car", "confidence": 97.0, "source": "imagga"}, {"tag": "motor vehicle", "confidence": 91.5, "source": "imagga"}])
    );
    assert_eq!(
        cloud.counts(),
        (1, 1, 1),
        "staged at ImageKit, tagged by Imagga, deleted"
    );

    // response = requests.get(f'http://localhost:80/images?min_date={min_date}&max_date={max_date}&tags={",".join(tags1)}')
    let max_date = chrono::Utc::now().format("%Y-%m-%d %H:%M:%S").to_string();
    let r = client
        .get(format!(
            "{url}/images?min_date=2024-01-11 08:00:00&max_date={max_date}&tags=car,motor vehicle"
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let images: Value = r.json().await.unwrap();
    assert_eq!(images.as_array().unwrap().len(), 1);

    // response1 = requests.get(f'http://localhost:80/image/{picture_id}')
    let one: Value = client
        .get(format!("{url}/image/1"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(one["data"], b64(&fixture("motorcycle_left.png")));
    // response = requests.get(f'http://localhost:80/tags?min_date={min_date}&max_date={max_date}')
    let r = client
        .get(format!(
            "{url}/tags?min_date=2024-01-11 08:00:00&max_date={max_date}"
        ))
        .send()
        .await
        .unwrap();
    let stats: Value = r.json().await.unwrap();
    assert_eq!(stats[0]["tag"], "car");
    assert_eq!(stats.as_array().unwrap().len(), 2);
}

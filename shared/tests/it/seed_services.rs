//! The clients of seeds 002, 003 and 004, call for call, as their documents
//! write them (paths, headers, field names, and the multipart and form
//! encodings of Python `requests`: `files=`, `data=`, `json=`), against the
//! local API on SQLite and MariaDB and, for 002 and 004, through
//! `cargo lambda watch`.

use crate::common::*;
use jsonwebtoken::{Algorithm, EncodingKey, Header, encode};
use md5::{Digest, Md5};
use serde_json::{Value, json};
use sha2::Sha256;

/// Seed 002's `API_KEY`, set at `docker compose up`.
const API_KEY: &str = "seed-002-api-key";
/// The HS256 secret of seed 004's central auth service.
const CAS_SECRET: &str = "seed-004-cas-secret";

fn seeds_options() -> Options {
    Options {
        vars: vec![
            ("API_KEYS".into(), API_KEY.into()),
            ("JWT_SECRET".into(), CAS_SECRET.into()),
        ],
        ..Options::default()
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn exif_fixture(name: &str) -> Vec<u8> {
    std::fs::read(repo_root().join("tests/fixtures/exif").join(name)).unwrap()
}

/// What `requests.post(url, files=[("image_files", (name, bytes)), ...])` sends.
fn files_form(files: &[(&str, Vec<u8>)]) -> reqwest::multipart::Form {
    let mut form = reqwest::multipart::Form::new();
    for (name, bytes) in files {
        form = form.part(
            "image_files",
            reqwest::multipart::Part::bytes(bytes.clone()).file_name(name.to_string()),
        );
    }
    form
}

/// What `requests.post(url, data={...})` sends: a urlencoded form.
fn form_body<K: AsRef<str>, V: AsRef<str>>(fields: &[(K, V)]) -> String {
    let mut f = form_urlencoded::Serializer::new(String::new());
    for (k, v) in fields {
        f.append_pair(k.as_ref(), v.as_ref());
    }
    f.finish()
}

/// Seed 004's private summary: the names found.
async fn summary(t: &TestApp, bearer: &str, query: &str) -> Vec<String> {
    let r = t
        .client
        .get(format!("{}/api/v1/images/private/summary?{query}", t.url))
        .header("Authorization", bearer)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let v: Value = r.json().await.unwrap();
    v["images"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["name"].as_str().unwrap().to_string())
        .collect()
}

/// A token as seed 004's central auth service issues it.
fn cas_token(user_id: &str, email: &str) -> String {
    let exp = chrono::Utc::now().timestamp() + 3600;
    encode(
        &Header::new(Algorithm::HS256),
        &json!({"email": email, "user_id": user_id, "exp": exp}),
        &EncodingKey::from_secret(CAS_SECRET.as_bytes()).unwrap(),
    )
    .unwrap()
}

contract_tests! {
    // Seed 002: link → upload (ids are the SHA-256 of each file; the same
    // file again is the same id) → fetch without a key → stats with the
    // EXIF camera.
    async fn seed_002_image_service(target) {
        let t = TestApp::start_with(target, seeds_options()).await;
        let client = &t.client;
        let r = client.post(format!("{}/api/generate-upload-link", t.url))
            .header("x-api-key", API_KEY).json(&json!({"expiry": 60})).send().await.unwrap();
        assert_eq!(r.status(), 200);
        let upload_id = r.json::<Value>().await.unwrap()["upload_id"].as_str().unwrap().to_string();

        // A WebP and a PNG, each with its camera in EXIF (the WebP is small
        // enough to come back whole through the emulator: see TestApp::photo).
        let (foo1, foo2) = (exif_fixture("canon.webp"), exif_fixture("padded.png"));
        let form = files_form(&[("foo-1.webp", foo1.clone()), ("foo-2.png", foo2.clone()), ("notes.txt", b"not a picture".to_vec())]);
        let r = client.post(format!("{}/api/upload-images/{upload_id}", t.url))
            .header("x-api-key", API_KEY).multipart(form).send().await.unwrap();
        assert_eq!(r.status(), 200, "{}", t.emulator_log());
        let ids: Value = r.json().await.unwrap();
        let sha = |b: &[u8]| hex(&Sha256::digest(b));
        assert_eq!(ids["foo-1.webp"], sha(&foo1));
        assert_eq!(ids["foo-2.png"], sha(&foo2));
        assert_eq!(ids["notes.txt"]["error"], "not_an_image", "{ids}");
        assert!(ids["notes.txt"]["message"].is_string());
        assert_eq!(t.row_counts().await.0, 2);
        // "If the same image is uploaded, internally it wont update any data
        // but will still return the same id as the first upload."
        let form = files_form(&[("again.webp", foo1.clone())]);
        let r = client.post(format!("{}/api/upload-images/{upload_id}", t.url))
            .header("x-api-key", API_KEY).multipart(form).send().await.unwrap();
        assert_eq!(r.json::<Value>().await.unwrap(), json!({"again.webp": sha(&foo1)}));
        assert_eq!(t.row_counts().await.0, 2);

        // GET /api/images/{image_id}: no key needed. The photo has a place in
        // its EXIF: anyone but its owner and admins gets it without.
        let r = client.get(format!("{}/api/images/{}", t.url, sha(&foo1))).send().await.unwrap();
        assert_eq!(r.status(), 200);
        assert_eq!(r.headers()["content-type"], "image/webp");
        let theirs = r.bytes().await.unwrap();
        assert_eq!(theirs.len(), foo1.len());
        assert!(pictures::analysis::read_exif(&foo1).gps.is_some());
        assert_eq!(pictures::analysis::read_exif(&theirs).gps, None);
        let r = client.get(format!("{}/api/images/{}", t.url, sha(&foo1))).header("x-api-key", API_KEY).send().await.unwrap();
        assert_eq!(r.bytes().await.unwrap().as_ref(), foo1.as_slice(), "an admin gets the original");
        assert_error(client.get(format!("{}/api/images/{}", t.url, "0".repeat(64))).send().await.unwrap(), 404, "not_found").await;

        let r = client.get(format!("{}/api/stats", t.url)).header("x-api-key", API_KEY).send().await.unwrap();
        assert_eq!(r.status(), 200);
        let stats: Value = r.json().await.unwrap();
        let today = chrono::Utc::now().format("%Y-%m-%d").to_string();
        assert_eq!(stats["Image Upload Frequency Per Day (last 30 days)"], json!({today.clone(): 2}));
        // One WebP, one PNG: the tie goes to the first by name.
        assert_eq!(stats["Most Popular Image Format"], "PNG");
        assert_eq!(
            stats["Top 10 Popular Camera Models"],
            json!(["Canon - Canon EOS 5D Mark IV", "NIKON CORPORATION - NIKON D750"])
        );
        // A wrong key is refused; the canonical /stats says the same in its own shape.
        let r = client.get(format!("{}/api/stats", t.url)).header("x-api-key", "wrong").send().await.unwrap();
        assert_error(r, 401, "unauthorized").await;
        let canonical = t.get_json("/stats").await;
        assert_eq!(canonical["uploads_per_day"], json!([{"date": today, "count": 2}]));
    }

    // Seed 004: user → upload URLs → PUT → notify → view URL → summaries by
    // name, tag and content label → deletes; a second user sees none of it.
    async fn seed_004_bit_image(target) {
        let t = TestApp::start_with(target, seeds_options()).await;
        let client = &t.client;
        let user_id = "73578802-dfea-45cf-bb43-baffb93ad8bb";
        let token = cas_token(user_id, "shopify@email.com");
        let bearer = format!("Bearer {token}");
        let r = client.post(format!("{}/api/v1/users", t.url)).header("Authorization", &bearer).send().await.unwrap();
        assert_eq!(r.status(), 201, "{}", t.emulator_log());
        assert_eq!(r.json::<Value>().await.unwrap(), json!({"id": user_id, "image_upload_count": 0}));
        let r = client.post(format!("{}/api/v1/users", t.url)).header("Authorization", &bearer).send().await.unwrap();
        let conflict = assert_error(r, 409, "conflict").await;
        assert!(conflict["detail"].is_string(), "{conflict}");

        let r = client.get(format!("{}/api/v1/images/upload_urls?image_count=2", t.url)).header("Authorization", &bearer).send().await.unwrap();
        assert_eq!(r.status(), 200);
        let urls: Value = r.json().await.unwrap();
        let urls = urls["image_upload_urls"].as_array().unwrap().clone();
        assert_eq!(urls.len(), 2);
        let (lettuce, cat) = (t.photo("coffee.png"), t.photo("chelsea.png"));
        for (u, bytes) in urls.iter().zip([&lettuce, &cat]) {
            assert_eq!(u["method"], "PUT");
            let url = u["url"].as_str().unwrap();
            let url = if url.starts_with('/') { format!("{}{url}", t.url) } else { url.to_string() };
            // "It is important to upload our file as a binary" (and as a
            // picture: the emulator takes a body without a type for text).
            let r = client.put(url).header("content-type", "image/png").body(bytes.clone()).send().await.unwrap();
            assert!(r.status().is_success(), "{}", r.status());
        }
        let md5 = |b: &[u8]| hex(&Md5::digest(b));
        let notify = json!({"images": [
            {"id": urls[0]["image_id"], "name": "nicelettuce", "hash": md5(&lettuce), "is_private": false,
             "tags": [{"name": "leafy"}, {"name": "green"}, {"name": "notsotasty"}, {"name": "salad"}]},
            {"id": urls[1]["image_id"], "name": "coolcat", "hash": md5(&cat), "is_private": true,
             "tags": [{"name": "coast"}, {"name": "clearsky"}, {"name": "smallcat"}]},
        ]});
        let r = client.post(format!("{}/api/v1/images", t.url)).header("Content-type", "application/json")
            .header("Authorization", &bearer).body(notify.to_string()).send().await.unwrap();
        assert_eq!(r.status(), 200);
        let answer: Value = r.json().await.unwrap();
        let images = answer["images"].as_array().unwrap();
        assert_eq!(images.len(), 2, "{answer}");
        assert_eq!(images[0]["id"], urls[0]["image_id"]);
        assert_eq!(images[0]["name"], "nicelettuce");
        assert_eq!(images[0]["is_private"], "false", "printed as the seed prints it");
        assert_eq!(images[1]["is_private"], "true");
        assert_eq!(images[0]["file_format"], "png");
        // The view link works for anyone holding it.
        let view = images[1]["view_url"].as_str().unwrap();
        let r = reqwest::get(view).await.unwrap();
        assert_eq!(r.status(), 200, "{view}");
        assert_eq!(r.bytes().await.unwrap().as_ref(), cat.as_slice());

        assert_eq!(summary(&t, &bearer, "name=nicelettuce").await, ["nicelettuce"]);
        assert_eq!(summary(&t, &bearer, "tag=smallcat").await, ["coolcat"]);
        assert_eq!(summary(&t, &bearer, "tag=rocket").await, Vec::<String>::new(), "the tagger's tag is not a person's");
        assert_eq!(summary(&t, &bearer, "content_label=rocket").await, ["nicelettuce", "coolcat"]);
        assert_eq!(summary(&t, &bearer, "content_label=salad").await, Vec::<String>::new(), "a person's tag is not a content label");

        // A second user sees none of it.
        let other = format!("Bearer {}", cas_token("someone-else", "else@email.com"));
        let r = client.post(format!("{}/api/v1/users", t.url)).header("Authorization", &other).send().await.unwrap();
        assert_eq!(r.status(), 201);
        let r = client.get(format!("{}/api/v1/images/private/summary?content_label=rocket", t.url)).header("Authorization", &other).send().await.unwrap();
        assert_eq!(r.json::<Value>().await.unwrap(), json!({"images": []}));
        let private_id = t.get_json("/images?limit=1000").await.as_array().unwrap().len();
        assert_eq!(private_id, 1, "anonymous listings show only the public one");
        let r = client.delete(format!("{}/api/v1/images", t.url)).header("Authorization", &other)
            .json(&json!({"images": [{"id": urls[1]["image_id"]}]})).send().await.unwrap();
        assert_eq!(r.json::<Value>().await.unwrap(), json!({"deleted": [], "not_found": [urls[1]["image_id"]]}));

        // Deletes: of images, then of the account.
        let r = client.delete(format!("{}/api/v1/images", t.url)).header("Authorization", &bearer)
            .json(&json!({"images": [{"id": urls[1]["image_id"]}, {"id": "nope"}]})).send().await.unwrap();
        assert_eq!(r.status(), 200);
        assert_eq!(r.json::<Value>().await.unwrap(), json!({"deleted": [urls[1]["image_id"]], "not_found": ["nope"]}));
        assert_eq!(summary(&t, &bearer, "name=coolcat").await, Vec::<String>::new());
        let r = client.delete(format!("{}/api/v1/users", t.url)).header("Authorization", &bearer).send().await.unwrap();
        assert_eq!(r.status(), 204);
        assert_eq!(t.row_counts().await, (0, 0));
        // Every error on this surface carries error, message and detail.
        let r = client.get(format!("{}/api/v1/images/upload_urls?image_count=0", t.url)).header("Authorization", &bearer).send().await.unwrap();
        let e = assert_error(r, 400, "invalid_count").await;
        assert!(e["detail"].is_string(), "{e}");
        let r = client.get(format!("{}/api/v1/images/upload_urls?image_count=1", t.url)).header("Authorization", "Bearer not.a.token").send().await.unwrap();
        let e = assert_error(r, 401, "unauthorized").await;
        assert!(e["detail"].is_string(), "{e}");
    }
}

both_backends! {
    // Seed 003: the three colour services chained as the lesson chains them.
    async fn seed_003_colour_services(backend) {
        let t = TestApp::start(backend).await;
        let photo = fixture("coffee.png");
        // r1 = requests.post(.../prominent-colors, files={'image': open('3.jpg', 'rb')}, data={'k': 4})
        let form = reqwest::multipart::Form::new()
            .part("image", reqwest::multipart::Part::bytes(photo.clone()).file_name("3.jpg"))
            .text("k", "4");
        let r1 = t.client.post(format!("{}/prominent-colors", t.url)).multipart(form).send().await.unwrap();
        assert_eq!(r1.status(), 200);
        let text = r1.text().await.unwrap();
        let (colors, freqs): (Vec<[u8; 3]>, serde_json::Map<String, Value>) = serde_json::from_str(&text).unwrap();
        assert_eq!(colors.len(), 4);
        assert_eq!(freqs.keys().cloned().collect::<Vec<_>>(), ["0", "1", "2", "3"]);
        // Deterministic: the same answer again.
        let form = reqwest::multipart::Form::new()
            .part("image", reqwest::multipart::Part::bytes(photo.clone()).file_name("3.jpg"))
            .text("k", "4");
        assert_eq!(t.client.post(format!("{}/prominent-colors", t.url)).multipart(form).send().await.unwrap().text().await.unwrap(), text);
        // Without k: 6.
        let form = reqwest::multipart::Form::new().part("image", reqwest::multipart::Part::bytes(photo.clone()).file_name("1.jpg"));
        let six: Value = t.client.post(format!("{}/prominent-colors", t.url)).multipart(form).send().await.unwrap().json().await.unwrap();
        assert_eq!(six[0].as_array().unwrap().len(), 6);

        // r2 = requests.post(.../rgb2hex, data={'rgbs': dumps(colors)}); hexcolors = r2.text
        let r2 = t.client.post(format!("{}/rgb2hex", t.url)).header("content-type", "application/x-www-form-urlencoded").body(form_body(&[("rgbs", serde_json::to_string(&colors).unwrap())])).send().await.unwrap();
        assert_eq!(r2.status(), 200);
        let hexcolors = r2.text().await.unwrap();
        let hex_list: Vec<String> = serde_json::from_str(&hexcolors).unwrap();
        let [r, g, b] = colors[0];
        assert_eq!(hex_list[0], format!("#{r:02x}{g:02x}{b:02x}"));

        // counts = dumps([c[1] for c in sorted(freqs.items())]); r3 = requests.post(.../centroids, data=...)
        let counts: Vec<Value> = freqs.values().cloned().collect();
        let r3 = t.client.post(format!("{}/centroids", t.url))
            .header("content-type", "application/x-www-form-urlencoded").body(form_body(&[("colors", hexcolors.clone()), ("counts", serde_json::to_string(&counts).unwrap())]))
            .send().await.unwrap();
        assert_eq!(r3.status(), 200);
        assert_eq!(r3.headers()["content-type"], "image/png");
        let png = image::load_from_memory(&r3.bytes().await.unwrap()).unwrap();
        assert_eq!((png.width(), png.height()), pictures::analysis::PALETTE_SIZE);

        // Bad input: a 400 JSON error (the lesson answered 503).
        let r = t.client.post(format!("{}/centroids", t.url)).header("content-type", "application/x-www-form-urlencoded").body(form_body(&[("colors", "[\"#fff\"]"), ("counts", "[1]")])).send().await.unwrap();
        assert_error(r, 400, "invalid_color").await;
        let r = t.client.post(format!("{}/centroids", t.url)).header("content-type", "application/x-www-form-urlencoded").body(form_body(&[("colors", "[\"#ffffff\"]")])).send().await.unwrap();
        assert_error(r, 400, "missing_field").await;
        let r = t.client.post(format!("{}/rgb2hex", t.url)).header("content-type", "application/x-www-form-urlencoded").body(form_body(&[("rgbs", "not json")])).send().await.unwrap();
        assert_error(r, 400, "invalid_field").await;
        let form = reqwest::multipart::Form::new().part("image", reqwest::multipart::Part::bytes(b"text".to_vec()).file_name("x.jpg"));
        let r = t.client.post(format!("{}/prominent-colors", t.url)).multipart(form).send().await.unwrap();
        assert_error(r, 400, "not_an_image").await;
        let form = reqwest::multipart::Form::new().part("image", reqwest::multipart::Part::bytes(photo.clone()).file_name("x.jpg")).text("k", "99");
        let r = t.client.post(format!("{}/prominent-colors", t.url)).multipart(form).send().await.unwrap();
        assert_error(r, 400, "invalid_k").await;
        t.assert_nothing_stored().await;
    }
}

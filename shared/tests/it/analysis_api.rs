//! What the service reads from pictures, through real HTTP on SQLite and
//! MariaDB: EXIF at upload (GPS only for the owner), `GET /stats` against
//! brute force over random pictures, colours and palettes, the search
//! filters, and near-duplicates of every fixture photo.

use crate::common::*;
use image::{DynamicImage, GenericImageView, ImageFormat, Rgba};
use pictures::domain::{Facts, ImageFormat as Format, Inserted, NewPicture, Status, Tag};
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::io::Cursor;

fn exif_fixture(name: &str) -> Vec<u8> {
    std::fs::read(repo_root().join("tests/fixtures/exif").join(name)).unwrap()
}

fn encode(img: &DynamicImage, format: ImageFormat) -> Vec<u8> {
    let mut out = Vec::new();
    img.write_to(&mut Cursor::new(&mut out), format).unwrap();
    out
}

async fn signup(t: &TestApp) -> String {
    let r = t
        .client
        .post(format!("{}/users", t.url))
        .send()
        .await
        .unwrap();
    r.json::<Value>().await.unwrap()["api_key"]
        .as_str()
        .unwrap()
        .to_string()
}

async fn upload_as(t: &TestApp, key: Option<&str>, bytes: &[u8], query: &str) -> Value {
    let mut r = t
        .client
        .post(format!("{}/images{query}", t.url))
        .json(&json!({"data": b64(bytes)}));
    if let Some(key) = key {
        r = r.header("x-api-key", key);
    }
    let r = r.send().await.unwrap();
    assert!(r.status().is_success(), "{}", r.status());
    r.json().await.unwrap()
}

async fn get_as(t: &TestApp, key: Option<&str>, path: &str) -> Value {
    let mut r = t.client.get(format!("{}{path}", t.url));
    if let Some(key) = key {
        r = r.header("x-api-key", key);
    }
    let r = r.send().await.unwrap();
    let status = r.status();
    let body: Value = r.json().await.unwrap();
    assert_eq!(status, 200, "{path}: {body}");
    body
}

both_backends! {
    async fn exif_is_read_at_upload_and_gps_is_the_owners(backend) {
        let t = TestApp::start(backend).await;
        let (alice, bob) = (signup(&t).await, signup(&t).await);
        let p = upload_as(&t, Some(&alice), &exif_fixture("canon.jpg"), "").await;
        assert_eq!(p["camera"], "Canon - Canon EOS 5D Mark IV");
        assert_eq!(p["taken_at"], "2023-07-14 09:30:15");
        assert_eq!(p["format"], "jpeg");
        assert_eq!((p["width"].clone(), p["height"].clone()), (json!(640), json!(427)));
        let gps = &p["gps"];
        assert!((gps["lat"].as_f64().unwrap() - 48.858_222).abs() < 1e-5, "{gps}");
        assert!((gps["lon"].as_f64().unwrap() - 2.294_5).abs() < 1e-5, "{gps}");
        let id = p["id"].as_i64().unwrap();
        // Others see the camera, never the place.
        for key in [Some(bob.as_str()), None] {
            let seen = get_as(&t, key, &format!("/images/{id}")).await;
            assert_eq!(seen["camera"], "Canon - Canon EOS 5D Mark IV");
            assert_eq!(seen["gps"], Value::Null);
        }
        assert_eq!(get_as(&t, Some(&alice), &format!("/images/{id}")).await["gps"], *gps);
        // A photo without EXIF: nulls.
        let q = upload_as(&t, Some(&alice), &fixture("coffee.png"), "").await;
        assert_eq!((q["camera"].clone(), q["taken_at"].clone(), q["gps"].clone()), (Value::Null, Value::Null, Value::Null));
        // Searched by camera (any case) and format.
        assert_eq!(ids(&get_as(&t, None, "/images?camera=canon%20-%20canon%20eos%205d%20mark%20iv").await), vec![id]);
        assert_eq!(ids(&get_as(&t, None, "/images?format=png").await), vec![q["id"].as_i64().unwrap()]);
        assert_eq!(ids(&get_as(&t, None, "/images?format=jpeg&camera=Nikon").await), Vec::<i64>::new());
    }

    async fn stats_equal_brute_force(backend) {
        use rand::{Rng, SeedableRng};
        let t = TestApp::start(backend).await;
        let mut rng = rand::rngs::StdRng::seed_from_u64(11);
        let owners = [None, Some("alice"), Some("bob")];
        let formats = [Format::Jpeg, Format::Png, Format::Gif, Format::WebP];
        let cameras = [None, Some("Canon - EOS R5"), Some("SONY - ILCE-7M2"), Some("Google - Pixel 6a")];
        // (day, owner, private, format, camera) of every picture.
        let mut all = Vec::new();
        for i in 0..120 {
            let day = chrono::Utc::now().date_naive() - chrono::Duration::days(rng.random_range(0..45));
            let date = format!("{} {:02}:00:00", day.format("%Y-%m-%d"), rng.random_range(0..24));
            let owner = owners[rng.random_range(0..3)];
            let private = owner.is_some() && rng.random_bool(0.4);
            let format = formats[rng.random_range(0..4)];
            let camera = cameras[rng.random_range(0..4)];
            let facts = Facts {
                hash: Some(format!("{i:064x}")),
                format: Some(format),
                camera: camera.map(String::from),
                analyzed: true,
                ..Facts::default()
            };
            let tags = [Tag::new("thing", 90.0, None)];
            let new = NewPicture {
                owner,
                private,
                facts: &facts,
                status: Status::Tagged,
                ..NewPicture::plain("/nonexistent/x.jpg", &date, 100, &tags)
            };
            assert!(matches!(t.app.db.insert_picture(&new).await.unwrap(), Inserted::New(_)));
            all.push((date[..10].to_string(), owner, private, format, camera));
        }
        // Keys of the users the random owners name.
        for (who, key) in [("alice", "alice-key"), ("bob", "bob-key")] {
            t.execute(&format!("INSERT INTO users (id, email, image_upload_count, created) VALUES ('{who}', NULL, 0, '2026-01-01 00:00:00')")).await;
            t.execute(&format!(
                "INSERT INTO api_keys (user_id, name, key_hash, created) VALUES ('{who}', 'k', '{}', '2026-01-01 00:00:00')",
                pictures::auth::key_hash(key)
            )).await;
        }
        for viewer in [None, Some("alice"), Some("bob")] {
            let sees = |(_, owner, private, _, _): &&(String, Option<&str>, bool, Format, Option<&str>)| !*private || *owner == viewer;
            let mut days: BTreeMap<String, i64> = BTreeMap::new();
            let mut formats: BTreeMap<String, i64> = BTreeMap::new();
            let mut cams: BTreeMap<String, i64> = BTreeMap::new();
            for p in all.iter().filter(sees) {
                *days.entry(p.0.clone()).or_default() += 1;
                *formats.entry(p.3.as_str().to_string()).or_default() += 1;
                if let Some(c) = p.4 {
                    *cams.entry(c.to_string()).or_default() += 1;
                }
            }
            let last30: Vec<Value> = days.iter().rev().take(30).rev().map(|(d, n)| json!({"date": d, "count": n})).collect();
            let ranked = |m: &BTreeMap<String, i64>, key: &str| {
                let mut v: Vec<(&String, &i64)> = m.iter().collect();
                v.sort_by(|a, b| b.1.cmp(a.1).then(a.0.cmp(b.0)));
                v.into_iter().map(|(k, n)| json!({key: k, "count": n})).collect::<Vec<_>>()
            };
            let key = viewer.map(|v| format!("{v}-key"));
            let stats = get_as(&t, key.as_deref(), "/stats").await;
            assert_eq!(stats["uploads_per_day"], json!(last30), "{viewer:?}");
            assert_eq!(stats["formats"], json!(ranked(&formats, "format")), "{viewer:?}");
            assert_eq!(stats["top_camera_models"], json!(ranked(&cams, "camera")), "{viewer:?}");
            let top = ranked(&formats, "format")[0]["format"].as_str().unwrap().to_string();
            assert_eq!(stats["most_popular_format"], Format::parse(&top).unwrap().name().to_uppercase());
        }
    }

    async fn colours_palettes_and_colour_search(backend) {
        let t = TestApp::start(backend).await;
        // 50% red, 30% green, 20% blue, in stripes.
        let stripes = image::RgbImage::from_fn(200, 100, |x, _| match x {
            0..100 => image::Rgb([255, 0, 0]),
            100..160 => image::Rgb([0, 255, 0]),
            _ => image::Rgb([0, 0, 255]),
        });
        let png = encode(&DynamicImage::ImageRgb8(stripes), ImageFormat::Png);
        let p = upload_as(&t, None, &png, "").await;
        let id = p["id"].as_i64().unwrap();
        let stored: Vec<(String, f64)> = p["colors"].as_array().unwrap().iter()
            .map(|c| (c["hex"].as_str().unwrap().to_string(), c["fraction"].as_f64().unwrap())).collect();
        let expected = [("#ff0000", 0.5), ("#00ff00", 0.3), ("#0000ff", 0.2)];
        assert_eq!(stored.len(), 3, "{stored:?}");
        for ((hex, f), (want_hex, want_f)) in stored.iter().zip(expected) {
            assert_eq!(hex, want_hex);
            assert!((f - want_f).abs() <= 0.02, "{hex}: {f}");
        }
        let answer = get_as(&t, None, &format!("/images/{id}/colors?k=3")).await;
        let colors = answer["colors"].as_array().unwrap();
        assert_eq!(colors[0], json!({"rgb": [255, 0, 0], "hex": "#ff0000", "count": colors[0]["count"], "fraction": colors[0]["fraction"]}));
        assert_eq!(get_as(&t, None, &format!("/images/{id}/colors?k=3")).await, answer, "deterministic");
        // The same from the stateless route, JSON and multipart.
        let r = t.client.post(format!("{}/colors?k=3", t.url)).json(&json!({"data": b64(&png)})).send().await.unwrap();
        assert_eq!(r.json::<Value>().await.unwrap(), answer);
        let form = reqwest::multipart::Form::new().part("image", reqwest::multipart::Part::bytes(png.clone()).file_name("s.png"));
        let r = t.client.post(format!("{}/colors?k=3", t.url)).multipart(form).send().await.unwrap();
        assert_eq!(r.json::<Value>().await.unwrap(), answer);
        // The palette: a PNG of the documented size, each wedge in its colour.
        let r = t.get(&format!("/images/{id}/palette.png?k=3")).await;
        assert_eq!(r.headers()["content-type"], "image/png");
        let chart = image::load_from_memory(&r.bytes().await.unwrap()).unwrap();
        assert_eq!(chart.dimensions(), pictures::analysis::PALETTE_SIZE);
        assert_error(t.get(&format!("/images/{id}/colors?k=17")).await, 400, "invalid_k").await;

        // Colour search: a dominant colour near the one asked for.
        let coffee = upload_as(&t, None, &fixture("coffee.png"), "").await;
        assert_eq!(ids(&get_as(&t, None, "/images?color=%23fa0a05").await), vec![id]);
        assert_eq!(ids(&get_as(&t, None, "/images?color=%2300ff00").await), vec![id]);
        let brown = coffee["colors"][0]["hex"].as_str().unwrap().replace('#', "%23");
        assert_eq!(ids(&get_as(&t, None, &format!("/images?color={brown}")).await), vec![coffee["id"].as_i64().unwrap()]);
        assert_error(t.get("/images?color=red").await, 400, "invalid_color").await;
    }

    // Someone looking for orange (#ff6600) in a photo that is mostly
    // #b86534 widens the search with `color_distance` (RGB distance, the
    // metric of the default 48): found from the exact distance on, not one
    // below it, and the default is exactly 48.
    async fn colour_search_widens_with_a_distance(backend) {
        let t = TestApp::start(backend).await;
        let img = image::RgbImage::from_fn(120, 80, |x, _| {
            if x < 108 { image::Rgb([0xb8, 0x65, 0x34]) } else { image::Rgb([0x20, 0x40, 0xa0]) }
        });
        let brown = upload_as(&t, None, &encode(&DynamicImage::ImageRgb8(img), ImageFormat::Png), "").await;
        let id = brown["id"].as_i64().unwrap();
        let other = upload_as(&t, None, &fixture("coffee.png"), "").await["id"].as_i64().unwrap();
        let orange = [255.0, 102.0, 0.0];
        let nearest = brown["colors"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| {
                let hex = u32::from_str_radix(&c["hex"].as_str().unwrap()[1..], 16).unwrap();
                let rgb = [f64::from(hex >> 16), f64::from((hex >> 8) & 0xff), f64::from(hex & 0xff)];
                rgb.iter().zip(orange).map(|(a, b)| (a - b) * (a - b)).sum::<f64>().sqrt()
            })
            .fold(f64::INFINITY, f64::min);
        assert!(nearest > 48.0 && nearest < 100.0, "the photo's colours are {} from orange", nearest);
        let found = |list: &Value| ids(list).contains(&id);
        assert!(!found(&get_as(&t, None, "/images?color=%23ff6600").await), "the default stays 48");
        let reach = nearest.ceil() as u32;
        assert!(found(&get_as(&t, None, &format!("/images?color=%23ff6600&color_distance={reach}")).await));
        assert!(!found(&get_as(&t, None, &format!("/images?color=%23ff6600&color_distance={}", reach - 1)).await));
        assert!(found(&get_as(&t, None, "/images?color=%23ff6600&color_distance=100").await));
        for colour in ["%23b86534", "%23ff6600", "%23c07040"] {
            assert_eq!(
                ids(&get_as(&t, None, &format!("/images?color={colour}")).await),
                ids(&get_as(&t, None, &format!("/images?color={colour}&color_distance=48")).await),
                "{colour}"
            );
        }
        // 0 is the colour itself; 442 any colour at all, page after page,
        // the links keeping the distance.
        let own = brown["colors"][0]["hex"].as_str().unwrap().replace('#', "%23");
        assert!(found(&get_as(&t, None, &format!("/images?color={own}&color_distance=0")).await));
        let mut next = Some("/images?color=%23000000&color_distance=442&limit=1".to_string());
        let mut every = Vec::new();
        while let Some(url) = next.take() {
            let r = t.get(&url).await;
            assert_eq!(r.status(), 200);
            next = r.headers().get("link").map(|l| {
                let l = l.to_str().unwrap();
                assert!(l.contains("color_distance=442"), "{l}");
                l[1..l.find('>').unwrap()].to_string()
            });
            every.extend(ids(&r.json().await.unwrap()));
        }
        assert_eq!(every, [id, other]);

        assert_error(t.get("/images?color_distance=96").await, 400, "invalid_parameter").await;
        for bad in ["443", "-1", "9.5", "wide", ""] {
            assert_error(t.get(&format!("/images?color=%23ff6600&color_distance={bad}")).await, 400, "invalid_color_distance").await;
        }
    }

    async fn near_duplicates_are_found_and_different_photos_are_not(backend) {
        let t = TestApp::start(backend).await;
        let photos = ["astronaut.png", "camera.png", "chelsea.png", "coffee.png", "motorcycle_left.png", "rocket.jpg", "logo.png"];
        let mut originals = BTreeMap::new();
        let mut copies: BTreeMap<i64, Vec<i64>> = BTreeMap::new();
        for name in photos {
            let bytes = fixture(name);
            let id = upload_as(&t, None, &bytes, "").await["id"].as_i64().unwrap();
            originals.insert(id, name);
            let img = image::load_from_memory(&bytes).unwrap();
            let (w, h) = img.dimensions();
            let mut bright = img.to_rgba8();
            for Rgba([r, g, b, _]) in bright.pixels_mut() {
                for c in [r, g, b] {
                    *c = (f32::from(*c) * 1.2).round().min(255.0) as u8;
                }
            }
            let (dx, dy) = (w * 15 / 1000, h * 15 / 1000);
            let edits = [
                encode(&img.resize_exact(w / 2, h / 2, image::imageops::FilterType::Triangle), ImageFormat::Png),
                {
                    // Quality 60, transparency flattened onto white as the service reads it.
                    let flat = pictures::analysis::decode_small(&pictures::domain::ImageData::from_bytes(bytes.clone()).unwrap(), u32::MAX).unwrap();
                    let mut out = Vec::new();
                    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut Cursor::new(&mut out), 60).encode_image(&flat).unwrap();
                    out
                },
                encode(&img.crop_imm(dx, dy, w - 2 * dx, h - 2 * dy), ImageFormat::Png),
                encode(&DynamicImage::ImageRgba8(bright), ImageFormat::Png),
            ];
            for edit in edits {
                copies.entry(id).or_default().push(upload_as(&t, None, &edit, "").await["id"].as_i64().unwrap());
            }
        }
        for (id, name) in &originals {
            let found = get_as(&t, None, &format!("/images/{id}/similar?max_distance=8&limit=50")).await;
            let mut got = ids(&found);
            got.sort();
            assert_eq!(&got, &copies[id], "{name}: {found}");
            let d: Vec<u64> = found.as_array().unwrap().iter().map(|p| p["distance"].as_u64().unwrap()).collect();
            assert!(d.windows(2).all(|w| w[0] <= w[1]) && d.iter().all(|&x| x <= 8), "{name}: nearest first: {d:?}");
        }
        assert_error(t.get("/images/1/similar?max_distance=17").await, 400, "invalid_max_distance").await;
        assert_error(t.get("/images/99999/similar").await, 404, "not_found").await;
    }
}

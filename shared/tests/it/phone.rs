//! What phones make, through real HTTP on SQLite and MariaDB with the
//! on-device tagger: HEIC and AVIF photos turned a quarter with EXIF and
//! GPS, a Live Photo's still, a Motion Photo (a JPEG with its MP4 behind
//! it), a Display P3 JPEG, and 12- and 50-megapixel JPEGs made here. Each is
//! uploaded, tagged from its pixels, read back byte for byte, thumbnailed
//! upright, coloured as the photo it was made from, counted in `/stats` and
//! found by `format=`; the HEIF ones through forms, upload links and
//! presigned PUTs too. Fixtures: scripts/make-phone-fixtures.py.

use crate::common::*;
use image::{DynamicImage, GenericImageView, RgbImage};
use pictures::analysis::read_exif;
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::io::Cursor;

fn phone(name: &str) -> Vec<u8> {
    std::fs::read(repo_root().join("tests/fixtures/phone").join(name)).unwrap()
}

fn local_options() -> Options {
    let dir = std::env::var("MODEL_DIR")
        .unwrap_or_else(|_| concat!(env!("CARGO_MANIFEST_DIR"), "/../data/models").into());
    Options {
        vars: vec![("TAGGER".into(), "local".into()), ("MODEL_DIR".into(), dir)],
        ..Options::default()
    }
}

/// One fixture and what the service must find in it.
struct Case {
    file: &'static str,
    /// The photo of tests/fixtures/images it was made from, upright.
    source: &'static str,
    format: &'static str,
    mime: &'static str,
    camera: &'static str,
    taken_at: &'static str,
    gps: Option<(f64, f64)>,
    /// One of the tags the classifier must give the photo.
    tag: &'static str,
}

const CASES: [Case; 5] = [
    Case {
        file: "iphone.heic",
        source: "chelsea.png",
        format: "heic",
        mime: "image/heic",
        camera: "Apple - iPhone 15 Pro",
        taken_at: "2024-06-01 18:42:07",
        gps: Some((37.8195, -122.479)),
        tag: "cat",
    },
    Case {
        file: "pixel.avif",
        source: "motorcycle_left.png",
        format: "avif",
        mime: "image/avif",
        camera: "Google - Pixel 8",
        taken_at: "2024-03-09 07:15:30",
        gps: Some((-33.857, 151.215)),
        tag: "motorcycle",
    },
    Case {
        file: "live-photo.heic",
        source: "rocket.jpg",
        format: "heic",
        mime: "image/heic",
        camera: "Apple - iPhone 13 mini",
        taken_at: "2023-12-24 16:05:00",
        gps: None,
        // The rocket photo gets no tag at the default threshold (the networks
        // are unsure of it, tests/it/local_tagger.rs); iphone.heic shows
        // that HEIC stills are tagged from their pixels.
        tag: "",
    },
    Case {
        file: "motion-photo.jpg",
        source: "coffee.png",
        format: "jpeg",
        mime: "image/jpeg",
        camera: "Google - Pixel 7a",
        taken_at: "2023-08-15 12:00:00",
        gps: None,
        tag: "espresso",
    },
    Case {
        file: "display-p3.jpg",
        source: "astronaut.png",
        format: "jpeg",
        mime: "image/jpeg",
        camera: "",
        taken_at: "",
        gps: None,
        tag: "",
    },
];

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

async fn get_bytes(t: &TestApp, key: Option<&str>, path: &str) -> (String, Vec<u8>) {
    let mut r = t.client.get(format!("{}{path}", t.url));
    if let Some(key) = key {
        r = r.header("x-api-key", key);
    }
    let r = r.send().await.unwrap();
    assert_eq!(r.status(), 200, "{path}");
    let kind = r.headers()["content-type"].to_str().unwrap().to_string();
    (kind, r.bytes().await.unwrap().to_vec())
}

/// The mean absolute difference of two images' channels, the second
/// resized to the first's size.
fn difference(a: &RgbImage, b: &DynamicImage) -> f64 {
    let b = b
        .resize_exact(a.width(), a.height(), image::imageops::FilterType::Triangle)
        .into_rgb8();
    let total: u64 = a
        .as_raw()
        .iter()
        .zip(b.as_raw())
        .map(|(x, y)| u64::from(x.abs_diff(*y)))
        .sum();
    total as f64 / a.as_raw().len() as f64
}

/// The mean colour of the `colors` answer, weighted by fraction.
fn mean_of(colors: &Value) -> [f64; 3] {
    let mut mean = [0.0; 3];
    for c in colors.as_array().unwrap() {
        let f = c["fraction"].as_f64().unwrap();
        for (m, v) in mean.iter_mut().zip(c["rgb"].as_array().unwrap()) {
            *m += f * v.as_f64().unwrap();
        }
    }
    mean
}

fn mean_rgb(img: &RgbImage) -> [f64; 3] {
    let mut sum = [0.0; 3];
    for p in img.pixels() {
        for c in 0..3 {
            sum[c] += f64::from(p[c]);
        }
    }
    sum.map(|s| s / (img.width() * img.height()) as f64)
}

fn distance(a: [f64; 3], b: [f64; 3]) -> f64 {
    a.iter()
        .zip(b)
        .map(|(x, y)| (x - y).abs())
        .fold(0.0, f64::max)
}

both_backends! {
    async fn phone_photos_through_every_route(backend) {
        let t = TestApp::start_with(backend, local_options()).await;
        let (alice, bob) = (signup(&t).await, signup(&t).await);
        let mut ids: BTreeMap<&str, Vec<i64>> = BTreeMap::new();
        for case in &CASES {
            let name = case.file;
            let bytes = phone(name);
            let r = t.client.post(format!("{}/images", t.url)).header("x-api-key", &alice)
                .json(&json!({"data": b64(&bytes)})).send().await.unwrap();
            assert_eq!(r.status(), 201, "{name}");
            let p: Value = r.json().await.unwrap();
            let id = p["id"].as_i64().unwrap();
            ids.entry(case.format).or_default().push(id);
            assert_eq!(p["format"], case.format, "{name}");
            assert_eq!(p["status"], "tagged", "{name}");
            let or_null = |s: &str| if s.is_empty() { Value::Null } else { json!(s) };
            assert_eq!(p["camera"], or_null(case.camera), "{name}");
            assert_eq!(p["taken_at"], or_null(case.taken_at), "{name}");
            match case.gps {
                Some((lat, lon)) => {
                    let gps = &p["gps"];
                    assert!((gps["lat"].as_f64().unwrap() - lat).abs() < 1e-4, "{name}: {gps}");
                    assert!((gps["lon"].as_f64().unwrap() - lon).abs() < 1e-4, "{name}: {gps}");
                }
                None => assert_eq!(p["gps"], Value::Null, "{name}"),
            }
            // Tagged from the picture itself, the HEIF ones too.
            let tags: Vec<&str> = p["tags"].as_array().unwrap().iter().map(|t| t["tag"].as_str().unwrap()).collect();
            if !case.tag.is_empty() {
                assert!(tags.contains(&case.tag), "{name}: {tags:?}");
            }
            // The original, whole (a Motion Photo keeps its video), with its own type.
            assert_eq!(p["data"], b64(&bytes), "{name}");
            let (kind, file) = get_bytes(&t, Some(&alice), &format!("/images/{id}/file")).await;
            assert_eq!((kind.as_str(), file.len()), (case.mime, bytes.len()), "{name}");
            assert!(file == bytes, "{name}: the owner gets the original byte for byte");
            // Anyone else: the same file without its place, which still decodes.
            let (_, theirs) = get_bytes(&t, Some(&bob), &format!("/images/{id}/file")).await;
            assert_eq!(theirs.len(), bytes.len(), "{name}");
            assert_eq!(read_exif(&theirs).gps, None, "{name}");
            assert_eq!(read_exif(&theirs).camera, read_exif(&bytes).camera, "{name}");
            assert_eq!(theirs == bytes, case.gps.is_none(), "{name}: only a place is taken out");
            let image = pictures::domain::ImageData::from_bytes(theirs).unwrap();
            assert!(pictures::analysis::decode_small(&image, 64).is_ok(), "{name}");
            // The thumbnail: upright, and the photo it was made from.
            // The photo it was made from, as the service reads it (its own
            // ICC profile applied: rocket.jpg is Adobe RGB).
            let source = pictures::domain::ImageData::from_bytes(fixture(case.source)).unwrap();
            let source = DynamicImage::ImageRgb8(pictures::analysis::decode_small(&source, 1024).unwrap());
            let (kind, thumb) = get_bytes(&t, Some(&alice), &format!("/images/{id}/thumbnail?size=256")).await;
            assert_eq!(kind, "image/jpeg");
            let thumb = image::load_from_memory(&thumb).unwrap().into_rgb8();
            let (sw, sh) = source.dimensions();
            assert_eq!(thumb.width() > thumb.height(), sw > sh, "{name}: upright");
            assert_eq!(thumb.width().max(thumb.height()), 256, "{name}");
            // Turned the wrong way, the same thumbnail would be far off.
            let right = difference(&thumb, &source);
            let wrong = difference(&thumb, &source.rotate90());
            assert!(right < 14.0 && right * 2.0 < wrong, "{name}: {right:.1} against {wrong:.1} turned");
            // Colours as the photo's: a Display P3 file read as sRGB would be duller.
            let colors = t.get_json(&format!("/images/{id}/colors?k=6")).await;
            let seen = mean_of(&colors["colors"]);
            let truth = mean_rgb(&source.to_rgb8());
            assert!(distance(seen, truth) < 6.0, "{name}: {seen:?} against {truth:?}");
            if case.file == "display-p3.jpg" {
                let naive = mean_rgb(&image::load_from_memory(&bytes).unwrap().to_rgb8());
                assert!(distance(naive, truth) > 2.0 * distance(seen, truth), "{name}: {naive:?} is not P3's");
            }
        }
        // Counted and searched by format.
        let stats = t.get_json("/stats").await;
        assert_eq!(stats["formats"], json!([
            {"format": "heic", "count": 2}, {"format": "jpeg", "count": 2}, {"format": "avif", "count": 1},
        ]));
        for (format, want) in &ids {
            let found: Vec<i64> = t.get_json(&format!("/images?format={format}")).await.as_array().unwrap()
                .iter().map(|p| p["id"].as_i64().unwrap()).collect();
            assert_eq!(&found, want, "{format}");
        }
        assert_eq!(t.get_json("/images?format=HEIF").await.as_array().unwrap().len(), 2);
    }

    async fn heif_through_forms_links_and_presigned_puts(backend) {
        let t = TestApp::start(backend).await;
        let key = signup(&t).await;
        let (heic, avif) = (phone("iphone.heic"), phone("pixel.avif"));
        let form = reqwest::multipart::Form::new()
            .part("a", reqwest::multipart::Part::bytes(heic.clone()).file_name("IMG_0001.HEIC"))
            .part("b", reqwest::multipart::Part::bytes(avif.clone()).file_name("PXL_0002.avif"));
        let r = t.client.post(format!("{}/images", t.url)).header("x-api-key", &key).multipart(form).send().await.unwrap();
        assert_eq!(r.status(), 200);
        let answer: Value = r.json().await.unwrap();
        assert_eq!(answer["errors"], json!({}), "{answer}");
        for (name, format) in [("IMG_0001.HEIC", "heic"), ("PXL_0002.avif", "avif")] {
            let id = answer["ids"][name].as_i64().unwrap();
            let p = t.get_json(&format!("/images/{id}?data=false")).await;
            assert_eq!((p["format"].as_str(), p["status"].as_str()), (Some(format), Some("tagged")), "{name}");
        }
        // An upload link's form.
        let r = t.client.post(format!("{}/upload-links", t.url)).header("x-api-key", &key)
            .json(&json!({"expiry": 60})).send().await.unwrap();
        let link: Value = r.json().await.unwrap();
        let live = phone("live-photo.heic");
        let form = reqwest::multipart::Form::new()
            .part("f", reqwest::multipart::Part::bytes(live.clone()).file_name("IMG_0003.HEIC"));
        let r = t.client.post(format!("{}{}", t.url, link["url"].as_str().unwrap())).multipart(form).send().await.unwrap();
        assert_eq!(r.status(), 200);
        let answer: Value = r.json().await.unwrap();
        let id = answer["ids"]["IMG_0003.HEIC"].as_i64().unwrap();
        assert_eq!(t.get_json(&format!("/images/{id}?data=false")).await["format"], "heic");
        // Presigned PUTs, then the batch that registers them (another user's:
        // the form's copy is the first user's, and a batch de-duplicates).
        let key = signup(&t).await;
        let r = t.client.post(format!("{}/upload-urls", t.url)).header("x-api-key", &key)
            .json(&json!({"count": 1})).send().await.unwrap();
        let urls: Value = r.json().await.unwrap();
        let slot = &urls["image_upload_urls"][0];
        let url = slot["url"].as_str().unwrap();
        let url = if url.starts_with('/') { format!("{}{url}", t.url) } else { url.to_string() };
        let r = reqwest::Client::new().put(url).body(avif.clone()).send().await.unwrap();
        assert!(r.status().is_success(), "{}", r.text().await.unwrap());
        let batch = json!({"images": [{"image_id": slot["image_id"], "name": "pixel"}]});
        let r = t.client.post(format!("{}/images/batch", t.url)).header("x-api-key", &key).json(&batch).send().await.unwrap();
        assert_eq!(r.status(), 200);
        let answer: Value = r.json().await.unwrap();
        assert_eq!(answer["images"][0]["format"], "avif", "{answer}");
        let id = answer["images"][0]["id"].as_i64().unwrap();
        let (kind, file) = get_bytes(&t, Some(&key), &format!("/images/{id}/file")).await;
        assert_eq!(kind, "image/avif");
        assert!(file == avif);
    }

    async fn twelve_and_fifty_megapixel_jpegs_as_base64_json(backend) {
        let t = TestApp::start(backend).await;
        for (w, h) in [(4032, 3024), (8160, 6120)] {
            let jpeg = big_jpeg(w, h);
            let r = t.post_image(&jpeg, "").await;
            assert_eq!(r.status(), 201, "{w}x{h}: {}", r.text().await.unwrap());
            let p: Value = r.json().await.unwrap();
            assert_eq!((p["width"].as_u64(), p["height"].as_u64()), (Some(w as u64), Some(h as u64)));
            let id = p["id"].as_i64().unwrap();
            let (_, thumb) = get_bytes(&t, None, &format!("/images/{id}/thumbnail?size=512")).await;
            let thumb = image::load_from_memory(&thumb).unwrap().into_rgb8();
            assert_eq!(thumb.dimensions(), (512, 384), "{w}x{h}");
            let source = image::load_from_memory(&fixture("chelsea.png")).unwrap();
            assert!(difference(&thumb, &source) < 14.0, "{w}x{h}");
        }
    }
}

/// A phone-sized JPEG: the cat enlarged to `w` x `h` (stretched a little:
/// 3:2 into 4:3), with some grain so it compresses like a photo.
pub fn big_jpeg(w: u32, h: u32) -> Vec<u8> {
    let cat = image::load_from_memory(&fixture("chelsea.png")).unwrap();
    let mut big = cat
        .resize_exact(w, h, image::imageops::FilterType::Triangle)
        .into_rgb8();
    let mut seed = 0x2545_f491_u32;
    for p in big.pixels_mut() {
        seed ^= seed << 13;
        seed ^= seed >> 17;
        seed ^= seed << 5;
        let grain = (seed % 7) as i16 - 3;
        for c in p.0.iter_mut() {
            *c = (i16::from(*c) + grain).clamp(0, 255) as u8;
        }
    }
    let mut out = Vec::new();
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut Cursor::new(&mut out), 90)
        .encode_image(&big)
        .unwrap();
    out
}

//! The on-device tagger's figures, on one thread (`RAYON_NUM_THREADS=1`;
//! otherwise the classifier's networks run side by side):
//! `bench-tagger [MODEL_DIR] [OUT_DIR] [WEIGHTS_FILE]` prints model load
//! time, inference time, decode + preprocess time of a 12-megapixel JPEG,
//! and writes the ~500 KB photo the POST load test sends to
//! OUT_DIR/photo-500k.json. WEIGHTS_FILE names another classifier (such as
//! `efficientnet-lite0.safetensors` of `fetch-model.py lite0`) to compare.

use pictures::domain::ImageData;
use pictures::tagger::local::{Classifier, VARIANTS, WEIGHTS_FILE, decode_upright, prepare};
use std::io::Cursor;
use std::path::Path;
use std::time::{Duration, Instant};

fn median(mut samples: Vec<Duration>) -> Duration {
    samples.sort();
    samples[samples.len() / 2]
}

fn time<T>(runs: usize, mut f: impl FnMut() -> T) -> Duration {
    median(
        (0..runs)
            .map(|_| {
                let t = Instant::now();
                std::hint::black_box(f());
                t.elapsed()
            })
            .collect(),
    )
}

fn jpeg_of(img: &image::RgbImage, quality: u8) -> Vec<u8> {
    let mut out = Vec::new();
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut Cursor::new(&mut out), quality)
        .encode_image(img)
        .unwrap();
    out
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let model_dir = Path::new(args.get(1).map_or("data/models", |s| s.as_str())).to_path_buf();
    let out_dir = Path::new(args.get(2).map_or("data/bench", |s| s.as_str())).to_path_buf();
    let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/fixtures/images");

    let weights = model_dir.join(args.get(3).map_or(WEIGHTS_FILE, |s| s.as_str()));
    let load = time(5, || Classifier::load(&weights).unwrap());
    let model = Classifier::load(&weights).unwrap();
    println!(
        "model load ({}: read, fold batch norms)  median {load:>9.1?}",
        model.nets().join(" + ")
    );

    let chelsea = image::open(fixtures.join("chelsea.png")).unwrap().to_rgb8();
    let _ = model.classify(&chelsea);
    let inference = time(50, || model.classify(&chelsea));
    println!("inputs + inference of the cat              median {inference:>9.1?}");
    let sizes: Vec<usize> = VARIANTS
        .iter()
        .filter(|v| model.nets().contains(&v.name))
        .map(|v| v.size)
        .collect();

    let big = image::imageops::resize(&chelsea, 4000, 3000, image::imageops::FilterType::Triangle);
    let photo = ImageData::from_bytes(jpeg_of(&big, 90)).unwrap();
    let decode = time(10, || {
        let rgb = decode_upright(&photo).unwrap();
        sizes.iter().map(|&s| prepare(&rgb, s)).collect::<Vec<_>>()
    });
    println!(
        "decode + preprocess, 12 MP JPEG ({:.1} MB)  median {decode:>9.1?}",
        photo.len() as f64 / 1e6
    );
    let tagged = time(10, || model.classify(&decode_upright(&photo).unwrap()));
    println!("decode + preprocess + inference, 12 MP JPEG median {tagged:>9.1?}");

    let medium = image::imageops::resize(
        &chelsea,
        2000,
        1330,
        image::imageops::FilterType::CatmullRom,
    );
    let mut quality = 95;
    let mut bytes = jpeg_of(&medium, quality);
    while bytes.len() > 520_000 && quality > 50 {
        quality -= 2;
        bytes = jpeg_of(&medium, quality);
    }
    let photo = ImageData::from_bytes(bytes).unwrap();
    let whole = time(20, || model.classify(&decode_upright(&photo).unwrap()));
    println!(
        "decode + preprocess + inference, {} KB JPEG median {whole:>9.1?}",
        photo.len() / 1024
    );
    std::fs::create_dir_all(&out_dir).unwrap();
    let body = format!("{{\"data\":\"{}\"}}", pictures_base64(photo.bytes()));
    std::fs::write(out_dir.join("photo-500k.json"), body).unwrap();
}

fn pictures_base64(bytes: &[u8]) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

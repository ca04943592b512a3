//! What the confidence calibration costs, on one thread:
//! `bench-calibration [MODEL_DIR]` prints the SHA-256 check of the weights
//! at load, and the tags of one photo with and without the calibrated map,
//! next to the whole tagging of that photo.

use pictures::domain::ImageData;
use pictures::tagger::LocalTagger;
use pictures::tagger::local::WEIGHTS_FILE;
use std::path::Path;
use std::time::{Duration, Instant};

fn time<T>(runs: usize, mut f: impl FnMut() -> T) -> Duration {
    let mut samples: Vec<Duration> = (0..runs)
        .map(|_| {
            let t = Instant::now();
            std::hint::black_box(f());
            t.elapsed()
        })
        .collect();
    samples.sort();
    samples[samples.len() / 2]
}

fn main() {
    let model_dir = std::env::args().nth(1).unwrap_or("data/models".into());
    let model_dir = Path::new(&model_dir);
    let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/fixtures/images");

    let tagger = LocalTagger::load_with(model_dir, false).unwrap_or_else(|e| {
        eprintln!("{e}");
        std::process::exit(1);
    });
    let vocabulary = tagger.vocabulary();
    let weights = model_dir.join(WEIGHTS_FILE);
    let check = time(9, || vocabulary.calibration().check(&weights).unwrap());
    println!("SHA-256 check of the weights at load   median {check:>9.1?}");
    let load = time(5, || LocalTagger::load_with(model_dir, false).unwrap());
    println!("tagger load, with the check            median {load:>9.1?}");

    let photo =
        ImageData::from_bytes(std::fs::read(fixtures.join("chelsea.png")).unwrap()).unwrap();
    let p = tagger.classify(&photo).unwrap();
    let raw = time(200, || vocabulary.uncalibrated_tags(&p));
    let calibrated = time(200, || vocabulary.tags(&p));
    println!("tags of one image, summed only         median {raw:>9.1?}");
    println!("tags of one image, calibrated          median {calibrated:>9.1?}");
    let whole = time(20, || vocabulary.tags(&tagger.classify(&photo).unwrap()));
    println!(
        "decode + inference + calibrated tags   median {whole:>9.1?}  (calibration {:+.2}%)",
        (calibrated.as_secs_f64() - raw.as_secs_f64()) / whole.as_secs_f64() * 100.0
    );
}

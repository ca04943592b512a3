//! What one picture costs, phase by phase, on one thread:
//! `bench-picture PHOTO [MODEL_DIR]` prints the medians of 15 runs of each
//! step a picture goes through between its bytes and its tags: SHA-256, the
//! analysis (one decode at reduced scale, colours, perceptual hash), the
//! classifier's input, the classifier, and the people detectors on the
//! analysis's copy. `make bench-uploads` prints it for one of its photos.

use pictures::domain::ImageData;
use pictures::domain::analysis::facts_of;
use pictures::tagger::local::{EfficientNet, WEIGHTS_FILE, prepare};
use pictures::tagger::people::PeopleDetector;
use std::path::Path;
use std::time::Instant;

fn time<T>(name: &str, mut f: impl FnMut() -> T) -> f64 {
    let mut runs: Vec<f64> = (0..15)
        .map(|_| {
            let started = Instant::now();
            std::hint::black_box(f());
            started.elapsed().as_secs_f64() * 1e3
        })
        .collect();
    runs.sort_by(f64::total_cmp);
    println!("{name:<48} {:>6.1} ms", runs[7]);
    runs[7]
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let Some(photo) = args.get(1) else {
        eprintln!("usage: bench-picture PHOTO [MODEL_DIR]");
        std::process::exit(2);
    };
    let model_dir = Path::new(args.get(2).map_or("data/models", |s| s.as_str())).to_path_buf();
    let bytes = std::fs::read(photo).expect("the photo reads");
    let image = ImageData::from_bytes(bytes.clone()).expect("the photo is an image");
    let model = EfficientNet::load(&model_dir.join(WEIGHTS_FILE)).expect("make model");
    let people = PeopleDetector::load(&model_dir).expect("make model");
    let (w, h) = image.dimensions();
    let (_, small) = facts_of(&image, None).expect("the photo decodes");
    println!(
        "{photo}: {w}x{h}, {} KB; the analysis's copy {}x{}",
        bytes.len() / 1000,
        small.width(),
        small.height()
    );
    let mut total = time("SHA-256", || pictures::domain::pictures::sha256_hex(&bytes));
    total += time("analysis (decode, EXIF, colours, perceptual hash)", || {
        facts_of(&image, Some(String::new())).expect("decodes")
    });
    total += time("classifier input (crop, resize)", || prepare(&small));
    let input = prepare(&small);
    total += time("classifier", || model.classify(&input));
    total += time("people detectors (face and person)", || {
        people.detect(&small)
    });
    println!("{:<48} {total:>6.1} ms", "in all");
}

//! What one picture costs, phase by phase, on one thread:
//! `bench-picture PHOTO [MODEL_DIR]` prints the medians of 15 runs of each
//! step a picture goes through between its bytes and its tags: SHA-256, the
//! analysis (one decode at reduced scale, colours, perceptual hash), the
//! classifier (each network's input and the networks), and the people
//! detectors on the analysis's copy. `make bench-uploads` prints it for one
//! of its photos. One thread means `RAYON_NUM_THREADS=1` (the networks
//! otherwise run side by side).

use pictures::domain::ImageData;
use pictures::domain::analysis::facts_of;
use pictures::tagger::local::{Classifier, VARIANTS, WEIGHTS_FILE, prepare};
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
    let model = Classifier::load(&model_dir.join(WEIGHTS_FILE)).expect("make model");
    let people = PeopleDetector::load(&model_dir).expect("make model");
    let (w, h) = image.dimensions();
    let (_, small) = facts_of(&image, None).expect("the photo decodes");
    println!(
        "{photo}: {w}x{h}, {} KB; the analysis's copy {}x{}",
        bytes.len() / 1000,
        small.width(),
        small.height()
    );
    let mut total = time("SHA-256", || pictures::domain::sha256_hex(&bytes));
    total += time("analysis (decode, EXIF, colours, perceptual hash)", || {
        facts_of(&image, Some(String::new())).expect("decodes")
    });
    let sizes: Vec<usize> = VARIANTS
        .iter()
        .filter(|v| model.nets().contains(&v.name))
        .map(|v| v.size)
        .collect();
    time("  classifier inputs (crop, resize; counted below)", || {
        sizes
            .iter()
            .map(|&s| prepare(&small, s))
            .collect::<Vec<_>>()
    });
    total += time(
        &format!("classifier ({}, inputs included)", model.nets().join(" + ")),
        || model.classify(&small),
    );
    total += time("people detectors (face and person)", || {
        people.detect(&small)
    });
    println!("{:<48} {total:>6.1} ms", "in all");
}

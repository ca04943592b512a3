//! The people detectors' figures, on one thread: `bench-people [MODEL_DIR]`
//! prints what they find in each fixture photo, their load time, the time
//! per image (face and person detection, letterboxing included), and the
//! process's resident memory with the classifier and both detectors loaded.

use pictures::tagger::local::{Classifier, WEIGHTS_FILE};
use pictures::tagger::people::PeopleDetector;
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

fn rss(field: &str) -> String {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with(field))
                .map(|l| l[field.len()..].trim().to_string())
        })
        .unwrap_or_else(|| "?".into())
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let model_dir = Path::new(args.get(1).map_or("data/models", |s| s.as_str())).to_path_buf();
    let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/fixtures/images");

    let load = time(5, || PeopleDetector::load(&model_dir).unwrap());
    println!("detectors load (read, check)             median {load:>9.1?}");
    let classifier = Classifier::load(&model_dir.join(WEIGHTS_FILE)).unwrap();
    let detector = PeopleDetector::load(&model_dir).unwrap();

    for name in [
        "astronaut.png",
        "camera.png",
        "chelsea.png",
        "coffee.png",
        "rocket.jpg",
        "motorcycle_left.png",
        "logo.png",
    ] {
        let img = image::open(fixtures.join(name)).unwrap().to_rgb8();
        let people = detector.detect(&img);
        println!("{name} {}x{}", img.width(), img.height());
        for (kind, list) in [("face", &people.faces), ("body", &people.persons)] {
            for d in list {
                println!(
                    "  {kind} {:.4} [{:.1}, {:.1}, {:.1}, {:.1}]",
                    d.score, d.xmin, d.ymin, d.xmax, d.ymax
                );
            }
        }
        let tags: Vec<String> = people
            .tags()
            .iter()
            .map(|t| format!("{} {:.1}", t.name, t.confidence))
            .collect();
        println!("  tags: {}", tags.join(", "));
    }

    let astronaut = image::open(fixtures.join("astronaut.png"))
        .unwrap()
        .to_rgb8();
    let _ = detector.detect(&astronaut);
    let per_image = time(50, || detector.detect(&astronaut));
    println!("face + person detection, 512x512, one thread median {per_image:>9.1?}");
    let faces = time(50, || detector.faces(&astronaut));
    println!("  of which face detection (128x128)         median {faces:>9.1?}");
    let bodies = time(50, || detector.bodies(&astronaut));
    println!("  of which person detection (224x224)       median {bodies:>9.1?}");
    // Each detector's time by kind of op, summed over its graph (medians of
    // 50 runs).
    for (which, name) in [(0, "face"), (1, "person")] {
        let mut runs: Vec<Vec<(String, Duration)>> = (0..50)
            .map(|_| detector.profile(&astronaut)[which].clone())
            .collect();
        let labels: Vec<String> = runs[0].iter().map(|(l, _)| l.clone()).collect();
        let mut line = Vec::new();
        for label in labels {
            let per_run: Vec<Duration> = runs
                .iter_mut()
                .map(|r| {
                    r.iter()
                        .find(|(l, _)| *l == label)
                        .map_or(Duration::ZERO, |x| x.1)
                })
                .collect();
            let m = median(per_run);
            if m >= Duration::from_micros(50) {
                line.push(format!("{label} {:.2}", m.as_secs_f64() * 1e3));
            }
        }
        println!("  {name} detector's ops (ms): {}", line.join(", "));
    }
    let _ = classifier.classify(&astronaut);
    let classify = time(20, || classifier.classify(&astronaut));
    println!("(classifier on the same image              median {classify:>9.1?})");
    println!(
        "RSS with classifier and detectors loaded and run: {} (peak {})",
        rss("VmRSS:"),
        rss("VmHWM:")
    );
}

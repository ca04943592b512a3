//! The object detector's figures, on one thread: `bench-objects [MODEL_DIR]
//! [IMAGE...]` prints what it finds in each photo (the fixtures when none
//! is named), its load time, the time per picture (letterboxing, network
//! and decoding), where the network's time goes op by op, the face counts
//! of the people detectors on the same photos, and the process's resident
//! memory with the detector loaded.

use pictures::tagger::local::{Classifier, WEIGHTS_FILE};
use pictures::tagger::objects::ObjectDetector;
use pictures::tagger::people::PeopleDetector;
use std::path::{Path, PathBuf};
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

/// This thread's time on a CPU so far (the scheduler's own count, so a
/// busy machine's waiting is left out of it).
fn cpu_time() -> Duration {
    std::fs::read_to_string("/proc/thread-self/schedstat")
        .ok()
        .and_then(|s| s.split_whitespace().next()?.parse().ok())
        .map_or(Duration::ZERO, Duration::from_nanos)
}

/// Mean on-CPU time of `f` over `runs`.
fn cpu<T>(runs: u32, mut f: impl FnMut() -> T) -> Duration {
    let start = cpu_time();
    for _ in 0..runs {
        std::hint::black_box(f());
    }
    (cpu_time() - start) / runs
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
    let model_dir = PathBuf::from(args.get(1).map_or("data/models", |s| s.as_str()));
    let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/fixtures/images");
    let photos: Vec<PathBuf> = if args.len() > 2 {
        args[2..].iter().map(PathBuf::from).collect()
    } else {
        [
            "coffee.png",
            "motorcycle_left.png",
            "astronaut.png",
            "chelsea.png",
            "camera.png",
            "rocket.jpg",
            "group.jpg",
            "logo.png",
        ]
        .iter()
        .map(|n| fixtures.join(n))
        .collect()
    };

    let before = rss("VmRSS:");
    let load = time(5, || ObjectDetector::load(&model_dir).unwrap());
    println!("object detector load (read, check)        median {load:>9.1?}");
    let detector = ObjectDetector::load(&model_dir).unwrap();
    println!(
        "RSS before loading {before}, with the detector loaded {}",
        rss("VmRSS:")
    );
    let people = PeopleDetector::load(&model_dir).ok();
    let classifier = Classifier::load(&model_dir.join(WEIGHTS_FILE)).ok();

    for path in &photos {
        let img = image::open(path).unwrap().to_rgb8();
        let objects = detector.detect(&img);
        let name = path.file_name().unwrap().to_string_lossy();
        let faces = people.as_ref().map_or("-".into(), |p| {
            let near = p.faces(&img).len();
            format!("{} (short range alone {near})", p.detect(&img).faces.len())
        });
        println!("{name} {}x{}: faces {faces}", img.width(), img.height());
        for o in &objects {
            let b = o.bbox;
            println!(
                "  {} {:.1} [x {:.3} y {:.3} w {:.3} h {:.3}]",
                o.label, o.confidence, b.x, b.y, b.w, b.h
            );
        }
        let tags: Vec<String> = detector
            .tags(&objects)
            .iter()
            .filter(|t| t.confidence >= 50.0)
            .map(|t| format!("{} {:.0}", t.name, t.confidence))
            .collect();
        println!("  tags from 50: {}", tags.join(", "));
    }

    let img = image::open(&photos[0]).unwrap().to_rgb8();
    let _ = detector.detect(&img);
    let per_image = time(20, || detector.detect(&img));
    println!(
        "detection, {}x{}, one thread                median {per_image:>9.1?}",
        img.width(),
        img.height()
    );
    println!(
        "  on-CPU time per detection (mean of 20)   {:>9.1?}",
        cpu(20, || detector.detect(&img))
    );
    let mut runs: Vec<Vec<(String, Duration)>> = (0..20).map(|_| detector.profile(&img)).collect();
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
    println!("  network's ops (ms): {}", line.join(", "));
    if let Some(p) = &people {
        let _ = p.detect(&img);
        let t = time(20, || p.detect(&img));
        let c = cpu(20, || p.detect(&img));
        println!("(people detectors on the same image        median {t:>9.1?}, on-CPU {c:.1?})");
    }
    if let Some(c) = &classifier {
        let _ = c.classify(&img);
        let t = time(20, || c.classify(&img));
        let on = cpu(20, || c.classify(&img));
        println!("(classifier on the same image              median {t:>9.1?}, on-CPU {on:.1?})");
    }
    println!(
        "RSS with the detectors loaded and run: {} (peak {})",
        rss("VmRSS:"),
        rss("VmHWM:")
    );
}

//! The object detector's figures, on one thread: `bench-objects [MODEL_DIR]
//! [IMAGE...]` prints what it finds in each photo (the fixtures when none
//! is named), its load time, the time per picture (letterboxing, network
//! and decoding), where the network's time goes op by op, the face counts
//! of the people detectors on the same photos, and the process's resident
//! memory with the detector loaded. Then every model's load time and time
//! per picture on the first photo, and all of them one after the other:
//! on-CPU time (the scheduler's count, every thread of the process; run it
//! with `RAYON_NUM_THREADS=1` under `taskset -c 1` for one core), `ROUNDS`
//! rounds (default 7) of 10 runs each, the minimum and median of the
//! rounds' means.
//!
//! `OBJECTS_SIDE=384` runs the detector at that input side instead of 512;
//! `LONG_SIDE=384` first scales each photo to that long side, as the upload
//! path's analysis copy is (what the tagger is given).

use pictures::tagger::local::{Classifier, WEIGHTS_FILE};
use pictures::tagger::objects::{self, ObjectDetector};
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

/// The process's time on a CPU so far, all its threads (the classifier
/// runs its two networks on rayon's): the scheduler's own count, so a busy
/// machine's waiting is left out of it.
fn cpu_time() -> Duration {
    let Ok(tasks) = std::fs::read_dir("/proc/self/task") else {
        return Duration::ZERO;
    };
    tasks
        .filter_map(|t| std::fs::read_to_string(t.ok()?.path().join("schedstat")).ok())
        .filter_map(|s| s.split_whitespace().next()?.parse().ok())
        .map(Duration::from_nanos)
        .sum()
}

/// Mean on-CPU time of `f` over `runs`.
fn cpu<T>(runs: u32, mut f: impl FnMut() -> T) -> Duration {
    let start = cpu_time();
    for _ in 0..runs {
        std::hint::black_box(f());
    }
    (cpu_time() - start) / runs
}

/// Minimum and median of `rounds` means of `runs` on-CPU times.
fn cpu_rounds<T>(rounds: usize, runs: u32, mut f: impl FnMut() -> T) -> (Duration, Duration) {
    let mut means: Vec<Duration> = (0..rounds).map(|_| cpu(runs, &mut f)).collect();
    means.sort();
    (means[0], means[means.len() / 2])
}

/// A photo as the tagger gets it: scaled to `LONG_SIDE` when that is set
/// and the photo is larger.
fn open(path: &Path, long_side: Option<u32>) -> image::RgbImage {
    let img = image::open(path).unwrap().to_rgb8();
    match long_side {
        Some(side) if img.width().max(img.height()) > side => {
            pictures::analysis::scale_long_side(&img, side)
        }
        _ => img,
    }
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

    let side: usize = std::env::var("OBJECTS_SIDE")
        .ok()
        .map_or(objects::SIZE, |s| s.parse().unwrap());
    let long_side: Option<u32> = std::env::var("LONG_SIDE").ok().map(|s| s.parse().unwrap());
    let rounds: usize = std::env::var("ROUNDS")
        .ok()
        .map_or(7, |s| s.parse().unwrap());
    let before = rss("VmRSS:");
    let load = time(5, || ObjectDetector::load_at(&model_dir, side).unwrap());
    println!("object detector at {side} load (read, check)  median {load:>9.1?}");
    let detector = ObjectDetector::load_at(&model_dir, side).unwrap();
    println!(
        "RSS before loading {before}, with the detector loaded {}",
        rss("VmRSS:")
    );
    let people = PeopleDetector::load(&model_dir).ok();
    let classifier = Classifier::load(&model_dir.join(WEIGHTS_FILE)).ok();

    for path in &photos {
        let img = open(path, long_side);
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

    let img = open(&photos[0], long_side);
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

    // Every model: load and one picture, on-CPU.
    let ms = |d: Duration| d.as_secs_f64() * 1e3;
    let load_cpu = |f: &dyn Fn()| {
        let mut v: Vec<Duration> = (0..5).map(|_| cpu(1, f)).collect();
        v.sort();
        v[2]
    };
    println!(
        "on-CPU, {}x{}, {rounds} rounds of 10: load (median of 5) | per picture min / median",
        img.width(),
        img.height()
    );
    let weights = model_dir.join(WEIGHTS_FILE);
    let l = load_cpu(&|| drop(Classifier::load(&weights).unwrap()));
    let mut all = Duration::ZERO;
    if let Some(c) = &classifier {
        let (lo, mid) = cpu_rounds(rounds, 10, || c.classify(&img));
        all += mid;
        println!(
            "  classifier (Lite1 + Lite2)  load {:6.1} ms | {:6.1} / {:6.1} ms",
            ms(l),
            ms(lo),
            ms(mid)
        );
    }
    if let Some(p) = &people {
        let l = load_cpu(&|| drop(PeopleDetector::load(&model_dir).unwrap()));
        let (lo, mid) = cpu_rounds(rounds, 10, || p.detect(&img));
        all += mid;
        println!(
            "  people detectors            load {:6.1} ms | {:6.1} / {:6.1} ms",
            ms(l),
            ms(lo),
            ms(mid)
        );
    }
    let l = load_cpu(&|| drop(ObjectDetector::load_at(&model_dir, side).unwrap()));
    let (lo, mid) = cpu_rounds(rounds, 10, || detector.detect(&img));
    all += mid;
    println!(
        "  object detector at {side}      load {:6.1} ms | {:6.1} / {:6.1} ms",
        ms(l),
        ms(lo),
        ms(mid)
    );
    if let (Some(c), Some(p)) = (&classifier, &people) {
        let (lo, mid) = cpu_rounds(rounds, 10, || {
            (c.classify(&img), p.detect(&img), detector.detect(&img))
        });
        println!(
            "  all three, one after the other: {:6.1} / {:6.1} ms (sum of medians {:.1} ms)",
            ms(lo),
            ms(mid),
            ms(all)
        );
    }
}

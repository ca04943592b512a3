//! Times the upload-time image analysis on a 12-megapixel JPEG (rocket.jpg
//! enlarged to 4000x3000, quality 90, carrying canon.jpg's EXIF):
//!
//!     cargo run --release -p pictures-tools --bin bench-analysis [RUNS]
//!
//! Prints the median, fastest and slowest of RUNS (default 30) runs of each
//! step. Targets: EXIF + colours + hash within 10 ms on top of the decode,
//! a 256-pixel thumbnail within 30 ms. Run under `taskset -c 0` for the
//! one-core figure a Lambda with little memory gets.

use std::hint::black_box;
use std::io::Cursor;
use std::time::{Duration, Instant};

use image::codecs::jpeg::JpegEncoder;
use image::imageops::FilterType;
use image::{ImageDecoder, ImageEncoder};
use pictures::analysis::{decode_small, dominant_colors, perceptual_hash, read_exif, thumbnail};
use pictures::domain::ImageData;

const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../tests/fixtures");

fn main() {
    let runs: usize = std::env::args()
        .nth(1)
        .map(|s| s.parse().expect("RUNS is a number"))
        .unwrap_or(30);
    let photo = make_photo();
    let image = ImageData::from_bytes(photo).expect("the photo reads");
    let (w, h) = image.dimensions();
    println!(
        "{w}x{h} JPEG, {:.1} MB, {runs} runs per step, {} core(s) available",
        image.len() as f64 / 1e6,
        std::thread::available_parallelism().map_or(1, |n| n.get())
    );

    let small = decode_small(&image, 512).expect("the photo decodes");
    let exif = read_exif(image.bytes());
    assert!(exif.gps.is_some(), "the photo carries EXIF: {exif:?}");

    let rows = [
        (
            "decode_small(512)",
            time(runs, || {
                let _ = black_box(decode_small(&image, 512));
            }),
        ),
        (
            "read_exif",
            time(runs, || {
                let _ = black_box(read_exif(image.bytes()));
            }),
        ),
        (
            "dominant_colors(k=5)",
            time(runs, || {
                let _ = black_box(dominant_colors(&small, 5));
            }),
        ),
        (
            "perceptual_hash",
            time(runs, || {
                let _ = black_box(perceptual_hash(&small));
            }),
        ),
        (
            "thumbnail(256)",
            time(runs, || {
                let _ = black_box(thumbnail(&image, 256));
            }),
        ),
        (
            "(full decode, image crate)",
            time(runs.min(10), || {
                let _ = black_box(image::load_from_memory(image.bytes()));
            }),
        ),
    ];
    println!(
        "{:<28} {:>10} {:>10} {:>10}",
        "step", "median", "fastest", "slowest"
    );
    for (name, t) in &rows {
        println!(
            "{name:<28} {:>10} {:>10} {:>10}",
            ms(t.median),
            ms(t.fastest),
            ms(t.slowest)
        );
    }
    let analysis: Duration = rows[1..4].iter().map(|(_, t)| t.median).sum();
    println!(
        "EXIF + colours + hash: {} on top of the decode (target 10 ms); thumbnail {} (target 30 ms)",
        ms(analysis),
        ms(rows[4].1.median)
    );
}

/// rocket.jpg at 4000x3000, quality 90, with canon.jpg's EXIF block.
fn make_photo() -> Vec<u8> {
    let read =
        |p: &str| std::fs::read(format!("{FIXTURES}/{p}")).unwrap_or_else(|e| panic!("{p}: {e}"));
    let rocket = image::load_from_memory(&read("images/rocket.jpg")).expect("rocket.jpg decodes");
    let big = rocket
        .resize_exact(4000, 3000, FilterType::CatmullRom)
        .to_rgb8();
    let canon = read("exif/canon.jpg");
    let exif = image::codecs::jpeg::JpegDecoder::new(Cursor::new(&canon))
        .and_then(|mut d| d.exif_metadata())
        .expect("canon.jpg reads")
        .expect("canon.jpg has EXIF");
    let mut out = Vec::new();
    let mut encoder = JpegEncoder::new_with_quality(&mut out, 90);
    encoder.set_exif_metadata(exif).expect("JPEG carries EXIF");
    encoder
        .write_image(big.as_raw(), 4000, 3000, image::ExtendedColorType::Rgb8)
        .expect("the photo encodes");
    out
}

struct Timing {
    median: Duration,
    fastest: Duration,
    slowest: Duration,
}

fn time(runs: usize, mut f: impl FnMut()) -> Timing {
    f(); // warm caches and one-time set-up (the hasher's DCT plan)
    let mut t: Vec<Duration> = (0..runs.max(1))
        .map(|_| {
            let start = Instant::now();
            f();
            start.elapsed()
        })
        .collect();
    t.sort();
    Timing {
        median: t[t.len() / 2],
        fastest: t[0],
        slowest: t[t.len() - 1],
    }
}

fn ms(d: Duration) -> String {
    format!("{:.3} ms", d.as_secs_f64() * 1e3)
}

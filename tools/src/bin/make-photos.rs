//! Distinct photo-sized JPEGs for upload benchmarks (issue 12):
//!
//!     make-photos [COUNT=1000] [OUT_DIR=data/bench-photos] [TARGET_KB=500]
//!
//! Photo `i` is made from one of the fixture photos (tests/fixtures/images,
//! in turn): a crop whose place and size depend on `i`, enlarged to about
//! 2 megapixels, its colours shifted per channel by `i`, light sensor-like
//! noise added, and saved as JPEG at quality 90, about TARGET_KB each (the
//! size is nudged until it is within 10%). Every file is different bytes and
//! a different picture. Files already there are kept, so a second run is
//! instant; `photo-NNNN.jpg`.

use image::RgbImage;
use image::imageops::FilterType;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use std::path::{Path, PathBuf};

const SOURCES: [&str; 6] = [
    "chelsea.png",
    "coffee.png",
    "astronaut.png",
    "rocket.jpg",
    "motorcycle_left.png",
    "camera.png",
];

fn jpeg(img: &RgbImage, quality: u8) -> Vec<u8> {
    let mut out = Vec::new();
    image::codecs::jpeg::JpegEncoder::new_with_quality(
        &mut std::io::Cursor::new(&mut out),
        quality,
    )
    .encode_image(img)
    .expect("JPEG encodes");
    out
}

/// Photo `i` at `width` pixels wide.
fn render(source: &RgbImage, i: usize, width: u32) -> RgbImage {
    let mut rng = StdRng::seed_from_u64(i as u64);
    let (w, h) = source.dimensions();
    let share = rng.random_range(0.75..=1.0);
    let (cw, ch) = ((w as f64 * share) as u32, (h as f64 * share) as u32);
    let (x, y) = (rng.random_range(0..=w - cw), rng.random_range(0..=h - ch));
    let crop = image::imageops::crop_imm(source, x, y, cw, ch).to_image();
    let height = (u64::from(width) * u64::from(ch) / u64::from(cw)) as u32;
    let mut big = image::imageops::resize(&crop, width, height, FilterType::CatmullRom);
    let shift: [i16; 3] = std::array::from_fn(|_| rng.random_range(-24..=24));
    for p in big.pixels_mut() {
        for (v, s) in p.0.iter_mut().zip(shift) {
            let noise = rng.random_range(-4i16..=4);
            *v = (i16::from(*v) + s + noise).clamp(0, 255) as u8;
        }
    }
    big
}

fn make(source: &RgbImage, i: usize, target: usize, width: &mut u32) -> Vec<u8> {
    let mut bytes = jpeg(&render(source, i, *width), 90);
    for _ in 0..6 {
        let ratio = bytes.len() as f64 / target as f64;
        if (0.9..=1.1).contains(&ratio) {
            break;
        }
        // Size grows about with the pixel count.
        *width = ((f64::from(*width) / ratio.sqrt()) as u32).clamp(320, 6000);
        bytes = jpeg(&render(source, i, *width), 90);
    }
    bytes
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let count: usize = args.get(1).map_or(1000, |s| s.parse().expect("COUNT"));
    let out = PathBuf::from(args.get(2).map_or("data/bench-photos", String::as_str));
    let target = 1024
        * args
            .get(3)
            .map_or(500, |s| s.parse::<usize>().expect("TARGET_KB"));
    let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/fixtures/images");
    std::fs::create_dir_all(&out).expect("OUT_DIR");
    let sources: Vec<RgbImage> = SOURCES
        .iter()
        .map(|name| image::open(fixtures.join(name)).expect(name).to_rgb8())
        .collect();
    // Each source's width for the target size, found once, so every photo
    // starts from the same guess whatever the number of threads.
    let widths: Vec<u32> = sources
        .iter()
        .enumerate()
        .map(|(k, source)| {
            let mut width = 1700;
            make(source, k, target, &mut width);
            width
        })
        .collect();
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    let started = std::time::Instant::now();
    let sizes: Vec<usize> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..threads)
            .map(|t| {
                let (sources, out, widths) = (&sources, &out, &widths);
                s.spawn(move || {
                    let mut sizes = Vec::new();
                    for i in (t..count).step_by(threads) {
                        let path = out.join(format!("photo-{i:04}.jpg"));
                        if let Ok(meta) = std::fs::metadata(&path) {
                            sizes.push(meta.len() as usize);
                            continue;
                        }
                        let k = i % sources.len();
                        let bytes = make(&sources[k], i, target, &mut widths[k].clone());
                        let partial = path.with_extension("part");
                        std::fs::write(&partial, &bytes).expect("write");
                        std::fs::rename(&partial, &path).expect("rename");
                        sizes.push(bytes.len());
                    }
                    sizes
                })
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().unwrap())
            .collect()
    });
    let total: usize = sizes.iter().sum();
    println!(
        "{count} photos in {} ({:.1} MB, {:.0}–{:.0} KB, mean {:.0} KB) in {:.1?}",
        out.display(),
        total as f64 / 1e6,
        *sizes.iter().min().unwrap() as f64 / 1024.0,
        *sizes.iter().max().unwrap() as f64 / 1024.0,
        total as f64 / count as f64 / 1024.0,
        started.elapsed()
    );
}

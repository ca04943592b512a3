//! Image analysis as the service uses it at upload: EXIF read from real
//! files whose tags are known (tests/fixtures/exif, written by
//! scripts/make-exif-fixtures.py), the small decode that refuses broken
//! files, dominant colours, near-duplicate hashes and thumbnails.

use std::io::Cursor;

use image::{DynamicImage, GenericImageView, ImageFormat as Format, RgbImage, Rgba};
use pictures::analysis::*;
use pictures::domain::ImageData;

fn read(path: &str) -> Vec<u8> {
    let full = format!("{}/../tests/fixtures/{path}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read(&full).unwrap_or_else(|e| panic!("{full}: {e}"))
}

fn data(bytes: Vec<u8>) -> ImageData {
    ImageData::from_bytes(bytes).unwrap()
}

fn encode(img: &DynamicImage, format: Format) -> Vec<u8> {
    let mut out = Vec::new();
    img.write_to(&mut Cursor::new(&mut out), format).unwrap();
    out
}

fn assert_gps(got: Option<Gps>, lat: f64, lon: f64) {
    let gps = got.expect("a position");
    assert!(
        (gps.lat - lat).abs() < 1e-5 && (gps.lon - lon).abs() < 1e-5,
        "{gps:?}, expected ({lat}, {lon})"
    );
}

// ---- EXIF ----

#[test]
fn exif_of_a_camera_photo_in_every_container() {
    for file in ["exif/canon.jpg", "exif/canon.webp", "exif/canon.tif"] {
        let info = read_exif(&read(file));
        assert_eq!(
            info.camera.as_deref(),
            Some("Canon - Canon EOS 5D Mark IV"),
            "{file}"
        );
        // DateTimeOriginal, not the later DateTime the file also carries.
        assert_eq!(
            info.taken_at.as_deref(),
            Some("2023-07-14 09:30:15"),
            "{file}"
        );
        // 48°51'29.6"N 2°17'40.2"E
        assert_gps(info.gps, 48.858_222, 2.294_5);
    }
}

#[test]
fn exif_south_and_west_are_negative_and_fallbacks_apply() {
    let info = read_exif(&read("exif/south_west.jpg"));
    // Only a Model, only a DateTime.
    assert_eq!(info.camera.as_deref(), Some("DMC-FZ1000"));
    assert_eq!(info.taken_at.as_deref(), Some("2019-02-28 23:59:59"));
    // 22°54'30.0"S 43°11'47.5"W
    assert_gps(info.gps, -22.908_333, -43.196_528);
}

#[test]
fn exif_padding_is_trimmed_in_a_png() {
    let info = read_exif(&read("exif/padded.png"));
    assert_eq!(
        info.camera.as_deref(),
        Some("NIKON CORPORATION - NIKON D750")
    );
    assert_eq!(info.taken_at.as_deref(), Some("2021-12-31 18:05:00"));
    assert_eq!(info.gps, None);
}

#[test]
fn exif_malformed_values_are_none() {
    let info = read_exif(&read("exif/malformed.jpg"));
    assert_eq!(
        info,
        ExifInfo {
            camera: Some("Apple".to_string()),
            taken_at: None, // 30 February; a date with dashes
            gps: None,      // 95°N
        }
    );
}

#[test]
fn exif_absent_is_all_none() {
    for file in [
        "images/rocket.jpg",
        "images/chelsea.png",
        "images/no_time_for_that_tiny.gif",
    ] {
        assert_eq!(read_exif(&read(file)), ExifInfo::default(), "{file}");
    }
    // A TIFF's own DateTime tag is the EXIF one.
    assert_eq!(
        read_exif(&read("images/multipage_rgb.tif")),
        ExifInfo {
            taken_at: Some("2015-05-09 09:08:29".to_string()),
            ..ExifInfo::default()
        }
    );
    // A cut-off file: whatever is there is not EXIF.
    assert_eq!(
        read_exif(&read("exif/canon.jpg")[..40]),
        ExifInfo::default()
    );
}

// ---- decode_small ----

#[test]
fn decode_small_refuses_truncated_files() {
    let rocket = read("images/rocket.jpg");
    let png = read("images/chelsea.png");
    let cuts = [
        ("rocket.jpg, 2,000 bytes", rocket[..2_000].to_vec()),
        ("rocket.jpg, half", rocket[..rocket.len() / 2].to_vec()),
        ("rocket.jpg, 90%", rocket[..rocket.len() * 9 / 10].to_vec()),
        ("chelsea.png, half", png[..png.len() / 2].to_vec()),
    ];
    for (what, bytes) in cuts {
        let image = ImageData::from_bytes(bytes).expect("the header reads");
        for max_side in [64, 512, 4096] {
            assert!(
                decode_small(&image, max_side).is_err(),
                "{what} decoded at max_side {max_side}"
            );
        }
    }
}

#[test]
fn decode_small_reads_every_fixture_within_max_side() {
    let files = [
        ("images/rocket.jpg", (640, 427)),
        ("images/chelsea.png", (451, 300)),
        ("images/camera.png", (512, 512)),
        ("images/logo.png", (500, 500)),
        ("images/no_time_for_that_tiny.gif", (14, 25)),
        ("images/multipage_rgb.tif", (10, 10)),
        ("exif/canon.webp", (640, 427)),
        ("exif/canon.tif", (240, 160)),
    ];
    for (file, (w, h)) in files {
        let image = data(read(file));
        for max_side in [8, 100, 320, 512, 2048] {
            let small = decode_small(&image, max_side).unwrap_or_else(|e| panic!("{file}: {e}"));
            let (sw, sh) = small.dimensions();
            let expected_long = max_side.min(w.max(h));
            assert_eq!(sw.max(sh), expected_long, "{file} at {max_side}: {sw}x{sh}");
            // The aspect ratio survives (to a pixel of rounding).
            let expected_short = (f64::from(w.min(h)) * f64::from(expected_long)
                / f64::from(w.max(h)))
            .round() as u32;
            assert!(
                sw.min(sh).abs_diff(expected_short.max(1)) <= 1,
                "{file} at {max_side}: {sw}x{sh}"
            );
            assert_eq!(sw >= sh, w >= h, "{file}: orientation changed");
        }
    }
    assert!(decode_small(&data(read("images/rocket.jpg")), 0).is_err());
}

#[test]
fn decode_small_turns_photos_upright() {
    // The same JPEG data, once tagged Orientation 6 (turn 90° clockwise).
    let plain = decode_small(&data(read("images/rocket.jpg")), 512).unwrap();
    let tagged = decode_small(&data(read("exif/south_west.jpg")), 512).unwrap();
    assert_eq!(plain.dimensions(), (512, 342));
    assert_eq!(tagged, image::imageops::rotate90(&plain));
}

#[test]
fn decode_small_matches_a_full_decode() {
    // The scaled JPEG decode is a faithful picture, not just a completeness check.
    let bytes = read("images/rocket.jpg");
    let small = decode_small(&data(bytes.clone()), 160).unwrap();
    let mut full = image::load_from_memory(&bytes).unwrap().to_rgb8();
    // The photo is Adobe RGB: its profile is applied, to sRGB, either way.
    let mut jpeg = jpeg_decoder::Decoder::new(std::io::Cursor::new(&bytes));
    jpeg.read_info().unwrap();
    pictures::analysis::heif::to_srgb(&mut full, &jpeg.icc_profile().unwrap());
    let reference = image::imageops::resize(&full, 160, 107, image::imageops::FilterType::Triangle);
    assert_eq!(small.dimensions(), reference.dimensions());
    let mean_abs: f64 = small
        .as_raw()
        .iter()
        .zip(reference.as_raw())
        .map(|(&a, &b)| f64::from(a.abs_diff(b)))
        .sum::<f64>()
        / small.as_raw().len() as f64;
    assert!(mean_abs < 6.0, "mean absolute difference {mean_abs}");
}

// ---- dominant colours ----

/// 50% #ff0000, 30% #00ff00, 20% #0000ff, in stripes.
fn three_colours() -> RgbImage {
    RgbImage::from_fn(200, 100, |x, _| match x {
        0..100 => image::Rgb([255, 0, 0]),
        100..160 => image::Rgb([0, 255, 0]),
        _ => image::Rgb([0, 0, 255]),
    })
}

#[test]
fn dominant_colours_of_flat_areas_are_exact() {
    let img = three_colours();
    for k in [3, 5, 16] {
        let colors = dominant_colors(&img, k);
        let hexes: Vec<String> = colors.iter().map(Color::hex).collect();
        assert_eq!(hexes, ["#ff0000", "#00ff00", "#0000ff"], "k={k}");
        for (c, expected) in colors.iter().zip([0.5, 0.3, 0.2]) {
            assert!((c.fraction - expected).abs() < 0.02, "k={k}: {colors:?}");
        }
        let sum: f64 = colors.iter().map(|c| c.fraction).sum();
        assert!((sum - 1.0).abs() < 1e-9);
        let counts: u64 = colors.iter().map(|c| c.count).sum();
        assert!(
            (9_000..=10_000).contains(&counts),
            "{counts} sampled pixels"
        );
    }
    // Asked for fewer colours than there are, the biggest areas absorb the rest.
    let two = dominant_colors(&img, 2);
    assert_eq!(two.len(), 2);
    assert_eq!(
        two[0].count + two[1].count,
        dominant_colors(&img, 3)
            .iter()
            .map(|c| c.count)
            .sum::<u64>()
    );
}

#[test]
fn dominant_colours_are_deterministic() {
    let img = three_colours();
    assert_eq!(dominant_colors(&img, 5), dominant_colors(&img, 5));
    let chelsea = decode_small(&data(read("images/chelsea.png")), 512).unwrap();
    let first = dominant_colors(&chelsea, 6);
    assert_eq!(first.len(), 6, "{first:?}");
    for _ in 0..3 {
        assert_eq!(dominant_colors(&chelsea, 6), first);
    }
    // Ordered by count, shares summing to one.
    assert!(first.windows(2).all(|w| w[0].count >= w[1].count));
    let sum: f64 = first.iter().map(|c| c.fraction).sum();
    assert!((sum - 1.0).abs() < 1e-9);
}

// ---- near duplicates ----

const PHOTOS: [&str; 7] = [
    "astronaut.png",
    "camera.png",
    "chelsea.png",
    "coffee.png",
    "motorcycle_left.png",
    "rocket.jpg",
    "logo.png",
];

/// As the service hashes an upload.
fn hash_of(bytes: Vec<u8>) -> u64 {
    perceptual_hash(&decode_small(&data(bytes), 512).unwrap())
}

/// The edits a re-upload typically went through, each encoded as a file.
/// The crop takes 1.5% off each edge (3% of each dimension in total).
fn edited_copies(bytes: &[u8]) -> Vec<(&'static str, Vec<u8>)> {
    let img = image::load_from_memory(bytes).unwrap();
    let (w, h) = img.dimensions();
    let resized = img.resize_exact(w / 2, h / 2, image::imageops::FilterType::Triangle);
    // JPEG has no alpha: flatten onto white as decode_small does.
    let recompressed = {
        let mut out = Vec::new();
        let rgb = decode_small(&data(bytes.to_vec()), u32::MAX).unwrap();
        image::codecs::jpeg::JpegEncoder::new_with_quality(&mut Cursor::new(&mut out), 60)
            .encode_image(&rgb)
            .unwrap();
        out
    };
    let crop = |per_mille: u32| {
        let (dx, dy) = (w * per_mille / 1000, h * per_mille / 1000);
        encode(&img.crop_imm(dx, dy, w - 2 * dx, h - 2 * dy), Format::Png)
    };
    let mut brightened = img.to_rgba8();
    for Rgba([r, g, b, _]) in brightened.pixels_mut() {
        for c in [r, g, b] {
            *c = (f32::from(*c) * 1.2).round().min(255.0) as u8;
        }
    }
    vec![
        ("resized 50%", encode(&resized, Format::Png)),
        ("JPEG quality 60", recompressed),
        ("cropped 1.5% each edge", crop(15)),
        (
            "brightened 20%",
            encode(&DynamicImage::ImageRgba8(brightened), Format::Png),
        ),
        // Beyond what the hash promises: shown, not asserted.
        ("(cropped 3% each edge)", crop(30)),
    ]
}

#[test]
fn near_duplicates_hash_close_and_different_photos_far() {
    let originals: Vec<(&str, Vec<u8>)> = PHOTOS
        .iter()
        .map(|&name| (name, read(&format!("images/{name}"))))
        .collect();
    let hashes: Vec<u64> = originals.iter().map(|(_, b)| hash_of(b.clone())).collect();

    let short = |name: &str| name.split('.').next().unwrap_or(name).to_string();
    let mut report = format!("distance between photos:\n{:>20}", "");
    for name in PHOTOS {
        report += &format!("{:>11.10}", short(name));
    }
    let mut closest_pair = u32::MAX;
    for (i, a) in PHOTOS.iter().enumerate() {
        report += &format!("\n{a:>20}");
        for (j, _) in PHOTOS.iter().enumerate() {
            let d = hamming(hashes[i], hashes[j]);
            report += &format!("{d:>11}");
            if i != j {
                closest_pair = closest_pair.min(d);
            }
        }
    }
    report += "\n\ndistance of each edited copy from its original:\n";
    let mut farthest_copy = 0;
    for ((name, bytes), &original) in originals.iter().zip(&hashes) {
        report += &format!("{name:>20}:");
        for (edit, copy) in edited_copies(bytes) {
            let d = hamming(original, hash_of(copy));
            if !edit.starts_with('(') {
                farthest_copy = farthest_copy.max(d);
            }
            report += &format!("  {edit} {d}");
        }
        report += "\n";
    }
    report += &format!(
        "closest different photos: {closest_pair}; farthest edited copy: {farthest_copy}\n"
    );
    println!("{report}");
    assert!(
        farthest_copy <= NEAR_DUPLICATE_BITS && closest_pair > NEAR_DUPLICATE_BITS,
        "{report}"
    );
}

// ---- thumbnails ----

#[test]
fn thumbnails_are_small_upright_jpegs() {
    for (file, size, expected) in [
        ("images/rocket.jpg", 256, (256, 171)),
        ("images/rocket.jpg", 64, (64, 43)),
        // Never enlarged.
        ("images/rocket.jpg", 1024, (640, 427)),
        ("exif/south_west.jpg", 256, (171, 256)),
        ("images/logo.png", 128, (128, 128)),
        ("images/no_time_for_that_tiny.gif", 64, (14, 25)),
        ("images/multipage_rgb.tif", 64, (10, 10)),
    ] {
        let jpeg = thumbnail(&data(read(file)), size).unwrap_or_else(|e| panic!("{file}: {e}"));
        assert_eq!(image::guess_format(&jpeg).unwrap(), Format::Jpeg, "{file}");
        let decoded = image::load_from_memory_with_format(&jpeg, Format::Jpeg).unwrap();
        assert_eq!(decoded.dimensions(), expected, "{file} at {size}");
    }
    let rocket = data(read("images/rocket.jpg"));
    assert!(thumbnail(&rocket, 63).is_err());
    assert!(thumbnail(&rocket, 1025).is_err());
    let cut = ImageData::from_bytes(read("images/rocket.jpg")[..2_000].to_vec()).unwrap();
    assert!(thumbnail(&cut, 256).is_err());
}

//! The on-device model's raw outputs for every image of a folder, for
//! fitting and checking the confidence calibration (scripts/calibrate.py):
//! `tagger-logits IMAGE_DIR OUT.json [MODEL_DIR [WEIGHTS_FILE]]`.
//!
//! Writes `{"nets": [names], "images": [{"file", "log_probabilities": [1000
//! numbers], "nets": [[1000 numbers] per network]}]}`, the images in
//! file-name order. Log-probabilities are the logs of the classifier's
//! probabilities (the networks' mean), so a softmax of them is its own
//! output; each network's own are beside them, for comparing ensembles. The
//! un-calibrated classifier is what is measured, through the tagger's own
//! decoding and preprocessing. `LONG_SIDE=384` first scales each image to
//! that long side, as the upload path's analysis copy is; `FLIP=1` mirrors
//! it; `SIDES=272,292` gives each network another input side.

use pictures::domain::ImageData;
use pictures::tagger::local::{Classifier, WEIGHTS_FILE, decode_upright};
use std::io::Write;
use std::path::Path;

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let (Some(images), Some(out)) = (args.get(1), args.get(2)) else {
        eprintln!("usage: tagger-logits IMAGE_DIR OUT.json [MODEL_DIR]");
        std::process::exit(2);
    };
    let model_dir = Path::new(args.get(3).map_or("data/models", |s| s.as_str()));
    let weights = args.get(4).map_or(WEIGHTS_FILE, |s| s.as_str());
    let model = Classifier::load(&model_dir.join(weights)).unwrap_or_else(|e| {
        eprintln!("{e} (run `make model`)");
        std::process::exit(1);
    });
    let long_side: Option<u32> = std::env::var("LONG_SIDE").ok().map(|s| s.parse().unwrap());
    let flip = std::env::var("FLIP").is_ok_and(|s| s == "1");
    // SIDES=272,292: each network's input side, in the order of its nets.
    let sides: Option<Vec<usize>> = std::env::var("SIDES")
        .ok()
        .map(|s| s.split(',').map(|x| x.parse().unwrap()).collect());

    let mut files: Vec<_> = std::fs::read_dir(images)
        .unwrap_or_else(|e| panic!("{images}: {e}"))
        .map(|e| e.unwrap().path())
        .filter(|p| {
            p.extension().and_then(|e| e.to_str()).is_some_and(|e| {
                ["jpeg", "jpg", "png", "gif", "webp", "bmp", "tif", "tiff"]
                    .contains(&e.to_ascii_lowercase().as_str())
            })
        })
        .collect();
    files.sort();

    let mut json = format!(
        "{{\"nets\":{},\"images\":[",
        serde_json::to_string(&model.nets()).unwrap()
    );
    for (i, path) in files.iter().enumerate() {
        let bytes = std::fs::read(path).unwrap();
        let image =
            ImageData::from_bytes(bytes).unwrap_or_else(|e| panic!("{}: {e:?}", path.display()));
        let mut rgb = decode_upright(&image).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        if let Some(side) = long_side.filter(|&s| rgb.width().max(rgb.height()) > s) {
            rgb = pictures::analysis::scale_long_side(&rgb, side);
        }
        if flip {
            image::imageops::flip_horizontal_in_place(&mut rgb);
        }
        let each = match &sides {
            Some(sides) => model.classify_each_at(&rgb, sides),
            None => model.classify_each(&rgb),
        };
        let mean: Vec<f32> = (0..each[0].len())
            .map(|c| each.iter().map(|p| p[c]).sum::<f32>() / each.len() as f32)
            .collect();
        // ln of an underflowed probability is -inf, which JSON cannot carry;
        // the smallest positive f32 stands in (it is < e^-100, nothing counts).
        let logs = |p: &[f32]| {
            p.iter()
                .map(|&q| format!("{:.6}", f64::from(q.max(f32::from_bits(1))).ln()))
                .collect::<Vec<String>>()
                .join(",")
        };
        let logp = logs(&mean);
        let nets: Vec<String> = each.iter().map(|p| format!("[{}]", logs(p))).collect();
        if i > 0 {
            json.push(',');
        }
        let name = path.file_name().unwrap().to_string_lossy();
        json.push_str(&format!(
            "\n{{\"file\":{},\"log_probabilities\":[{logp}],\"nets\":[{}]}}",
            serde_json::to_string(&name).unwrap(),
            nets.join(",")
        ));
        if (i + 1) % 100 == 0 {
            eprintln!("{} / {}", i + 1, files.len());
        }
    }
    json.push_str("\n]}\n");
    std::fs::File::create(out)
        .and_then(|mut f| f.write_all(json.as_bytes()))
        .unwrap_or_else(|e| panic!("{out}: {e}"));
    eprintln!("{} images -> {out}", files.len());
}

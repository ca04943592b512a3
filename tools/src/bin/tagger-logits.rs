//! The on-device model's raw outputs for every image of a folder, for
//! fitting and checking the confidence calibration (scripts/calibrate.py):
//! `tagger-logits IMAGE_DIR OUT.json [MODEL_DIR]`.
//!
//! Writes `{"images": [{"file", "log_probabilities": [1000 numbers]}]}`, the
//! images in file-name order. Log-probabilities are the logits less their
//! log-sum-exp, so a softmax of them is the model's own output. The
//! un-calibrated network is what is measured, through the tagger's own
//! decoding and preprocessing.

use pictures::domain::ImageData;
use pictures::tagger::local::{EfficientNet, WEIGHTS_FILE, decode_upright, prepare};
use std::io::Write;
use std::path::Path;

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let (Some(images), Some(out)) = (args.get(1), args.get(2)) else {
        eprintln!("usage: tagger-logits IMAGE_DIR OUT.json [MODEL_DIR]");
        std::process::exit(2);
    };
    let model_dir = Path::new(args.get(3).map_or("data/models", |s| s.as_str()));
    let model = EfficientNet::load(&model_dir.join(WEIGHTS_FILE)).unwrap_or_else(|e| {
        eprintln!("{e} (run `make model`)");
        std::process::exit(1);
    });

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

    let mut json = String::from("{\"images\":[");
    for (i, path) in files.iter().enumerate() {
        let bytes = std::fs::read(path).unwrap();
        let image =
            ImageData::from_bytes(bytes).unwrap_or_else(|e| panic!("{}: {e:?}", path.display()));
        let rgb = decode_upright(&image).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let p = model.classify(&prepare(&rgb));
        // ln of an underflowed probability is -inf, which JSON cannot carry;
        // the smallest positive f32 stands in (it is < e^-100, nothing counts).
        let logp: Vec<String> = p
            .iter()
            .map(|&q| format!("{:.6}", f64::from(q.max(f32::from_bits(1))).ln()))
            .collect();
        if i > 0 {
            json.push(',');
        }
        let name = path.file_name().unwrap().to_string_lossy();
        json.push_str(&format!(
            "\n{{\"file\":{},\"log_probabilities\":[{}]}}",
            serde_json::to_string(&name).unwrap(),
            logp.join(",")
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

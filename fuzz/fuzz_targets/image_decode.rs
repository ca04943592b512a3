//! Raw image bytes through sniffing and the on-device tagger's decoding and
//! preprocessing, the way an upload reaches them.
#![no_main]

use libfuzzer_sys::fuzz_target;
use pictures::domain::ImageData;
use pictures::tagger::local::preprocess::{decode_upright, prepare};

fuzz_target!(|data: &[u8]| {
    let Ok(image) = ImageData::from_bytes(data.to_vec()) else {
        return;
    };
    if let Ok(rgb) = decode_upright(&image) {
        assert_eq!(prepare(&rgb).len(), 3 * 224 * 224);
    }
});

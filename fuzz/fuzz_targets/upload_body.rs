//! The upload body: JSON, base64, image sniffing and header checks.
#![no_main]

use libfuzzer_sys::fuzz_target;
use pictures::http::parse_upload_body;

fuzz_target!(|data: &[u8]| {
    if let Ok(image) = parse_upload_body(data) {
        let (width, height) = image.dimensions();
        assert!(width > 0 && height > 0);
        assert!(u64::from(width) * u64::from(height) <= 100_000_000);
    }
});

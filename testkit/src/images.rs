//! Images made for a test: distinct small PNGs, and headers that promise
//! more pixels than they carry.

/// A small PNG of its own for each `n`: distinct bytes, distinct pictures.
pub fn distinct_png(n: u32) -> Vec<u8> {
    let img = image::RgbImage::from_fn(8, 8, |x, y| {
        image::Rgb([(n * 37 % 256) as u8, (x * 30) as u8, (y * 30 + n) as u8])
    });
    let mut out = Vec::new();
    img.write_to(&mut std::io::Cursor::new(&mut out), image::ImageFormat::Png)
        .unwrap();
    out
}

/// A PNG that is all header: it declares `width` x `height` pixels and
/// holds none, the way a decompression bomb starts.
pub fn png_declaring(width: u32, height: u32) -> Vec<u8> {
    let mut png = b"\x89PNG\r\n\x1a\n".to_vec();
    let mut ihdr = b"IHDR".to_vec();
    ihdr.extend_from_slice(&width.to_be_bytes());
    ihdr.extend_from_slice(&height.to_be_bytes());
    ihdr.extend_from_slice(&[8, 2, 0, 0, 0]); // 8-bit RGB
    png.extend_from_slice(&13u32.to_be_bytes());
    png.extend_from_slice(&ihdr);
    png.extend_from_slice(&crc32fast::hash(&ihdr).to_be_bytes());
    // One IDAT holding an empty zlib stream: the header reads, no pixel does.
    let idat = b"IDAT\x78\x9c\x03\x00\x00\x00\x00\x01";
    png.extend_from_slice(&8u32.to_be_bytes());
    png.extend_from_slice(idat);
    png.extend_from_slice(&crc32fast::hash(idat).to_be_bytes());
    png.extend_from_slice(&[0, 0, 0, 0]);
    png.extend_from_slice(b"IEND");
    png.extend_from_slice(&crc32fast::hash(b"IEND").to_be_bytes());
    png
}

//! The image formats the service takes, told apart by their bytes.

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ImageFormat {
    Jpeg,
    Png,
    Gif,
    WebP,
    Bmp,
    Tiff,
    /// HEIF with HEVC pictures: `.heic`, `.heif`.
    Heic,
    Avif,
}

impl ImageFormat {
    pub(super) fn from_image(f: image::ImageFormat) -> Option<Self> {
        use image::ImageFormat as F;
        Some(match f {
            F::Jpeg => Self::Jpeg,
            F::Png => Self::Png,
            F::Gif => Self::Gif,
            F::WebP => Self::WebP,
            F::Bmp => Self::Bmp,
            F::Tiff => Self::Tiff,
            _ => return None,
        })
    }

    /// The `image` crate's format, for those it decodes (HEIF's are
    /// `analysis::heif`'s).
    pub fn to_image(self) -> Option<image::ImageFormat> {
        use image::ImageFormat as F;
        Some(match self {
            Self::Jpeg => F::Jpeg,
            Self::Png => F::Png,
            Self::Gif => F::Gif,
            Self::WebP => F::WebP,
            Self::Bmp => F::Bmp,
            Self::Tiff => F::Tiff,
            Self::Heic | Self::Avif => return None,
        })
    }

    /// The file extension stored files get.
    pub fn extension(self) -> &'static str {
        match self {
            Self::Jpeg => "jpg",
            Self::Png => "png",
            Self::Gif => "gif",
            Self::WebP => "webp",
            Self::Bmp => "bmp",
            Self::Tiff => "tif",
            Self::Heic => "heic",
            Self::Avif => "avif",
        }
    }

    pub fn mime(self) -> &'static str {
        match self {
            Self::Jpeg => "image/jpeg",
            Self::Png => "image/png",
            Self::Gif => "image/gif",
            Self::WebP => "image/webp",
            Self::Bmp => "image/bmp",
            Self::Tiff => "image/tiff",
            Self::Heic => "image/heic",
            Self::Avif => "image/avif",
        }
    }

    /// The lower-case name the API shows and filters on (`jpeg`, `png`...).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Jpeg => "jpeg",
            Self::Png => "png",
            Self::Gif => "gif",
            Self::WebP => "webp",
            Self::Bmp => "bmp",
            Self::Tiff => "tiff",
            Self::Heic => "heic",
            Self::Avif => "avif",
        }
    }

    /// From [`ImageFormat::as_str`], any case; `jpg`, `tif` and `heif` too.
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s.trim().to_ascii_lowercase().as_str() {
            "jpeg" | "jpg" => Self::Jpeg,
            "png" => Self::Png,
            "gif" => Self::Gif,
            "webp" => Self::WebP,
            "bmp" => Self::Bmp,
            "tiff" | "tif" => Self::Tiff,
            "heic" | "heif" => Self::Heic,
            "avif" => Self::Avif,
            _ => return None,
        })
    }

    pub fn name(self) -> &'static str {
        match self {
            Self::Jpeg => "JPEG",
            Self::Png => "PNG",
            Self::Gif => "GIF",
            Self::WebP => "WebP",
            Self::Bmp => "BMP",
            Self::Tiff => "TIFF",
            Self::Heic => "HEIC",
            Self::Avif => "AVIF",
        }
    }
}

//! The tagger port: what is in a picture, with confidences in 0..=100.

use async_trait::async_trait;
use image::RgbImage;
use std::sync::Arc;

use crate::domain::{ImageData, Tag};

mod graph;
mod imagga;
// The numeric kernels, at their old paths.
pub use pictures_kernels::{dense, depthwise, quantized};
pub mod local;
pub mod objects;
pub mod people;

pub use crate::domain::TaggerError;
pub use imagga::{ImageKitConfig, ImaggaConfig, ImaggaTagger, Staging};
pub use local::LocalTagger;
pub use objects::{BoundingBox, DetectedObject};

/// What a tagger says of an image.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Tagging {
    /// Every tag it sees, unfiltered; the caller applies the threshold.
    pub tags: Vec<Tag>,
    /// Faces seen, when the tagger looks for them.
    pub faces: Option<u32>,
    /// Each thing the object detector found and where, best first; empty
    /// when the tagger has no detector. Unfiltered like `tags`.
    pub objects: Vec<DetectedObject>,
}

#[async_trait]
pub trait Tagger: Send + Sync {
    async fn tag(&self, image: &ImageData) -> Result<Tagging, TaggerError>;

    /// The same, given a copy already decoded upright (the analysis's,
    /// `domain::analysis::ANALYSIS_SIDE` on its long side unless the image
    /// is smaller): a
    /// tagger that reads pixels uses it instead of decoding the file again.
    async fn tag_decoded(
        &self,
        image: &ImageData,
        _decoded: Arc<RgbImage>,
    ) -> Result<Tagging, TaggerError> {
        self.tag(image).await
    }
}

/// The tagger of functions that never tag (the read-only endpoints), so they
/// neither load a model nor need credentials.
pub struct NoTagger;

#[async_trait]
impl Tagger for NoTagger {
    async fn tag(&self, _: &ImageData) -> Result<Tagging, TaggerError> {
        Err(TaggerError::Failed("this function has no tagger".into()))
    }
}

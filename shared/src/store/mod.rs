//! The image store port: where uploaded files live. `pictures.path` holds
//! whatever location the store hands back (an absolute path, `s3://...`).

use async_trait::async_trait;
use rand::Rng as _;

use crate::domain::ImageData;

mod folder;
mod s3;

pub use folder::FolderStore;
pub use s3::S3Store;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The location names no file (it was removed behind the service's back).
    #[error("no stored file at {0}")]
    NotFound(String),
    #[error("image store unavailable: {0}")]
    Unavailable(String),
}

#[async_trait]
pub trait ImageStore: Send + Sync {
    /// Stores the image under a new random name, never replacing a file, and
    /// returns its location. A failed put leaves nothing behind.
    async fn put(&self, image: &ImageData) -> Result<String, StoreError>;
    async fn get(&self, location: &str) -> Result<Vec<u8>, StoreError>;
    /// The size in bytes, for rows recorded before sizes were.
    async fn size(&self, location: &str) -> Result<u64, StoreError>;
    async fn delete(&self, location: &str) -> Result<(), StoreError>;
}

/// A new random file name: 128 bits, so names never repeat in practice, and
/// the store still refuses to overwrite if one ever did.
pub fn random_name(extension: &str) -> String {
    let n: u128 = rand::rng().random();
    format!("{n:032x}.{extension}")
}

//! The image store port: where uploaded files live. `pictures.path` holds
//! whatever location the store hands back (an absolute path, `s3://...`).

use async_trait::async_trait;
use rand::Rng as _;

use crate::domain::ImageData;
pub use crate::domain::StoreError;

mod folder;
mod s3;

pub use folder::FolderStore;
pub use s3::{S3Settings, S3Store};

#[cfg(test)]
mod tests {
    #[test]
    fn store_names() {
        use super::is_store_name as n;
        assert!(n("0123456789abcdef0123456789abcdef.jpg"));
        assert!(n(".tmp-0123456789abcdef0123456789abcdef.part"));
        assert!(!n("0123456789abcdef0123456789abcde.jpg"), "31 digits");
        assert!(!n("0123456789abcdef0123456789abcdef"), "no extension");
        assert!(!n("README.md"));
        assert!(!n("chelsea.png"));
        assert_eq!(super::file_name("/data/images/a.jpg"), "a.jpg");
        assert_eq!(super::file_name("s3://b/images/a.jpg"), "a.jpg");
        assert_eq!(super::file_name("a.jpg"), "a.jpg");
    }

    #[test]
    fn file_kinds() {
        use super::FileKind as K;
        let h = "0123456789abcdef0123456789abcdef";
        assert_eq!(
            K::of(&format!("{h}.jpg")),
            Some(K::Original { stem: h.into() })
        );
        assert_eq!(
            K::of(&format!("derived/{h}/t256.jpg")),
            Some(K::Derived { stem: h.into() })
        );
        assert_eq!(
            K::of(&format!("uploads/{h}")),
            Some(K::Slot { image_id: h.into() })
        );
        assert_eq!(K::of(&format!("uploads/.tmp-{h}.part")), Some(K::Partial));
        assert_eq!(
            K::of(&format!("derived/{h}/.tmp-{h}.part")),
            Some(K::Partial)
        );
        assert_eq!(K::of(&format!(".tmp-{h}.part")), Some(K::Partial));
        for other in [
            "README.md",
            "derived/x/t256.jpg",
            "uploads/notes.txt",
            &format!("a/{h}.jpg"),
            "derived",
        ] {
            assert_eq!(K::of(other), None, "{other}");
        }
    }
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
    /// Every file this store wrote, at every depth: pictures' files, the
    /// files made from them, upload slots' objects and leftover temporary
    /// files, for the orphan sweep; anything else in the folder or bucket is
    /// never listed, so never touched ([`FileKind::of`]).
    async fn list(&self) -> Result<Vec<StoredFile>, StoreError>;

    /// A file made from the one at `location` (a thumbnail: `suffix`
    /// `t256.jpg`), if it was made before.
    async fn get_derived(
        &self,
        location: &str,
        suffix: &str,
    ) -> Result<Option<Vec<u8>>, StoreError>;
    /// Keeps a file made from the one at `location`; a second put of the
    /// same suffix replaces it with the same content.
    async fn put_derived(
        &self,
        location: &str,
        suffix: &str,
        bytes: &[u8],
    ) -> Result<(), StoreError>;
    /// Removes every file made from the one at `location`.
    async fn delete_derived(&self, location: &str) -> Result<(), StoreError>;
    /// Where the file made from the one at `location` with `suffix` is
    /// kept: a location `get` and `presigned_get` take.
    fn derived_location(&self, location: &str, suffix: &str) -> String;

    /// A URL that lets anyone GET the file for `ttl_secs`, where the store
    /// can sign one (S3); `None` where the service serves the bytes itself.
    async fn presigned_get(
        &self,
        location: &str,
        ttl_secs: i64,
    ) -> Result<Option<String>, StoreError>;

    /// Where an upload slot's object goes (`uploads/<id>`), outside the files
    /// the sweep lists.
    fn slot_location(&self, image_id: &str) -> String;
    /// A URL that lets anyone PUT the slot's object for `ttl_secs`, where the
    /// store can sign one (S3); `None` where the service takes the PUT itself.
    async fn presigned_put(
        &self,
        location: &str,
        ttl_secs: i64,
    ) -> Result<Option<String>, StoreError>;
    /// Writes a slot's object (the local PUT of a folder store).
    async fn put_slot(&self, location: &str, bytes: &[u8]) -> Result<(), StoreError>;
}

/// A file of the store, as [`ImageStore::list`] sees it.
#[derive(Debug, Clone)]
pub struct StoredFile {
    pub location: String,
    pub modified: std::time::SystemTime,
    pub kind: FileKind,
}

/// What a stored file is, by where the store put it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FileKind {
    /// A picture's file (`<stem>.<ext>`), or the temporary file of a put.
    Original { stem: String },
    /// Made from a picture's file (`derived/<stem>/<suffix>`): a thumbnail.
    Derived { stem: String },
    /// The object PUT at an upload slot (`uploads/<image_id>`).
    Slot { image_id: String },
    /// A write cut short anywhere below the root (`.tmp-...`).
    Partial,
}

impl FileKind {
    /// The kind of the file at `relative` (its path below the store's
    /// root, `/`-separated); `None` for anything the stores never write,
    /// which is never listed and so never touched.
    pub fn of(relative: &str) -> Option<FileKind> {
        let parts: Vec<&str> = relative.split('/').collect();
        let hex32 = |s: &str| s.len() == 32 && s.bytes().all(|b| b.is_ascii_hexdigit());
        let name = *parts.last()?;
        if name.starts_with(".tmp-") && is_store_name(name) {
            return Some(FileKind::Partial);
        }
        match parts.as_slice() {
            [name] if is_store_name(name) => Some(FileKind::Original {
                stem: stem(name).to_string(),
            }),
            ["derived", stem, suffix] if hex32(stem) && !suffix.is_empty() => {
                Some(FileKind::Derived {
                    stem: stem.to_string(),
                })
            }
            ["uploads", id] if hex32(id) => Some(FileKind::Slot {
                image_id: id.to_string(),
            }),
            _ => None,
        }
    }
}

/// Whether `name` (a path's last component) is one the stores write: a
/// random name with an extension, or a temporary file of an unfinished put.
pub fn is_store_name(name: &str) -> bool {
    let stem = name.strip_prefix(".tmp-").unwrap_or(name);
    matches!(stem.split_once('.'), Some((hex, ext))
        if hex.len() == 32
            && hex.bytes().all(|b| b.is_ascii_hexdigit())
            && !ext.is_empty()
            && ext.bytes().all(|b| b.is_ascii_alphanumeric()))
}

/// A stored file's name without its extension: the files made from it are
/// kept under `derived/<stem>/`.
pub fn stem(location: &str) -> &str {
    let name = file_name(location);
    name.split('.').next().unwrap_or(name)
}

/// The last component of a location, path or key.
pub fn file_name(location: &str) -> &str {
    location.rsplit(['/', '\\']).next().unwrap_or(location)
}

/// A new random file name: 128 bits, so names never repeat in practice, and
/// the store still refuses to overwrite if one ever did.
pub fn random_name(extension: &str) -> String {
    let n: u128 = rand::rng().random();
    format!("{n:032x}.{extension}")
}

use async_trait::async_trait;
use std::io::{ErrorKind, Write};
use std::path::{Path, PathBuf};

use super::{FileKind, ImageStore, StoreError, StoredFile, random_name, stem};
use crate::domain::ImageData;

/// Files in one local folder (a Docker volume in compose).
pub struct FolderStore {
    root: PathBuf,
}

impl FolderStore {
    /// Creates the folder when missing; locations are absolute paths below it.
    pub fn open(root: impl AsRef<Path>) -> Result<Self, StoreError> {
        let root = root.as_ref();
        std::fs::create_dir_all(root).map_err(|e| unavailable(root, e))?;
        let root = std::fs::canonicalize(root).map_err(|e| unavailable(root, e))?;
        Ok(FolderStore { root })
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    fn derived_dir(&self, location: &str) -> PathBuf {
        self.root.join("derived").join(stem(location))
    }
}

/// Writes a whole file under a temporary name, then renames it into place:
/// a reader never sees half of it.
fn write_whole(path: &Path, bytes: &[u8]) -> Result<(), StoreError> {
    let dir = path.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir).map_err(|e| unavailable(dir, e))?;
    let tmp = dir.join(format!(".tmp-{}", random_name("part")));
    let written = (|| {
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
        std::fs::rename(&tmp, path)
    })();
    if let Err(e) = written {
        let _ = std::fs::remove_file(&tmp);
        return Err(unavailable(path, e));
    }
    Ok(())
}

fn unavailable(path: &Path, e: std::io::Error) -> StoreError {
    StoreError::Unavailable(format!("{}: {e}", path.display()))
}

fn read_error(location: &str, e: std::io::Error) -> StoreError {
    if e.kind() == ErrorKind::NotFound {
        StoreError::NotFound(location.to_string())
    } else {
        unavailable(Path::new(location), e)
    }
}

/// Writes `bytes` to a hidden temporary file, flushes it, then links it under
/// its final name. `hard_link` fails rather than replace an existing file, and
/// a crash mid-write leaves only a `.tmp-` file, never a half picture.
fn put_blocking(root: &Path, bytes: &[u8], extension: &str) -> Result<PathBuf, StoreError> {
    let tmp = root.join(format!(".tmp-{}", random_name("part")));
    let written = (|| {
        let mut f = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()
    })();
    if let Err(e) = written {
        let _ = std::fs::remove_file(&tmp);
        return Err(unavailable(&tmp, e));
    }
    let result = loop {
        let path = root.join(random_name(extension));
        match std::fs::hard_link(&tmp, &path) {
            Ok(()) => break Ok(path),
            Err(e) if e.kind() == ErrorKind::AlreadyExists => continue,
            Err(e) => break Err(unavailable(&path, e)),
        }
    };
    let _ = std::fs::remove_file(&tmp);
    result
}

#[async_trait]
impl ImageStore for FolderStore {
    async fn put(&self, image: &ImageData) -> Result<String, StoreError> {
        let root = self.root.clone();
        let bytes = image.bytes().to_vec();
        let extension = image.format().extension();
        let path = tokio::task::spawn_blocking(move || put_blocking(&root, &bytes, extension))
            .await
            .map_err(|e| StoreError::Unavailable(e.to_string()))??;
        Ok(path.to_string_lossy().into_owned())
    }

    async fn get(&self, location: &str) -> Result<Vec<u8>, StoreError> {
        tokio::fs::read(location)
            .await
            .map_err(|e| read_error(location, e))
    }

    async fn size(&self, location: &str) -> Result<u64, StoreError> {
        tokio::fs::metadata(location)
            .await
            .map(|m| m.len())
            .map_err(|e| read_error(location, e))
    }

    async fn delete(&self, location: &str) -> Result<(), StoreError> {
        match tokio::fs::remove_file(location).await {
            Err(e) if e.kind() != ErrorKind::NotFound => Err(unavailable(Path::new(location), e)),
            _ => {
                // The last file made from a picture takes its folder along.
                if let Some(dir) = Path::new(location).parent()
                    && dir.parent() == Some(self.root.join("derived").as_path())
                {
                    let _ = tokio::fs::remove_dir(dir).await;
                }
                Ok(())
            }
        }
    }

    async fn get_derived(
        &self,
        location: &str,
        suffix: &str,
    ) -> Result<Option<Vec<u8>>, StoreError> {
        let path = self.derived_dir(location).join(suffix);
        match tokio::fs::read(&path).await {
            Ok(bytes) => Ok(Some(bytes)),
            Err(e) if e.kind() == ErrorKind::NotFound => Ok(None),
            Err(e) => Err(unavailable(&path, e)),
        }
    }

    async fn put_derived(
        &self,
        location: &str,
        suffix: &str,
        bytes: &[u8],
    ) -> Result<(), StoreError> {
        let path = self.derived_dir(location).join(suffix);
        let bytes = bytes.to_vec();
        tokio::task::spawn_blocking(move || write_whole(&path, &bytes))
            .await
            .map_err(|e| StoreError::Unavailable(e.to_string()))?
    }

    async fn delete_derived(&self, location: &str) -> Result<(), StoreError> {
        let dir = self.derived_dir(location);
        match tokio::fs::remove_dir_all(&dir).await {
            Err(e) if e.kind() != ErrorKind::NotFound => Err(unavailable(&dir, e)),
            _ => Ok(()),
        }
    }

    fn derived_location(&self, location: &str, suffix: &str) -> String {
        self.derived_dir(location)
            .join(suffix)
            .to_string_lossy()
            .into_owned()
    }

    async fn presigned_get(&self, _: &str, _: i64) -> Result<Option<String>, StoreError> {
        Ok(None)
    }

    fn slot_location(&self, image_id: &str) -> String {
        self.root
            .join("uploads")
            .join(image_id)
            .to_string_lossy()
            .into_owned()
    }

    async fn presigned_put(&self, _: &str, _: i64) -> Result<Option<String>, StoreError> {
        Ok(None)
    }

    async fn put_slot(&self, location: &str, bytes: &[u8]) -> Result<(), StoreError> {
        let path = PathBuf::from(location);
        if !path.starts_with(self.root.join("uploads")) {
            return Err(StoreError::NotFound(location.to_string()));
        }
        let bytes = bytes.to_vec();
        tokio::task::spawn_blocking(move || write_whole(&path, &bytes))
            .await
            .map_err(|e| StoreError::Unavailable(e.to_string()))?
    }

    async fn list(&self) -> Result<Vec<StoredFile>, StoreError> {
        let root = self.root.clone();
        tokio::task::spawn_blocking(move || {
            let mut files = Vec::new();
            // The root, derived/<stem>/ and uploads/: the only folders the store writes.
            let mut folders = vec![(root.clone(), String::new())];
            while let Some((dir, relative)) = folders.pop() {
                let entries = match std::fs::read_dir(&dir) {
                    Ok(entries) => entries,
                    // A folder removed since it was listed is simply not walked.
                    Err(e) if e.kind() == ErrorKind::NotFound && dir != root => continue,
                    Err(e) => return Err(unavailable(&dir, e)),
                };
                for entry in entries {
                    let entry = entry.map_err(|e| unavailable(&dir, e))?;
                    let Some(name) = entry.file_name().to_str().map(str::to_string) else {
                        continue;
                    };
                    let path = format!("{relative}{name}");
                    // A file removed since read_dir is simply not listed.
                    let Ok(meta) = entry.metadata() else { continue };
                    if meta.is_dir() {
                        let depth = relative.matches('/').count();
                        let walk = matches!((depth, relative.as_str()), (0, "") if name == "derived" || name == "uploads")
                            || (depth == 1 && relative == "derived/");
                        if walk {
                            folders.push((entry.path(), format!("{path}/")));
                        }
                        continue;
                    }
                    let Some(kind) = FileKind::of(&path) else { continue };
                    files.push(StoredFile {
                        location: entry.path().to_string_lossy().into_owned(),
                        modified: meta.modified().map_err(|e| unavailable(&root, e))?,
                        kind,
                    });
                }
            }
            Ok(files)
        })
        .await
        .map_err(|e| StoreError::Unavailable(e.to_string()))?
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn gif() -> ImageData {
        // The smallest GIF: 1x1, one colour.
        let bytes = b"GIF89a\x01\x00\x01\x00\x80\x00\x00\x00\x00\x00\xff\xff\xff!\xf9\x04\x01\x00\x00\x00\x00,\x00\x00\x00\x00\x01\x00\x01\x00\x00\x02\x02D\x01\x00;";
        ImageData::from_bytes(bytes.to_vec()).unwrap()
    }

    #[tokio::test]
    async fn put_get_delete() {
        let dir = tempfile::tempdir().unwrap();
        let store = FolderStore::open(dir.path().join("images")).unwrap();
        let image = gif();
        let a = store.put(&image).await.unwrap();
        let b = store.put(&image).await.unwrap();
        assert_ne!(a, b, "every put gets a new name");
        assert!(Path::new(&a).is_absolute());
        assert!(a.ends_with(".gif"));
        assert_eq!(store.get(&a).await.unwrap(), image.bytes());
        assert_eq!(store.size(&a).await.unwrap(), image.len());
        // Only the two pictures: no temporary file is left.
        assert_eq!(std::fs::read_dir(store.root()).unwrap().count(), 2);
        store.delete(&a).await.unwrap();
        assert!(matches!(store.get(&a).await, Err(StoreError::NotFound(_))));
        store.delete(&a).await.unwrap();
    }

    #[tokio::test]
    async fn unwritable_folder_leaves_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let store = FolderStore::open(dir.path()).unwrap();
        std::fs::remove_dir(dir.path()).unwrap();
        assert!(matches!(
            store.put(&gif()).await,
            Err(StoreError::Unavailable(_))
        ));
    }
}

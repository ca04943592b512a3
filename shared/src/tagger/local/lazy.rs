//! Models loaded on first use: the tagger checks that their files are there
//! when it is made, and the first picture that needs one reads it, once per
//! process, so a process that never tags never holds any of them.

use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};
use std::time::Instant;

use super::LoadError;

/// One model's file (or folder), loaded by the first `get` and then kept;
/// concurrent first callers wait for that one load. A failure is kept too:
/// the file is not read again on every picture.
pub(super) struct Lazy<T> {
    /// What it is, for the log: "classifier", "people detectors".
    what: &'static str,
    path: PathBuf,
    load: fn(&Path) -> Result<T, LoadError>,
    /// For a model the tagger can do without: the warning's advice when it
    /// does not load (the tagger then goes on without it).
    optional: Option<&'static str>,
    loaded: OnceLock<Result<Arc<T>, String>>,
}

impl<T> Lazy<T> {
    /// A model the tagger needs: its load failure fails the picture.
    pub(super) fn required(
        what: &'static str,
        path: PathBuf,
        load: fn(&Path) -> Result<T, LoadError>,
    ) -> Self {
        Lazy {
            what,
            path,
            load,
            optional: None,
            loaded: OnceLock::new(),
        }
    }

    /// A model the tagger can do without: a load failure is warned once,
    /// as `no {what} ({error}); {advice}`, and the pictures go on without it.
    pub(super) fn optional(
        what: &'static str,
        path: PathBuf,
        load: fn(&Path) -> Result<T, LoadError>,
        advice: &'static str,
    ) -> Self {
        Lazy {
            optional: Some(advice),
            ..Self::required(what, path, load)
        }
    }

    /// The model, loaded on the first call.
    pub(super) fn get(&self) -> Result<Arc<T>, String> {
        self.loaded
            .get_or_init(|| {
                let started = Instant::now();
                match (self.load)(&self.path) {
                    Ok(model) => {
                        tracing::info!(elapsed = ?started.elapsed(), "{} loaded", self.what);
                        Ok(Arc::new(model))
                    }
                    Err(e) => {
                        if let Some(advice) = self.optional {
                            tracing::warn!("no {} ({e}); {advice}", self.what);
                        }
                        Err(e.to_string())
                    }
                }
            })
            .clone()
    }

    /// The model, or None when it does not load (warned, once).
    pub(super) fn get_optional(&self) -> Option<Arc<T>> {
        self.get().ok()
    }

    /// Whether a picture has loaded it yet.
    pub(super) fn is_loaded(&self) -> bool {
        self.loaded.get().is_some_and(|r| r.is_ok())
    }
}

/// Each of `files` in `dir` is a readable file: the check a tagger makes
/// when it is made, so a missing model is said at start, not on the first
/// picture.
pub(super) fn check_files(dir: &Path, files: &[&str]) -> Result<(), LoadError> {
    for name in files {
        let path = dir.join(name);
        let unreadable = |reason: String| LoadError::Read {
            path: path.display().to_string(),
            reason,
        };
        let meta = std::fs::File::open(&path)
            .and_then(|f| f.metadata())
            .map_err(|e| unreadable(e.to_string()))?;
        if !meta.is_file() {
            return Err(unreadable("not a file".into()));
        }
    }
    Ok(())
}

//! The object detector inside the on-device tagger: switched by
//! `OBJECT_DETECTOR`, run beside the classifier and the people detectors,
//! its classes merged into the tags.

use std::path::Path;
use std::sync::Arc;

use super::{LoadError, LocalTagger};
use crate::domain::Tag;
use crate::tagger::objects::{DetectedObject, ObjectDetector};
use crate::tagger::people;

/// `OBJECT_DETECTOR`: `on` (the default) or `off`.
pub(super) fn enabled() -> Result<bool, LoadError> {
    match std::env::var("OBJECT_DETECTOR").as_deref() {
        Err(_) | Ok("" | "on") => Ok(true),
        Ok("off") => Ok(false),
        Ok(other) => Err(LoadError::Read {
            path: "OBJECT_DETECTOR".into(),
            reason: format!("{other:?} is neither \"on\" nor \"off\""),
        }),
    }
}

impl LocalTagger {
    /// Adds the object detector when `on`; a missing or unreadable file
    /// leaves the rest alone, warned.
    pub fn with_objects(mut self, model_dir: &Path, on: bool) -> Self {
        self.objects = on
            .then(|| match ObjectDetector::load(model_dir) {
                Ok(d) => Some(Arc::new(d)),
                Err(e) => {
                    tracing::warn!("no object detection ({e}); `make model` fetches the detector");
                    None
                }
            })
            .flatten();
        self
    }
}

/// The objects' tags into `tags` (a name both have keeps the stronger
/// evidence, so the detector's `person` and the people detectors' are one
/// tag); the objects themselves for the answer.
pub(super) fn merge(
    tags: &mut Vec<Tag>,
    detector: Option<&ObjectDetector>,
    found: Option<Vec<DetectedObject>>,
) -> Vec<DetectedObject> {
    let (Some(detector), Some(found)) = (detector, found) else {
        return Vec::new();
    };
    people::merge(tags, detector.tags(&found));
    found
}

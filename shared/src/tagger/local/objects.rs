//! The object detector inside the on-device tagger: switched by
//! `OBJECT_DETECTOR`, run beside the classifier and the people detectors,
//! its classes merged into the tags.

use std::path::Path;
use std::sync::Arc;

use super::lazy::{self, Lazy};
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

/// What the warnings of a detector that is not there advise.
const ADVICE: &str = "`make model` fetches the detector";

impl LocalTagger {
    /// Adds the object detector when `on`, its file checked here and loaded
    /// by the first picture; a missing file leaves the rest alone, warned
    /// here, and one that does not load is warned on the first picture,
    /// which goes on without it.
    pub fn with_objects(mut self, model_dir: &Path, on: bool) -> Self {
        self.objects = on
            .then(
                || match lazy::check_files(model_dir, &[ObjectDetector::FILE]) {
                    Ok(()) => Some(Arc::new(Lazy::optional(
                        "object detection",
                        model_dir.to_path_buf(),
                        ObjectDetector::load,
                        ADVICE,
                    ))),
                    Err(e) => {
                        tracing::warn!("no object detection ({e}); {ADVICE}");
                        None
                    }
                },
            )
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

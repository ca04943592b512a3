//! The on-device tagger: EfficientNet-Lite0 on ImageNet-1k, with WordNet
//! parents so a tabby is also a `cat`, a `feline`, a `mammal` and an `animal`.
//!
//! The weights come from `make model` (see scripts/fetch-model.py); the
//! vocabulary is compiled in. The model loads once per process and inference
//! runs on the CPU pool (`crate::cpu`), at most one picture per core, at a
//! lower priority than requests, so GET requests never wait behind tagging.

use async_trait::async_trait;
use image::RgbImage;
use serde::Deserialize;
use std::path::Path;
use std::sync::Arc;
use tokio::sync::Semaphore;

use super::objects::ObjectDetector;
use super::people::PeopleDetector;
use super::{Tagger, TaggerError, Tagging};
use crate::domain::{ImageData, Tag, TagSource};

mod calibration;
mod net;
mod objects;
pub mod preprocess;

pub use calibration::Calibration;
pub use net::{EfficientNet, LoadError};
pub use preprocess::{decode_upright, prepare};

/// The weights file `make model` writes into `MODEL_DIR`.
pub const WEIGHTS_FILE: &str = "efficientnet-lite0.safetensors";

/// Tags below this confidence (percent) are not reported at all; the
/// caller's `min_confidence` filters the rest.
const REPORTED_FROM: f64 = 1.0;

#[derive(Deserialize)]
struct VocabularyFile {
    labels: Vec<String>,
    tags: Vec<(String, Vec<u16>)>,
}

/// Every tag the model can give, each with the classes it stands for, and
/// the map from a tag's summed probability to its confidence.
pub struct Vocabulary {
    labels: Vec<String>,
    tags: Vec<(String, Vec<u16>)>,
    calibration: Calibration,
}

impl Vocabulary {
    pub fn builtin() -> Self {
        let file: VocabularyFile = serde_json::from_str(include_str!("../imagenet-tags.json"))
            .expect("the compiled-in vocabulary parses");
        assert_eq!(file.labels.len(), net::CLASSES);
        Vocabulary {
            labels: file.labels,
            tags: file.tags,
            calibration: Calibration::builtin(),
        }
    }

    pub fn calibration(&self) -> &Calibration {
        &self.calibration
    }

    /// The class's own name (`tabby`, `tiger cat`).
    pub fn label(&self, class: usize) -> &str {
        &self.labels[class]
    }

    /// How many classes the model tells apart.
    pub fn classes(&self) -> usize {
        self.labels.len()
    }

    /// Each tag with the number of classes it stands for: 1 for a class's
    /// own name, more the more general (`cat` 7, `animal` 398). What the
    /// gallery ranks a picture's tags by, most specific first.
    pub fn breadths(&self) -> impl Iterator<Item = (&str, usize)> {
        self.tags
            .iter()
            .map(|(name, classes)| (name.as_str(), classes.len()))
    }

    /// A tag's confidence is the calibrated summed probability of its
    /// classes, so a parent collects its descendants' and a name shared by
    /// two classes (`crane`, the bird and the machine) both of theirs.
    pub fn tags(&self, probabilities: &[f32]) -> Vec<Tag> {
        self.scored(probabilities, |p| self.calibration.apply(p))
    }

    /// The summed probabilities themselves, as the network gives them.
    pub fn uncalibrated_tags(&self, probabilities: &[f32]) -> Vec<Tag> {
        self.scored(probabilities, |p| p)
    }

    fn scored(&self, probabilities: &[f32], map: impl Fn(f64) -> f64) -> Vec<Tag> {
        self.tags
            .iter()
            .filter_map(|(name, classes)| {
                let p: f64 = classes
                    .iter()
                    .map(|&c| f64::from(probabilities[c as usize]))
                    .sum();
                let confidence = (map(p.min(1.0)) * 100.0).min(100.0);
                (confidence >= REPORTED_FROM)
                    .then(|| Tag::new(name.clone(), confidence, Some(TagSource::Model)))
            })
            .collect()
    }
}

pub struct LocalTagger {
    model: Arc<EfficientNet>,
    vocabulary: Arc<Vocabulary>,
    /// Faces and bodies, which ImageNet's classes miss; None when off or absent.
    people: Option<Arc<PeopleDetector>>,
    /// Every COCO object and where (local/objects.rs); None when off or absent.
    objects: Option<Arc<ObjectDetector>>,
    /// One inference per core at a time: more only queues memory.
    permits: Semaphore,
}

impl LocalTagger {
    /// Loads the classifier, and the people detectors unless
    /// `PEOPLE_DETECTOR=off` (`on`, the default, or `off`).
    pub fn load(model_dir: &Path) -> Result<Self, LoadError> {
        let people = match std::env::var("PEOPLE_DETECTOR").as_deref() {
            Err(_) | Ok("" | "on") => true,
            Ok("off") => false,
            Ok(other) => {
                return Err(LoadError::Read {
                    path: "PEOPLE_DETECTOR".into(),
                    reason: format!("{other:?} is neither \"on\" nor \"off\""),
                });
            }
        };
        let objects = objects::enabled()?;
        Ok(Self::load_with(model_dir, people)?.with_objects(model_dir, objects))
    }

    /// A missing or unreadable detector leaves the classifier alone, warned.
    pub fn load_with(model_dir: &Path, people: bool) -> Result<Self, LoadError> {
        let vocabulary = Vocabulary::builtin();
        vocabulary
            .calibration
            .check(&model_dir.join(WEIGHTS_FILE))?;
        let model = EfficientNet::load(&model_dir.join(WEIGHTS_FILE))?;
        let people = people
            .then(|| match PeopleDetector::load(model_dir) {
                Ok(d) => Some(Arc::new(d)),
                Err(e) => {
                    tracing::warn!("no people detection ({e}); `make model` fetches the detectors");
                    None
                }
            })
            .flatten();
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        Ok(LocalTagger {
            model: Arc::new(model),
            vocabulary: Arc::new(vocabulary),
            people,
            objects: None,
            permits: Semaphore::new(cores),
        })
    }

    pub fn vocabulary(&self) -> &Vocabulary {
        &self.vocabulary
    }

    /// Class probabilities for an image, on the calling thread.
    pub fn classify(&self, image: &ImageData) -> Result<Vec<f32>, TaggerError> {
        let rgb = decode_upright(image).map_err(|e| {
            TaggerError::BadImage(format!("cannot decode the {}: {e}", image.format().name()))
        })?;
        Ok(self.model.classify(&prepare(&rgb)))
    }
}

impl LocalTagger {
    /// Classifier and detectors on the CPU pool, decoding first unless
    /// given the pixels.
    async fn run(
        &self,
        image: &ImageData,
        decoded: Option<Arc<RgbImage>>,
    ) -> Result<Tagging, TaggerError> {
        let _permit = self
            .permits
            .acquire()
            .await
            .map_err(|e| TaggerError::Failed(e.to_string()))?;
        let model = self.model.clone();
        let vocabulary = self.vocabulary.clone();
        let people = self.people.clone();
        let detector = self.objects.clone();
        let image = decoded.is_none().then(|| image.clone());
        crate::cpu::run(move || {
            let rgb = match (decoded, image) {
                (Some(rgb), _) => rgb,
                (None, Some(image)) => Arc::new(decode_upright(&image).map_err(|e| {
                    TaggerError::BadImage(format!(
                        "cannot decode the {}: {e}",
                        image.format().name()
                    ))
                })?),
                (None, None) => unreachable!("the image is kept when no pixels are given"),
            };
            // The classifier and the detectors side by side on rayon's pool:
            // one picture's answer waits for the slower of them, not both.
            let (probabilities, (seen, found)) = rayon::join(
                || model.classify(&prepare(&rgb)),
                || {
                    rayon::join(
                        || people.map(|people| people.detect(&rgb)),
                        || detector.as_ref().map(|d| d.detect(&rgb)),
                    )
                },
            );
            let mut tags = vocabulary.tags(&probabilities);
            let faces = seen.map(|seen| {
                super::people::merge(&mut tags, seen.tags());
                seen.faces.len() as u32
            });
            let objects = objects::merge(&mut tags, detector.as_deref(), found);
            Ok(Tagging {
                tags,
                faces,
                objects,
            })
        })
        .await
        .map_err(|e| TaggerError::Failed(format!("tagging failed: {e}")))?
    }
}

#[async_trait]
impl Tagger for LocalTagger {
    async fn tag(&self, image: &ImageData) -> Result<Tagging, TaggerError> {
        self.run(image, None).await
    }

    async fn tag_decoded(
        &self,
        image: &ImageData,
        decoded: Arc<RgbImage>,
    ) -> Result<Tagging, TaggerError> {
        self.run(image, Some(decoded)).await
    }
}

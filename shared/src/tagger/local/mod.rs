//! The on-device tagger: EfficientNet-Lite1 and Lite2 on ImageNet-1k, their
//! probabilities averaged, with WordNet parents so a tabby is also a `cat`,
//! a `feline`, a `mammal` and an `animal`, and the everyday words photos are
//! searched by (`beach` for a seashore, `cup` for an espresso).
//!
//! The weights come from `make model` (see scripts/fetch-model.py); the
//! vocabulary is compiled in. The weights, and the detectors' files, are
//! checked at start and loaded on the first picture, once per process, so a
//! process that never tags never holds them (local/lazy.rs); inference runs on the CPU pool (`crate::cpu`), at most one
//! picture per core, at a lower priority than requests, so GET requests
//! never wait behind tagging.

use async_trait::async_trait;
use image::RgbImage;
use serde::Deserialize;
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::sync::Arc;
use tokio::sync::Semaphore;

use super::objects::ObjectDetector;
use super::people::PeopleDetector;
use super::{Tagger, TaggerError, Tagging};
use crate::domain::{ImageData, Tag, TagSource};

mod calibration;
mod lazy;
mod net;
mod objects;
pub mod preprocess;

use lazy::Lazy;

pub use calibration::Calibration;
pub use net::{Classifier, LoadError, VARIANTS, Variant};
pub use preprocess::{decode_upright, prepare};

/// The weights file `make model` writes into `MODEL_DIR`: both networks.
pub const WEIGHTS_FILE: &str = "efficientnet-lite1-lite2.safetensors";

/// Tags below this confidence (percent) are not reported at all; the
/// caller's `min_confidence` filters the rest.
const REPORTED_FROM: f64 = 1.0;

#[derive(Deserialize)]
struct VocabularyFile {
    labels: Vec<String>,
    tags: Vec<(String, Vec<u16>)>,
}

/// everyday-words.json: its `source` and `rules` say where the words come
/// from and how they resolve.
#[derive(Deserialize)]
struct WordsFile {
    words: Vec<Word>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Word {
    word: String,
    #[serde(default)]
    classes: Vec<String>,
    #[serde(default)]
    parents: Vec<String>,
}

/// The tags of `file` with `words` resolved into it: each word's classes
/// are named classes and its parents' classes; it replaces a tag of the
/// same name, or removes it when it has none.
fn with_words(file: &VocabularyFile, words: &[Word]) -> Result<Vec<(String, Vec<u16>)>, String> {
    let tags: BTreeMap<&str, &[u16]> = file
        .tags
        .iter()
        .map(|(n, c)| (n.as_str(), c.as_slice()))
        .collect();
    let mut resolved: BTreeMap<&str, Vec<u16>> = BTreeMap::new();
    for w in words {
        let mut classes = BTreeSet::new();
        for name in &w.classes {
            let mut found = file.labels.iter().enumerate().filter(|(_, l)| *l == name);
            match (found.next(), found.next()) {
                (Some((c, _)), None) => classes.insert(c as u16),
                (None, _) => return Err(format!("{}: no class is named {name:?}", w.word)),
                (Some(_), Some(_)) => {
                    return Err(format!("{}: two classes are named {name:?}", w.word));
                }
            };
        }
        for name in &w.parents {
            let of = tags
                .get(name.as_str())
                .ok_or_else(|| format!("{}: no tag is named {name:?}", w.word))?;
            classes.extend(of.iter().copied());
        }
        if resolved
            .insert(&w.word, classes.into_iter().collect())
            .is_some()
        {
            return Err(format!("{} is listed twice", w.word));
        }
    }
    let mut out: Vec<(String, Vec<u16>)> = file
        .tags
        .iter()
        .filter(|(n, _)| !resolved.contains_key(n.as_str()))
        .cloned()
        .collect();
    out.extend(
        resolved
            .into_iter()
            .filter(|(_, c)| !c.is_empty())
            .map(|(n, c)| (n.to_string(), c)),
    );
    Ok(out)
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
        let words: WordsFile = serde_json::from_str(include_str!("../everyday-words.json"))
            .expect("the compiled-in everyday words parse");
        assert_eq!(file.labels.len(), net::CLASSES);
        let tags = with_words(&file, &words.words).expect("the everyday words resolve");
        Vocabulary {
            labels: file.labels,
            tags,
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

    /// The class of a name, when one class has it.
    pub fn class(&self, label: &str) -> Option<usize> {
        let mut found = (0..self.labels.len()).filter(|&c| self.labels[c] == label);
        match (found.next(), found.next()) {
            (Some(c), None) => Some(c),
            _ => None,
        }
    }

    /// The classes a tag stands for.
    pub fn classes_of(&self, tag: &str) -> Option<&[u16]> {
        self.tags
            .iter()
            .find(|(n, _)| n == tag)
            .map(|(_, c)| c.as_slice())
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
    model: Arc<Lazy<Classifier>>,
    vocabulary: Arc<Vocabulary>,
    /// Faces and bodies, which ImageNet's classes miss; None when off or absent.
    people: Option<Arc<Lazy<PeopleDetector>>>,
    /// Every COCO object and where (local/objects.rs); None when off or absent.
    objects: Option<Arc<Lazy<ObjectDetector>>>,
    /// One inference per core at a time: more only queues memory.
    permits: Semaphore,
}

impl LocalTagger {
    /// The classifier, and the people detectors unless
    /// `PEOPLE_DETECTOR=off` (`on`, the default, or `off`), and the object
    /// detector unless `OBJECT_DETECTOR=off`. Their files are checked here;
    /// each model is loaded by the first picture.
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

    /// A missing detector file leaves the classifier alone, warned here; one
    /// that does not load is warned on the first picture, which then goes
    /// on without it. The classifier's weights are only checked here
    /// (present, and the ones the calibration was fitted for); `model`
    /// loads them.
    pub fn load_with(model_dir: &Path, people: bool) -> Result<Self, LoadError> {
        let vocabulary = Vocabulary::builtin();
        let weights = model_dir.join(WEIGHTS_FILE);
        vocabulary.calibration.check(&weights)?;
        let people = people
            .then(
                || match lazy::check_files(model_dir, &PeopleDetector::FILES) {
                    Ok(()) => Some(Arc::new(Lazy::optional(
                        "people detection",
                        model_dir.to_path_buf(),
                        PeopleDetector::load,
                        PEOPLE_ADVICE,
                    ))),
                    Err(e) => {
                        tracing::warn!("no people detection ({e}); {PEOPLE_ADVICE}");
                        None
                    }
                },
            )
            .flatten();
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        Ok(LocalTagger {
            model: Arc::new(Lazy::required("classifier", weights, Classifier::load)),
            vocabulary: Arc::new(vocabulary),
            people,
            objects: None,
            permits: Semaphore::new(cores),
        })
    }

    pub fn vocabulary(&self) -> &Vocabulary {
        &self.vocabulary
    }

    /// The classifier, loaded on the first call (the others wait for it).
    pub fn model(&self) -> Result<Arc<Classifier>, TaggerError> {
        self.model.get().map_err(TaggerError::Failed)
    }

    /// Whether a picture has loaded the classifier yet.
    pub fn classifier_loaded(&self) -> bool {
        self.model.is_loaded()
    }

    /// Whether a picture has loaded the people detectors and the object
    /// detector yet (false for one that is off or absent).
    pub fn detectors_loaded(&self) -> (bool, bool) {
        (
            self.people.as_ref().is_some_and(|p| p.is_loaded()),
            self.objects.as_ref().is_some_and(|o| o.is_loaded()),
        )
    }

    /// Class probabilities for an image, on the calling thread.
    pub fn classify(&self, image: &ImageData) -> Result<Vec<f32>, TaggerError> {
        let rgb = decode_upright(image).map_err(|e| {
            TaggerError::BadImage(format!("cannot decode the {}: {e}", image.format().name()))
        })?;
        Ok(self.model()?.classify(&rgb))
    }
}

/// What the warnings of a detector that is not there advise.
const PEOPLE_ADVICE: &str = "`make model` fetches the detectors";

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
            // The first picture loads each model here, off the async
            // threads, the three loads side by side too.
            let (probabilities, (seen, (detector, found))) = rayon::join(
                || model.get().map(|model| model.classify(&rgb)),
                || {
                    rayon::join(
                        || {
                            let people = people.and_then(|p| p.get_optional())?;
                            Some(people.detect(&rgb))
                        },
                        || {
                            let Some(d) = detector.and_then(|d| d.get_optional()) else {
                                return (None, None);
                            };
                            let found = d.detect(&rgb);
                            (Some(d), Some(found))
                        },
                    )
                },
            );
            let mut tags = vocabulary.tags(&probabilities.map_err(TaggerError::Failed)?);
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

#[cfg(test)]
mod tests {
    use super::*;

    fn vocabulary() -> Vocabulary {
        Vocabulary::builtin()
    }

    /// Probabilities with `p` on the named class and the rest spread evenly.
    fn only(v: &Vocabulary, label: &str, p: f32) -> Vec<f32> {
        let class = v.labels.iter().position(|l| l == label).unwrap();
        let mut probabilities = vec![(1.0 - p) / (net::CLASSES - 1) as f32; net::CLASSES];
        probabilities[class] = p;
        probabilities
    }

    fn confidence(tags: &[Tag], name: &str) -> f64 {
        tags.iter()
            .find(|t| t.name == name)
            .map_or(0.0, |t| t.confidence)
    }

    #[test]
    fn scenes_get_the_words_people_search() {
        let v = vocabulary();
        for (class, words) in [
            ("seashore", &["beach", "sea", "coast", "sand", "water"][..]),
            ("sandbar", &["beach", "sea"]),
            ("lakeside", &["lake", "water", "shore"]),
            ("container ship", &["water", "ship"]),
            ("drilling platform", &["water"]),
            ("paper towel", &["paper", "towel"]),
            ("toilet tissue", &["paper", "bathroom"]),
            ("alp", &["mountain", "snow"]),
            ("valley", &["mountain"]),
            ("traffic light", &["street", "city"]),
            ("streetcar", &["street", "tram"]),
            (
                "desktop computer",
                &["office", "desk", "computer", "monitor"],
            ),
            ("restaurant", &["restaurant"]),
            ("plate", &["restaurant", "plate"]),
            ("coffee mug", &["cup", "mug", "coffee"]),
            ("espresso", &["cup", "coffee", "drink"]),
            ("moped", &["motorcycle", "vehicle"]),
            ("sports car", &["car"]),
            ("tabby", &["cat", "pet"]),
        ] {
            let tags = v.tags(&only(&v, class, 0.95));
            for word in words {
                assert!(
                    confidence(&tags, word) >= 80.0,
                    "{class} -> {word}: {tags:?}"
                );
            }
        }
    }

    #[test]
    fn words_replace_the_wordnet_senses_nobody_searches() {
        let v = vocabulary();
        // ImageNet's kite is the bird; a monitor lizard is no screen; a
        // railway car is no car.
        for (class, not, but) in [
            ("kite", "kite", "bird"),
            ("komodo dragon", "monitor", "lizard"),
            ("freight car", "car", "train"),
            ("breastplate", "plate", "armor plate"),
        ] {
            let tags = v.tags(&only(&v, class, 0.95));
            assert_eq!(confidence(&tags, not), 0.0, "{class}: {tags:?}");
            assert!(confidence(&tags, but) >= 80.0, "{class}: {tags:?}");
        }
        let names: Vec<&str> = v.tags.iter().map(|(n, _)| n.as_str()).collect();
        assert!(!names.contains(&"kite"));
        let mut unique = names.clone();
        unique.sort();
        unique.dedup();
        assert_eq!(unique.len(), names.len(), "one tag per name");
    }

    #[test]
    fn a_word_sums_its_classes() {
        let v = vocabulary();
        let mut p = vec![0.0f32; net::CLASSES];
        for (label, q) in [("seashore", 0.3), ("sandbar", 0.3), ("lakeside", 0.4)] {
            p[v.labels.iter().position(|l| l == label).unwrap()] = q;
        }
        let raw = v.uncalibrated_tags(&p);
        assert!((confidence(&raw, "beach") - 60.0).abs() < 1e-3, "{raw:?}");
        assert!((confidence(&raw, "water") - 100.0).abs() < 1e-3, "{raw:?}");
        assert!(
            (confidence(&raw, "seashore") - 30.0).abs() < 1e-3,
            "{raw:?}"
        );
    }

    #[test]
    fn bad_words_are_refused() {
        let file: VocabularyFile =
            serde_json::from_str(include_str!("../imagenet-tags.json")).unwrap();
        for (words, error) in [
            (
                r#"[{"word": "x", "classes": ["no such class"]}]"#,
                "no class",
            ),
            (r#"[{"word": "x", "classes": ["crane"]}]"#, "two classes"),
            (r#"[{"word": "x", "parents": ["no such tag"]}]"#, "no tag"),
            (r#"[{"word": "x"}, {"word": "x"}]"#, "twice"),
        ] {
            let words: Vec<Word> = serde_json::from_str(words).unwrap();
            let err = with_words(&file, &words).unwrap_err();
            assert!(err.contains(error), "{err}");
        }
        assert!(serde_json::from_str::<Vec<Word>>(r#"[{"word": "x", "class": []}]"#).is_err());
    }
}

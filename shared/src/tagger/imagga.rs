//! Imagga, as the seed assignment uses it: Imagga tags images by URL, so the
//! image is first uploaded to ImageKit for a public URL, tagged, and the
//! ImageKit copy deleted again whatever happened.

use async_trait::async_trait;
use reqwest::multipart::Form;
use serde::Deserialize;
use std::collections::HashMap;
use std::time::Duration;

use super::{Tagger, TaggerError, Tagging};
use crate::domain::image::encode_base64;
use crate::domain::{ImageData, Tag, TagSource};
use crate::store::{S3Store, random_name};
use std::sync::Arc;

#[derive(Clone)]
pub struct ImaggaConfig {
    pub api_key: String,
    pub api_secret: String,
    /// `https://api.imagga.com`
    pub base_url: String,
}

#[derive(Clone)]
pub struct ImageKitConfig {
    pub private_key: String,
    /// `https://upload.imagekit.io`
    pub upload_url: String,
    /// `https://api.imagekit.io`
    pub api_url: String,
}

// Secrets stay out of logs even when a config is debug-printed.
impl std::fmt::Debug for ImaggaConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ImaggaConfig")
            .field("base_url", &self.base_url)
            .finish_non_exhaustive()
    }
}

impl std::fmt::Debug for ImageKitConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ImageKitConfig")
            .field("upload_url", &self.upload_url)
            .field("api_url", &self.api_url)
            .finish_non_exhaustive()
    }
}

/// Where the image is put for Imagga to fetch it by URL.
pub enum Staging {
    /// A temporary public ImageKit file, as the original assignment does.
    ImageKit(ImageKitConfig),
    /// A temporary object in the S3 store, read through a presigned GET URL.
    S3(Arc<S3Store>),
}

pub struct ImaggaTagger {
    http: reqwest::Client,
    imagga: ImaggaConfig,
    staging: Staging,
}

/// How long a presigned staging URL stays valid.
const PRESIGNED_FOR: Duration = Duration::from_secs(300);

/// A staged copy: its public URL and what deletes it.
struct Staged {
    /// ImageKit `fileId`, or the S3 key.
    id: String,
    url: String,
}

#[derive(Deserialize)]
struct UploadAnswer {
    #[serde(rename = "fileId")]
    file_id: String,
    url: String,
}

#[derive(Deserialize)]
struct TagsAnswer {
    result: TagsResult,
}

#[derive(Deserialize)]
struct TagsResult {
    tags: Vec<ImaggaTag>,
}

#[derive(Deserialize)]
struct ImaggaTag {
    confidence: f64,
    /// Names by language code; the English one is used.
    tag: HashMap<String, String>,
}

impl ImaggaTagger {
    pub fn new(imagga: ImaggaConfig, staging: Staging, timeout: Duration) -> Self {
        let http = reqwest::Client::builder()
            .timeout(timeout)
            .connect_timeout(timeout.min(Duration::from_secs(5)))
            .build()
            .expect("the TLS provider is installed before clients are built");
        ImaggaTagger {
            http,
            imagga,
            staging,
        }
    }

    async fn stage(&self, image: &ImageData) -> Result<Staged, TaggerError> {
        match &self.staging {
            Staging::ImageKit(imagekit) => self.stage_imagekit(imagekit, image).await,
            Staging::S3(store) => {
                let (url, key) = store
                    .stage(image, PRESIGNED_FOR)
                    .await
                    .map_err(|e| TaggerError::Failed(format!("staging the image: {e}")))?;
                Ok(Staged { id: key, url })
            }
        }
    }

    async fn stage_imagekit(
        &self,
        imagekit: &ImageKitConfig,
        image: &ImageData,
    ) -> Result<Staged, TaggerError> {
        let url = format!("{}/api/v1/files/upload", imagekit.upload_url);
        let form = Form::new()
            .text("file", encode_base64(image.bytes()))
            .text("fileName", random_name(image.format().extension()))
            .text("useUniqueFileName", "true");
        let answer = self
            .http
            .post(url)
            .basic_auth(&imagekit.private_key, Some(""))
            .multipart(form)
            .send()
            .await
            .map_err(|e| failed("ImageKit upload", e))?;
        let answer = check_status("ImageKit upload", answer).await?;
        let staged: UploadAnswer = answer
            .json()
            .await
            .map_err(|e| TaggerError::BadAnswer(format!("ImageKit upload: {}", e.without_url())))?;
        Ok(Staged {
            id: staged.file_id,
            url: staged.url,
        })
    }

    async fn tags_for_url(&self, image_url: &str) -> Result<Vec<Tag>, TaggerError> {
        let answer = self
            .http
            .get(format!("{}/v2/tags", self.imagga.base_url))
            .query(&[("image_url", image_url)])
            .basic_auth(&self.imagga.api_key, Some(&self.imagga.api_secret))
            .send()
            .await
            .map_err(|e| failed("Imagga", e))?;
        let answer = check_status("Imagga", answer).await?;
        let parsed: TagsAnswer = answer
            .json()
            .await
            .map_err(|e| TaggerError::BadAnswer(format!("Imagga: {}", e.without_url())))?;
        parsed
            .result
            .tags
            .into_iter()
            .map(|t| {
                let name = t.tag.get("en").cloned().unwrap_or_default();
                if !(0.0..=100.0).contains(&t.confidence) || name.trim().is_empty() {
                    return Err(TaggerError::BadAnswer(format!(
                        "Imagga tag {name:?} with confidence {}",
                        t.confidence
                    )));
                }
                Ok(Tag::new(name, t.confidence, Some(TagSource::Imagga)))
            })
            .collect()
    }

    /// Deletes the staged copy, retrying briefly: a staged copy is a URL
    /// anyone holding it can read.
    async fn unstage(&self, staged: &Staged) {
        for attempt in 1..=3 {
            let deleted = match &self.staging {
                Staging::ImageKit(imagekit) => {
                    let url = format!("{}/v1/files/{}", imagekit.api_url, staged.id);
                    let sent = self
                        .http
                        .delete(&url)
                        .basic_auth(&imagekit.private_key, Some(""))
                        .send()
                        .await;
                    match sent {
                        Ok(r)
                            if r.status().is_success()
                                || r.status() == reqwest::StatusCode::NOT_FOUND =>
                        {
                            Ok(())
                        }
                        Ok(r) => Err(format!("ImageKit answered {}", r.status())),
                        Err(e) => Err(e.without_url().to_string()),
                    }
                }
                Staging::S3(store) => store.unstage(&staged.id).await.map_err(|e| e.to_string()),
            };
            match deleted {
                Ok(()) => return,
                Err(e) => {
                    tracing::warn!(error = %e, attempt, id = %staged.id, "deleting the staged copy failed")
                }
            }
            tokio::time::sleep(Duration::from_millis(200 * attempt)).await;
        }
        tracing::error!(id = %staged.id, "staged copy left behind; delete it by hand");
    }
}

fn failed(what: &str, e: reqwest::Error) -> TaggerError {
    let kind = if e.is_timeout() {
        "timed out"
    } else {
        "unreachable"
    };
    tracing::warn!(error = %e.without_url(), "{what} {kind}");
    TaggerError::Failed(format!("{what} {kind}"))
}

async fn check_status(
    what: &str,
    answer: reqwest::Response,
) -> Result<reqwest::Response, TaggerError> {
    let status = answer.status();
    if status.is_success() {
        return Ok(answer);
    }
    let body = answer.text().await.unwrap_or_default();
    tracing::warn!(%status, body = %body.chars().take(500).collect::<String>(), "{what} refused");
    Err(TaggerError::Failed(format!("{what} answered {status}")))
}

#[async_trait]
impl Tagger for ImaggaTagger {
    async fn tag(&self, image: &ImageData) -> Result<Tagging, TaggerError> {
        let staged = self.stage(image).await?;
        let tags = self.tags_for_url(&staged.url).await;
        self.unstage(&staged).await;
        Ok(Tagging {
            tags: tags?,
            ..Tagging::default()
        })
    }
}

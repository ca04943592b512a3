//! Files in an S3 bucket (`IMAGE_STORE=s3://bucket/prefix`). The AWS SDK's
//! own configuration applies: region, credentials chain, `AWS_ENDPOINT_URL`
//! for S3-compatible servers (with `S3_FORCE_PATH_STYLE=true`).

use async_trait::async_trait;
use aws_sdk_s3::Client;
use aws_sdk_s3::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_s3::presigning::PresigningConfig;
use aws_sdk_s3::primitives::ByteStream;
use std::time::Duration;

use super::{FileKind, ImageStore, StoreError, StoredFile, random_name, stem};
use crate::domain::{ImageData, ImageFormat};

/// S3 settings under the AWS SDK's own variable names. Unset values fall
/// back to the SDK's default chain (instance role, profile, region file).
#[derive(Clone, Default)]
pub struct S3Settings {
    pub endpoint_url: Option<String>,
    pub region: Option<String>,
    /// (access key id, secret access key, session token)
    pub credentials: Option<(String, String, Option<String>)>,
    /// Path-style URLs (`http://host/bucket/key`), which S3-compatible servers need.
    pub force_path_style: bool,
}

impl std::fmt::Debug for S3Settings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("S3Settings")
            .field("endpoint_url", &self.endpoint_url)
            .field("region", &self.region)
            .field("credentials", &self.credentials.as_ref().map(|_| "***"))
            .field("force_path_style", &self.force_path_style)
            .finish()
    }
}

pub struct S3Store {
    client: Client,
    bucket: String,
    /// Key prefix, empty or ending in `/`.
    prefix: String,
}

/// `s3://bucket/prefix` → (bucket, prefix ending in `/` or empty).
pub fn parse_location(url: &str) -> Option<(String, String)> {
    let rest = url.strip_prefix("s3://")?;
    let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
    if bucket.is_empty() {
        return None;
    }
    let prefix = prefix.trim_matches('/');
    let prefix = if prefix.is_empty() {
        String::new()
    } else {
        format!("{prefix}/")
    };
    Some((bucket.to_string(), prefix))
}

fn unavailable<E: ProvideErrorMetadata + std::error::Error + 'static, R: std::fmt::Debug>(
    what: &str,
    e: SdkError<E, R>,
) -> StoreError {
    let detail = match e.as_service_error() {
        Some(service) => format!(
            "{}: {}",
            service.code().unwrap_or("error"),
            service.message().unwrap_or("")
        ),
        None => format!("{e}"),
    };
    StoreError::Unavailable(format!("S3 {what}: {detail}"))
}

impl S3Store {
    pub async fn open(url: &str, settings: &S3Settings) -> Result<Self, StoreError> {
        let (bucket, prefix) = parse_location(url).ok_or_else(|| {
            StoreError::Unavailable(format!("not an s3://bucket/prefix location: {url}"))
        })?;
        let mut loader = aws_config::defaults(aws_config::BehaviorVersion::latest())
            .timeout_config(
                aws_config::timeout::TimeoutConfig::builder()
                    .connect_timeout(Duration::from_secs(3))
                    .operation_timeout(Duration::from_secs(20))
                    .build(),
            );
        if let Some(endpoint) = &settings.endpoint_url {
            loader = loader.endpoint_url(endpoint);
        }
        if let Some(region) = &settings.region {
            loader = loader.region(aws_config::Region::new(region.clone()));
        }
        if let Some((id, secret, token)) = &settings.credentials {
            loader = loader.credentials_provider(aws_sdk_s3::config::Credentials::new(
                id,
                secret,
                token.clone(),
                None,
                "environment",
            ));
        }
        let shared = loader.load().await;
        let config = aws_sdk_s3::config::Builder::from(&shared)
            .force_path_style(settings.force_path_style)
            .build();
        Ok(S3Store {
            client: Client::from_conf(config),
            bucket,
            prefix,
        })
    }

    fn location(&self, key: &str) -> String {
        format!("s3://{}/{key}", self.bucket)
    }

    /// The key of a location in this bucket.
    fn key<'a>(&self, location: &'a str) -> Result<&'a str, StoreError> {
        location
            .strip_prefix("s3://")
            .and_then(|rest| rest.strip_prefix(self.bucket.as_str()))
            .and_then(|rest| rest.strip_prefix('/'))
            .ok_or_else(|| StoreError::NotFound(location.to_string()))
    }

    /// Puts `bytes` under a new key below `prefix`; `If-None-Match: *` makes
    /// the server refuse rather than replace an existing object.
    async fn put_new(&self, image: &ImageData, dir: &str) -> Result<String, StoreError> {
        for _ in 0..3 {
            let key = format!(
                "{}{dir}{}",
                self.prefix,
                random_name(image.format().extension())
            );
            let result = self
                .client
                .put_object()
                .bucket(&self.bucket)
                .key(&key)
                .content_type(image.format().mime())
                .if_none_match("*")
                .body(ByteStream::from(image.bytes().to_vec()))
                .send()
                .await;
            match result {
                Ok(_) => return Ok(key),
                Err(e) if e.raw_response().is_some_and(|r| r.status().as_u16() == 412) => continue,
                Err(e) => return Err(unavailable("put", e)),
            }
        }
        Err(StoreError::Unavailable(
            "S3 put: no free key after 3 tries".into(),
        ))
    }

    /// Stages a copy for a tagging service: a short-lived presigned GET URL
    /// and the key to delete afterwards.
    pub async fn stage(
        &self,
        image: &ImageData,
        expires: Duration,
    ) -> Result<(String, String), StoreError> {
        let key = self.put_new(image, "staging/").await?;
        let config = PresigningConfig::expires_in(expires)
            .map_err(|e| StoreError::Unavailable(e.to_string()))?;
        let request = self
            .client
            .get_object()
            .bucket(&self.bucket)
            .key(&key)
            .presigned(config)
            .await
            .map_err(|e| unavailable("presign", e))?;
        Ok((request.uri().to_string(), key))
    }

    fn derived_prefix(&self, location: &str) -> String {
        format!("{}derived/{}/", self.prefix, stem(location))
    }

    fn presigning(ttl_secs: i64) -> Result<PresigningConfig, StoreError> {
        PresigningConfig::expires_in(Duration::from_secs(ttl_secs.clamp(1, 604_800) as u64))
            .map_err(|e| StoreError::Unavailable(e.to_string()))
    }

    pub async fn unstage(&self, key: &str) -> Result<(), StoreError> {
        self.client
            .delete_object()
            .bucket(&self.bucket)
            .key(key)
            .send()
            .await
            .map(|_| ())
            .map_err(|e| unavailable("delete", e))
    }
}

#[async_trait]
impl ImageStore for S3Store {
    async fn put(&self, image: &ImageData) -> Result<String, StoreError> {
        let key = self.put_new(image, "").await?;
        Ok(self.location(&key))
    }

    async fn get(&self, location: &str) -> Result<Vec<u8>, StoreError> {
        let key = self.key(location)?;
        let object = self
            .client
            .get_object()
            .bucket(&self.bucket)
            .key(key)
            .send()
            .await;
        match object {
            Ok(object) => Ok(object
                .body
                .collect()
                .await
                .map_err(|e| StoreError::Unavailable(format!("S3 get: {e}")))?
                .into_bytes()
                .to_vec()),
            Err(e) if e.as_service_error().is_some_and(|s| s.is_no_such_key()) => {
                Err(StoreError::NotFound(location.to_string()))
            }
            Err(e) => Err(unavailable("get", e)),
        }
    }

    async fn size(&self, location: &str) -> Result<u64, StoreError> {
        let key = self.key(location)?;
        match self
            .client
            .head_object()
            .bucket(&self.bucket)
            .key(key)
            .send()
            .await
        {
            Ok(head) => Ok(head.content_length().unwrap_or(0).max(0) as u64),
            Err(e) if e.as_service_error().is_some_and(|s| s.is_not_found()) => {
                Err(StoreError::NotFound(location.to_string()))
            }
            Err(e) => Err(unavailable("head", e)),
        }
    }

    async fn delete(&self, location: &str) -> Result<(), StoreError> {
        self.unstage(self.key(location)?).await
    }

    async fn get_derived(
        &self,
        location: &str,
        suffix: &str,
    ) -> Result<Option<Vec<u8>>, StoreError> {
        let key = format!("{}{suffix}", self.derived_prefix(location));
        match self.get(&self.location(&key)).await {
            Ok(bytes) => Ok(Some(bytes)),
            Err(StoreError::NotFound(_)) => Ok(None),
            Err(e) => Err(e),
        }
    }

    async fn put_derived(
        &self,
        location: &str,
        suffix: &str,
        bytes: &[u8],
    ) -> Result<(), StoreError> {
        let key = format!("{}{suffix}", self.derived_prefix(location));
        self.client
            .put_object()
            .bucket(&self.bucket)
            .key(&key)
            // What a presigned GET of it answers with.
            .content_type(
                suffix
                    .rsplit('.')
                    .next()
                    .and_then(ImageFormat::parse)
                    .map_or("application/octet-stream", ImageFormat::mime),
            )
            .body(ByteStream::from(bytes.to_vec()))
            .send()
            .await
            .map(|_| ())
            .map_err(|e| unavailable("put", e))
    }

    async fn delete_derived(&self, location: &str) -> Result<(), StoreError> {
        let prefix = self.derived_prefix(location);
        let mut pages = self
            .client
            .list_objects_v2()
            .bucket(&self.bucket)
            .prefix(&prefix)
            .into_paginator()
            .send();
        while let Some(page) = pages.next().await {
            let page = page.map_err(|e| unavailable("list", e))?;
            for object in page.contents() {
                if let Some(key) = object.key() {
                    self.unstage(key).await?;
                }
            }
        }
        Ok(())
    }

    async fn presigned_get(
        &self,
        location: &str,
        ttl_secs: i64,
    ) -> Result<Option<String>, StoreError> {
        let key = self.key(location)?;
        let request = self
            .client
            .get_object()
            .bucket(&self.bucket)
            .key(key)
            .presigned(Self::presigning(ttl_secs)?)
            .await
            .map_err(|e| unavailable("presign", e))?;
        Ok(Some(request.uri().to_string()))
    }

    fn derived_location(&self, location: &str, suffix: &str) -> String {
        self.location(&format!("{}{suffix}", self.derived_prefix(location)))
    }

    fn slot_location(&self, image_id: &str) -> String {
        self.location(&format!("{}uploads/{image_id}", self.prefix))
    }

    async fn presigned_put(
        &self,
        location: &str,
        ttl_secs: i64,
    ) -> Result<Option<String>, StoreError> {
        let key = self.key(location)?;
        let request = self
            .client
            .put_object()
            .bucket(&self.bucket)
            .key(key)
            .presigned(Self::presigning(ttl_secs)?)
            .await
            .map_err(|e| unavailable("presign", e))?;
        Ok(Some(request.uri().to_string()))
    }

    async fn put_slot(&self, location: &str, bytes: &[u8]) -> Result<(), StoreError> {
        let key = self.key(location)?;
        self.client
            .put_object()
            .bucket(&self.bucket)
            .key(key)
            .body(ByteStream::from(bytes.to_vec()))
            .send()
            .await
            .map(|_| ())
            .map_err(|e| unavailable("put", e))
    }

    async fn list(&self) -> Result<Vec<StoredFile>, StoreError> {
        let mut pages = self
            .client
            .list_objects_v2()
            .bucket(&self.bucket)
            .prefix(&self.prefix)
            .into_paginator()
            .send();
        let mut files = Vec::new();
        while let Some(page) = pages.next().await {
            let page = page.map_err(|e| unavailable("list", e))?;
            for object in page.contents() {
                let (Some(key), Some(modified)) = (object.key(), object.last_modified()) else {
                    continue;
                };
                let Some(kind) = key
                    .strip_prefix(self.prefix.as_str())
                    .and_then(FileKind::of)
                else {
                    continue;
                };
                let modified = std::time::SystemTime::try_from(*modified)
                    .unwrap_or(std::time::SystemTime::UNIX_EPOCH);
                files.push(StoredFile {
                    location: self.location(key),
                    modified,
                    kind,
                });
            }
        }
        Ok(files)
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn locations() {
        use super::parse_location as p;
        assert_eq!(p("s3://pics"), Some(("pics".into(), "".into())));
        assert_eq!(p("s3://pics/"), Some(("pics".into(), "".into())));
        assert_eq!(p("s3://pics/a/b/"), Some(("pics".into(), "a/b/".into())));
        assert_eq!(p("s3:///x"), None);
        assert_eq!(p("/data/images"), None);
    }
}

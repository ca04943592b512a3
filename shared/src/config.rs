//! Configuration from the environment, every variable with a default that
//! serves the embedded local run (SQLite, a local folder, the on-device tagger).

use serde::Deserialize;
use std::path::PathBuf;
use std::time::Duration;

use crate::auth::{AdminKeys, AuthMode};
pub use crate::store::S3Settings;
use crate::tagger::{ImageKitConfig, ImaggaConfig};

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("{name} is invalid: {reason}")]
    Invalid { name: &'static str, reason: String },
    #[error("cannot read the credentials file {path}: {reason}")]
    Credentials { path: String, reason: String },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TaggerKind {
    /// The on-device model.
    Local,
    /// Imagga, with ImageKit staging.
    Imagga,
}

#[derive(Debug, Clone)]
pub struct Config {
    pub database_url: String,
    pub image_store: String,
    pub tagger: TaggerKind,
    pub imagga: Option<ImaggaConfig>,
    pub imagekit: Option<ImageKitConfig>,
    /// Stage images for Imagga as presigned S3 objects instead of at ImageKit.
    pub imagga_staging_s3: bool,
    pub max_body_bytes: usize,
    pub bind: String,
    pub tagger_timeout: Duration,
    pub db_max_connections: u32,
    /// How long a query waits for a connection before answering 503.
    pub db_timeout: Duration,
    pub model_dir: PathBuf,
    /// Files younger than this are never swept as orphans (an upload may be
    /// committing); see [`crate::domain::reconcile`].
    pub orphan_grace: Duration,
    pub s3: S3Settings,
    /// `AUTH`: `open` (anonymous callers allowed) or `required`.
    pub auth: AuthMode,
    /// `API_KEYS` and `credentials.json` `"api_keys"`: admin keys.
    pub admin_keys: AdminKeys,
    pub jwt_secret: Option<Secret>,
    pub jwt_public_key_file: Option<PathBuf>,
    pub jwt_issuer: Option<String>,
    pub jwt_audience: Option<String>,
    /// Signs view and upload URLs; generated once and kept in the database when unset.
    pub url_signing_key: Option<Secret>,
    pub view_url_ttl_secs: i64,
    pub upload_url_ttl_secs: i64,
    /// Where asynchronous tagging jobs are announced on AWS (an SQS queue URL).
    pub tag_queue_url: Option<String>,
    /// `AWS_ENDPOINT_URL_SQS` (else `AWS_ENDPOINT_URL`): an SQS-compatible server.
    pub sqs_endpoint_url: Option<String>,
    /// How long a tagging worker holds a job before another may take it.
    pub tag_lease_secs: i64,
    /// Tries before a queued picture is given up on (`failed`).
    pub tag_max_attempts: u32,
    /// The first retry's wait; each next one waits twice as long (at most 5 minutes).
    pub tag_retry_secs: i64,
    /// The largest response a function may send (Lambda: 6 MB); a picture's
    /// `data` is left out where it would not fit.
    pub max_response_bytes: usize,
    /// The largest file in a multipart upload or at an upload URL.
    pub max_file_bytes: usize,
    /// `DECODE_MEMORY_MB`: what every image decode in flight may allocate,
    /// together ([`crate::analysis::DecodeBudget`]).
    pub decode_memory_mib: u32,
    /// `DECODE_WAIT_MS`: how long a decode waits for room in that budget
    /// before the request is answered `503` with `Retry-After`.
    pub decode_wait: Duration,
}

/// A secret value: never printed.
#[derive(Clone)]
pub struct Secret(pub String);

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("***")
    }
}

/// The shape of `credentials.json` (see `credentials.example.json`). Seed
/// 001's implementation named its sections `imagekitio` and `imaggan`; its
/// users' files work as they are.
#[derive(Debug, Default, Deserialize)]
struct CredentialsFile {
    #[serde(alias = "imagekitio")]
    imagekit: Option<ImageKitKeys>,
    #[serde(alias = "imaggan")]
    imagga: Option<ImaggaKeys>,
    /// Admin keys, as a list or one string.
    #[serde(default)]
    api_keys: Option<ApiKeys>,
    /// Sections this service does not know: named in a warning (never their
    /// values), so a misspelt section does not silently mean "no keys".
    #[serde(flatten)]
    unknown: std::collections::BTreeMap<String, serde::de::IgnoredAny>,
}

#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum ApiKeys {
    One(String),
    Many(Vec<String>),
}

#[derive(Debug, Deserialize)]
struct ImageKitKeys {
    #[serde(default)]
    private_key: String,
}

#[derive(Debug, Deserialize)]
struct ImaggaKeys {
    #[serde(default)]
    api_key: String,
    #[serde(default)]
    api_secret: String,
}

impl Config {
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(|name| std::env::var(name).ok().filter(|v| !v.is_empty()))
    }

    /// Builds the configuration from any variable lookup (tests pass a map).
    pub fn from_lookup(var: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let get = |name: &str, default: &str| var(name).unwrap_or_else(|| default.to_string());
        let credentials = read_credentials(&get("CREDENTIALS_FILE", "credentials.json"))?;

        // The environment overrides the file, so Lambda needs no file at all.
        let imagga_key = var("IMAGGA_API_KEY")
            .or_else(|| credentials.imagga.as_ref().map(|k| k.api_key.clone()));
        let imagga_secret = var("IMAGGA_API_SECRET")
            .or_else(|| credentials.imagga.as_ref().map(|k| k.api_secret.clone()));
        let imagekit_key = var("IMAGEKIT_PRIVATE_KEY")
            .or_else(|| credentials.imagekit.as_ref().map(|k| k.private_key.clone()));

        let imagga = match (imagga_key, imagga_secret) {
            (Some(api_key), Some(api_secret)) if !api_key.is_empty() && !api_secret.is_empty() => {
                Some(ImaggaConfig {
                    api_key,
                    api_secret,
                    base_url: trim_url(get("IMAGGA_BASE_URL", "https://api.imagga.com")),
                })
            }
            _ => None,
        };
        let imagekit = imagekit_key
            .filter(|k| !k.is_empty())
            .map(|private_key| ImageKitConfig {
                private_key,
                upload_url: trim_url(get("IMAGEKIT_UPLOAD_URL", "https://upload.imagekit.io")),
                api_url: trim_url(get("IMAGEKIT_API_URL", "https://api.imagekit.io")),
            });

        let tagger = match var("TAGGER").as_deref() {
            None if imagga.is_some() => TaggerKind::Imagga,
            None | Some("local") => TaggerKind::Local,
            Some("imagga") => TaggerKind::Imagga,
            Some(other) => {
                return Err(ConfigError::Invalid {
                    name: "TAGGER",
                    reason: format!("{other:?} is neither \"local\" nor \"imagga\""),
                });
            }
        };
        let image_store = get("IMAGE_STORE", "data/images");
        let stage_on_s3 = match var("IMAGGA_STAGING").as_deref() {
            None => imagekit.is_none() && image_store.starts_with("s3://"),
            Some("imagekit") => false,
            Some("s3") => true,
            Some(other) => {
                return Err(ConfigError::Invalid {
                    name: "IMAGGA_STAGING",
                    reason: format!("{other:?} is neither \"imagekit\" nor \"s3\""),
                });
            }
        };
        if tagger == TaggerKind::Imagga {
            let staging_ready = if stage_on_s3 {
                image_store.starts_with("s3://")
            } else {
                imagekit.is_some()
            };
            if imagga.is_none() || !staging_ready {
                return Err(ConfigError::Invalid {
                    name: "TAGGER",
                    reason: "imagga needs imagga.api_key and imagga.api_secret, and either \
                             imagekit.private_key or an s3:// IMAGE_STORE with IMAGGA_STAGING=s3"
                        .into(),
                });
            }
        }

        let auth = match var("AUTH").as_deref() {
            None | Some("open") => AuthMode::Open,
            Some("required") => AuthMode::Required,
            Some(other) => {
                return Err(ConfigError::Invalid {
                    name: "AUTH",
                    reason: format!("{other:?} is neither \"open\" nor \"required\""),
                });
            }
        };
        let env_keys = var("API_KEYS").unwrap_or_default();
        let file_keys = match &credentials.api_keys {
            Some(ApiKeys::One(k)) => vec![k.clone()],
            Some(ApiKeys::Many(ks)) => ks.clone(),
            None => Vec::new(),
        };
        let admin_keys = AdminKeys::new(
            env_keys
                .split(',')
                .chain(file_keys.iter().map(String::as_str)),
        );
        let max_body_bytes = number(&var, "MAX_BODY_BYTES", default_max_body(&var))?;
        Ok(Config {
            auth,
            admin_keys,
            jwt_secret: var("JWT_SECRET").map(Secret),
            jwt_public_key_file: var("JWT_PUBLIC_KEY_FILE").map(PathBuf::from),
            jwt_issuer: var("JWT_ISSUER"),
            jwt_audience: var("JWT_AUDIENCE"),
            url_signing_key: var("URL_SIGNING_KEY").map(Secret),
            view_url_ttl_secs: positive(&var, "VIEW_URL_TTL_SECS", 3600)?,
            upload_url_ttl_secs: positive(&var, "UPLOAD_URL_TTL_SECS", 900)?,
            tag_queue_url: var("TAG_QUEUE_URL"),
            sqs_endpoint_url: var("AWS_ENDPOINT_URL_SQS").or_else(|| var("AWS_ENDPOINT_URL")),
            tag_lease_secs: positive(&var, "TAG_LEASE_SECS", 120)?,
            tag_max_attempts: positive(&var, "TAG_MAX_ATTEMPTS", 5)? as u32,
            tag_retry_secs: positive(&var, "TAG_RETRY_SECS", 2)?,
            max_response_bytes: number(&var, "MAX_RESPONSE_BYTES", default_max_response(&var))?,
            max_file_bytes: number(&var, "MAX_FILE_BYTES", max_body_bytes)?,
            decode_memory_mib: positive(
                &var,
                "DECODE_MEMORY_MB",
                i64::from(crate::analysis::DecodeBudget::DEFAULT_MIB),
            )?
            .min(i64::from(u32::MAX)) as u32,
            decode_wait: Duration::from_millis(number(
                &var,
                "DECODE_WAIT_MS",
                crate::analysis::DecodeBudget::DEFAULT_WAIT.as_millis() as u64,
            )?),
            database_url: get("DATABASE_URL", "sqlite://data/pictures.db"),
            image_store,
            imagga_staging_s3: stage_on_s3,
            tagger,
            imagga,
            imagekit,
            max_body_bytes,
            bind: get("BIND", "127.0.0.1:8080"),
            tagger_timeout: Duration::from_secs(number(&var, "TAGGER_TIMEOUT_SECS", 10)?),
            db_max_connections: number(&var, "DB_MAX_CONNECTIONS", 8)?,
            db_timeout: Duration::from_secs(number(&var, "DB_TIMEOUT_SECS", 5)?),
            model_dir: PathBuf::from(get("MODEL_DIR", "data/models")),
            orphan_grace: Duration::from_secs(number(&var, "ORPHAN_GRACE_SECS", 600)?),
            s3: S3Settings {
                endpoint_url: var("AWS_ENDPOINT_URL_S3").or_else(|| var("AWS_ENDPOINT_URL")),
                region: var("AWS_REGION").or_else(|| var("AWS_DEFAULT_REGION")),
                credentials: var("AWS_ACCESS_KEY_ID")
                    .zip(var("AWS_SECRET_ACCESS_KEY"))
                    .map(|(id, secret)| (id, secret, var("AWS_SESSION_TOKEN"))),
                force_path_style: matches!(
                    var("S3_FORCE_PATH_STYLE").as_deref(),
                    Some("true" | "1")
                ),
            },
        })
    }
}

fn trim_url(url: String) -> String {
    url.trim_end_matches('/').to_string()
}

/// Lambda's limit (6 MiB) is for the whole event, so under the runtime the
/// body limit leaves 64 KiB for the envelope (headers, request context): any
/// body that fits in an event but is over the limit gets our 413.
pub const LAMBDA_MAX_BODY_BYTES: usize = 6_291_456 - 65_536;

/// Where the service runs as one process (the local API, compose), a
/// phone's original of 50 megapixels fits as base64 JSON: the decode memory
/// budget, not the body, bounds what an upload costs.
pub const LOCAL_MAX_BODY_BYTES: usize = 64 << 20;

fn default_max_body(var: &impl Fn(&str) -> Option<String>) -> usize {
    match var("AWS_LAMBDA_RUNTIME_API") {
        Some(_) => LAMBDA_MAX_BODY_BYTES,
        None => LOCAL_MAX_BODY_BYTES,
    }
}

/// Lambda's response limit is 6 MB for the whole answer; elsewhere there is none.
fn default_max_response(var: &impl Fn(&str) -> Option<String>) -> usize {
    match var("AWS_LAMBDA_RUNTIME_API") {
        Some(_) => 6_291_456 - 65_536,
        None => usize::MAX,
    }
}

fn positive(
    var: &impl Fn(&str) -> Option<String>,
    name: &'static str,
    default: i64,
) -> Result<i64, ConfigError> {
    let n: i64 = number(var, name, default)?;
    if n <= 0 {
        return Err(ConfigError::Invalid {
            name,
            reason: format!("{n} is not a positive number"),
        });
    }
    Ok(n)
}

fn number<T: std::str::FromStr>(
    var: &impl Fn(&str) -> Option<String>,
    name: &'static str,
    default: T,
) -> Result<T, ConfigError> {
    match var(name) {
        None => Ok(default),
        Some(v) => v.trim().parse().map_err(|_| ConfigError::Invalid {
            name,
            reason: format!("{v:?} is not a positive number"),
        }),
    }
}

/// A missing file means no keys; a malformed one is an error, reported
/// without its content.
fn read_credentials(path: &str) -> Result<CredentialsFile, ConfigError> {
    let text = match std::fs::read_to_string(path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(CredentialsFile::default()),
        // What Docker mounts when the host file is missing: an empty folder.
        Err(e) if e.kind() == std::io::ErrorKind::IsADirectory => {
            tracing::warn!(
                path,
                "the credentials path is a folder; using no credentials"
            );
            return Ok(CredentialsFile::default());
        }
        Err(e) => {
            return Err(ConfigError::Credentials {
                path: path.into(),
                reason: e.to_string(),
            });
        }
    };
    let file: CredentialsFile =
        serde_json::from_str(&text).map_err(|e| ConfigError::Credentials {
            path: path.into(),
            reason: format!(
                "not valid JSON of the expected shape (line {}, column {})",
                e.line(),
                e.column()
            ),
        })?;
    if !file.unknown.is_empty() {
        let names: Vec<&str> = file.unknown.keys().map(String::as_str).collect();
        tracing::warn!(
            path,
            sections = ?names,
            "credentials file has sections this service does not know; they are ignored \
             (known: imagekit or imagekitio, imagga or imaggan, api_keys)"
        );
    }
    Ok(file)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn config(vars: &[(&str, &str)]) -> Result<Config, ConfigError> {
        let vars: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        Config::from_lookup(|k| vars.get(k).cloned())
    }

    #[test]
    fn defaults_serve_the_embedded_run() {
        let c = config(&[("CREDENTIALS_FILE", "/nonexistent/credentials.json")]).unwrap();
        assert_eq!(c.database_url, "sqlite://data/pictures.db");
        assert_eq!(c.image_store, "data/images");
        assert_eq!(c.tagger, TaggerKind::Local);
        assert_eq!(
            c.max_body_bytes,
            64 << 20,
            "a 50-megapixel JPEG as base64 JSON"
        );
        assert_eq!(c.bind, "127.0.0.1:8080");
    }

    #[test]
    fn under_the_lambda_runtime_the_body_limit_leaves_room_for_the_event() {
        let lambda = ("AWS_LAMBDA_RUNTIME_API", "127.0.0.1:9001");
        let c = config(&[lambda]).unwrap();
        assert_eq!(c.max_body_bytes, LAMBDA_MAX_BODY_BYTES);
        const { assert!(LAMBDA_MAX_BODY_BYTES < 6_291_456) };
        let c = config(&[lambda, ("MAX_BODY_BYTES", "1000")]).unwrap();
        assert_eq!(c.max_body_bytes, 1000, "an explicit limit still wins");
    }

    #[test]
    fn imagga_is_the_default_when_keys_exist() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("credentials.json");
        std::fs::write(
            &path,
            r#"{"imagekit": {"public_key": "p", "private_key": "ik-secret", "url_endpoint": "https://ik.imagekit.io/x"},
                "imagga": {"api_key": "key", "api_secret": "imagga-secret"}}"#,
        )
        .unwrap();
        let c = config(&[("CREDENTIALS_FILE", path.to_str().unwrap())]).unwrap();
        assert_eq!(c.tagger, TaggerKind::Imagga);
        assert_eq!(
            c.imagga.as_ref().unwrap().base_url,
            "https://api.imagga.com"
        );
        // Debug output never shows a secret.
        let shown = format!("{c:?}");
        assert!(
            !shown.contains("ik-secret") && !shown.contains("imagga-secret"),
            "{shown}"
        );
        let c = config(&[
            ("CREDENTIALS_FILE", path.to_str().unwrap()),
            ("TAGGER", "local"),
        ])
        .unwrap();
        assert_eq!(c.tagger, TaggerKind::Local);
    }

    #[test]
    fn seed_001_section_names_are_understood() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("credentials.json");
        std::fs::write(
            &path,
            r#"{"imagekitio": {"public_key": "p", "private_key": "ik-secret", "url_endpoint": "https://ik.imagekit.io/x"},
                "imaggan": {"api_key": "key", "api_secret": "imagga-secret"},
                "imagekit_extra": {"private_key": "never-shown"}}"#,
        )
        .unwrap();
        let c = config(&[("CREDENTIALS_FILE", path.to_str().unwrap())]).unwrap();
        assert_eq!(c.tagger, TaggerKind::Imagga);
        assert_eq!(c.imagga.as_ref().unwrap().api_key, "key");
        let file = read_credentials(path.to_str().unwrap()).unwrap();
        assert_eq!(
            file.unknown.keys().collect::<Vec<_>>(),
            ["imagekit_extra"],
            "sections it does not know are named for the warning"
        );
    }

    #[test]
    fn bad_settings_are_refused() {
        let none = ("CREDENTIALS_FILE", "/nonexistent/credentials.json");
        assert!(
            config(&[none, ("TAGGER", "imagga")]).is_err(),
            "imagga without keys"
        );
        assert!(config(&[none, ("TAGGER", "magic")]).is_err());
        assert!(config(&[none, ("MAX_BODY_BYTES", "lots")]).is_err());
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("credentials.json");
        std::fs::write(&path, "{\"imagga\": {\"api_key\": \"s3cr3t\"").unwrap();
        let err = config(&[("CREDENTIALS_FILE", path.to_str().unwrap())])
            .unwrap_err()
            .to_string();
        assert!(!err.contains("s3cr3t"), "{err}");
    }
}

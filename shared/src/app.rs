//! The process-wide [`App`]: configuration turned into pools, clients and the
//! model, once per process, then borrowed by every request.

use std::sync::Arc;

use crate::analysis::DecodeBudget;
use crate::auth::{AuthSettings, JwtVerifier, UrlSigner};
use crate::config::{Config, ConfigError, TaggerKind};
use crate::db::{self, Database, DbError};
use crate::domain::Error;
use crate::domain::ports::TagQueue;
use crate::domain::ports::{Ports, Settings, Signer};
use crate::queue::{LocalQueue, SqsQueue};
use crate::store::{FolderStore, ImageStore, S3Store, StoreError};
use crate::tagger::{ImaggaTagger, LocalTagger, NoTagger, Staging, Tagger};

pub struct App {
    pub db: Arc<dyn Database>,
    pub store: Arc<dyn ImageStore>,
    pub tagger: Arc<dyn Tagger>,
    /// Where asynchronous tagging jobs are announced.
    pub queue: Arc<dyn TagQueue>,
    /// The local worker's queue, when this process runs one (the local API).
    pub local_queue: Option<Arc<LocalQueue>>,
    pub auth: AuthSettings,
    pub settings: Settings,
    /// Largest request body accepted, in bytes.
    pub max_body_bytes: usize,
    /// The memory every image decode in flight may take, together.
    pub decodes: Arc<DecodeBudget>,
    pub signer: Signer,
}

#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error(transparent)]
    Database(#[from] DbError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("tagger: {0}")]
    Tagger(String),
    #[error("{0}")]
    Auth(String),
}

impl App {
    /// Builds the app from the environment. `tagging` is false for functions
    /// that never tag, so they load no model and need no credentials.
    pub async fn from_env(tagging: bool) -> Result<Arc<App>, StartError> {
        Self::build(&Config::from_env()?, tagging).await
    }

    pub async fn build(config: &Config, tagging: bool) -> Result<Arc<App>, StartError> {
        // One TLS provider for every client (reqwest, sqlx); a second call is a no-op.
        let _ = rustls::crypto::ring::default_provider().install_default();
        let db = db::open(
            &config.database_url,
            config.db_max_connections,
            config.db_timeout,
        )?;
        let s3 = match config.image_store.starts_with("s3://") {
            true => Some(Arc::new(
                S3Store::open(&config.image_store, &config.s3).await?,
            )),
            false => None,
        };
        let store: Arc<dyn ImageStore> = match &s3 {
            Some(s3) => s3.clone(),
            None => Arc::new(FolderStore::open(&config.image_store)?),
        };
        let tagger: Arc<dyn Tagger> = match (tagging, config.tagger) {
            (false, _) => Arc::new(NoTagger),
            (true, TaggerKind::Imagga) => {
                let staging = match (&s3, config.imagga_staging_s3) {
                    (Some(s3), true) => Staging::S3(s3.clone()),
                    _ => Staging::ImageKit(config.imagekit.clone().expect("checked by Config")),
                };
                Arc::new(ImaggaTagger::new(
                    config.imagga.clone().expect("checked by Config"),
                    staging,
                    config.tagger_timeout,
                ))
            }
            (true, TaggerKind::Local) => {
                let started = std::time::Instant::now();
                let tagger = LocalTagger::load(&config.model_dir).map_err(|e| {
                    StartError::Tagger(format!(
                        "{e}; run `make model` to fetch the on-device model, or set MODEL_DIR"
                    ))
                })?;
                tracing::info!(elapsed = ?started.elapsed(), "on-device model loaded");
                Arc::new(tagger)
            }
        };
        let (queue, local_queue): (Arc<dyn TagQueue>, _) = match &config.tag_queue_url {
            Some(url) => (
                Arc::new(SqsQueue::open(url, &config.s3, config.sqs_endpoint_url.as_deref()).await),
                None,
            ),
            None => {
                let local = Arc::new(LocalQueue::default());
                (local.clone(), Some(local))
            }
        };
        let public_key = match &config.jwt_public_key_file {
            Some(path) => Some(std::fs::read(path).map_err(|e| {
                StartError::Auth(format!("JWT_PUBLIC_KEY_FILE {}: {e}", path.display()))
            })?),
            None => None,
        };
        let jwt = JwtVerifier::new(
            config.jwt_secret.as_ref().map(|s| s.0.as_str()),
            public_key.as_deref(),
            config.jwt_issuer.clone(),
            config.jwt_audience.clone(),
        )
        .map_err(StartError::Auth)?;
        Ok(Arc::new(App {
            db,
            store,
            tagger,
            queue,
            local_queue,
            auth: AuthSettings {
                mode: config.auth,
                admin_keys: config.admin_keys.clone(),
                jwt,
            },
            settings: Settings {
                view_url_ttl_secs: config.view_url_ttl_secs,
                upload_url_ttl_secs: config.upload_url_ttl_secs,
                tag_lease_secs: config.tag_lease_secs,
                tag_max_attempts: config.tag_max_attempts,
                tag_retry_secs: config.tag_retry_secs,
                max_response_bytes: config.max_response_bytes,
                max_file_bytes: config.max_file_bytes,
            },
            max_body_bytes: config.max_body_bytes,
            decodes: Arc::new(DecodeBudget::new(
                config.decode_memory_mib,
                config.decode_wait,
            )),
            signer: Signer::new(config.url_signing_key.as_ref().map(|k| k.0.clone())),
        }))
    }

    /// The ports, borrowed for one operation.
    pub fn ports(&self) -> Ports<'_> {
        Ports {
            db: &*self.db,
            store: &*self.store,
            tagger: &*self.tagger,
            queue: &*self.queue,
            decodes: &self.decodes,
            settings: &self.settings,
            signer: &self.signer,
        }
    }

    /// The signer of view and upload URLs ([`Signer`]).
    pub async fn signer(&self) -> Result<&UrlSigner, Error> {
        self.signer.get(&*self.db).await
    }

    /// Connects and migrates now rather than at the first request. A database
    /// that is down is not fatal: requests answer 503 until it is back.
    pub async fn warm_up(&self) {
        let _ = self.start_database().await;
    }

    /// [`App::warm_up`], except that a database whose rows cannot be
    /// converted is an error, saying which rows: the local API stops on it.
    pub async fn start_database(&self) -> Result<(), DbError> {
        match self.db.migrate().await {
            Err(e @ DbError::Refused(_)) => {
                tracing::error!("{e}");
                Err(e)
            }
            Err(e) => {
                tracing::warn!(error = %e, "database not ready yet; will retry on the first request");
                Ok(())
            }
            Ok(()) => {
                let issuer = self.auth.jwt.as_ref().and_then(|j| j.issuer());
                if let Err(e) =
                    crate::domain::accounts::namespace_token_users(&*self.db, issuer).await
                {
                    tracing::warn!(error = %e, "token users not moved yet; the next start tries again");
                }
                Ok(())
            }
        }
    }
}

//! The process-wide [`App`]: configuration turned into pools, clients and the
//! model, once per process, then borrowed by every request.

use std::sync::Arc;

use crate::config::{Config, ConfigError, TaggerKind};
use crate::db::{self, Database, DbError};
use crate::store::{FolderStore, ImageStore, S3Store, StoreError};
use crate::tagger::{ImaggaTagger, LocalTagger, NoTagger, Staging, Tagger};

pub struct App {
    pub db: Arc<dyn Database>,
    pub store: Arc<dyn ImageStore>,
    pub tagger: Arc<dyn Tagger>,
    /// Largest request body accepted, in bytes.
    pub max_body_bytes: usize,
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
        Ok(Arc::new(App {
            db,
            store,
            tagger,
            max_body_bytes: config.max_body_bytes,
        }))
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
            Ok(()) => Ok(()),
        }
    }
}

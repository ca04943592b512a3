use crate::db::DbError;
use crate::store::StoreError;
use crate::tagger::TaggerError;

/// Everything a domain operation can fail with. The HTTP edge maps each
/// variant to a status; the internal causes are logged there, never sent.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The client sent something unusable. `code` is the stable snake_case
    /// identifier clients match on; the message is for a person.
    #[error("{message}")]
    Invalid { code: &'static str, message: String },
    #[error("no picture with id {0}")]
    NotFound(String),
    #[error(transparent)]
    Tagger(#[from] TaggerError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Database(#[from] DbError),
}

impl Error {
    pub fn invalid(code: &'static str, message: impl Into<String>) -> Self {
        Error::Invalid {
            code,
            message: message.into(),
        }
    }
}

use super::ports::DbError;
use crate::analysis::BudgetError;
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
    /// No such picture, or one the caller may not see (they cannot tell which).
    #[error("no picture with id {0}")]
    NotFound(String),
    /// Something else that does not exist (a user, a key, a link): the message says what.
    #[error("{0}")]
    Missing(String),
    /// Missing, malformed, expired or unknown credentials.
    #[error("{0}")]
    Unauthorized(String),
    /// Known, and not allowed (`forbidden`), or a signed URL that no longer
    /// holds (`url_expired`, `bad_signature`).
    #[error("{message}")]
    Forbidden { code: &'static str, message: String },
    /// It exists already.
    #[error("{0}")]
    Conflict(String),
    /// It existed and has expired (`link_expired`).
    #[error("{message}")]
    Gone { code: &'static str, message: String },
    /// The input is well formed but more than the service takes
    /// (`decode_too_large`: its pixels need more memory than the decode
    /// budget holds).
    #[error("{message}")]
    TooLarge { code: &'static str, message: String },
    /// The service is at a limit of its own for now (the decode budget is
    /// taken); the client should try again shortly.
    #[error("{0}")]
    Busy(String),
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

    pub fn forbidden(message: impl Into<String>) -> Self {
        Error::Forbidden {
            code: "forbidden",
            message: message.into(),
        }
    }

    /// The picture the caller asked for is not theirs to see: the same
    /// answer as no picture at all.
    pub fn no_picture(id: i64) -> Self {
        Error::NotFound(id.to_string())
    }
}

impl From<BudgetError> for Error {
    fn from(e: BudgetError) -> Self {
        match e {
            BudgetError::TooLarge { .. } => Error::TooLarge {
                code: "decode_too_large",
                message: format!("{e}: send a smaller image (fewer pixels)"),
            },
            BudgetError::Busy => Error::Busy(e.to_string()),
        }
    }
}

/// The `code` of an input error (a test's view of a refusal).
#[cfg(test)]
pub(crate) fn input_code(e: Error) -> &'static str {
    match e {
        Error::Invalid { code, .. } => code,
        other => panic!("not an input error: {other:?}"),
    }
}

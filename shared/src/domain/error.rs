use crate::analysis::BudgetError;

#[derive(Debug, thiserror::Error)]
pub enum TaggerError {
    /// The tagging service (or the staging host it needs) failed or timed out.
    #[error("tagging service failed: {0}")]
    Failed(String),
    /// It answered, but not with tags.
    #[error("tagging service answered nonsense: {0}")]
    BadAnswer(String),
    /// The image's header read but its pixels do not decode (a truncated or
    /// corrupt file): the client's fault, not the tagger's.
    #[error("{0}")]
    BadImage(String),
}

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The location names no file (it was removed behind the service's back).
    #[error("no stored file at {0}")]
    NotFound(String),
    #[error("image store unavailable: {0}")]
    Unavailable(String),
}

#[derive(Debug, thiserror::Error)]
pub enum DbError {
    /// The server cannot be reached, or is too busy to answer in time.
    #[error("database unavailable: {0}")]
    Unavailable(#[source] sqlx::Error),
    #[error("database query failed: {0}")]
    Query(#[source] sqlx::Error),
    #[error("database migration failed: {0}")]
    Migrate(String),
    /// Existing rows cannot be converted; nothing was changed.
    #[error("{0}")]
    Refused(String),
    #[error("invalid DATABASE_URL: {0}")]
    Url(String),
}

impl DbError {
    /// A unique key refused the write.
    pub fn is_unique_violation(&self) -> bool {
        matches!(self, DbError::Query(sqlx::Error::Database(e)) if e.is_unique_violation())
    }
}

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

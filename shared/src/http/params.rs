//! Query strings, parsed strictly: an unknown or repeated parameter is a 400,
//! so a typo (`tag=` for `tags=`) never silently widens a search.

use super::ApiError;

/// The parameters of one query string, each named at most once.
pub struct Params(Vec<(String, String)>);

impl Params {
    pub fn parse(raw: Option<&str>, allowed: &[&str]) -> Result<Self, ApiError> {
        let mut seen: Vec<(String, String)> = Vec::new();
        for (name, value) in form_urlencoded::parse(raw.unwrap_or("").as_bytes()) {
            if !allowed.contains(&name.as_ref()) {
                return Err(ApiError::invalid(
                    "unknown_parameter",
                    format!(
                        "unknown query parameter {name:?}; this route takes {}",
                        if allowed.is_empty() {
                            "none".to_string()
                        } else {
                            allowed.join(", ")
                        }
                    ),
                ));
            }
            if seen.iter().any(|(n, _)| *n == name) {
                return Err(ApiError::invalid(
                    "repeated_parameter",
                    format!("query parameter {name:?} is given more than once"),
                ));
            }
            seen.push((name.into_owned(), value.into_owned()));
        }
        Ok(Params(seen))
    }

    pub fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    /// Parses a parameter when present.
    pub fn map<T>(
        &self,
        name: &str,
        parse: impl FnOnce(&str) -> Result<T, crate::Error>,
    ) -> Result<Option<T>, ApiError> {
        self.get(name)
            .map(parse)
            .transpose()
            .map_err(ApiError::from)
    }
}

/// A path parameter (`{id}`, `{upload_id}`...), text as the client sent it.
/// A segment that is not UTF-8 names nothing: the JSON 404 of no such
/// resource, never the router's plain-text 400.
pub struct PathArg(pub String);

impl<S: Send + Sync> axum::extract::FromRequestParts<S> for PathArg {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        state: &S,
    ) -> Result<Self, ApiError> {
        match axum::extract::Path::<String>::from_request_parts(parts, state).await {
            Ok(axum::extract::Path(value)) => Ok(PathArg(value)),
            Err(_) => Err(ApiError::invalid(
                "invalid_id",
                "the path names nothing this service knows (not UTF-8)",
            )),
        }
    }
}

//! The client's own view of the API's JSON: only the fields it reads.
//! Unknown fields are ignored, so a newer server never breaks an older
//! client; `--json` output passes the server's objects through untouched.

use serde::{Deserialize, Serialize};

/// `{"error", "message", "detail"?}`: every error the API answers.
#[derive(Debug, Clone, Deserialize)]
pub struct ErrorBody {
    pub error: String,
    #[serde(default)]
    pub message: String,
    #[serde(default)]
    pub detail: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct Tag {
    pub tag: String,
    pub confidence: f64,
}

/// A picture object (a listing's, or `GET /images/{id}`'s with `data`).
#[derive(Debug, Clone, Deserialize)]
pub struct Picture {
    pub id: i64,
    /// Kilobytes.
    #[serde(default)]
    pub size: f64,
    #[serde(default)]
    pub date: String,
    #[serde(default)]
    pub tags: Vec<Tag>,
    #[serde(default)]
    pub data: Option<String>,
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub status: Option<String>,
    #[serde(default)]
    pub format: Option<String>,
    #[serde(default)]
    pub width: Option<u32>,
    #[serde(default)]
    pub height: Option<u32>,
    #[serde(default)]
    pub hash: Option<String>,
}

/// `POST /images`'s JSON body.
#[derive(Debug, Serialize)]
pub struct Upload<'a> {
    pub data: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<&'a str>,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub private: bool,
    #[serde(rename = "async", skip_serializing_if = "std::ops::Not::not")]
    pub asynchronous: bool,
}

/// One line of `GET /tags`.
#[derive(Debug, Clone, Deserialize)]
pub struct TagStats {
    pub tag: String,
    pub n_images: u64,
    pub min_confidence: f64,
    pub max_confidence: f64,
    pub mean_confidence: f64,
}

#[derive(Debug, Clone, Deserialize)]
pub struct DayCount {
    pub date: String,
    pub count: u64,
}

#[derive(Debug, Clone, Deserialize)]
pub struct FormatCount {
    pub format: String,
    pub count: u64,
}

#[derive(Debug, Clone, Deserialize)]
pub struct CameraCount {
    pub camera: String,
    pub count: u64,
}

/// `GET /stats`.
#[derive(Debug, Clone, Deserialize)]
pub struct Stats {
    #[serde(default)]
    pub uploads_per_day: Vec<DayCount>,
    #[serde(default)]
    pub most_popular_format: Option<String>,
    #[serde(default)]
    pub formats: Vec<FormatCount>,
    #[serde(default)]
    pub top_camera_models: Vec<CameraCount>,
}

/// `DELETE /images`'s answer.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
pub struct Deleted {
    pub deleted: Vec<i64>,
    pub not_found: Vec<i64>,
}

/// `POST /users`' answer (`api_key` only when the server made one).
#[derive(Debug, Clone, Deserialize)]
pub struct User {
    pub id: serde_json::Value,
    #[serde(default)]
    pub email: Option<String>,
    #[serde(default)]
    pub api_key: Option<String>,
}

/// `POST /users/me/keys`' answer.
#[derive(Debug, Clone, Deserialize)]
pub struct NewKey {
    pub id: serde_json::Value,
    #[serde(default)]
    pub name: Option<String>,
    pub key: String,
}

/// One line of `GET /users/me/keys`.
#[derive(Debug, Clone, Deserialize)]
pub struct Key {
    pub id: serde_json::Value,
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub created: Option<String>,
    #[serde(default)]
    pub last_used: Option<String>,
}

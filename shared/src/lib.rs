//! Pictures: an image-tagging API built as serverless-style function handlers.
//!
//! Every function binary (and the local API that serves them all) is a thin
//! `main` around this crate:
//!
//! * [`domain`] — the operations (register, search, get, statistics) and the
//!   newtypes that parse untrusted input once. Knows nothing of HTTP.
//! * [`db`], [`store`], [`tagger`] — the ports those operations use, each a
//!   small trait with its adapters (SQLite/MySQL, folder, Imagga).
//! * [`http`] — the routes table, the thin handlers and the one error type
//!   that turns every failure into a JSON body with the right status.
//! * [`app`] and [`config`] — the process-wide [`App`], built once from the
//!   environment and borrowed by every request.

pub mod analysis;
pub mod app;
pub mod auth;
pub mod config;
pub mod cpu;
pub mod db;
pub mod domain;
pub mod http;
pub mod lambda;
pub mod local;
pub mod queue;
pub mod store;
pub mod tagger;
mod telemetry;

pub use app::App;
pub use config::Config;
pub use domain::Error;

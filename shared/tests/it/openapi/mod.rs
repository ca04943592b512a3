//! `openapi.yaml` cannot drift from the service: it documents exactly the
//! routes of the routes table (and the local API's /health, /docs and
//! /openapi.json), the local API serves it as /openapi.json, and real
//! responses of every operation (successes and every kind of error) have a
//! documented status, the documented headers and content type, and match the
//! documented schema. (`make test` also runs schemathesis against the local
//! API with this description.)
//!
//! `schema` checks a value against the description, `client` sends requests
//! and checks their answers, `fixtures` makes what the tests start from.
//! Each resource's tests declare what they exercise (a [`client::Covers`]),
//! checked when they end; `description::every_operation_is_exercised`
//! checks that together they exercise every operation.

mod client;
mod fixtures;
mod schema;

mod analysis;
mod auth_required;
mod description;
mod failures;
mod files;
mod images;
mod seed_doors;
mod seed_v1;
mod uploads;
mod users;
mod web;

/// Served by the local API beside the routes table (`docs_router`), and
/// documented like them.
const DOCS_ROUTES: [(&str, &str); 3] = [
    ("GET", "/health"),
    ("GET", "/docs"),
    ("GET", "/openapi.json"),
];

const ADMIN: &str = "admin-key-for-openapi-tests";
const JWT_SECRET: &str = "jwt-secret-for-openapi-tests";

//! The library's integration tests, in one binary (each test still runs in
//! a process of its own under nextest): one module per subject, sharing
//! `pictures-testkit` (a real database, image folder, local API, loopback
//! stand-ins), known here as `common`.

use pictures_testkit as common;

mod accounts;
mod analysis;
mod analysis_api;
mod api;
mod atomicity;
mod bad_input;
mod emulator;
mod faults;
mod imagga_client;
mod local_tagger;
mod objects;
mod openapi;
mod people;
mod phone;
mod retag;
mod routes;
mod s3_store;
mod security;
mod seed_clients;
mod seed_schema;
mod seed_services;
mod uploads;
mod whole_image;

//! The seeds' own clients, call for call: thin doors that turn each seed
//! service's requests into the operations every canonical route makes, and
//! the results into that service's answer shapes. No rule lives here.
//! (Seeds 000 and 001 need no door of their own: their routes are aliases in
//! the routes table.)

pub mod s002;
pub mod s003;
pub mod s004;

//! The seeds' own clients, call for call: thin doors that turn each seed
//! service's requests into the operations every canonical route makes, and
//! the results into that service's answer shapes. No rule lives here.
//! Seeds 000 and 001 need no door of their own: their routes are aliases of
//! the canonical handlers, listed here beside the doors of the others.

use axum::routing::{delete, get, post};

use super::route::Route;
use super::{analysis, pictures, upload, uploads};

pub mod s002;
pub mod s003;
pub mod s004;

/// The seeds' routes (Part 3 of the contract), each in the function of the
/// resource it belongs to.
pub(super) const ROUTES: &[Route] = &[
    // Seeds 000 and 001: aliases.
    Route::new("POST", "/image", "post-image", || post(upload::post_image)),
    Route::new("POST", "/images/tags", "post-image", || {
        post(upload::post_image)
    }),
    Route::new("GET", "/image/{id}", "get-image", || {
        get(pictures::get_image)
    }),
    Route::new("GET", "/images/tags", "get-tags", || {
        get(analysis::get_tags)
    }),
    // Seed 002.
    Route::new("POST", "/api/generate-upload-link", "uploads", || {
        post(s002::generate_upload_link)
    }),
    Route::new(
        "POST",
        "/api/upload-images/{upload_id}",
        "post-image",
        || post(s002::upload_images),
    ),
    Route::new("GET", "/api/images/{image_id}", "get-image", || {
        get(s002::image)
    }),
    Route::new("GET", "/api/stats", "get-tags", || get(s002::stats)),
    // Seed 003.
    Route::new("POST", "/prominent-colors", "colors", || {
        post(s003::prominent_colors)
    }),
    Route::new("POST", "/rgb2hex", "colors", || post(s003::rgb2hex)),
    Route::new("POST", "/centroids", "colors", || post(s003::centroids)),
    // Seed 004.
    Route::new("POST", "/api/v1/users", "accounts", || {
        post(s004::create_user)
    }),
    Route::new("DELETE", "/api/v1/users", "accounts", || {
        delete(s004::delete_user)
    }),
    Route::new("GET", "/images/upload_urls", "uploads", || {
        get(uploads::get_upload_urls)
    }),
    Route::new("GET", "/api/v1/images/upload_urls", "uploads", || {
        get(s004::upload_urls)
    }),
    Route::new("POST", "/api/v1/images", "post-image", || {
        post(s004::register)
    }),
    Route::new(
        "GET",
        "/api/v1/images/private/summary",
        "get-images",
        || get(s004::private_summary),
    ),
    Route::new("DELETE", "/api/v1/images", "manage-images", || {
        delete(s004::delete_images)
    }),
];

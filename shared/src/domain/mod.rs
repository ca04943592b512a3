//! The domain: what a picture is, who may do what with it, and the
//! operations that answer. Nothing here knows about HTTP.

pub mod access;
pub mod accounts;
pub mod analysis;
mod backfill;
pub mod caller;
mod error;
pub mod files;
mod format;
pub(crate) mod image;
pub mod pictures;
pub mod ports;
pub mod query;
pub mod queue;
mod reconcile;
mod retag;
pub mod types;
pub mod uploads;

pub use backfill::{Analyzed, Backfilled, analyze_all, backfill};
pub use caller::{Caller, PUBLIC_SCOPE, User, UserId, Visibility, scope_of};
pub use error::{DbError, Error, StoreError, TaggerError};
pub use image::{ImageData, ImageFormat, sha256_hex};
pub use pictures::{Deleted, Page, Registered, Upload, get_picture, register, search, tag_stats};
pub use ports::{Ports, Settings};
pub use query::{
    COLOR_RADIUS, ColorDistance, DateRange, Limit, MAX_SEARCH_TAGS, NearColor, Order, PictureId,
    SearchQuery, TagList, TagOrigin,
};
pub use reconcile::{Reconciled, reconcile};
pub use retag::{Retagged, retag, retag_all};
pub use types::{
    Account, BoundingBox, ColorShare, Confidence, DetectedObject, Facts, Gps, Inserted, KeyInfo,
    KeyOwner, MAX_TAG_CHARS, NewPicture, Picture, PictureStats, Status, Tag, TagJob, TagSource,
    TagStat, UploadLink, UploadSlot, normalize_tag, round2, select_objects, select_tags, sort_tags,
    utc_now,
};

//! The domain: what a picture is, who may do what with it, and the
//! operations that answer. Nothing here knows about HTTP.

pub mod accounts;
pub mod analysis;
mod backfill;
pub mod caller;
mod error;
pub mod ports;
pub mod files;
pub(crate) mod image;
pub mod pictures;
pub mod queue;
mod retag;
pub mod types;
pub mod uploads;

pub use accounts::{Account, KeyInfo, KeyOwner};
pub use analysis::PictureStats;
pub use backfill::{Analyzed, Backfilled, analyze_all, backfill};
pub use caller::{Caller, PUBLIC_SCOPE, User, UserId, Visibility, scope_of};
pub use error::Error;
pub use image::{ImageData, ImageFormat};
pub use pictures::{
    Deleted, Page, Reconciled, Registered, Upload, get_picture, reconcile, register, search,
    tag_stats,
};
pub use queue::TagJob;
pub use retag::{Retagged, retag, retag_all};
pub use types::{
    BoundingBox, COLOR_RADIUS, ColorDistance, ColorShare, Confidence, DateRange, DetectedObject,
    Facts, Gps, Inserted, Limit, NearColor, NewPicture, Order, Picture, PictureId, SearchQuery,
    Status, Tag, TagList, TagSource, TagStat, normalize_tag, round2, select_objects, select_tags,
    sort_tags, utc_now,
};
pub use uploads::{UploadLink, UploadSlot};

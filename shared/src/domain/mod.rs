//! The domain: what a picture is, what may be asked of the service, and the
//! operations that answer. Nothing here knows about HTTP.

mod backfill;
mod error;
pub(crate) mod image;
mod ops;
mod retag;
mod types;

pub use backfill::{Backfilled, backfill};
pub use error::Error;
pub use image::{ImageData, ImageFormat};
pub use ops::{Page, Reconciled, get_picture, reconcile, register, search, tag_stats};
pub use retag::{Retagged, retag, retag_all};
pub use types::{
    Confidence, DateRange, Limit, NewPicture, Picture, PictureId, SearchQuery, StoredPicture, Tag,
    TagList, TagStat, round2, select_tags, sort_tags, utc_now,
};

//! The ports the domain's operations use to keep pictures, accounts, the
//! queue's table and upload links: one trait per capability, so a signature
//! says what an operation touches. `db/` holds their SQLite and MySQL adapters.

use async_trait::async_trait;

use crate::analysis::DecodeBudget;
use crate::auth::{UrlSigner, new_api_key};
use crate::store::ImageStore;
use crate::tagger::Tagger;

pub use super::error::DbError;
use super::{
    Account, DateRange, DetectedObject, Error, Facts, Inserted, KeyInfo, KeyOwner, NewPicture,
    Picture, PictureStats, SearchQuery, Status, Tag, TagJob, TagStat, UploadLink, UploadSlot,
    Visibility,
};

/// The database: one trait per capability, each implemented by both
/// adapters, so a signature says what an operation touches.
#[async_trait]
pub trait Database: Pictures + Accounts + Queue + Uploads + Analysis + Send + Sync {
    /// Creates the schema or brings it up to date. Called once at start and
    /// again (cheaply) before any query until it has succeeded once.
    async fn migrate(&self) -> Result<(), DbError>;
}

/// A change of one picture (`PATCH /images/{id}`), applied in one transaction.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PictureChange {
    pub private: Option<bool>,
    /// `Some(None)` clears the name.
    pub name: Option<Option<String>>,
    /// Names of tags a person adds (confidence 100, source `user`).
    pub add_tags: Vec<String>,
    pub remove_tags: Vec<String>,
}

/// Pictures, their tags and the statistics kept with them.
#[async_trait]
pub trait Pictures: Send + Sync {
    /// Inserts the picture row, its tag rows, what was read from its file and
    /// its share of every statistic in one transaction (and its queue entry
    /// when it is to be tagged later). When it de-duplicates and the owner
    /// already has a de-duplicated picture of the same bytes, nothing is
    /// written and that one is named.
    async fn insert_picture(&self, picture: &NewPicture<'_>) -> Result<Inserted, DbError>;

    async fn picture(&self, id: i64) -> Result<Option<Picture>, DbError>;

    /// The owner's (`None`: anonymous) first picture of these bytes.
    async fn picture_by_hash(
        &self,
        owner: Option<&str>,
        hash: &str,
    ) -> Result<Option<Picture>, DbError>;

    /// The picture registered from a presigned upload slot.
    async fn picture_by_external_id(&self, external_id: &str) -> Result<Option<Picture>, DbError>;

    /// Every picture of these bytes, whoever owns it, by id.
    async fn pictures_with_hash(&self, hash: &str) -> Result<Vec<Picture>, DbError>;

    /// Replaces the tags that are not a person's by `tags`, sets the status,
    /// moves the statistics and takes the picture off the queue, in one
    /// transaction (with the faces seen, when the tagger counts them, and
    /// the objects found, which replace the old ones when given).
    /// `false` when there is no such picture.
    async fn set_tags(
        &self,
        id: i64,
        tags: &[Tag],
        status: Status,
        failure: Option<&str>,
        faces: Option<u32>,
        objects: Option<&[DetectedObject]>,
    ) -> Result<bool, DbError>;

    /// Privacy, name and a person's tags, statistics following, in one
    /// transaction. `false` when there is no such picture.
    async fn change_picture(&self, id: i64, change: &PictureChange) -> Result<bool, DbError>;

    /// Deletes the picture's rows and its share of every statistic, in one
    /// transaction; the file's location, or `None` when there was no such picture.
    async fn delete_picture(&self, id: i64) -> Result<Option<String>, DbError>;

    /// Records what was read from the picture's file (the backfill of older rows).
    async fn set_facts(&self, id: i64, facts: &Facts) -> Result<(), DbError>;

    /// Picture ids after `after`, ascending (of one owner when given): the
    /// walk of a task over pictures.
    async fn picture_ids(
        &self,
        after: i64,
        limit: u32,
        owner: Option<&str>,
    ) -> Result<Vec<i64>, DbError>;

    /// Where a resumable task over all pictures stopped (the last id done).
    async fn task_cursor(&self, name: &str) -> Result<Option<i64>, DbError>;

    /// Records its progress; `None` when the task is finished.
    async fn set_task_cursor(&self, name: &str, cursor: Option<i64>) -> Result<(), DbError>;

    /// Up to `limit + 1` pictures matching the query, by id ascending, each
    /// with all its tags; the extra row tells the caller another page exists.
    async fn search(&self, query: &SearchQuery) -> Result<Vec<Picture>, DbError>;

    /// Per-tag statistics over the pictures `visibility` sees.
    async fn tag_stats(
        &self,
        dates: &DateRange,
        visibility: &Visibility,
    ) -> Result<Vec<TagStat>, DbError>;

    /// Up to `limit` pictures after id `after` that were written without a
    /// size or a tag list (by the original assignment's app), each with the
    /// tags of its tag rows.
    async fn incomplete_pictures(&self, after: i64, limit: u32) -> Result<Vec<Picture>, DbError>;

    /// Up to `limit` pictures after id `after` whose file was never analysed.
    async fn unanalyzed_pictures(&self, after: i64, limit: u32) -> Result<Vec<Picture>, DbError>;

    /// Fills in what those rows lack: `(id, size in bytes or None when the
    /// file is missing, its tags)`, in one transaction; values already there stay.
    async fn complete_pictures(&self, done: &[(i64, Option<u64>, Vec<Tag>)])
    -> Result<(), DbError>;

    /// Whether a one-time task has been recorded as done.
    async fn noted(&self, name: &str) -> Result<bool, DbError>;

    /// Records a one-time task as done.
    async fn note(&self, name: &str) -> Result<(), DbError>;

    /// Every stored file location the pictures refer to.
    async fn locations(&self) -> Result<Vec<String>, DbError>;

    /// Recomputes every statistic from the rows, for databases that were
    /// written to by something other than this service (whose tag rows
    /// carry their picture's scope: `''` when public, the default).
    async fn rebuild_statistics(&self) -> Result<(), DbError>;
}

/// Users, API keys and the service's own settings.
#[async_trait]
pub trait Accounts: Send + Sync {
    /// `false` when the id or the email is taken.
    async fn create_user(&self, account: &Account) -> Result<bool, DbError>;
    async fn account(&self, id: &str) -> Result<Option<Account>, DbError>;
    /// Closes an account in one transaction: its keys, upload links,
    /// upload slots and user row go, and it is recorded as closing (its
    /// pictures go next, one by one). The locations of the slots' objects.
    async fn close_account(&self, id: &str, now: &str) -> Result<Vec<String>, DbError>;
    /// Accounts closed whose pictures may not all be gone yet.
    async fn closed_accounts(&self) -> Result<Vec<String>, DbError>;
    /// The account's deletion is complete.
    async fn forget_closed_account(&self, id: &str) -> Result<(), DbError>;
    /// Every user id the rows name (users, owners of pictures, links, slots).
    async fn user_ids(&self) -> Result<Vec<String>, DbError>;
    /// Moves everything of user `from` (row, keys, pictures, statistics,
    /// links, slots) to the id `to`, in one transaction.
    async fn rename_user(&self, from: &str, to: &str) -> Result<(), DbError>;
    async fn create_key(
        &self,
        user: &str,
        name: &str,
        hash: &str,
        created: &str,
    ) -> Result<i64, DbError>;
    async fn keys(&self, user: &str) -> Result<Vec<KeyInfo>, DbError>;
    async fn delete_key(&self, user: &str, id: i64) -> Result<bool, DbError>;
    /// The key with this hash and its user.
    async fn key_owner(&self, hash: &str) -> Result<Option<KeyOwner>, DbError>;
    async fn touch_key(&self, id: i64, now: &str) -> Result<(), DbError>;
    /// The setting, written with `value` first if it has none (race-free).
    async fn setting_or_insert(&self, name: &str, value: &str) -> Result<String, DbError>;
}

/// The tagging queue's table: the local worker's queue, and the record of
/// what waits on AWS.
#[async_trait]
pub trait Queue: Send + Sync {
    /// Claims up to `limit` due jobs for `lease_secs`: each is handed to one
    /// worker at a time until its lease runs out.
    async fn claim_jobs(
        &self,
        now: i64,
        lease_secs: i64,
        limit: u32,
    ) -> Result<Vec<TagJob>, DbError>;
    /// Claims one picture's job (a queue message named it).
    async fn claim_job(
        &self,
        picture_id: i64,
        now: i64,
        lease_secs: i64,
    ) -> Result<Option<TagJob>, DbError>;
    /// Puts a job back, to be tried again after `not_before`.
    async fn retry_job(&self, picture_id: i64, not_before: i64, error: &str)
    -> Result<(), DbError>;
    /// Jobs waiting (due or not).
    async fn queued_jobs(&self) -> Result<i64, DbError>;
    /// Queues an existing picture (a re-tag); its status stays until the job runs.
    async fn requeue(&self, picture_id: i64, min_confidence: f64) -> Result<(), DbError>;
}

/// Upload links (seed 002) and presigned upload slots (seed 004).
#[async_trait]
pub trait Uploads: Send + Sync {
    async fn create_link(&self, link: &UploadLink) -> Result<(), DbError>;
    async fn link(&self, id: &str) -> Result<Option<UploadLink>, DbError>;
    async fn create_slots(&self, slots: &[UploadSlot]) -> Result<(), DbError>;
    async fn slot(&self, image_id: &str) -> Result<Option<UploadSlot>, DbError>;
    async fn delete_slot(&self, image_id: &str) -> Result<(), DbError>;
    /// Slots whose URL expired before `now`, never registered.
    async fn expired_slots(&self, now: i64, limit: u32) -> Result<Vec<UploadSlot>, DbError>;
    async fn delete_expired_links(&self, now: i64) -> Result<(), DbError>;
}

/// What `GET /stats` and `similar` read.
#[async_trait]
pub trait Analysis: Send + Sync {
    async fn picture_stats(&self, visibility: &Visibility) -> Result<PictureStats, DbError>;
    /// Pictures (id, perceptual hash) whose hash has one of these values in
    /// band `band` (0..4): the candidates of a near-duplicate search.
    async fn hash_candidates(
        &self,
        band: usize,
        values: &[i64],
    ) -> Result<Vec<(i64, u64)>, DbError>;
    /// The visible pictures among `ids`, in the order given.
    async fn visible_pictures(
        &self,
        ids: &[i64],
        visibility: &Visibility,
    ) -> Result<Vec<Picture>, DbError>;
}

/// The ports one process wires, borrowed from it for one operation. The
/// operations that register or tag a picture use most of them and take
/// this; the others take only the traits they use.
#[derive(Clone, Copy)]
pub struct Ports<'a> {
    pub db: &'a dyn Database,
    pub store: &'a dyn ImageStore,
    pub tagger: &'a dyn Tagger,
    /// Where asynchronous tagging jobs are announced.
    pub queue: &'a dyn TagQueue,
    /// The memory every image decode in flight may take, together.
    pub decodes: &'a DecodeBudget,
    pub settings: &'a Settings,
    /// Signs and checks view and upload URLs.
    pub signer: &'a Signer,
}

/// Limits and lifetimes the operations read.
#[derive(Debug, Clone)]
pub struct Settings {
    pub view_url_ttl_secs: i64,
    pub upload_url_ttl_secs: i64,
    pub tag_lease_secs: i64,
    pub tag_max_attempts: u32,
    pub tag_retry_secs: i64,
    pub max_response_bytes: usize,
    pub max_file_bytes: usize,
}

/// Where queued pictures are announced: the local worker, or SQS.
#[async_trait]
pub trait TagQueue: Send + Sync {
    /// Announces a queued picture. The queue row already exists, so a lost
    /// announcement only delays the job until a worker sweeps the table.
    async fn enqueue(&self, picture_id: i64);
}

/// The signer of view and upload URLs, made on first use: from
/// `URL_SIGNING_KEY`, or from a random key generated once and kept in the
/// database, so every function and every restart signs alike.
pub struct Signer {
    key: Option<String>,
    signer: tokio::sync::OnceCell<UrlSigner>,
}

impl Signer {
    pub fn new(key: Option<String>) -> Self {
        Signer {
            key,
            signer: tokio::sync::OnceCell::new(),
        }
    }

    pub async fn get(&self, db: &dyn Accounts) -> Result<&UrlSigner, Error> {
        self.signer
            .get_or_try_init(|| async {
                let key = match &self.key {
                    Some(key) => key.clone(),
                    None => {
                        db.setting_or_insert("url_signing_key", &new_api_key())
                            .await?
                    }
                };
                Ok::<_, Error>(UrlSigner::new(key.as_bytes()))
            })
            .await
    }
}

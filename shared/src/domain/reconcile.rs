//! The sweep that keeps the store and the rows in step after a crash: what
//! no row refers to goes.

use super::Error;
use super::ports::Database;
use crate::store::{FileKind, ImageStore, file_name};

/// What a sweep for orphan files found.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Reconciled {
    /// Files of the store looked at (older than the grace period).
    pub checked: usize,
    /// Files no row refers to, now removed.
    pub removed: Vec<String>,
    /// Presigned upload slots that expired unregistered, removed with their objects.
    pub expired_slots: usize,
    /// Account deletions cut short, now finished.
    pub closed_accounts: usize,
}

/// Removes what no row refers to: the file of a picture whose row was never
/// committed (a crash between writing the file and the row), the files made
/// from a picture that is gone (a thumbnail written while its picture was
/// being deleted), objects put at upload slots that no longer exist, and
/// temporary files of interrupted writes, at every depth of the store.
/// Such files are never served, since only rows lead to files. Files
/// younger than `grace` are left alone: their upload may still be
/// committing in another process. The store is listed before the rows are
/// read, so a file committed in between counts as referenced. Upload slots
/// whose URL expired without being registered go too, with whatever was put
/// at them, and account deletions cut short are finished first.
pub async fn reconcile(
    db: &dyn Database,
    store: &dyn ImageStore,
    grace: std::time::Duration,
) -> Result<Reconciled, Error> {
    let mut report = Reconciled {
        closed_accounts: super::accounts::finish_closed_accounts(db, store).await?,
        expired_slots: super::uploads::sweep_expired(db, store).await?,
        ..Reconciled::default()
    };
    let cutoff = std::time::SystemTime::now()
        .checked_sub(grace)
        .unwrap_or(std::time::UNIX_EPOCH);
    let candidates: Vec<_> = store
        .list()
        .await?
        .into_iter()
        .filter(|f| f.modified <= cutoff)
        .collect();
    report.checked = candidates.len();
    if candidates.is_empty() {
        return Ok(report);
    }
    // By name: rows written by older tools may spell the same folder differently.
    let referenced: std::collections::HashSet<String> = db
        .locations()
        .await?
        .iter()
        .map(|l| stem(file_name(l)).to_owned())
        .collect();
    for file in candidates {
        let orphan = match &file.kind {
            FileKind::Original { stem } | FileKind::Derived { stem } => {
                !referenced.contains(stem.as_str())
            }
            FileKind::Slot { image_id } => db.slot(image_id).await?.is_none(),
            FileKind::Partial => true,
        };
        if !orphan {
            continue;
        }
        if matches!(file.kind, FileKind::Original { .. }) {
            // What was made from it first: the file is how the next sweep
            // would find them if this one stopped half-way.
            store.delete_derived(&file.location).await?;
        }
        store.delete(&file.location).await?;
        report.removed.push(file.location);
    }
    Ok(report)
}

/// A stored name without its extensions: a picture's file and the files
/// made from it share it.
fn stem(name: &str) -> &str {
    let name = name.strip_prefix(".tmp-").unwrap_or(name);
    name.split('.').next().unwrap_or(name)
}

#[cfg(test)]
mod tests {
    #[test]
    fn stems() {
        use super::stem;
        assert_eq!(stem("0123.jpg"), "0123");
        assert_eq!(stem("0123.t256.jpg"), "0123");
        assert_eq!(stem(".tmp-0123.part"), "0123");
    }
}

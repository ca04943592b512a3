//! Who sees which picture and who may change it, applied to one picture:
//! the rule itself is [`Visibility::sees`](super::Visibility::sees); the
//! searches apply it in their SQL.

use super::Error;
use super::caller::Caller;
use super::ports::Pictures;
use super::{Picture, PictureId};

/// The picture `id` names, if the caller may see it; the same 404 whether
/// it does not exist or is someone else's private picture.
pub async fn visible(
    db: &dyn Pictures,
    caller: &Caller,
    id: Option<PictureId>,
) -> Result<Picture, Error> {
    let Some(id) = id else {
        return Err(Error::NotFound("out of range".into()));
    };
    let picture = db.picture(id.0).await?;
    match picture {
        Some(p) if caller.visibility().sees(p.owner.as_deref(), p.private) => Ok(p),
        _ => Err(Error::no_picture(id.0)),
    }
}

/// The first picture (by id) of these bytes that the caller may see.
pub async fn visible_with_hash(
    db: &dyn Pictures,
    caller: &Caller,
    hash: &str,
) -> Result<Option<Picture>, Error> {
    let visibility = caller.visibility();
    Ok(db
        .pictures_with_hash(hash)
        .await?
        .into_iter()
        .find(|p| visibility.sees(p.owner.as_deref(), p.private)))
}

/// The picture, if the caller may change it (its owner or an admin); a 404
/// for everyone else, as for a picture they cannot see.
pub async fn changeable(
    db: &dyn Pictures,
    caller: &Caller,
    id: Option<PictureId>,
) -> Result<Picture, Error> {
    let picture = visible(db, caller, id).await?;
    if caller.may_change(picture.owner.as_deref()) {
        Ok(picture)
    } else {
        Err(Error::no_picture(picture.id))
    }
}

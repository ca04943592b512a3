//! Users and their API keys: who may create an account, how a key becomes a
//! caller, and what deleting an account takes with it.

use super::caller::{Caller, User, UserId};
use super::ports::{Accounts, Database};
use super::{Account, Error, KeyInfo, utc_now};
use crate::auth::{AdminKeys, AuthMode, AuthSettings, key_hash, new_api_key, same};
use crate::store::ImageStore;
use std::sync::Arc;

/// A new key, shown once.
#[derive(Debug, Clone)]
pub struct NewKey {
    pub info: KeyInfo,
    pub key: String,
}

/// `last_used` is written at most this often per key (seconds), so a busy
/// key costs a write a minute, not one per request.
const TOUCH_EVERY_SECS: i64 = 60;

/// The caller an `x-api-key` (or a bearer token that is not a JWT) names:
/// an admin key, or a user's key looked up by its hash. Nothing is cached, so
/// a deleted key fails on the very next request, in every function.
pub async fn caller_for_key(
    db: Arc<dyn Accounts>,
    admin_keys: &AdminKeys,
    key: &str,
) -> Result<Caller, Error> {
    if admin_keys.matches(key) {
        return Ok(Caller::Admin);
    }
    let hash = key_hash(key);
    let owner = db.key_owner(&hash).await?;
    let Some(owner) = owner.filter(|o| same(&o.key_hash, &hash)) else {
        return Err(Error::Unauthorized(
            "the API key is not valid (unknown, or deleted)".into(),
        ));
    };
    let stale = owner.last_used.as_deref().is_none_or(|used| {
        chrono::NaiveDateTime::parse_from_str(used, "%Y-%m-%d %H:%M:%S").is_ok_and(|t| {
            chrono::Utc::now()
                .naive_utc()
                .signed_duration_since(t)
                .num_seconds()
                >= TOUCH_EVERY_SECS
        })
    });
    if stale {
        let id = owner.key_id;
        tokio::spawn(async move {
            if let Err(e) = db.touch_key(id, &utc_now()).await {
                tracing::debug!(error = %e, "could not record a key's last use");
            }
        });
    }
    Ok(Caller::User(User {
        id: UserId::parse(&owner.user_id)?,
        email: owner.email,
        by_token: false,
    }))
}

/// The caller a bearer token names: a JWT when the service checks them and
/// the token has a JWT's three parts, else an API key.
pub async fn caller_for_bearer(
    db: Arc<dyn Accounts>,
    auth: &AuthSettings,
    token: &str,
) -> Result<Caller, Error> {
    let looks_like_jwt = token.split('.').count() == 3;
    match (&auth.jwt, looks_like_jwt) {
        (Some(verifier), true) => Ok(Caller::User(verifier.verify(token)?)),
        (None, true) => Err(Error::Unauthorized(
            "this service does not accept tokens (no JWT_SECRET or JWT_PUBLIC_KEY_FILE); use an API key"
                .into(),
        )),
        (_, false) => caller_for_key(db, &auth.admin_keys, token).await,
    }
}

fn parse_email(email: Option<&str>) -> Result<Option<String>, Error> {
    let Some(email) = email.map(str::trim).filter(|e| !e.is_empty()) else {
        return Ok(None);
    };
    let valid = email.len() <= 255
        && !email.contains(char::is_whitespace)
        && email.split_once('@').is_some_and(|(user, host)| {
            !user.is_empty() && host.contains('.') && !host.contains('@')
        });
    if valid {
        Ok(Some(email.to_lowercase()))
    } else {
        Err(Error::invalid(
            "invalid_email",
            format!("{email:?} is not an email address"),
        ))
    }
}

/// `POST /users`: a bearer token creates the account of its user; an admin
/// creates one for `email`; under `AUTH=open` anyone signs up. Accounts not
/// made from a token get their first API key, shown once.
pub async fn create_user(
    db: &dyn Accounts,
    mode: AuthMode,
    caller: &Caller,
    email: Option<&str>,
) -> Result<(Account, Option<NewKey>), Error> {
    let email = parse_email(email)?;
    let (id, email, with_key) = match caller {
        Caller::User(user) if user.by_token => (
            user.id.clone(),
            email.or_else(|| user.email.clone().map(|e| e.to_lowercase())),
            false,
        ),
        Caller::User(_) => {
            return Err(Error::forbidden(
                "a user cannot create other users; an admin key or a token of the new user can",
            ));
        }
        Caller::Admin => (UserId::generate(), email, true),
        Caller::Anonymous if mode == AuthMode::Open => (UserId::generate(), email, true),
        Caller::Anonymous => {
            return Err(Error::Unauthorized(
                "creating a user needs the user's token, or an admin key".into(),
            ));
        }
    };
    let account = Account {
        id: id.to_string(),
        email,
        image_upload_count: 0,
        created: utc_now(),
    };
    if !db.create_user(&account).await? {
        return Err(Error::Conflict(match &account.email {
            Some(email) if !caller.user().is_some_and(|u| u.by_token) => {
                format!("a user with the email {email} already exists")
            }
            _ => format!("the user {} already exists", account.id),
        }));
    }
    let key = match with_key {
        true => Some(add_key(db, &account.id, "default").await?),
        false => None,
    };
    Ok((account, key))
}

/// `GET /users/me`.
pub async fn me(db: &dyn Accounts, caller: &Caller) -> Result<Account, Error> {
    let user = caller.require_user()?;
    db.account(user.id.as_str())
        .await?
        .ok_or_else(|| no_account(&user.id))
}

fn no_account(id: &UserId) -> Error {
    Error::Missing(format!(
        "there is no account for user {id}; create it with POST /users"
    ))
}

/// `DELETE /users/me`: the account closes at once (keys, upload links and
/// upload slots stop working in the same transaction that removes the
/// user), then every picture of the user goes (rows, statistics, files,
/// thumbnails) and the objects put at its slots. Pictures go one by one,
/// each row before its file, so a crash leaves no row without its file; the
/// next sweep ([`finish_closed_accounts`]) completes what was cut short.
pub async fn delete_me(
    db: &dyn Database,
    store: &dyn ImageStore,
    caller: &Caller,
) -> Result<(), Error> {
    let user = caller.require_user()?;
    let owner = user.id.as_str();
    for location in db.close_account(owner, &utc_now()).await? {
        if let Err(e) = store.delete(&location).await {
            tracing::warn!(error = %e, "an upload slot's object stays until the next sweep");
        }
    }
    delete_pictures_of(db, store, owner).await
}

/// Every picture of `owner`, then the record that the account is closing.
async fn delete_pictures_of(
    db: &dyn Database,
    store: &dyn ImageStore,
    owner: &str,
) -> Result<(), Error> {
    loop {
        let ids = db.picture_ids(0, 500, Some(owner)).await?;
        if ids.is_empty() {
            break;
        }
        for id in ids {
            super::pictures::delete_files_of(store, db.delete_picture(id).await?).await;
        }
    }
    db.forget_closed_account(owner).await?;
    Ok(())
}

/// Finishes deleting the accounts whose deletion was cut short. Returns how
/// many there were.
pub async fn finish_closed_accounts(
    db: &dyn Database,
    store: &dyn ImageStore,
) -> Result<usize, Error> {
    let closed = db.closed_accounts().await?;
    for owner in &closed {
        delete_pictures_of(db, store, owner).await?;
    }
    Ok(closed.len())
}

/// Moves the users that tokens made before token users had a namespace of
/// their own (their id was the token's subject as it came) into it: under
/// the issuer configured now, which the tokens carried then. Users made
/// here (`u` and 16 hex digits) stay as they are. Runs once per database.
pub async fn namespace_token_users(
    db: &dyn Database,
    issuer: Option<&str>,
) -> Result<usize, Error> {
    const TASK: &str = "token_users_namespaced";
    if db.noted(TASK).await? {
        return Ok(0);
    }
    let mut moved = 0;
    for id in db.user_ids().await? {
        if UserId::is_generated(&id) || id.starts_with(super::caller::TOKEN_USER_PREFIX) {
            continue;
        }
        let Ok(to) = UserId::of_token(issuer, &id) else {
            tracing::warn!("a user id no token can name is left as it is");
            continue;
        };
        db.rename_user(&id, to.as_str()).await?;
        moved += 1;
    }
    db.note(TASK).await?;
    if moved > 0 {
        tracing::info!(
            users = moved,
            "users made by tokens moved into the tokens' namespace"
        );
    }
    Ok(moved)
}

async fn add_key(db: &dyn Accounts, user: &str, name: &str) -> Result<NewKey, Error> {
    let key = new_api_key();
    let created = utc_now();
    let id = db.create_key(user, name, &key_hash(&key), &created).await?;
    Ok(NewKey {
        info: KeyInfo {
            id,
            name: name.to_string(),
            created,
            last_used: None,
        },
        key,
    })
}

/// `POST /users/me/keys`.
pub async fn create_key(
    db: &dyn Accounts,
    caller: &Caller,
    name: Option<&str>,
) -> Result<NewKey, Error> {
    let user = caller.require_user()?;
    let name = name.map(str::trim).unwrap_or("key");
    if name.is_empty() || name.chars().count() > 100 {
        return Err(Error::invalid(
            "invalid_name",
            "a key's name must be 1 to 100 characters",
        ));
    }
    if db.account(user.id.as_str()).await?.is_none() {
        return Err(no_account(&user.id));
    }
    add_key(db, user.id.as_str(), name).await
}

/// `GET /users/me/keys`.
pub async fn keys(db: &dyn Accounts, caller: &Caller) -> Result<Vec<KeyInfo>, Error> {
    let user = caller.require_user()?;
    Ok(db.keys(user.id.as_str()).await?)
}

/// `DELETE /users/me/keys/{id}`: the key stops working at once.
pub async fn delete_key(db: &dyn Accounts, caller: &Caller, id: &str) -> Result<(), Error> {
    let user = caller.require_user()?;
    let missing = || Error::Missing(format!("you have no key with id {id}"));
    let id: i64 = id.parse().map_err(|_| missing())?;
    match db.delete_key(user.id.as_str(), id).await? {
        true => Ok(()),
        false => Err(missing()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails() {
        assert_eq!(parse_email(None).unwrap(), None);
        assert_eq!(parse_email(Some("  ")).unwrap(), None);
        assert_eq!(
            parse_email(Some("Ann@Example.org")).unwrap().as_deref(),
            Some("ann@example.org")
        );
        for bad in [
            "ann",
            "ann@",
            "@x.org",
            "a b@x.org",
            "a@b@c.org",
            "a@localhost",
        ] {
            assert!(parse_email(Some(bad)).is_err(), "{bad}");
        }
    }
}

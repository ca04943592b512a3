//! Who is calling, and what that lets them see. Resolved once per request
//! (by the HTTP edge, from an API key or a JWT); every operation that reads
//! or changes pictures takes the [`Caller`] and applies the rules here.

use super::Error;

/// A user's id, as rows and statistics are keyed by it. Users created here
/// (with an API key) get a random `u` and 16 hex digits; a token's user is
/// `jwt:<issuer>:<subject>`, where `<issuer>` is empty without
/// `JWT_ISSUER` and otherwise the first 12 hex digits of its SHA-256. The
/// two never meet: a token whose subject is a key user's id, or that
/// differs from another user's only in case or accents, names a user of its
/// own. Letters, digits and `._@:+-` only, at most 128 characters.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct UserId(String);

/// What every token user's id starts with.
pub const TOKEN_USER_PREFIX: &str = "jwt:";

fn id_chars(s: &str, max: usize) -> bool {
    !s.is_empty()
        && s.len() <= max
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"._@:+-".contains(&b))
}

impl UserId {
    pub const MAX_CHARS: usize = 128;
    /// The longest subject a token may name.
    pub const MAX_SUBJECT_CHARS: usize = 64;

    /// An id as stored (a row's owner, a key's user).
    pub fn parse(s: &str) -> Result<Self, Error> {
        if id_chars(s, Self::MAX_CHARS) {
            Ok(UserId(s.to_string()))
        } else {
            Err(Error::Unauthorized(format!(
                "a user id must be 1 to {} letters, digits or ._@:+-",
                Self::MAX_CHARS
            )))
        }
    }

    /// The user a token names: its subject (`user_id`, else `sub`) in the
    /// namespace of the issuer the service checks tokens against.
    pub fn of_token(issuer: Option<&str>, subject: &str) -> Result<Self, Error> {
        if !id_chars(subject, Self::MAX_SUBJECT_CHARS) {
            return Err(Error::Unauthorized(format!(
                "the token's user id must be 1 to {} letters, digits or ._@:+-",
                Self::MAX_SUBJECT_CHARS
            )));
        }
        Ok(UserId(format!(
            "{TOKEN_USER_PREFIX}{}:{subject}",
            issuer.map(issuer_tag).unwrap_or_default()
        )))
    }

    /// A new random id for a user created here (`u` and 16 hex digits).
    pub fn generate() -> Self {
        use rand::Rng as _;
        UserId(format!("u{:016x}", rand::rng().random::<u64>()))
    }

    /// Whether the id has the form of a user created here.
    pub fn is_generated(s: &str) -> bool {
        s.len() == 17
            && s.starts_with('u')
            && s[1..]
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
    }

    /// The subject of a token user's id (what the token's claim said).
    pub fn subject(&self) -> Option<&str> {
        let rest = self.0.strip_prefix(TOKEN_USER_PREFIX)?;
        rest.split_once(':').map(|(_, subject)| subject)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// An issuer's part of its users' ids: short, and the same wherever the
/// service runs.
fn issuer_tag(issuer: &str) -> String {
    use sha2::Digest as _;
    hex::encode(&sha2::Sha256::digest(issuer.as_bytes())[..6])
}

impl std::fmt::Display for UserId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// A signed-in user, as the request proved it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct User {
    pub id: UserId,
    /// From the JWT's `email` claim, or the account's.
    pub email: Option<String>,
    /// Proved by a JWT (an outside auth service) rather than an API key.
    pub by_token: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Caller {
    Anonymous,
    User(User),
    /// A key of `API_KEYS`: sees and may change everything.
    Admin,
}

/// Which pictures a caller may see.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Visibility {
    /// Public pictures only (anonymous callers).
    Public,
    /// Public pictures and this user's private ones.
    Owner(UserId),
    /// Everything (admins).
    All,
}

/// Statistics are kept per scope: `""` for public pictures, the owner's id
/// for private ones.
pub const PUBLIC_SCOPE: &str = "";

impl Visibility {
    /// The statistics scopes this caller sees; `None` for all of them.
    pub fn scopes(&self) -> Option<Vec<&str>> {
        match self {
            Visibility::Public => Some(vec![PUBLIC_SCOPE]),
            Visibility::Owner(id) => Some(vec![PUBLIC_SCOPE, id.as_str()]),
            Visibility::All => None,
        }
    }

    /// Whether a picture with this owner and privacy is visible.
    pub fn sees(&self, owner: Option<&str>, private: bool) -> bool {
        match self {
            Visibility::All => true,
            _ if !private => true,
            Visibility::Owner(id) => owner == Some(id.as_str()),
            Visibility::Public => false,
        }
    }
}

/// The scope a picture's statistics count in.
pub fn scope_of(owner: Option<&str>, private: bool) -> &str {
    match (private, owner) {
        (true, Some(owner)) => owner,
        _ => PUBLIC_SCOPE,
    }
}

impl Caller {
    pub fn visibility(&self) -> Visibility {
        match self {
            Caller::Anonymous => Visibility::Public,
            Caller::User(u) => Visibility::Owner(u.id.clone()),
            Caller::Admin => Visibility::All,
        }
    }

    pub fn user(&self) -> Option<&User> {
        match self {
            Caller::User(u) => Some(u),
            _ => None,
        }
    }

    /// The user, or a 401 saying this needs one.
    pub fn require_user(&self) -> Result<&User, Error> {
        match self {
            Caller::User(u) => Ok(u),
            Caller::Anonymous => Err(Error::Unauthorized(
                "this needs a user: send an API key in x-api-key or a token in Authorization: Bearer"
                    .into(),
            )),
            Caller::Admin => Err(Error::forbidden(
                "this acts on a user's own account; an admin key has none",
            )),
        }
    }

    /// Whether the caller may change (rename, delete, re-tag) a picture:
    /// its owner or an admin; pictures without owner only an admin.
    pub fn may_change(&self, owner: Option<&str>) -> bool {
        match self {
            Caller::Admin => true,
            Caller::User(u) => owner == Some(u.id.as_str()),
            Caller::Anonymous => false,
        }
    }

    pub fn is_admin(&self) -> bool {
        matches!(self, Caller::Admin)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn user_ids() {
        assert!(UserId::parse("42").is_ok());
        assert!(UserId::parse("auth0|abc").is_err());
        assert!(UserId::parse("google-oauth2:1234.5@x+y").is_ok());
        assert!(UserId::parse("").is_err());
        assert!(UserId::parse(&"a".repeat(129)).is_err());
        assert!(UserId::parse("a b").is_err());
        let id = UserId::generate();
        assert!(UserId::parse(id.as_str()).is_ok());
        assert!(UserId::is_generated(id.as_str()));
        assert_ne!(id, UserId::generate());
    }

    #[test]
    fn token_users_live_apart() {
        let key_user = UserId::generate();
        let token = UserId::of_token(None, key_user.as_str()).unwrap();
        assert_ne!(token, key_user, "a token cannot name a key user");
        assert_eq!(token.as_str(), format!("jwt::{key_user}"));
        assert_eq!(token.subject(), Some(key_user.as_str()));
        assert!(!UserId::is_generated(token.as_str()));
        let a = UserId::of_token(Some("https://a.example/"), "alice").unwrap();
        let b = UserId::of_token(Some("https://b.example/"), "alice").unwrap();
        assert_ne!(a, b, "issuers are namespaces");
        assert_eq!(
            a,
            UserId::of_token(Some("https://a.example/"), "alice").unwrap()
        );
        assert_eq!(a.subject(), Some("alice"));
        assert!(a.as_str().len() <= UserId::MAX_CHARS);
        // A subject with colons stays inside its issuer's namespace.
        let tricky = UserId::of_token(None, "x:alice").unwrap();
        assert_eq!(tricky.subject(), Some("x:alice"));
        assert_ne!(tricky, UserId::of_token(None, "alice").unwrap());
        for bad in ["", "a b", "Álice", "alice ", &"a".repeat(65)] {
            assert!(UserId::of_token(None, bad).is_err(), "{bad:?}");
        }
        let longest = UserId::of_token(Some("iss"), &"a".repeat(64)).unwrap();
        assert!(UserId::parse(longest.as_str()).is_ok());
    }

    #[test]
    fn who_sees_what() {
        let a = UserId::parse("alice").unwrap();
        let alice = Visibility::Owner(a.clone());
        assert!(Visibility::Public.sees(None, false));
        assert!(Visibility::Public.sees(Some("alice"), false));
        assert!(!Visibility::Public.sees(Some("alice"), true));
        assert!(alice.sees(Some("alice"), true));
        assert!(!alice.sees(Some("bob"), true));
        assert!(Visibility::All.sees(Some("bob"), true));
        assert_eq!(alice.scopes(), Some(vec!["", "alice"]));
        assert_eq!(Visibility::All.scopes(), None);
        assert_eq!(scope_of(Some("alice"), true), "alice");
        assert_eq!(scope_of(Some("alice"), false), "");
        assert_eq!(scope_of(None, false), "");
    }

    #[test]
    fn who_may_change_what() {
        let alice = Caller::User(User {
            id: UserId::parse("alice").unwrap(),
            email: None,
            by_token: false,
        });
        assert!(alice.may_change(Some("alice")));
        assert!(!alice.may_change(Some("bob")));
        assert!(!alice.may_change(None), "anonymous pictures: admins only");
        assert!(Caller::Admin.may_change(None));
        assert!(!Caller::Anonymous.may_change(None));
    }
}

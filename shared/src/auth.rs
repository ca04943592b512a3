//! Credentials: API keys (random, shown once, kept as SHA-256 hashes,
//! compared in constant time), JWTs from an outside auth service, and the
//! HMAC signatures of view and upload URLs.

use hmac::{KeyInit, Mac};
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde::Deserialize;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use crate::domain::{Error, User, UserId};

/// `AUTH`: whether anonymous callers may use the API.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuthMode {
    /// Anonymous callers may do what Part 1 allows (the local default).
    Open,
    /// Every route but the docs, health and signed URLs needs credentials.
    Required,
}

/// A new API key: 256 random bits, URL-safe. The caller sees it once.
pub fn new_api_key() -> String {
    use base64::Engine;
    use rand::Rng as _;
    let bytes: [u8; 32] = rand::rng().random();
    format!(
        "pk_{}",
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
    )
}

/// What is stored of a key: its SHA-256, hex.
pub fn key_hash(key: &str) -> String {
    hex::encode(Sha256::digest(key.as_bytes()))
}

/// Equal strings, compared in time that does not depend on where they differ.
pub fn same(a: &str, b: &str) -> bool {
    a.len() == b.len() && bool::from(a.as_bytes().ct_eq(b.as_bytes()))
}

/// The admin keys (`API_KEYS`, `credentials.json` `"api_keys"`), as hashes.
#[derive(Clone, Default)]
pub struct AdminKeys(Vec<String>);

impl std::fmt::Debug for AdminKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "AdminKeys({} keys)", self.0.len())
    }
}

impl AdminKeys {
    pub fn new<'a>(keys: impl IntoIterator<Item = &'a str>) -> Self {
        AdminKeys(
            keys.into_iter()
                .map(str::trim)
                .filter(|k| !k.is_empty())
                .map(key_hash)
                .collect(),
        )
    }

    /// Whether `key` is one of them; every one is compared, in constant time.
    pub fn matches(&self, key: &str) -> bool {
        let hash = key_hash(key);
        self.0
            .iter()
            .fold(false, |found, admin| found | same(admin, &hash))
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// Checks bearer tokens: HS256 with `JWT_SECRET`, RS256 or ES256 with the PEM
/// of `JWT_PUBLIC_KEY_FILE`; `exp` required and `nbf` checked (60 s leeway
/// each); `iss` and `aud` required and checked when configured. `alg: none`
/// and unconfigured algorithms fail. The user lives in the namespace of the
/// configured issuer ([`UserId::of_token`]).
#[derive(Clone)]
pub struct JwtVerifier {
    keys: Vec<(Algorithm, DecodingKey)>,
    issuer: Option<String>,
    audience: Option<String>,
}

impl std::fmt::Debug for JwtVerifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let algs: Vec<_> = self.keys.iter().map(|(a, _)| a).collect();
        f.debug_struct("JwtVerifier")
            .field("algorithms", &algs)
            .field("issuer", &self.issuer)
            .field("audience", &self.audience)
            .finish()
    }
}

/// The claims read from a token; the user is `user_id`, else `sub`.
#[derive(Deserialize)]
struct Claims {
    #[serde(default)]
    user_id: Option<serde_json::Value>,
    #[serde(default)]
    sub: Option<String>,
    #[serde(default)]
    email: Option<String>,
}

impl JwtVerifier {
    /// `None` when neither a secret nor a key file is configured.
    pub fn new(
        secret: Option<&str>,
        public_key_pem: Option<&[u8]>,
        issuer: Option<String>,
        audience: Option<String>,
    ) -> Result<Option<Self>, String> {
        let mut keys = Vec::new();
        if let Some(secret) = secret {
            let key = DecodingKey::from_secret(secret.as_bytes())
                .map_err(|_| "JWT_SECRET cannot be used as an HMAC key".to_string())?;
            keys.push((Algorithm::HS256, key));
        }
        if let Some(pem) = public_key_pem {
            match DecodingKey::from_rsa_pem(pem) {
                Ok(key) => keys.push((Algorithm::RS256, key)),
                Err(_) => {
                    let key = DecodingKey::from_ec_pem(pem).map_err(|_| {
                        "JWT_PUBLIC_KEY_FILE holds neither an RSA nor an EC (P-256) public key in PEM"
                            .to_string()
                    })?;
                    keys.push((Algorithm::ES256, key));
                }
            }
        }
        Ok((!keys.is_empty()).then_some(JwtVerifier {
            keys,
            issuer,
            audience,
        }))
    }

    /// The issuer tokens must name (`JWT_ISSUER`), if one is configured.
    pub fn issuer(&self) -> Option<&str> {
        self.issuer.as_deref()
    }

    pub fn verify(&self, token: &str) -> Result<User, Error> {
        let bad = |why: &str| Error::Unauthorized(format!("the bearer token is not valid: {why}"));
        let header = jsonwebtoken::decode_header(token).map_err(|_| bad("malformed"))?;
        let (alg, key) = self
            .keys
            .iter()
            .find(|(alg, _)| *alg == header.alg)
            .ok_or_else(|| bad("its algorithm is not accepted"))?;
        let mut validation = Validation::new(*alg);
        validation.leeway = 60;
        validation.validate_nbf = true;
        // A configured issuer or audience is required, not only checked
        // when the token happens to carry one.
        let mut required = vec!["exp"];
        validation.validate_aud = self.audience.is_some();
        if let Some(aud) = &self.audience {
            validation.set_audience(&[aud]);
            required.push("aud");
        }
        if let Some(iss) = &self.issuer {
            validation.set_issuer(&[iss]);
            required.push("iss");
        }
        validation.set_required_spec_claims(&required);
        let data = jsonwebtoken::decode::<Claims>(token, key, &validation).map_err(|e| {
            use jsonwebtoken::errors::ErrorKind as K;
            match e.kind() {
                K::ExpiredSignature => bad("it has expired"),
                K::ImmatureSignature => bad("it is not valid yet (nbf)"),
                K::InvalidSignature => bad("its signature does not verify"),
                K::MissingRequiredClaim(claim) => Error::Unauthorized(format!(
                    "the bearer token is not valid: it has no {claim} claim"
                )),
                K::InvalidIssuer => bad("wrong issuer"),
                K::InvalidAudience => bad("wrong audience"),
                _ => bad("malformed"),
            }
        })?;
        let claims = data.claims;
        let id = match claims.user_id {
            Some(serde_json::Value::String(s)) => s,
            Some(serde_json::Value::Number(n)) => n.to_string(),
            _ => claims
                .sub
                .ok_or_else(|| bad("it names no user (user_id or sub)"))?,
        };
        Ok(User {
            id: UserId::of_token(self.issuer.as_deref(), &id)?,
            email: claims.email,
            by_token: true,
        })
    }
}

type HmacSha256 = hmac::Hmac<Sha256>;

/// Signs and checks URLs that carry their own permission (view links,
/// upload URLs): `sig` is the HMAC-SHA256, hex, of `what` and `expires`.
#[derive(Clone)]
pub struct UrlSigner {
    key: Vec<u8>,
}

impl std::fmt::Debug for UrlSigner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("UrlSigner(***)")
    }
}

impl UrlSigner {
    pub fn new(key: &[u8]) -> Self {
        UrlSigner { key: key.to_vec() }
    }

    pub fn sign(&self, what: &str, expires: i64) -> String {
        let mut mac = HmacSha256::new_from_slice(&self.key).expect("HMAC takes any key length");
        mac.update(format!("{what}\n{expires}").as_bytes());
        hex::encode(mac.finalize().into_bytes())
    }

    /// `Ok` when `sig` signs `what` until `expires`, which is still ahead.
    pub fn check(&self, what: &str, expires: &str, sig: &str, now: i64) -> Result<(), Error> {
        let expires: i64 = expires.parse().map_err(|_| bad_signature())?;
        if !same(&self.sign(what, expires), &sig.to_ascii_lowercase()) {
            return Err(bad_signature());
        }
        if expires < now {
            return Err(Error::Forbidden {
                code: "url_expired",
                message: "this link has expired; ask for a new one".into(),
            });
        }
        Ok(())
    }
}

fn bad_signature() -> Error {
    Error::Forbidden {
        code: "bad_signature",
        message: "this link's signature does not match it; it was altered or cut".into(),
    }
}

pub fn unix_now() -> i64 {
    chrono::Utc::now().timestamp()
}

/// Who may call, and how they prove it.
pub struct AuthSettings {
    pub mode: AuthMode,
    pub admin_keys: AdminKeys,
    pub jwt: Option<JwtVerifier>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use jsonwebtoken::{EncodingKey, Header, encode};

    #[test]
    fn keys_are_random_and_hashed() {
        let a = new_api_key();
        assert!(a.starts_with("pk_") && a.len() >= 40, "{a}");
        assert_ne!(a, new_api_key());
        assert_eq!(key_hash(&a).len(), 64);
        assert_ne!(key_hash(&a), a);
        let admins = AdminKeys::new(["one", " two "]);
        assert!(admins.matches("one") && admins.matches("two"));
        assert!(!admins.matches("three") && !admins.matches(""));
        assert!(!format!("{admins:?}").contains("one"));
    }

    fn token(claims: serde_json::Value, secret: &str, alg: Algorithm) -> String {
        encode(
            &Header::new(alg),
            &claims,
            &EncodingKey::from_secret(secret.as_bytes()).unwrap(),
        )
        .unwrap()
    }

    #[test]
    fn tokens() {
        let v = JwtVerifier::new(Some("s3cret"), None, None, None)
            .unwrap()
            .unwrap();
        let exp = unix_now() + 600;
        let user = v
            .verify(&token(
                serde_json::json!({"user_id": 7, "email": "a@b.c", "exp": exp}),
                "s3cret",
                Algorithm::HS256,
            ))
            .unwrap();
        assert_eq!(user.id.as_str(), "jwt::7");
        assert_eq!(user.id.subject(), Some("7"));
        assert_eq!(user.email.as_deref(), Some("a@b.c"));
        let user = v
            .verify(&token(
                serde_json::json!({"sub": "bob", "exp": exp}),
                "s3cret",
                Algorithm::HS256,
            ))
            .unwrap();
        assert_eq!(user.id.as_str(), "jwt::bob");
        for bad in [
            token(
                serde_json::json!({"sub": "bob", "exp": exp}),
                "other",
                Algorithm::HS256,
            ),
            token(
                serde_json::json!({"sub": "bob", "exp": unix_now() - 120}),
                "s3cret",
                Algorithm::HS256,
            ),
            token(
                serde_json::json!({"sub": "bob"}),
                "s3cret",
                Algorithm::HS256,
            ),
            token(
                serde_json::json!({"sub": "bob", "exp": exp}),
                "s3cret",
                Algorithm::HS384,
            ),
            // alg: none, an empty signature.
            format!(
                "{}.{}.",
                base64_url(br#"{"alg":"none","typ":"JWT"}"#),
                base64_url(format!(r#"{{"sub":"bob","exp":{exp}}}"#).as_bytes())
            ),
            "not a token".into(),
        ] {
            assert!(
                matches!(v.verify(&bad), Err(Error::Unauthorized(_))),
                "{bad}"
            );
        }
        // Within the 60 s leeway.
        assert!(
            v.verify(&token(
                serde_json::json!({"sub": "bob", "exp": unix_now() - 30}),
                "s3cret",
                Algorithm::HS256,
            ))
            .is_ok()
        );
    }

    /// Each claim the verifier checks: missing, wrong and right.
    #[test]
    fn configured_claims_are_required() {
        let v = JwtVerifier::new(
            Some("s3cret"),
            None,
            Some("https://auth.example/".into()),
            Some("pictures".into()),
        )
        .unwrap()
        .unwrap();
        let exp = unix_now() + 600;
        let t = |claims: serde_json::Value| token(claims, "s3cret", Algorithm::HS256);
        let refused = |claims: serde_json::Value, why: &str| match v.verify(&t(claims.clone())) {
            Err(Error::Unauthorized(m)) => assert!(m.contains(why), "{claims}: {m}"),
            other => panic!("{claims}: {other:?}"),
        };
        let iss = "https://auth.example/";
        refused(
            serde_json::json!({"sub": "a", "exp": exp, "aud": "pictures"}),
            "iss",
        );
        refused(
            serde_json::json!({"sub": "a", "exp": exp, "iss": iss}),
            "aud",
        );
        refused(
            serde_json::json!({"sub": "a", "exp": exp, "iss": "https://evil/", "aud": "pictures"}),
            "wrong issuer",
        );
        refused(
            serde_json::json!({"sub": "a", "exp": exp, "iss": iss, "aud": "other"}),
            "wrong audience",
        );
        refused(
            serde_json::json!({"sub": "a", "exp": exp, "iss": iss, "aud": "pictures", "nbf": unix_now() + 3600}),
            "nbf",
        );
        let user = v
            .verify(&t(serde_json::json!({"sub": "a", "exp": exp, "iss": iss, "aud": "pictures", "nbf": unix_now() - 10})))
            .unwrap();
        assert_eq!(user.id.subject(), Some("a"));
        assert!(user.id.as_str().starts_with("jwt:") && user.id.as_str() != "jwt::a");
        // nbf within the leeway passes, as exp does.
        assert!(v.verify(&t(serde_json::json!({"sub": "a", "exp": exp, "iss": iss, "aud": "pictures", "nbf": unix_now() + 30}))).is_ok());
        // Without a configured issuer or audience, neither is required.
        let open = JwtVerifier::new(Some("s3cret"), None, None, None)
            .unwrap()
            .unwrap();
        assert!(
            open.verify(&t(serde_json::json!({"sub": "a", "exp": exp})))
                .is_ok()
        );
        match open.verify(&t(
            serde_json::json!({"sub": "a", "exp": exp, "nbf": unix_now() + 3600}),
        )) {
            Err(Error::Unauthorized(m)) => assert!(m.contains("nbf"), "{m}"),
            other => panic!("{other:?}"),
        }
    }

    fn base64_url(b: &[u8]) -> String {
        use base64::Engine;
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(b)
    }

    #[test]
    fn signed_urls() {
        let s = UrlSigner::new(b"key");
        let now = unix_now();
        let sig = s.sign("/images/1/file", now + 60);
        assert!(
            s.check("/images/1/file", &(now + 60).to_string(), &sig, now)
                .is_ok()
        );
        let code = |r: Result<(), Error>| match r {
            Err(Error::Forbidden { code, .. }) => code,
            other => panic!("{other:?}"),
        };
        assert_eq!(
            code(s.check("/images/2/file", &(now + 60).to_string(), &sig, now)),
            "bad_signature"
        );
        assert_eq!(
            code(s.check("/images/1/file", &(now + 61).to_string(), &sig, now)),
            "bad_signature"
        );
        let old = s.sign("/images/1/file", now - 1);
        assert_eq!(
            code(s.check("/images/1/file", &(now - 1).to_string(), &old, now)),
            "url_expired"
        );
        assert_ne!(
            UrlSigner::new(b"other").sign("/images/1/file", now),
            s.sign("/images/1/file", now)
        );
    }
}

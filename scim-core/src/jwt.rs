//! JWT access tokens for the SCIM channel (feature `jwt`): [`JwtAuthenticator`] accepts
//! `Authorization: Bearer <JWT>` (RFC 6750 §2.1, RFC 7519, RFC 9068) as an identity
//! provider gets them from an OAuth 2.0 token endpoint with client credentials
//! (RFC 6749 §4.4), so the channel's credential expires and rotates by itself.
//!
//! What a token must be to be accepted:
//!
//! * signed with a key the authenticator holds, found by the token's `kid` (several keys
//!   are valid at once, so signing keys rotate without downtime), with exactly the
//!   algorithm that key was registered with: a token's `alg` never chooses how it is
//!   verified, so `none` and HMAC/RSA confusion (an RSA public key used as an HMAC
//!   secret) cannot pass;
//! * issued by the configured `iss`, for the configured `aud`, inside its `nbf`..`exp`
//!   window (`exp` required) with a small leeway (default 30 s);
//! * carrying the tenant in a configurable claim (default `tenant`).
//!
//! Its scopes (`scope`, space-separated, or `scp`, an array) become the principal's
//! [`Access`]: `scim:write` everything, `scim:read` reads only, neither nothing (403
//! `insufficient_scope`). A refused token gets 401 with
//! `WWW-Authenticate: Bearer error="invalid_token"`. The token text is never logged or
//! kept; the subject shown in audit events is the token's `client_id`, else its `sub`.
//! [`FirstOf`](crate::auth::FirstOf) keeps static bearer tokens working beside it.
//!
//! ```
//! use scim_core::jwt::{JwtAuthenticator, JwtKey};
//!
//! let auth = JwtAuthenticator::new("https://app.example.com", "https://app.example.com/scim/v2")
//!     .with_key("2026-12", JwtKey::hs256(b"a secret of at least 32 bytes, random!!"));
//! // During a rotation both keys verify; later: auth.remove_key("2026-12").
//! auth.add_key("2027-01", JwtKey::hs256(b"the next secret, also 32+ bytes long!!!"));
//! ```

use crate::auth::{AuthError, Authenticator};
use crate::context::{Access, Principal};
use crate::http::Headers;
use async_trait::async_trait;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde_json::Value;
use std::collections::BTreeMap;
use std::sync::{Arc, PoisonError, RwLock};

/// The scope that grants every SCIM operation.
pub const SCOPE_WRITE: &str = "scim:write";
/// The scope that grants reads (GET and `/.search`).
pub const SCOPE_READ: &str = "scim:read";

/// A verification key and the one algorithm it verifies.
#[derive(Clone)]
pub struct JwtKey {
    algorithm: Algorithm,
    key: DecodingKey,
}

impl std::fmt::Debug for JwtKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never the key material.
        f.debug_struct("JwtKey")
            .field("algorithm", &self.algorithm)
            .finish_non_exhaustive()
    }
}

impl JwtKey {
    /// An HMAC-SHA-256 secret (RFC 7518 §3.2: at least 32 bytes).
    pub fn hs256(secret: &[u8]) -> Self {
        Self {
            algorithm: Algorithm::HS256,
            key: DecodingKey::from_secret(secret),
        }
    }

    /// An RSA public key for RS256, PEM-encoded (`-----BEGIN PUBLIC KEY-----`).
    ///
    /// # Errors
    ///
    /// When the PEM is not an RSA public key.
    pub fn rs256_pem(public_key_pem: &[u8]) -> Result<Self, jsonwebtoken::errors::Error> {
        Ok(Self {
            algorithm: Algorithm::RS256,
            key: DecodingKey::from_rsa_pem(public_key_pem)?,
        })
    }

    /// A P-256 public key for ES256, PEM-encoded.
    ///
    /// # Errors
    ///
    /// When the PEM is not an EC public key.
    pub fn es256_pem(public_key_pem: &[u8]) -> Result<Self, jsonwebtoken::errors::Error> {
        Ok(Self {
            algorithm: Algorithm::ES256,
            key: DecodingKey::from_ec_pem(public_key_pem)?,
        })
    }

    /// The algorithm this key verifies.
    pub fn algorithm(&self) -> Algorithm {
        self.algorithm
    }
}

#[derive(Debug)]
struct Config {
    issuer: String,
    audience: String,
    leeway_seconds: u64,
    tenant_claim: String,
    keys: BTreeMap<String, JwtKey>,
}

/// Authenticates JWT access tokens (see the [module docs](self)). Clones share their
/// configuration, so a host keeps one to add and remove keys at runtime.
#[derive(Debug, Clone)]
pub struct JwtAuthenticator {
    config: Arc<RwLock<Config>>,
}

impl JwtAuthenticator {
    /// Accepts tokens issued by `issuer` (`iss`) for `audience` (`aud`); add keys with
    /// [`with_key`](Self::with_key).
    pub fn new(issuer: impl Into<String>, audience: impl Into<String>) -> Self {
        Self {
            config: Arc::new(RwLock::new(Config {
                issuer: issuer.into(),
                audience: audience.into(),
                leeway_seconds: 30,
                tenant_claim: "tenant".into(),
                keys: BTreeMap::new(),
            })),
        }
    }

    /// Adds the key with id `kid` (the `kid` header of the tokens it signs).
    #[must_use]
    pub fn with_key(self, kid: impl Into<String>, key: JwtKey) -> Self {
        self.add_key(kid, key);
        self
    }

    /// Reads the tenant from the claim `name` (default `tenant`).
    #[must_use]
    pub fn with_tenant_claim(self, name: impl Into<String>) -> Self {
        self.write().tenant_claim = name.into();
        self
    }

    /// Allows `seconds` of clock skew on `exp` and `nbf` (default 30).
    #[must_use]
    pub fn with_leeway(self, seconds: u64) -> Self {
        self.write().leeway_seconds = seconds;
        self
    }

    /// Adds (or replaces) the key with id `kid`, at runtime.
    pub fn add_key(&self, kid: impl Into<String>, key: JwtKey) {
        self.write().keys.insert(kid.into(), key);
    }

    /// Removes the key with id `kid`: tokens it signed are refused from now on. Whether
    /// it was there.
    pub fn remove_key(&self, kid: &str) -> bool {
        self.write().keys.remove(kid).is_some()
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, Config> {
        self.config.write().unwrap_or_else(PoisonError::into_inner)
    }

    /// Verifies `token` and reads its principal.
    fn verify(&self, token: &str) -> Result<Principal, AuthError> {
        let header = jsonwebtoken::decode_header(token).map_err(|_| AuthError::Invalid)?;
        let config = self.config.read().unwrap_or_else(PoisonError::into_inner);
        let key = match &header.kid {
            Some(kid) => config.keys.get(kid),
            // Without a `kid`, only a single configured key can be meant.
            None if config.keys.len() == 1 => config.keys.values().next(),
            None => None,
        }
        .ok_or(AuthError::Invalid)?;
        // The key decides the algorithm; a token naming another is refused.
        if header.alg != key.algorithm {
            return Err(AuthError::Invalid);
        }
        let mut validation = Validation::new(key.algorithm);
        validation.leeway = config.leeway_seconds;
        validation.validate_nbf = true;
        validation.set_required_spec_claims(&["exp", "iss", "aud"]);
        validation.set_issuer(&[&config.issuer]);
        validation.set_audience(&[&config.audience]);
        let claims = jsonwebtoken::decode::<BTreeMap<String, Value>>(token, &key.key, &validation)
            .map_err(|_| AuthError::Invalid)?
            .claims;
        let tenant = claims
            .get(&config.tenant_claim)
            .and_then(Value::as_str)
            .filter(|t| !t.is_empty())
            .ok_or(AuthError::Invalid)?;
        let subject = ["client_id", "sub"]
            .iter()
            .find_map(|name| claims.get(*name).and_then(Value::as_str))
            .unwrap_or("jwt");
        Ok(Principal::new(tenant, subject).with_access(access_of(&claims)))
    }
}

/// The access the token's scopes grant: `scope` (RFC 8693 §4.2, space-separated) or `scp`
/// (an array, as some issuers write it).
fn access_of(claims: &BTreeMap<String, Value>) -> Access {
    let mut scopes: Vec<&str> = Vec::new();
    match claims.get("scope") {
        Some(Value::String(s)) => scopes.extend(s.split_ascii_whitespace()),
        Some(Value::Array(items)) => scopes.extend(items.iter().filter_map(Value::as_str)),
        _ => {}
    }
    if let Some(Value::Array(items)) = claims.get("scp") {
        scopes.extend(items.iter().filter_map(Value::as_str));
    }
    if scopes.contains(&SCOPE_WRITE) {
        Access::ReadWrite
    } else if scopes.contains(&SCOPE_READ) {
        Access::ReadOnly
    } else {
        Access::NoAccess
    }
}

#[async_trait]
impl Authenticator for JwtAuthenticator {
    async fn authenticate(&self, headers: &Headers) -> Result<Principal, AuthError> {
        let value = headers.get("authorization").ok_or(AuthError::Missing)?;
        let (scheme, token) = value.trim().split_once(' ').ok_or(AuthError::Invalid)?;
        if !scheme.eq_ignore_ascii_case("bearer") {
            return Err(AuthError::Invalid);
        }
        self.verify(token.trim())
    }
}

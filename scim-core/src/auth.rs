//! Authentication of SCIM clients (RFC 7644 §2): the [`Authenticator`] trait and the
//! built-in [`BearerAuthenticator`] (RFC 6750 bearer tokens).
//!
//! RFC 7644 §2 leaves the authentication scheme to the service provider and recommends
//! OAuth 2.0 bearer tokens (RFC 6750). [`BearerAuthenticator`] checks static bearer tokens
//! that the host issues to each identity provider; a host with its own authorization
//! server (OAuth 2.0 client-credentials access tokens, JWTs) implements [`Authenticator`]
//! instead. Either way, a request without acceptable credentials is answered with 401,
//! `WWW-Authenticate: Bearer` (RFC 6750 §3) and a SCIM error body (RFC 7644 §3.12).

use crate::context::Principal;
use crate::http::Headers;
use crate::tolerance::Profile;
use async_trait::async_trait;
use sha2::{Digest, Sha256};
use std::sync::{Arc, PoisonError, RwLock};
use subtle::{Choice, ConditionallySelectable, ConstantTimeEq};

/// Why a request was not authenticated. → 401 with `WWW-Authenticate: Bearer`
/// (RFC 6750 §3) and a SCIM error body; the detail never contains the credential.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum AuthError {
    /// No credentials were sent.
    #[error("authentication required: send `Authorization: Bearer <token>`")]
    Missing,
    /// The credentials were not accepted.
    #[error("the bearer token is not valid")]
    Invalid,
    /// The authenticator could not decide (e.g. its key server is down). The text is safe
    /// to show and log.
    #[error("authentication failed: {0}")]
    Failed(String),
}

/// Turns request headers into a [`Principal`] (host-implementable; e.g. OAuth 2.0
/// client-credentials access tokens or JWTs).
#[async_trait]
pub trait Authenticator: Send + Sync + 'static {
    /// Authenticates a request from its headers.
    async fn authenticate(&self, headers: &Headers) -> Result<Principal, AuthError>;
}

/// A shared authenticator authenticates like the one it shares, so a host can hand the
/// engine an `Arc<dyn Authenticator>` it also uses elsewhere.
///
/// Written out rather than with `#[async_trait]`: it hands back the shared authenticator's
/// own future instead of boxing a second future around it.
impl<T: Authenticator + ?Sized> Authenticator for Arc<T> {
    fn authenticate<'s, 'h, 'f>(
        &'s self,
        headers: &'h Headers,
    ) -> std::pin::Pin<
        Box<dyn std::future::Future<Output = Result<Principal, AuthError>> + Send + 'f>,
    >
    where
        's: 'f,
        'h: 'f,
        Self: 'f,
    {
        T::authenticate(self, headers)
    }
}

/// Tries each authenticator in order and answers with the first that accepts the request,
/// e.g. static bearer tokens beside JWTs. A request without credentials is
/// [`AuthError::Missing`]; otherwise the last refusal is kept.
#[derive(Clone)]
pub struct FirstOf(Vec<Arc<dyn Authenticator>>);

impl std::fmt::Debug for FirstOf {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("FirstOf").field(&self.0.len()).finish()
    }
}

impl FirstOf {
    /// Tries `authenticators` in this order.
    pub fn new(authenticators: Vec<Arc<dyn Authenticator>>) -> Self {
        Self(authenticators)
    }
}

#[async_trait]
impl Authenticator for FirstOf {
    async fn authenticate(&self, headers: &Headers) -> Result<Principal, AuthError> {
        let mut refusal = AuthError::Missing;
        for authenticator in &self.0 {
            match authenticator.authenticate(headers).await {
                Ok(principal) => return Ok(principal),
                Err(AuthError::Missing) => {}
                Err(err) => refusal = err,
            }
        }
        Err(refusal)
    }
}

/// Built-in bearer-token authenticator (RFC 6750 §2.1, `Authorization: Bearer <token>`).
///
/// * Each token belongs to one tenant and carries a `label` (e.g. `okta-prod`) that
///   becomes the [`Principal::subject`]: the label is what logs and audit events show;
///   the token text is never logged, printed by `Debug`, or kept in memory: only its
///   SHA-256 digest is stored.
/// * A tenant may have several live tokens, so a token is rotated without downtime: add
///   the new one, reconfigure the identity provider, remove the old one.
/// * Tokens are added and removed at runtime. Clones share the same token set, so a host
///   keeps a clone to rotate tokens while the engine owns another.
/// * The presented token's digest is compared with **every** stored digest in constant
///   time (`subtle`), without an early exit, so response timing reveals neither the token
///   nor which token matched.
///
/// ```
/// use scim_core::{Authenticator, BearerAuthenticator, Headers};
///
/// let auth = BearerAuthenticator::new().with_token("acme", "okta-prod", "s3cr3t-0ld");
/// let handle = auth.clone(); // e.g. kept by the host's admin API
///
/// // Rotation without downtime: both tokens work until the old one is removed.
/// handle.add_token("acme", "okta-prod-2025", "s3cr3t-n3w");
/// assert!(handle.remove_token("s3cr3t-0ld"));
///
/// let mut headers = Headers::new();
/// headers.insert("Authorization", "Bearer s3cr3t-n3w");
/// # tokio_test(async move {
/// let principal = auth.authenticate(&headers).await.unwrap();
/// assert_eq!(&*principal.tenant, "acme");
/// assert_eq!(&*principal.subject, "okta-prod-2025");
/// # });
/// # fn tokio_test(f: impl std::future::Future<Output = ()>) {
/// #     tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(f)
/// # }
/// ```
#[derive(Clone, Default)]
pub struct BearerAuthenticator {
    tokens: Arc<RwLock<Vec<TokenEntry>>>,
}

/// One stored token: its digest and the principal it authenticates.
struct TokenEntry {
    digest: TokenDigest,
    tenant: Arc<str>,
    label: Arc<str>,
    user_id: Option<String>,
    profile: Option<Profile>,
}

/// A token's SHA-256 digest as four 64-bit words: compared a word at a time in constant
/// time, four `subtle` comparisons instead of thirty-two.
type TokenDigest = [u64; 4];

fn digest(token: &str) -> TokenDigest {
    let bytes: [u8; 32] = Sha256::digest(token.as_bytes()).into();
    let mut words = [0u64; 4];
    for (word, chunk) in words.iter_mut().zip(bytes.chunks_exact(8)) {
        let mut eight = [0u8; 8];
        eight.copy_from_slice(chunk);
        *word = u64::from_le_bytes(eight);
    }
    words
}

/// Whether `token` could ever be presented in an `Authorization: Bearer` header:
/// non-empty, printable ASCII without spaces (a superset of RFC 6750 §2.1 `b64token`).
fn presentable(token: &str) -> bool {
    !token.is_empty() && token.bytes().all(|b| b.is_ascii_graphic())
}

impl BearerAuthenticator {
    /// An authenticator that accepts no token yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a token of `tenant`, labelled `label` (builder form of
    /// [`add_token`](Self::add_token)).
    pub fn with_token(self, tenant: &str, label: &str, token: &str) -> Self {
        self.add_token(tenant, label, token);
        self
    }

    /// Adds a token of `tenant` bound to the SCIM User `user_id`, so `/Me` resolves to that
    /// user (builder form of [`add_user_token`](Self::add_user_token), RFC 7644 §3.11).
    pub fn with_user_token(self, tenant: &str, label: &str, user_id: &str, token: &str) -> Self {
        self.add_user_token(tenant, label, user_id, token);
        self
    }

    /// Adds a live token of `tenant`; requests presenting it authenticate as
    /// `Principal { tenant, subject: label }`. Only the token's SHA-256 digest is kept.
    ///
    /// Adding a token that is already known re-assigns it to this tenant and label (a token
    /// identifies exactly one principal). A token that cannot be sent in an
    /// `Authorization: Bearer` header (empty, or containing spaces or non-ASCII
    /// characters; RFC 6750 §2.1) is refused: it is not stored and a warning naming the
    /// label is logged.
    pub fn add_token(&self, tenant: &str, label: &str, token: &str) {
        self.insert(tenant, label, None, token);
    }

    /// Like [`add_token`](Self::add_token), and binds the token to the SCIM User
    /// `user_id`: [`Principal::user_id`] is set, so `/Me` resolves to it (RFC 7644 §3.11).
    pub fn add_user_token(&self, tenant: &str, label: &str, user_id: &str, token: &str) {
        self.insert(tenant, label, Some(user_id), token);
    }

    /// Adds a token of `tenant` whose requests run under the compatibility `profile`
    /// (builder form of [`add_profile_token`](Self::add_profile_token)).
    pub fn with_profile_token(
        self,
        tenant: &str,
        label: &str,
        profile: Profile,
        token: &str,
    ) -> Self {
        self.add_profile_token(tenant, label, profile, token);
        self
    }

    /// Like [`add_token`](Self::add_token), and the token's requests run under `profile`
    /// ([`Principal::profile`]): e.g. [`Profile::entra`] for the token given to a Microsoft
    /// Entra ID provisioning connection, [`Profile::strict`] for an RFC-conformant client.
    pub fn add_profile_token(&self, tenant: &str, label: &str, profile: Profile, token: &str) {
        self.insert_entry(tenant, label, None, Some(profile), token);
    }

    fn insert(&self, tenant: &str, label: &str, user_id: Option<&str>, token: &str) {
        self.insert_entry(tenant, label, user_id, None, token);
    }

    fn insert_entry(
        &self,
        tenant: &str,
        label: &str,
        user_id: Option<&str>,
        profile: Option<Profile>,
        token: &str,
    ) {
        if !presentable(token) {
            tracing::warn!(
                tenant,
                label,
                "bearer token refused: it is empty or contains characters an Authorization header cannot carry"
            );
            return;
        }
        let entry = TokenEntry {
            digest: digest(token),
            tenant: Arc::from(tenant),
            label: Arc::from(label),
            user_id: user_id.map(str::to_owned),
            profile,
        };
        let mut tokens = self.tokens.write().unwrap_or_else(PoisonError::into_inner);
        tokens.retain(|e| !bool::from(e.digest.ct_eq(&entry.digest)));
        tokens.push(entry);
    }

    /// Removes a token (by its text); returns whether it was live. Requests presenting it
    /// are rejected from now on.
    pub fn remove_token(&self, token: &str) -> bool {
        let wanted = digest(token);
        let mut tokens = self.tokens.write().unwrap_or_else(PoisonError::into_inner);
        let before = tokens.len();
        tokens.retain(|e| !bool::from(e.digest.ct_eq(&wanted)));
        tokens.len() != before
    }

    /// Removes every token of `tenant` labelled `label` (for hosts that no longer hold the
    /// token text); returns how many were removed.
    pub fn remove_label(&self, tenant: &str, label: &str) -> usize {
        let mut tokens = self.tokens.write().unwrap_or_else(PoisonError::into_inner);
        let before = tokens.len();
        tokens.retain(|e| !(&*e.tenant == tenant && &*e.label == label));
        before - tokens.len()
    }

    /// Removes every token of `tenant`; returns how many were removed.
    pub fn remove_tenant(&self, tenant: &str) -> usize {
        let mut tokens = self.tokens.write().unwrap_or_else(PoisonError::into_inner);
        let before = tokens.len();
        tokens.retain(|e| &*e.tenant != tenant);
        before - tokens.len()
    }

    /// The labels of `tenant`'s live tokens, in the order they were added (one entry per
    /// token, so a label used twice appears twice).
    pub fn tokens_for(&self, tenant: &str) -> Vec<String> {
        self.tokens
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .iter()
            .filter(|e| &*e.tenant == tenant)
            .map(|e| e.label.to_string())
            .collect()
    }

    /// The number of live tokens across all tenants.
    pub fn len(&self) -> usize {
        self.tokens
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .len()
    }

    /// Whether no token is live (every request is rejected).
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Checks a presented token against every stored digest in constant time (no early
    /// exit) and returns the principal of the matching one.
    fn lookup(&self, token: &str) -> Option<Principal> {
        let presented = digest(token);
        let tokens = self.tokens.read().unwrap_or_else(PoisonError::into_inner);
        let mut found = Choice::from(0);
        let mut index = 0u64;
        for (i, entry) in tokens.iter().enumerate() {
            let matches = entry.digest.ct_eq(&presented);
            index = u64::conditional_select(&index, &(i as u64), matches);
            found |= matches;
        }
        if !bool::from(found) {
            return None;
        }
        let entry = tokens.get(usize::try_from(index).ok()?)?;
        let mut principal = Principal::new(Arc::clone(&entry.tenant), Arc::clone(&entry.label));
        principal.user_id.clone_from(&entry.user_id);
        principal.profile.clone_from(&entry.profile);
        Some(principal)
    }
}

/// Extracts the token of an `Authorization: Bearer <token>` header value.
///
/// RFC 6750 §2.1: `credentials = "Bearer" 1*SP b64token`; the scheme is case-insensitive
/// (RFC 9110 §11.1). Surrounding whitespace is ignored; several spaces may separate scheme
/// and token; the token itself must be non-empty printable ASCII without spaces (anything
/// after it, such as a second token or `auth-param`s, makes the header invalid).
fn bearer_token(value: &str) -> Result<&str, AuthError> {
    let value = crate::text::trim_blanks(value);
    let (scheme, rest) = crate::text::split_once_byte(value, b' ').ok_or(AuthError::Invalid)?;
    if !scheme.eq_ignore_ascii_case("Bearer") {
        return Err(AuthError::Invalid);
    }
    let token = rest.trim_start_matches(' ');
    if presentable(token) {
        Ok(token)
    } else {
        Err(AuthError::Invalid)
    }
}

#[async_trait]
impl Authenticator for BearerAuthenticator {
    async fn authenticate(&self, headers: &Headers) -> Result<Principal, AuthError> {
        let Some(value) = headers.get("authorization") else {
            return Err(AuthError::Missing);
        };
        let token = bearer_token(value).inspect_err(|_| {
            tracing::debug!("rejected: the Authorization header is not `Bearer <token>`");
        })?;
        self.lookup(token).ok_or_else(|| {
            tracing::debug!("rejected: unknown bearer token");
            AuthError::Invalid
        })
    }
}

impl std::fmt::Debug for BearerAuthenticator {
    /// Shows how many tokens each tenant has; never a token or a digest.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let tokens = self.tokens.read().unwrap_or_else(PoisonError::into_inner);
        let mut tenants: std::collections::BTreeMap<&str, usize> = Default::default();
        for entry in tokens.iter() {
            *tenants.entry(&*entry.tenant).or_default() += 1;
        }
        f.debug_struct("BearerAuthenticator")
            .field("tokens", &tokens.len())
            .field("tokens_per_tenant", &tenants)
            .finish()
    }
}

/// Accepts every request as `tenant`, without credentials. For tests and demos only:
/// anyone who can reach the service can read and change every resource of that tenant.
#[derive(Debug, Clone)]
pub struct InsecureNoAuthentication {
    tenant: String,
}

impl InsecureNoAuthentication {
    /// Accept everything as `tenant`.
    pub fn for_tenant(tenant: impl Into<String>) -> Self {
        Self {
            tenant: tenant.into(),
        }
    }
}

#[async_trait]
impl Authenticator for InsecureNoAuthentication {
    async fn authenticate(&self, _headers: &Headers) -> Result<Principal, AuthError> {
        Ok(Principal::new(self.tenant.clone(), "anonymous"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_bearer_credentials() {
        assert_eq!(bearer_token("Bearer abc"), Ok("abc"));
        assert_eq!(bearer_token("bearer abc"), Ok("abc"));
        assert_eq!(bearer_token("BEARER abc"), Ok("abc"));
        assert_eq!(bearer_token("Bearer   abc"), Ok("abc"));
        assert_eq!(bearer_token(" Bearer abc "), Ok("abc"));
        assert_eq!(bearer_token("Bearer a-._~+/b=="), Ok("a-._~+/b=="));
        for bad in [
            "",
            "Bearer",
            "Bearer ",
            "Bearer  ",
            "Bearerabc",
            "Basic YWxhZGRpbjpvcGVuc2VzYW1l",
            "Token abc",
            "Bearer abc def",
            "Bearer\tabc",
            "Bearer abc\u{e9}",
        ] {
            assert_eq!(bearer_token(bad), Err(AuthError::Invalid), "{bad:?}");
        }
    }
}

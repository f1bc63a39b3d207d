//! Revoking a user's access when an identity provider deprovisions them (RFC 7642 §3.2.3
//! "leaver").
//!
//! The engine calls the host's [`TokenRevoker`] whenever a request leaves users inactive
//! (`active` set to false by PATCH, PUT or Bulk) or deleted, even when the user was already
//! inactive, so that an IdP retrying after a failure completes the revocation. The call
//! completes before the 2xx response is sent; if it fails, the client gets a 503 SCIM error
//! and can retry the same request safely. Tokens are bound to the immutable `id`, never to
//! `userName` (which an IdP may rename).

use crate::context::RequestContext;
use async_trait::async_trait;

/// Why users are being revoked.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum RevocationReason {
    /// `active` became (or stayed) `false` (RFC 7643 §4.1.1).
    Deactivated,
    /// The user was deleted (RFC 7644 §3.6).
    Deleted,
}

impl RevocationReason {
    /// `deactivated` or `deleted`, for logs.
    pub fn as_str(self) -> &'static str {
        match self {
            RevocationReason::Deactivated => "deactivated",
            RevocationReason::Deleted => "deleted",
        }
    }
}

/// What one [`TokenRevoker::revoke`] call ended, as the host counts it: reported to
/// [observers](crate::observe::ScimObserver) (e.g. "3 sessions revoked" on an
/// administrator's page) and never needed for correctness.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub struct Revoked {
    /// How many sessions and tokens ended, if the host counts them.
    pub sessions: Option<u64>,
}

impl Revoked {
    /// `n` sessions and tokens ended.
    pub fn sessions(n: u64) -> Self {
        Self { sessions: Some(n) }
    }

    /// The host does not count what it ended (the default).
    pub fn uncounted() -> Self {
        Self::default()
    }
}

/// The host could not revoke; the engine answers 503 and the IdP retries.
#[derive(Debug, thiserror::Error)]
#[error("token revocation failed: {0}")]
pub struct RevocationError(#[source] pub Box<dyn std::error::Error + Send + Sync>);

impl RevocationError {
    /// A revocation error from any error or message.
    pub fn new(err: impl Into<Box<dyn std::error::Error + Send + Sync>>) -> Self {
        Self(err.into())
    }
}

/// Kills every session and token of the given users (host-implemented).
///
/// Called with a batch of SCIM `id`s of one tenant (`ctx.tenant()`) and the reason; a Bulk
/// request revokes in batches, not once per operation. Must be idempotent: revoking a user
/// with no sessions, or one already revoked, succeeds.
///
/// Scope every revocation to `ctx.tenant()`: ids are only unique within a tenant, and a
/// `DELETE /Users/{id}` that answers 404 still revokes `id` (so that an IdP retrying a
/// delete whose revocation failed completes it), which means a caller of one tenant can
/// name any id. A revoker that ignored the tenant would let it end another tenant's
/// sessions.
#[async_trait]
pub trait TokenRevoker: Send + Sync + 'static {
    /// Revokes every session and token of `user_ids` before returning, and says how many
    /// ended ([`Revoked::uncounted`] if the host does not count them).
    async fn revoke(
        &self,
        ctx: &RequestContext,
        user_ids: &[String],
        reason: RevocationReason,
    ) -> Result<Revoked, RevocationError>;
}

/// A revoker for hosts that keep no sessions or tokens of their own: revokes nothing.
///
/// Named explicitly so that running without revocation is a visible choice.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoSessionsToRevoke;

#[async_trait]
impl TokenRevoker for NoSessionsToRevoke {
    async fn revoke(
        &self,
        _ctx: &RequestContext,
        _user_ids: &[String],
        _reason: RevocationReason,
    ) -> Result<Revoked, RevocationError> {
        Ok(Revoked::sessions(0))
    }
}

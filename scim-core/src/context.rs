//! Who is calling and for which tenant (RFC 7644 §2 authentication, §6 multi-tenancy).

use crate::observe::{Trail, TrailSlot};
use crate::tolerance::Profile;
use chrono::{DateTime, Utc};
use std::sync::Arc;

/// An authenticated caller, as an [`Authenticator`](crate::auth::Authenticator) reports it.
///
/// Every store call and every audit event carries the principal's `tenant`, so one
/// service provider can serve several customers (RFC 7644 §6) without their resources
/// ever meeting.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub struct Principal {
    /// The tenant whose resources this caller may see and change. Shared (`Arc<str>`):
    /// an authenticator hands out the same tenant on every request without copying it.
    pub tenant: Arc<str>,
    /// A label for the caller that is safe to log (a token name, an OAuth client id);
    /// never a secret.
    pub subject: Arc<str>,
    /// The SCIM `id` of the User this caller is, if any; `/Me` resolves to it (RFC 7644 §3.11).
    pub user_id: Option<String>,
    /// The caller's compatibility profile (which IdP tolerances apply to its requests), if
    /// the authenticator assigned one; otherwise the engine's default profile applies.
    pub profile: Option<Profile>,
    /// What the caller may do (e.g. from an access token's scopes). Default
    /// [`Access::ReadWrite`].
    pub access: Access,
}

/// What a [`Principal`] may do, checked by the engine before anything else: a request it
/// may not make gets 403 with `WWW-Authenticate: Bearer error="insufficient_scope"`
/// (RFC 6750 §3.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[non_exhaustive]
pub enum Access {
    /// Every operation (scope `scim:write`).
    #[default]
    ReadWrite,
    /// Reads only: GET, and POST to `/.search` endpoints (RFC 7644 §3.4.3; scope
    /// `scim:read`).
    ReadOnly,
    /// Nothing (an authenticated caller without a SCIM scope).
    NoAccess,
}

impl Access {
    /// The scope a request needs that this access lacks (`scim:read` or `scim:write`),
    /// if any; `read` says whether the request only reads.
    pub fn missing_scope(self, read: bool) -> Option<&'static str> {
        match (self, read) {
            (Access::ReadWrite, _) | (Access::ReadOnly, true) => None,
            (Access::NoAccess, true) => Some("scim:read"),
            (Access::ReadOnly | Access::NoAccess, false) => Some("scim:write"),
        }
    }
}

impl Principal {
    /// A principal of `tenant` labelled `subject`, not bound to a User.
    pub fn new(tenant: impl Into<Arc<str>>, subject: impl Into<Arc<str>>) -> Self {
        Self {
            tenant: tenant.into(),
            subject: subject.into(),
            user_id: None,
            profile: None,
            access: Access::ReadWrite,
        }
    }

    /// The principal with this [`Access`].
    pub fn with_access(mut self, access: Access) -> Self {
        self.access = access;
        self
    }

    /// Binds the principal to the SCIM User it is (for `/Me`, RFC 7644 §3.11).
    pub fn with_user_id(mut self, user_id: impl Into<String>) -> Self {
        self.user_id = Some(user_id.into());
        self
    }

    /// Gives the principal its compatibility profile (see [`Profile`]).
    pub fn with_profile(mut self, profile: Profile) -> Self {
        self.profile = Some(profile);
        self
    }
}

/// What every [`Store`](crate::store::Store) and
/// [`TokenRevoker`](crate::revoke::TokenRevoker) call receives about the request.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct RequestContext {
    /// The authenticated caller.
    pub principal: Principal,
    /// The absolute base URL of the SCIM service for this request, e.g.
    /// `https://app.example.com/scim/v2` (used for `meta.location` and `Location`).
    pub base_url: String,
    /// The instant of the request (millisecond precision): `meta.lastModified` of everything
    /// the request changes, including what a store changes by itself (membership changes,
    /// delete cascades; RFC 7643 §3.1). The engine takes it from its clock.
    pub now: DateTime<Utc>,
    /// What the engine notes for its observers (see [`crate::observe`]), when it has any.
    pub(crate) trail: TrailSlot,
}

impl RequestContext {
    /// A context for `principal` at `base_url`, at the current time.
    pub fn new(principal: Principal, base_url: impl Into<String>) -> Self {
        Self {
            principal,
            base_url: base_url.into(),
            now: crate::meta::truncate_to_millis(Utc::now()),
            trail: TrailSlot::default(),
        }
    }

    /// A context for `principal` at `base_url`, at the instant `now` (truncated to
    /// milliseconds).
    pub fn new_at(principal: Principal, base_url: impl Into<String>, now: DateTime<Utc>) -> Self {
        Self {
            principal,
            base_url: base_url.into(),
            now: crate::meta::truncate_to_millis(now),
            trail: TrailSlot::default(),
        }
    }

    /// The same context noting what happens for the engine's observers.
    pub(crate) fn with_trail(mut self, trail: Option<Arc<Trail>>) -> Self {
        self.trail = TrailSlot(trail);
        self
    }

    /// The trail of the request, when the engine has observers.
    pub(crate) fn trail(&self) -> Option<&Trail> {
        self.trail.0.as_deref()
    }

    /// The same context at another instant (truncated to milliseconds).
    #[must_use]
    pub fn at(mut self, now: DateTime<Utc>) -> Self {
        self.now = crate::meta::truncate_to_millis(now);
        self
    }

    /// The tenant of the request.
    pub fn tenant(&self) -> &str {
        &self.principal.tenant
    }
}

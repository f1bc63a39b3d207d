//! Observing what clients send and what the engine answers (operability).
//!
//! A host gives the engine one or more [`ScimObserver`]s
//! ([`EngineBuilder::observer`](crate::EngineBuilder::observer)); after every request the
//! engine hands each of them an [`Exchange`]: when, who (tenant, client, compatibility
//! profile), what (method, path, query, operation, resource type and id), the answer
//! (status, and for errors the `scimType` and `detail` of RFC 7644 §3.12), how long it took,
//! which users it revoked (RFC 7642 §3.2.3) and how many sessions ended, how its Bulk
//! operations went (RFC 7644 §3.7), and whether the store failed. Metrics
//! ([`MetricsObserver`], feature `metrics`), an administrator's page of recent exchanges or
//! an audit trail are observers.
//!
//! Bodies are captured only for an observer that asks for them
//! ([`ScimObserver::wants_bodies`]), and then redacted ([`Redactor`]): the value of every
//! attribute the schema marks `returned: never` (RFC 7643 §2.2, e.g. a User's `password`)
//! is replaced wherever it appears (resource members, URN-qualified members, PATCH
//! operations whose `path` names it, Bulk `data`), a body that is not JSON is not shown,
//! and no header is ever captured (so neither `Authorization` nor a cookie can leak).
//!
//! Without observers the engine does none of this work: no clock reads, no copies.

#[cfg(feature = "metrics")]
mod metrics;
mod redact;

#[cfg(feature = "metrics")]
pub use self::metrics::MetricsObserver;
pub use redact::{REDACTED, Redactor};

use crate::http::Method;
use crate::revoke::RevocationReason;
use chrono::{DateTime, Utc};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

/// Receives every finished [`Exchange`] of an engine (host-implemented; see the
/// [module docs](self)).
///
/// `observe` runs on the request's task after the response is built and before it is
/// returned, so it must be quick and must not block: push to a bounded buffer or a
/// channel, update counters. A panic in it is the host's bug like any other.
pub trait ScimObserver: Send + Sync + 'static {
    /// Whether exchanges should carry the (redacted) request and response bodies. Default
    /// `false`: capturing bodies costs a parse and a serialization per request. Bodies are
    /// captured once per request, so when one observer asks for them every observer of the
    /// engine sees them.
    fn wants_bodies(&self) -> bool {
        false
    }

    /// Called once per finished request.
    fn observe(&self, exchange: &Exchange);
}

impl<T: ScimObserver + ?Sized> ScimObserver for Arc<T> {
    fn wants_bodies(&self) -> bool {
        T::wants_bodies(self)
    }

    fn observe(&self, exchange: &Exchange) {
        T::observe(self, exchange);
    }
}

/// One finished request and its answer, as an observer sees it.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct Exchange {
    /// When the request arrived (the engine's clock).
    pub at: DateTime<Utc>,
    /// How long the engine took to answer, revocation included.
    pub duration: Duration,
    /// The caller's tenant; `None` when authentication failed.
    pub tenant: Option<Arc<str>>,
    /// The caller's label ([`Principal::subject`](crate::Principal::subject): a token's
    /// name, an OAuth client id); `None` when authentication failed.
    pub client: Option<Arc<str>>,
    /// The name of the caller's compatibility [`Profile`](crate::Profile).
    pub profile: Option<String>,
    /// The HTTP method.
    pub method: Method,
    /// The path below the SCIM base, percent-decoded (e.g. `/Users/2819c223`).
    pub path: String,
    /// The raw query string, if any; [`REDACTED`] when it names an attribute that is
    /// never returned.
    pub query: Option<String>,
    /// What the request does: `create`, `get`, `list`, `search`, `replace`, `patch`,
    /// `delete`, `bulk` (the names of the `scim::audit` events), or `other`.
    pub operation: &'static str,
    /// The resource type the path addresses (`User`, `Group`, `Bulk`, `ServiceProviderConfig`,
    /// …; `*` for the root); `None` for a path that is no SCIM endpoint.
    pub resource_type: Option<String>,
    /// The id of the resource the request addressed or created, if any.
    pub resource_id: Option<String>,
    /// The HTTP status of the answer.
    pub status: u16,
    /// For an error answer: its `scimType` (RFC 7644 §3.12), if it has one.
    pub scim_type: Option<String>,
    /// For an error answer: its `detail`.
    pub detail: Option<String>,
    /// Why the request was refused before it ran, if it was.
    pub auth_failure: Option<AuthFailure>,
    /// How many times the store failed (each answered 503).
    pub store_errors: u32,
    /// The token revocations the request performed (RFC 7642 §3.2.3), one per
    /// [`TokenRevoker`](crate::TokenRevoker) call.
    pub revocations: Vec<Revocation>,
    /// For a Bulk request that ran: how its operations went.
    pub bulk: Option<BulkSummary>,
    /// The request body, redacted; only for observers that [want bodies](ScimObserver::wants_bodies).
    pub request_body: Option<String>,
    /// The response body, redacted; only for observers that want bodies.
    pub response_body: Option<String>,
}

impl Exchange {
    /// Whether the answer is an error (status 400 or more).
    pub fn failed(&self) -> bool {
        self.status >= 400
    }

    /// The status class as Prometheus-style label text: `2xx`, `3xx`, `4xx`, `5xx`.
    pub fn status_class(&self) -> &'static str {
        match self.status {
            100..=199 => "1xx",
            200..=299 => "2xx",
            300..=399 => "3xx",
            400..=499 => "4xx",
            _ => "5xx",
        }
    }
}

/// Why a request was refused before it ran (RFC 6750 §3.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum AuthFailure {
    /// No credentials (401).
    Missing,
    /// Credentials that were not accepted (401 `invalid_token`).
    Invalid,
    /// The authenticator could not decide (401).
    Failed,
    /// Valid credentials without the scope the request needs (403 `insufficient_scope`).
    InsufficientScope,
}

impl AuthFailure {
    /// `missing`, `invalid`, `failed` or `insufficient_scope`, for labels and logs.
    pub fn as_str(self) -> &'static str {
        match self {
            AuthFailure::Missing => "missing",
            AuthFailure::Invalid => "invalid",
            AuthFailure::Failed => "failed",
            AuthFailure::InsufficientScope => "insufficient_scope",
        }
    }
}

/// One [`TokenRevoker`](crate::TokenRevoker) call of a request.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Revocation {
    /// Why the users were revoked.
    pub reason: RevocationReason,
    /// The SCIM ids of the users revoked.
    pub user_ids: Vec<String>,
    /// How many sessions and tokens ended, if the host counts them
    /// ([`Revoked`](crate::revoke::Revoked)); `None` also when the call failed.
    pub sessions: Option<u64>,
    /// Whether the call succeeded (a failure answers the request 503).
    pub succeeded: bool,
}

/// How the operations of a Bulk request went (RFC 7644 §3.7).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct BulkSummary {
    /// Operations that ran.
    pub operations: usize,
    /// Operations among them that failed.
    pub failed: usize,
}

/// What the engine notes about a request while it runs, for its [`Exchange`]: kept in the
/// [`RequestContext`](crate::RequestContext) only when the engine has observers.
#[derive(Debug, Default)]
pub(crate) struct Trail(Mutex<TrailData>);

#[derive(Debug, Default)]
pub(crate) struct TrailData {
    /// The authenticated caller: tenant, label, profile name.
    pub(crate) principal: Option<(Arc<str>, Arc<str>, String)>,
    pub(crate) auth_failure: Option<AuthFailure>,
    /// The id of the last operation the request ran (a Bulk request's own is `None`).
    pub(crate) resource_id: Option<String>,
    /// Operations run other than a Bulk request's own, and the failed ones among them.
    pub(crate) operations: usize,
    pub(crate) failed_operations: usize,
    pub(crate) store_errors: u32,
    pub(crate) revocations: Vec<Revocation>,
}

impl Trail {
    fn with<R>(&self, f: impl FnOnce(&mut TrailData) -> R) -> R {
        f(&mut self.0.lock().unwrap_or_else(PoisonError::into_inner))
    }

    /// The caller, once authenticated (with the profile its requests run under).
    pub(crate) fn principal(&self, principal: &crate::Principal) {
        let profile = principal
            .profile
            .as_ref()
            .map_or("default", crate::Profile::name)
            .to_owned();
        self.with(|trail| {
            trail.principal = Some((
                Arc::clone(&principal.tenant),
                Arc::clone(&principal.subject),
                profile,
            ));
        });
    }

    /// The request was refused before it ran.
    pub(crate) fn auth_failure(&self, failure: AuthFailure) {
        self.with(|trail| trail.auth_failure = Some(failure));
    }

    /// One operation ran (also each operation of a Bulk request, and then the Bulk
    /// request itself, as `bulk`).
    pub(crate) fn operation(&self, operation: &str, id: Option<&str>, ok: bool) {
        self.with(|trail| {
            if operation != "bulk" {
                trail.operations += 1;
                trail.failed_operations += usize::from(!ok);
            }
            trail.resource_id = id.map(str::to_owned);
        });
    }

    /// The store failed once.
    pub(crate) fn store_error(&self) {
        self.with(|trail| trail.store_errors += 1);
    }

    /// A revoker call and how it went.
    pub(crate) fn revocation(&self, revocation: Revocation) {
        self.with(|trail| trail.revocations.push(revocation));
    }

    /// What was noted.
    pub(crate) fn take(&self) -> TrailData {
        self.with(std::mem::take)
    }
}

/// The trail of a context is not part of what the context is: two contexts that differ
/// only in their trails are equal.
#[derive(Debug, Clone, Default)]
pub(crate) struct TrailSlot(pub(crate) Option<Arc<Trail>>);

impl PartialEq for TrailSlot {
    fn eq(&self, _other: &Self) -> bool {
        true
    }
}

impl Eq for TrailSlot {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_trail_counts_bulk_operations_apart_from_the_bulk_request() {
        let trail = Trail::default();
        trail.operation("create", Some("a"), true);
        trail.operation("patch", Some("b"), false);
        trail.operation("bulk", None, true);
        trail.store_error();
        let data = trail.take();
        assert_eq!((data.operations, data.failed_operations), (2, 1));
        assert_eq!(data.resource_id, None);
        assert_eq!(data.store_errors, 1);
        // Taken: a second look finds nothing.
        assert_eq!(trail.take().operations, 0);
    }

    #[test]
    fn status_classes() {
        let mut exchange = Exchange {
            at: DateTime::<Utc>::UNIX_EPOCH,
            duration: Duration::ZERO,
            tenant: None,
            client: None,
            profile: None,
            method: Method::Get,
            path: "/Users".into(),
            query: None,
            operation: "list",
            resource_type: Some("User".into()),
            resource_id: None,
            status: 200,
            scim_type: None,
            detail: None,
            auth_failure: None,
            store_errors: 0,
            revocations: Vec::new(),
            bulk: None,
            request_body: None,
            response_body: None,
        };
        for (status, class, failed) in [
            (200, "2xx", false),
            (204, "2xx", false),
            (304, "3xx", false),
            (404, "4xx", true),
            (503, "5xx", true),
        ] {
            exchange.status = status;
            assert_eq!(
                (exchange.status_class(), exchange.failed()),
                (class, failed)
            );
        }
    }
}

//! The framework-neutral SCIM protocol engine (RFC 7644 §3): a [`ScimRequest`] in, a
//! [`ScimResponse`] out.
//!
//! Adapters only translate HTTP; everything RFC 7644 defines happens here: routing,
//! authentication, CRUD, PATCH, list/search, Bulk, ETags, discovery, token revocation and
//! audit events.
//!
//! # Endpoints (RFC 7644 §3.2)
//!
//! | path | methods |
//! | --- | --- |
//! | `/{endpoint}` of every registered resource type (`/Users`, `/Groups`, …) | GET (list, §3.4.2), POST (create, §3.3) |
//! | `/{endpoint}/{id}` | GET (§3.4.1), PUT (§3.5.1), PATCH (§3.5.2), DELETE (§3.6) |
//! | `/{endpoint}/.search`, `/.search` | POST (§3.4.3) |
//! | `/` | GET with query parameters (§3.4.2.1) |
//! | `/Me` | as `/Users/{id}` of the caller's User (§3.11); 501 when the authenticator binds no User |
//! | `/ServiceProviderConfig`, `/Schemas[/{id}]`, `/ResourceTypes[/{name}]` | GET (§4); other methods 405 |
//! | `/Bulk` | POST (§3.7) |
//!
//! Anything else is 404; a method an endpoint does not support is 405.
//!
//! # Responses
//!
//! * Bodies are `application/scim+json`. A resource is written as `id`, its stored
//!   attributes (keys sorted), Group `members` or a User's derived `groups` (each element
//!   with its `$ref`), then `meta`, rendered here: `created` and `lastModified` from the
//!   store, `location` under the request's `base_url`, `resourceType`, and `version`, the
//!   weak ETag `W/"<n>"` of the store's version counter (also the `ETag` header).
//! * 201 with `Location` on create; 200 with the resource on PUT and PATCH, except a PATCH
//!   that only adds or removes Group members, which answers 204 unless `attributes` or
//!   `excludedAttributes` ask for the resource; 204 on DELETE.
//! * `If-Match` (PUT, PATCH, DELETE) and `If-None-Match` (GET → 304) compare weakly
//!   (RFC 9110 §8.8.3.2) on every path; `*` matches any existing resource (RFC 7644 §3.14).
//! * A store failure ([`StoreError::Backend`]) is logged once
//!   (target `scim::store`, with its source chain) and answered 503 with `Retry-After`;
//!   so is a failed token revocation.
//!
//! # Requests
//!
//! Bodies may be `application/scim+json`, `application/json` (any parameters) or untyped
//! (Okta sends no `Content-Type`); anything else is 415. Malformed JSON is 400
//! `invalidSyntax` with the position; a body over [`EngineConfig::max_body_bytes`] (Bulk:
//! [`BulkLimits::max_payload_bytes`]) is 413.
//!
//! # Audit
//!
//! Every operation (also each Bulk operation) emits an `INFO` event with target
//! `scim::audit` and fields `tenant`, `subject`, `profile` (the client's compatibility
//! [`Profile`]), `operation` (`create`, `get`, `list`,
//! `search`, `replace`, `patch`, `delete`, `bulk`), `resource_type`, `id`, `outcome`
//! (`ok`/`error`) and `status`; every authentication failure a `WARN` event with the reason
//! (never a credential).
//!
//! # Observers
//!
//! Hosts that want more than log lines add [observers](crate::observe) with
//! [`EngineBuilder::observer`]: after every request each is handed an
//! [`Exchange`](crate::observe::Exchange) (who, what, status, `scimType` and `detail`,
//! duration, revocations, Bulk outcome, and on request the bodies with every
//! `returned: never` value redacted). An engine without observers does none of that work.

mod bulk;
mod discovery;
mod list;
mod render;
mod resources;
mod route;

pub(crate) use resources::{to_record, to_resource};

use crate::auth::{AuthError, Authenticator};
use crate::context::{Access, RequestContext};
use crate::error::ScimError;
use crate::http::{Headers, Method, SCIM_MEDIA_TYPE, ScimRequest, ScimResponse};
use crate::observe::{AuthFailure, BulkSummary, Redactor, Revocation, ScimObserver, Trail};
use crate::projection::Projection;
use crate::revoke::{RevocationReason, TokenRevoker};
use crate::schema::ResourceTypeView;
use crate::schema::SchemaRegistry;
use crate::store::Store;
use crate::store::StoreError;
use crate::tolerance::{Profile, Tolerances};
use chrono::{DateTime, Utc};
use list::{ListParams, QueryParams};
use route::Route;
use serde_json::Value;
use std::borrow::Cow;
use std::sync::Arc;

/// What DELETE of a User does (a host policy).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[non_exhaustive]
pub enum DeletePolicy {
    /// Remove the resource (RFC 7644 §3.6). The default.
    #[default]
    HardDelete,
    /// Keep the User but set `active` to false (for hosts that must retain accounts);
    /// the response is still 204 and later GETs still find the user. Groups are always
    /// hard-deleted.
    Deactivate,
}

/// What a POST that collides on a unique attribute (e.g. `userName`) does (a host policy).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[non_exhaustive]
pub enum DuplicatePolicy {
    /// 409 `uniqueness` (RFC 7644 §3.3). The default.
    #[default]
    Conflict,
    /// Idempotent provisioning: answer 200 with the existing resource, unchanged, so an IdP
    /// that retries a create after a timeout does not fail.
    ReturnExisting,
}

/// Accounts SCIM can neither see nor change, e.g. break-glass administrators (a host
/// policy). Matching Users are absent from lists and searches, GET/PUT/PATCH/DELETE answer
/// 404, and creating one answers 409 `uniqueness`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct ProtectedAccounts {
    /// Protected `userName`s (compared case-insensitively).
    pub user_names: Vec<String>,
    /// Protected User `id`s.
    pub ids: Vec<String>,
}

impl ProtectedAccounts {
    /// No protected accounts.
    pub fn none() -> Self {
        Self::default()
    }

    /// Adds a protected `userName`.
    pub fn user_name(mut self, user_name: impl Into<String>) -> Self {
        self.user_names.push(user_name.into());
        self
    }

    /// Adds a protected User `id`.
    pub fn id(mut self, id: impl Into<String>) -> Self {
        self.ids.push(id.into());
        self
    }
}

/// Bulk limits advertised in `/ServiceProviderConfig` (RFC 7644 §3.7, RFC 7643 §5).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct BulkLimits {
    /// `maxOperations`: most operations in one request. Default 1000.
    pub max_operations: usize,
    /// `maxPayloadSize`: largest request body in bytes. Default 1 MiB.
    pub max_payload_bytes: usize,
}

impl Default for BulkLimits {
    fn default() -> Self {
        Self {
            max_operations: 1000,
            max_payload_bytes: 1 << 20,
        }
    }
}

/// Size limits of requests other than Bulk's ([`BulkLimits`]), each answered with a SCIM
/// error (RFC 7644 §3.12) before anything is written. Request bodies are limited by
/// [`EngineConfig::max_body_bytes`] (413) and filters by the parser (length and nesting).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct RequestLimits {
    /// Most operations in one PATCH request (RFC 7644 §3.5.2); more get 413. Default 1000.
    pub max_patch_operations: usize,
    /// Most `members` one PATCH operation adds, replaces or names (RFC 7644 §3.5.2.1,
    /// e.g. an IdP pushing a large group in one operation); more get 413. Default 10 000.
    pub max_members_per_operation: usize,
    /// Longest string value of any attribute a client writes, in bytes (a `userName`, a
    /// member id, …); longer ones get 400 `invalidValue`. Default 64 KiB.
    pub max_string_bytes: usize,
}

impl Default for RequestLimits {
    fn default() -> Self {
        Self {
            max_patch_operations: 1000,
            max_members_per_operation: 10_000,
            max_string_bytes: 64 * 1024,
        }
    }
}

/// Engine settings and host policies. Every field has a safe default.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct EngineConfig {
    /// The compatibility profile of clients whose principal has none
    /// ([`Profile::standard`] by default: the tolerances Okta and Entra ID need).
    pub default_profile: Profile,
    /// What DELETE of a User does.
    pub delete_policy: DeletePolicy,
    /// What a colliding POST does.
    pub duplicate_policy: DuplicatePolicy,
    /// Accounts SCIM can neither see nor change.
    pub protected: ProtectedAccounts,
    /// `filter.maxResults`: the cap on `count` (RFC 7644 §3.4.2.4). Default 1000.
    pub max_results: usize,
    /// Bulk limits.
    pub bulk: BulkLimits,
    /// Largest accepted request body (other than Bulk) in bytes; larger ones get 413.
    /// Default 1 MiB.
    pub max_body_bytes: usize,
    /// How often a read-modify-write (PATCH without `If-Match`) is retried when it loses a
    /// compare-and-swap race before answering 409. Default 64.
    pub max_write_retries: usize,
    /// Size limits of PATCH requests and attribute values.
    pub limits: RequestLimits,
}

impl Default for EngineConfig {
    fn default() -> Self {
        Self {
            default_profile: Profile::standard(),
            delete_policy: DeletePolicy::default(),
            duplicate_policy: DuplicatePolicy::default(),
            protected: ProtectedAccounts::default(),
            max_results: 1000,
            bulk: BulkLimits::default(),
            max_body_bytes: 1 << 20,
            max_write_retries: 64,
            limits: RequestLimits::default(),
        }
    }
}

/// The SCIM service provider: schema registry, host store, revoker, authenticator and
/// configuration. Cheap to clone; share one per application.
#[derive(Clone)]
pub struct ScimEngine {
    inner: Arc<Inner>,
}

/// The engine's clock (see [`EngineBuilder::clock`]).
type Clock = Arc<dyn Fn() -> DateTime<Utc> + Send + Sync>;
/// The engine's source of new `id`s (see [`EngineBuilder::ids`]).
type IdSource = Arc<dyn Fn() -> String + Send + Sync>;

struct Inner {
    registry: SchemaRegistry,
    clock: Clock,
    ids: IdSource,
    /// The projection without `attributes` / `excludedAttributes`, per resource type name.
    default_projections: Vec<(String, Projection)>,
    store: Arc<dyn Store>,
    revoker: Arc<dyn TokenRevoker>,
    authenticator: Arc<dyn Authenticator>,
    config: EngineConfig,
    /// Told of every finished request (see [`crate::observe`]); usually none.
    observers: Vec<Arc<dyn ScimObserver>>,
    /// Whether some observer wants the (redacted) bodies.
    observe_bodies: bool,
    /// Hides `returned: never` values from observers.
    redactor: Redactor,
}

impl std::fmt::Debug for ScimEngine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ScimEngine")
            .field("config", &self.inner.config)
            .finish_non_exhaustive()
    }
}

/// Builds a [`ScimEngine`].
pub struct EngineBuilder {
    registry: SchemaRegistry,
    clock: Clock,
    ids: IdSource,
    store: Arc<dyn Store>,
    revoker: Option<Arc<dyn TokenRevoker>>,
    authenticator: Option<Arc<dyn Authenticator>>,
    config: EngineConfig,
    observers: Vec<Arc<dyn ScimObserver>>,
}

/// The builder lacks a required part.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("cannot build the SCIM engine: {0}")]
pub struct BuildError(pub String);

impl ScimEngine {
    /// Starts building an engine over `store` with the built-in registry (User with the
    /// Enterprise extension, Group) and default configuration.
    pub fn builder(store: impl Store) -> EngineBuilder {
        EngineBuilder {
            registry: SchemaRegistry::default(),
            clock: Arc::new(Utc::now),
            ids: Arc::new(|| uuid::Uuid::now_v7().to_string()),
            store: Arc::new(store),
            revoker: None,
            authenticator: None,
            config: EngineConfig::default(),
            observers: Vec::new(),
        }
    }

    /// The schema registry.
    pub fn registry(&self) -> &SchemaRegistry {
        &self.inner.registry
    }

    /// The configuration.
    pub fn config(&self) -> &EngineConfig {
        &self.inner.config
    }

    /// The tolerances in force for the caller of `ctx`: its principal's profile, or the
    /// default profile.
    pub(crate) fn tolerances<'a>(&'a self, ctx: &'a RequestContext) -> &'a Tolerances {
        ctx.principal
            .profile
            .as_ref()
            .unwrap_or(&self.inner.config.default_profile)
            .tolerances()
    }

    /// The largest body an adapter needs to read (the larger of the request body limit
    /// and the Bulk payload limit); bigger bodies can be refused with 413 unread.
    pub fn max_request_bytes(&self) -> usize {
        self.inner
            .config
            .max_body_bytes
            .max(self.inner.config.bulk.max_payload_bytes)
    }

    /// The resource of type `resource_type` (its name, e.g. `User`) with this `id`, read
    /// from the store as a GET would (protected accounts are invisible): for host code
    /// that needs a provisioned resource, e.g. to log a user in.
    ///
    /// # Errors
    ///
    /// 404 for an unknown resource type; 503 when the store fails.
    pub async fn get(
        &self,
        ctx: &RequestContext,
        resource_type: &str,
        id: &str,
    ) -> Result<Option<crate::store::StoredResource>, ScimError> {
        let view = self.view_named(resource_type)?;
        match self.load(ctx, view, id, "get").await {
            Ok(record) => Ok(Some(record)),
            Err(ScimError::NotFound(_)) => Ok(None),
            Err(err) => Err(err),
        }
    }

    /// The first `limit` resources of type `resource_type` matching a SCIM `filter`
    /// (RFC 7644 §3.4.2.2), in `id` order, with exactly the semantics of a list request —
    /// whatever the store applies itself — for host code, e.g. finding a user by
    /// `userName eq "…"` (build the filter as a [`Filter`](scim_filter::Filter) value, or
    /// parse it with [`scim_filter::parse_filter`]).
    ///
    /// # Errors
    ///
    /// 400 `invalidFilter` for a filter that does not apply to the attributes' types, 404
    /// for an unknown resource type, 503 when the store fails.
    pub async fn find(
        &self,
        ctx: &RequestContext,
        resource_type: &str,
        filter: &scim_filter::Filter,
        limit: usize,
    ) -> Result<Vec<crate::store::StoredResource>, ScimError> {
        let view = self.view_named(resource_type)?;
        let filter = self.query_filter(view, Some(filter.clone()))?;
        let page = crate::store::Page::Offset { offset: 0, limit };
        let found = self
            .run_query(ctx, view, filter.as_ref(), None, page, true)
            .await?;
        Ok(found.resources)
    }

    /// How many resources of type `resource_type` match `filter` (all of them without a
    /// filter): the `totalResults` a list request would answer (RFC 7644 §3.4.2), for host
    /// code such as an administrator's page. Protected accounts are not counted.
    ///
    /// # Errors
    ///
    /// 400 `invalidFilter` for a filter that does not apply to the attributes' types, 404
    /// for an unknown resource type, 503 when the store fails.
    pub async fn count(
        &self,
        ctx: &RequestContext,
        resource_type: &str,
        filter: Option<&scim_filter::Filter>,
    ) -> Result<usize, ScimError> {
        let view = self.view_named(resource_type)?;
        let filter = self.query_filter(view, filter.cloned())?;
        let page = crate::store::Page::Offset {
            offset: 0,
            limit: 0,
        };
        let found = self
            .run_query(ctx, view, filter.as_ref(), None, page, false)
            .await?;
        Ok(found.total)
    }

    /// Whether `request` only reads: a GET, or a POST to a `/.search` endpoint
    /// (RFC 7644 §3.4.3).
    fn only_reads(&self, request: &ScimRequest) -> bool {
        match request.method {
            Method::Get => true,
            Method::Post => matches!(
                route::parse(&self.inner.registry, &request.path),
                route::Route::Search(_) | route::Route::RootSearch
            ),
            _ => false,
        }
    }

    fn view_named(&self, resource_type: &str) -> Result<&ResourceTypeView, ScimError> {
        self.inner
            .registry
            .resource_type(resource_type)
            .ok_or_else(|| ScimError::NotFound(format!("no resource type `{resource_type}`")))
    }

    /// Handles one request (RFC 7644 §3). Never panics; every failure is a SCIM error
    /// response.
    ///
    /// In order: authentication (401 with `WWW-Authenticate: Bearer` on failure, RFC 6750
    /// §3), method, body size (413; `/Bulk` uses the Bulk payload limit), media type (415
    /// unless `application/scim+json`, `application/json` or absent; RFC 7644 §3.1), JSON
    /// syntax (400 `invalidSyntax`), routing and the operation itself; then the users the
    /// request left inactive or deleted are revoked through the
    /// [`TokenRevoker`] before any answer is built (503 if that
    /// fails; the write stays and a retry revokes again); last, each
    /// [observer](crate::observe) is told of the exchange.
    pub async fn handle(&self, mut request: ScimRequest) -> ScimResponse {
        // Adapters hand over the path as it came; routing works on decoded segments.
        if let std::borrow::Cow::Owned(decoded) = crate::http::decode_path(&request.path) {
            request.path = decoded;
        }
        if self.inner.observers.is_empty() {
            // By reference: moving the request into the inner future would copy it.
            return self.respond(&mut request, None).await;
        }
        self.respond_observed(request).await
    }

    /// [`handle`](Self::handle) for an engine with observers: notes what happens, then
    /// hands each observer the [`Exchange`](crate::observe::Exchange).
    async fn respond_observed(&self, mut request: ScimRequest) -> ScimResponse {
        let started = std::time::Instant::now();
        let at = (self.inner.clock)();
        let trail = Arc::new(Trail::default());
        let response = self.respond(&mut request, Some(Arc::clone(&trail))).await;
        let ScimRequest {
            method,
            path,
            query,
            body: request_body,
            ..
        } = request;
        let duration = started.elapsed();
        let noted = trail.take();
        let route = route::parse(&self.inner.registry, &path);
        let operation = operation_name(method, &route);
        let (scim_type, detail) = if response.status >= 400 {
            error_fields(&response.body)
        } else {
            (None, None)
        };
        let redactor = &self.inner.redactor;
        let (tenant, client, profile) = match noted.principal {
            Some((tenant, client, profile)) => (Some(tenant), Some(client), Some(profile)),
            None => (None, None, None),
        };
        let resource_id = noted.resource_id.or_else(|| match route {
            Route::Resource(_, id) => Some(id.to_owned()),
            _ => None,
        });
        let exchange = crate::observe::Exchange {
            at,
            duration,
            bulk: (operation == "bulk" && tenant.is_some()).then_some(BulkSummary {
                operations: noted.operations,
                failed: noted.failed_operations,
            }),
            tenant,
            client,
            profile,
            method,
            query: query.map(|q| redactor.query(&q).into_owned()),
            operation,
            resource_type: Some(route.resource_type())
                .filter(|name| *name != "-")
                .map(str::to_owned),
            resource_id,
            status: response.status,
            scim_type,
            detail,
            auth_failure: noted.auth_failure,
            store_errors: noted.store_errors,
            revocations: noted.revocations,
            request_body: if self.inner.observe_bodies {
                redactor.body(&request_body)
            } else {
                None
            },
            response_body: if self.inner.observe_bodies {
                redactor.body(&response.body)
            } else {
                None
            },
            path,
        };
        for observer in &self.inner.observers {
            observer.observe(&exchange);
        }
        response
    }

    /// Authenticates, dispatches, revokes and answers one request whose path is decoded;
    /// notes what happens in `trail` when the engine has observers.
    async fn respond(&self, request: &mut ScimRequest, trail: Option<Arc<Trail>>) -> ScimResponse {
        let principal = match self
            .inner
            .authenticator
            .authenticate(&request.headers)
            .await
        {
            Ok(principal) => principal,
            Err(err) => {
                // `str` fields, so text formats quote and escape them: neither the path nor
                // an authenticator's reason can forge a log line.
                let reason = err.to_string();
                tracing::warn!(
                    target: "scim::audit",
                    method = request.method.as_str(),
                    path = request.path.as_str(),
                    reason = reason.as_str(),
                    outcome = "error",
                    status = 401u16,
                    "authentication failed"
                );
                if let Some(trail) = &trail {
                    trail.auth_failure(match err {
                        AuthError::Missing => AuthFailure::Missing,
                        AuthError::Invalid => AuthFailure::Invalid,
                        _ => AuthFailure::Failed,
                    });
                }
                let response = error_response(&ScimError::Unauthorized(err.to_string()));
                // RFC 6750 §3.1: a presented token that was refused is `invalid_token`;
                // a request without credentials gets no error code.
                return match err {
                    AuthError::Missing => response,
                    _ => with_challenge(response, "error=\"invalid_token\""),
                };
            }
        };
        // Only a restricted principal needs the request classified (and its route parsed).
        let missing = match principal.access {
            Access::ReadWrite => None,
            access => access.missing_scope(self.only_reads(request)),
        };
        if let Some(scope) = missing {
            tracing::warn!(
                target: "scim::audit",
                tenant = &*principal.tenant,
                subject = &*principal.subject,
                method = request.method.as_str(),
                path = request.path.as_str(),
                outcome = "error",
                status = 403u16,
                "insufficient scope"
            );
            if let Some(trail) = &trail {
                trail.principal(&principal);
                trail.auth_failure(AuthFailure::InsufficientScope);
            }
            let response = error_response(&ScimError::Forbidden(format!(
                "this request needs the scope `{scope}`, which the access token does not grant \
                 (RFC 6750 §3.1)"
            )));
            return with_challenge(
                response,
                &format!("error=\"insufficient_scope\", scope=\"{scope}\""),
            );
        }
        // Every request runs under a named profile, shown in its audit events.
        let principal = match principal.profile {
            Some(_) => principal,
            None => principal.with_profile(self.inner.config.default_profile.clone()),
        };
        if let Some(trail) = &trail {
            trail.principal(&principal);
        }
        // The context owns the base URL from here on (the engine reads it there only).
        let base_url = std::mem::take(&mut request.base_url);
        let ctx =
            RequestContext::new_at(principal, base_url, (self.inner.clock)()).with_trail(trail);
        let mut pending = PendingRevocations::default();
        let result = self.dispatch(&ctx, request, &mut pending).await;
        if let Err(err) = pending.flush(self.inner.revoker.as_ref(), &ctx).await {
            return error_response(&err);
        }
        match result {
            Ok(outcome) => outcome_response(outcome),
            Err(err) if err.status() == 405 => {
                let allow = route::parse(&self.inner.registry, &request.path).allowed_methods();
                error_response(&err).with_header("allow", allow)
            }
            Err(err) => error_response(&err),
        }
    }

    /// Everything after authentication, up to (not including) the revocation flush.
    async fn dispatch(
        &self,
        ctx: &RequestContext,
        request: &ScimRequest,
        pending: &mut PendingRevocations,
    ) -> Result<Outcome, ScimError> {
        let bulk = route::is_bulk(&request.path);
        // A method the endpoint does not serve is 405 before the body is read: a POST to
        // /ServiceProviderConfig with a broken body is refused for its method, not its body.
        let route = route::parse(&self.inner.registry, &request.path);
        let route_refuses =
            !bulk && request.method != Method::Other && !route.allows(request.method);
        let checked = if route_refuses {
            Err(ScimError::MethodNotAllowed(format!(
                "{} is not supported on {} (RFC 7644 §3.2)",
                request.method.as_str(),
                request.path
            )))
        } else {
            self.check_request(request, bulk)
        };
        if bulk {
            let result = match checked {
                Ok(body) => self.bulk(ctx, request, body, pending).await,
                Err(err) => Err(err),
            };
            audit(ctx, "bulk", "Bulk", None, &result);
            return result;
        }
        let body = match checked {
            Ok(body) => body,
            Err(err) => {
                let result = Err(err);
                audit(
                    ctx,
                    operation_name(request.method, &route),
                    route.resource_type(),
                    None,
                    &result,
                );
                return result;
            }
        };
        let mut op = Operation {
            method: request.method,
            path: &request.path,
            query: request.query.as_deref(),
            if_match: request.headers.get("if-match"),
            if_none_match: request.headers.get("if-none-match"),
            body,
        };
        self.execute_on(ctx, route, &mut op, pending).await
    }

    /// Method, size, media type and JSON syntax of a request; the parsed body.
    fn check_request(&self, request: &ScimRequest, bulk: bool) -> Result<Option<Value>, ScimError> {
        if request.method == Method::Other {
            return Err(ScimError::MethodNotAllowed(
                "SCIM uses GET, POST, PUT, PATCH and DELETE (RFC 7644 §3.2)".into(),
            ));
        }
        let config = &self.inner.config;
        let limit = if bulk {
            config.bulk.max_payload_bytes
        } else {
            config.max_body_bytes
        };
        if request.body.len() > limit {
            return Err(ScimError::PayloadTooLarge(format!(
                "the request body has {} bytes; the limit is {limit}",
                request.body.len()
            )));
        }
        if !matches!(request.method, Method::Post | Method::Put | Method::Patch) {
            return Ok(None);
        }
        parse_body(&request.headers, &request.body)
    }

    /// `POST /Bulk` (RFC 7644 §3.7).
    async fn bulk(
        &self,
        ctx: &RequestContext,
        request: &ScimRequest,
        body: Option<Value>,
        pending: &mut PendingRevocations,
    ) -> Result<Outcome, ScimError> {
        if request.method != Method::Post {
            return Err(ScimError::MethodNotAllowed(
                "/Bulk accepts only POST (RFC 7644 §3.7)".into(),
            ));
        }
        let body = body.ok_or_else(|| {
            ScimError::InvalidSyntax("a Bulk request needs a JSON body (RFC 7644 §3.7)".into())
        })?;
        bulk::bulk(self, ctx, body, pending).await
    }

    /// Executes one operation for an authenticated request: the shared core of top-level
    /// requests and Bulk operations. Users left inactive or deleted are added to `pending`;
    /// the caller flushes it before responding. Emits the `scim::audit` event.
    pub(crate) async fn execute(
        &self,
        ctx: &RequestContext,
        mut op: Operation<'_>,
        pending: &mut PendingRevocations,
    ) -> Result<Outcome, ScimError> {
        let route = route::parse(&self.inner.registry, op.path);
        self.execute_on(ctx, route, &mut op, pending).await
    }

    /// [`execute`](Self::execute) for an operation whose path was already parsed to `route`.
    async fn execute_on(
        &self,
        ctx: &RequestContext,
        route: Route<'_>,
        op: &mut Operation<'_>,
        pending: &mut PendingRevocations,
    ) -> Result<Outcome, ScimError> {
        let name = operation_name(op.method, &route);
        let id = match route {
            Route::Resource(_, id) => Some(id.to_owned()),
            Route::Me => ctx.principal.user_id.clone(),
            _ => None,
        };
        let result = self.run(ctx, route, op, pending).await;
        let id = id.or_else(|| result.as_ref().ok()?.resource_id.clone());
        audit(ctx, name, route.resource_type(), id.as_deref(), &result);
        result
    }

    async fn run(
        &self,
        ctx: &RequestContext,
        route: Route<'_>,
        op: &mut Operation<'_>,
        pending: &mut PendingRevocations,
    ) -> Result<Outcome, ScimError> {
        let not_allowed = |what: &str| {
            Err(ScimError::MethodNotAllowed(format!(
                "{} is not supported on {what}",
                op.method.as_str()
            )))
        };
        match route {
            Route::Collection(view) => match op.method {
                Method::Get => {
                    let params = ListParams::from_query(QueryParams::parse(op.query)?)?;
                    self.list(ctx, view, &params).await
                }
                Method::Post => self.create(ctx, view, op).await,
                _ => not_allowed(&view.resource_type.endpoint),
            },
            Route::Search(view) => match op.method {
                Method::Post => {
                    let params = ListParams::from_search_body(op.body.as_ref())?;
                    self.list(ctx, view, &params).await
                }
                _ => not_allowed("a .search endpoint (use POST, RFC 7644 §3.4.3)"),
            },
            Route::Resource(view, id) => self.resource_op(ctx, view, id, op, pending).await,
            Route::Me => {
                let Some(user_id) = ctx.principal.user_id.clone() else {
                    return Err(ScimError::NotImplemented(
                        "/Me (RFC 7644 §3.11) needs an authenticator that tells which User the \
                         caller is; this one does not bind callers to Users"
                            .into(),
                    ));
                };
                let users = self
                    .inner
                    .registry
                    .resource_types()
                    .find(|v| resources::is_user(v))
                    .ok_or_else(|| {
                        ScimError::NotImplemented("this service provider has no Users".into())
                    })?;
                self.resource_op(ctx, users, &user_id, op, pending).await
            }
            Route::Root => match op.method {
                Method::Get => {
                    let params = ListParams::from_query(QueryParams::parse(op.query)?)?;
                    self.list_all(ctx, &params).await
                }
                _ => not_allowed("the service root"),
            },
            Route::RootSearch => match op.method {
                Method::Post => {
                    let params = ListParams::from_search_body(op.body.as_ref())?;
                    self.list_all(ctx, &params).await
                }
                _ => not_allowed("/.search (use POST, RFC 7644 §3.4.3)"),
            },
            Route::ServiceProviderConfig | Route::Schemas(_) | Route::ResourceTypes(_) => {
                if op.method != Method::Get {
                    return not_allowed("a discovery endpoint (read-only, RFC 7644 §4)");
                }
                self.discovery(ctx, route)
            }
            Route::Bulk => Err(ScimError::BadRequest(
                "a Bulk operation cannot address /Bulk (RFC 7644 §3.7)".into(),
            )),
            Route::Unknown => Err(ScimError::NotFound(format!(
                "no SCIM endpoint at `{}`",
                op.path
            ))),
        }
    }

    async fn resource_op(
        &self,
        ctx: &RequestContext,
        view: &crate::schema::ResourceTypeView,
        id: &str,
        op: &mut Operation<'_>,
        pending: &mut PendingRevocations,
    ) -> Result<Outcome, ScimError> {
        match op.method {
            Method::Get => self.get_one(ctx, view, id, op).await,
            Method::Put => self.replace(ctx, view, id, op, pending).await,
            Method::Patch => self.modify(ctx, view, id, op, pending).await,
            Method::Delete => self.remove(ctx, view, id, op, pending).await,
            _ => Err(ScimError::MethodNotAllowed(format!(
                "{} is not supported on a single resource (RFC 7644 §3.2)",
                op.method.as_str()
            ))),
        }
    }

    /// `GET /ServiceProviderConfig`, `/Schemas[/{id}]`, `/ResourceTypes[/{name}]`
    /// (RFC 7644 §4).
    fn discovery(&self, ctx: &RequestContext, route: Route<'_>) -> Result<Outcome, ScimError> {
        let (registry, base) = (&self.inner.registry, ctx.base_url.as_str());
        let body = match route {
            Route::ServiceProviderConfig => {
                discovery::service_provider_config(&self.inner.config, registry, base)
            }
            Route::Schemas(None) => discovery::schemas(registry, base),
            Route::Schemas(Some(id)) => discovery::schema(registry, base, id)?,
            Route::ResourceTypes(None) => discovery::resource_types(registry, base),
            Route::ResourceTypes(Some(name)) => discovery::resource_type(registry, base, name)?,
            _ => {
                return Err(ScimError::NotFound(
                    "no discovery endpoint at this path".into(),
                ));
            }
        };
        Ok(Outcome {
            status: 200,
            body: Some(Body::Json(body)),
            location: None,
            version: None,
            resource_id: None,
        })
    }

    /// The projection for `view` from `attributes` / `excludedAttributes`; without them,
    /// the resource type's default projection, built once.
    pub(crate) fn projection_for(
        &self,
        view: &ResourceTypeView,
        attributes: Option<&str>,
        excluded: Option<&str>,
    ) -> Result<Cow<'_, Projection>, ScimError> {
        let absent = |p: Option<&str>| p.is_none_or(|p| p.trim().is_empty());
        if absent(attributes) && absent(excluded) {
            let name = &view.resource_type.name;
            if let Some((_, projection)) = self
                .inner
                .default_projections
                .iter()
                .find(|(n, _)| n == name)
            {
                return Ok(Cow::Borrowed(projection));
            }
        }
        Projection::parse(attributes, excluded, view).map(Cow::Owned)
    }

    /// [`projection_for`](Self::projection_for) from a request's query parameters.
    pub(crate) fn projection(
        &self,
        view: &ResourceTypeView,
        params: &QueryParams,
    ) -> Result<Cow<'_, Projection>, ScimError> {
        self.projection_for(
            view,
            params.get("attributes"),
            params.get("excludedAttributes"),
        )
    }
}

impl ScimEngine {
    /// A store error as the client's error (RFC 7644 §3.12). A backend failure is logged
    /// once, here, with its source chain and what was being done (never a body or a
    /// token), and answered 503 with `Retry-After` and a generic detail.
    pub(crate) fn store_failure(
        &self,
        ctx: &RequestContext,
        operation: &'static str,
        view: &ResourceTypeView,
        id: Option<&str>,
        err: StoreError,
    ) -> ScimError {
        match err {
            StoreError::NotFound(missing) => resources::not_found(view, id.unwrap_or(&missing)),
            StoreError::Uniqueness(detail) => ScimError::Uniqueness(detail),
            StoreError::VersionMismatch => ScimError::PreconditionFailed(
                "the resource changed since the version given in If-Match (RFC 7644 §3.14); fetch it again".into(),
            ),
            StoreError::Unsupported(detail) => ScimError::NotImplemented(detail),
            StoreError::TooMany(detail) => ScimError::TooMany(detail),
            StoreError::Backend(source) => {
                if let Some(trail) = ctx.trail() {
                    trail.store_error();
                }
                let mut chain = source.to_string();
                let mut next = source.source();
                while let Some(cause) = next {
                    chain.push_str(": ");
                    chain.push_str(&cause.to_string());
                    next = cause.source();
                }
                tracing::error!(
                    target: "scim::store",
                    tenant = ctx.tenant(),
                    subject = &*ctx.principal.subject,
                    operation,
                    resource_type = %view.resource_type.name,
                    id = id.unwrap_or("-"),
                    error = %chain,
                    "store failure"
                );
                ScimError::Unavailable(
                    "the service's storage is unavailable; the request was not completed, retry it later".into(),
                )
            }
            // `StoreError` is non-exhaustive within the crate too; future variants fail safe.
            #[allow(unreachable_patterns)]
            other => ScimError::Internal(other.to_string()),
        }
    }
}

/// The audit name of an operation.
fn operation_name(method: Method, route: &Route<'_>) -> &'static str {
    match (method, route) {
        (Method::Get, Route::Collection(_) | Route::Root) => "list",
        (_, Route::Search(_) | Route::RootSearch) => "search",
        (_, Route::Bulk) => "bulk",
        (Method::Get, _) => "get",
        (Method::Post, _) => "create",
        (Method::Put, _) => "replace",
        (Method::Patch, _) => "patch",
        (Method::Delete, _) => "delete",
        (Method::Other, _) => "other",
    }
}

/// The `scim::audit` event of one operation.
fn audit(
    ctx: &RequestContext,
    operation: &str,
    resource_type: &str,
    id: Option<&str>,
    result: &Result<Outcome, ScimError>,
) {
    let (outcome, status) = match result {
        Ok(o) => ("ok", o.status),
        Err(e) => ("error", e.status()),
    };
    if let Some(trail) = ctx.trail() {
        trail.operation(operation, id, result.is_ok());
    }
    tracing::info!(
        target: "scim::audit",
        tenant = ctx.tenant(),
        // A `str` field, so text formats quote and escape it: a subject taken from a token
        // (a JWT's `sub`) cannot forge a log line.
        subject = &*ctx.principal.subject,
        profile = ctx.principal.profile.as_ref().map_or("default", Profile::name),
        operation,
        resource_type,
        id = id.unwrap_or("-"),
        outcome,
        status,
    );
}

/// Checks the media type (RFC 7644 §3.1, §8.1) and parses a JSON body; `None` when empty.
fn parse_body(headers: &Headers, body: &[u8]) -> Result<Option<Value>, ScimError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(None);
    }
    if let Some(content_type) = headers.get("content-type") {
        let essence = content_type.split(';').next().unwrap_or_default().trim();
        let accepted = essence.is_empty()
            || essence.eq_ignore_ascii_case(SCIM_MEDIA_TYPE)
            || essence.eq_ignore_ascii_case("application/json");
        if !accepted {
            return Err(ScimError::UnsupportedMediaType(format!(
                "request bodies must be `{SCIM_MEDIA_TYPE}` or `application/json`, not `{essence}`"
            )));
        }
    }
    serde_json::from_slice(body).map(Some).map_err(|err| {
        ScimError::InvalidSyntax(format!("the request body is not valid JSON: {err}"))
    })
}

/// `response` with `WWW-Authenticate: Bearer realm="SCIM", <params>` (RFC 6750 §3) in place
/// of any challenge it had.
fn with_challenge(mut response: ScimResponse, params: &str) -> ScimResponse {
    response
        .headers
        .retain(|(name, _)| !name.eq_ignore_ascii_case("www-authenticate"));
    response.with_header(
        "www-authenticate",
        format!("Bearer realm=\"SCIM\", {params}"),
    )
}

/// A successful outcome as a response: the body serialized once, `Location` and `ETag`.
fn outcome_response(outcome: Outcome) -> ScimResponse {
    let mut response = ScimResponse::new(outcome.status);
    if let Some(body) = outcome.body {
        let bytes = match body {
            Body::Raw(bytes) => Ok(bytes),
            Body::Json(value) => serde_json::to_vec(&value),
        };
        match bytes {
            Ok(bytes) => {
                response = response.with_header("content-type", SCIM_MEDIA_TYPE);
                response.body = bytes.into();
            }
            Err(err) => {
                tracing::error!(error = %err, "serializing a response failed");
                return error_response(&ScimError::Internal(
                    "the response could not be serialized".into(),
                ));
            }
        }
    }
    if let Some(location) = outcome.location {
        response = response.with_header("location", location);
    }
    if let Some(version) = outcome.version {
        response = response.with_header("etag", version);
    }
    response
}

impl EngineBuilder {
    /// Uses this registry (e.g. with host extensions) instead of the built-in one.
    pub fn registry(mut self, registry: SchemaRegistry) -> Self {
        self.registry = registry;
        self
    }

    /// The host's token revoker (required; use
    /// [`NoSessionsToRevoke`](crate::revoke::NoSessionsToRevoke) if the host has none).
    pub fn revoker(mut self, revoker: impl TokenRevoker) -> Self {
        self.revoker = Some(Arc::new(revoker));
        self
    }

    /// The authenticator (required).
    pub fn authenticator(mut self, authenticator: impl Authenticator) -> Self {
        self.authenticator = Some(Arc::new(authenticator));
        self
    }

    /// Replaces the whole configuration.
    pub fn config(mut self, config: EngineConfig) -> Self {
        self.config = config;
        self
    }

    /// Sets the IdP tolerances of clients without a profile of their own (the default
    /// profile keeps its name, `default`).
    pub fn tolerances(mut self, tolerances: Tolerances) -> Self {
        self.config.default_profile = Profile::custom("default", tolerances);
        self
    }

    /// Sets the compatibility profile of clients whose principal has none.
    pub fn default_profile(mut self, profile: Profile) -> Self {
        self.config.default_profile = profile;
        self
    }

    /// Sets the DELETE policy.
    pub fn delete_policy(mut self, policy: DeletePolicy) -> Self {
        self.config.delete_policy = policy;
        self
    }

    /// Sets the duplicate-POST policy.
    pub fn duplicate_policy(mut self, policy: DuplicatePolicy) -> Self {
        self.config.duplicate_policy = policy;
        self
    }

    /// Sets the protected accounts.
    pub fn protected_accounts(mut self, protected: ProtectedAccounts) -> Self {
        self.config.protected = protected;
        self
    }

    /// The clock for `meta.created` and `meta.lastModified` (default: the system clock).
    /// For deterministic tests (snapshots, differential tests of stores).
    pub fn clock(mut self, clock: impl Fn() -> DateTime<Utc> + Send + Sync + 'static) -> Self {
        self.clock = Arc::new(clock);
        self
    }

    /// Where new resource `id`s come from (RFC 7643 §3.1; default: UUID version 7, which
    /// sorts by creation time, so the default `id` order of lists is creation order). Each
    /// call must return an `id` never used before in the tenant; for deterministic tests.
    pub fn ids(mut self, ids: impl Fn() -> String + Send + Sync + 'static) -> Self {
        self.ids = Arc::new(ids);
        self
    }

    /// Adds an observer, told of every finished request (see [`crate::observe`]: metrics,
    /// an administrator's view of recent exchanges). Several may be added; without any,
    /// the engine does no observation work at all.
    pub fn observer(mut self, observer: impl ScimObserver) -> Self {
        self.observers.push(Arc::new(observer));
        self
    }

    /// Builds the engine; fails if no authenticator or revoker was given.
    pub fn build(self) -> Result<ScimEngine, BuildError> {
        let authenticator = self.authenticator.ok_or_else(|| {
            BuildError("no authenticator: call .authenticator(BearerAuthenticator::new()…)".into())
        })?;
        let revoker = self.revoker.ok_or_else(|| {
            BuildError("no token revoker: call .revoker(…) (NoSessionsToRevoke if the host keeps no sessions)".into())
        })?;
        let default_projections = self
            .registry
            .resource_types()
            .map(|view| {
                (
                    view.resource_type.name.clone(),
                    Projection::default_for(view),
                )
            })
            .collect();
        let observe_bodies = self.observers.iter().any(|o| o.wants_bodies());
        let redactor = Redactor::new(&self.registry);
        Ok(ScimEngine {
            inner: Arc::new(Inner {
                observers: self.observers,
                observe_bodies,
                redactor,
                default_projections,
                registry: self.registry,
                clock: self.clock,
                ids: self.ids,
                store: self.store,
                revoker,
                authenticator,
                config: self.config,
            }),
        })
    }
}

/// One SCIM operation, as a top-level request or a Bulk operation carries it
/// (RFC 7644 §3.7: `method`, `path`, `version` → `If-Match`, `data`).
#[derive(Debug, Clone)]
pub(crate) struct Operation<'a> {
    pub(crate) method: Method,
    /// Path below the base, e.g. `/Users` or `/Users/2819c223`.
    pub(crate) path: &'a str,
    /// Raw query string (top-level requests only).
    pub(crate) query: Option<&'a str>,
    /// `If-Match` (or a Bulk operation's `version`).
    pub(crate) if_match: Option<&'a str>,
    /// `If-None-Match` (top-level GET only).
    pub(crate) if_none_match: Option<&'a str>,
    /// The parsed JSON body, if any.
    pub(crate) body: Option<Value>,
}

/// A response body: a JSON value, or JSON already written (rendered resources and
/// ListResponses are written straight from stored text).
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Body {
    Json(Value),
    Raw(Vec<u8>),
}

impl From<Value> for Body {
    fn from(value: Value) -> Self {
        Body::Json(value)
    }
}

impl Body {
    /// The body as a JSON value (parses a written body).
    pub(crate) fn into_json(self) -> Value {
        match self {
            Body::Json(v) => v,
            Body::Raw(bytes) => serde_json::from_slice(&bytes).unwrap_or(Value::Null),
        }
    }
}

/// The result of one [`Operation`].
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Outcome {
    pub(crate) status: u16,
    /// The response body (a resource, a ListResponse, …), if any.
    pub(crate) body: Option<Body>,
    /// `Location` for 201 (and the resource's `meta.location`).
    pub(crate) location: Option<String>,
    /// `ETag` (the resource's `meta.version`).
    pub(crate) version: Option<String>,
    /// The `id` of the resource a POST answered with: the one it created, or the existing
    /// one a duplicate was answered with ([`DuplicatePolicy::ReturnExisting`]). For the
    /// audit event and Bulk `bulkId` references, known without reading the body back.
    pub(crate) resource_id: Option<String>,
}

impl Outcome {
    /// The same outcome with another status (e.g. 304).
    pub(crate) fn with_status(mut self, status: u16) -> Self {
        self.status = status;
        self
    }
}

/// Users whose tokens must be revoked before the response is sent; collected across the
/// operations of one request so that Bulk revokes in batches.
#[derive(Debug, Default)]
pub(crate) struct PendingRevocations {
    pub(crate) deactivated: Vec<String>,
    pub(crate) deleted: Vec<String>,
}

impl PendingRevocations {
    /// Runs the revoker for everything pending (one call per reason), then clears.
    pub(crate) async fn flush(
        &mut self,
        revoker: &dyn TokenRevoker,
        ctx: &RequestContext,
    ) -> Result<(), ScimError> {
        for (ids, reason) in [
            (
                std::mem::take(&mut self.deactivated),
                RevocationReason::Deactivated,
            ),
            (std::mem::take(&mut self.deleted), RevocationReason::Deleted),
        ] {
            if ids.is_empty() {
                continue;
            }
            let result = revoker.revoke(ctx, &ids, reason).await;
            if let Some(trail) = ctx.trail() {
                trail.revocation(Revocation {
                    reason,
                    sessions: result.as_ref().ok().and_then(|revoked| revoked.sessions),
                    succeeded: result.is_ok(),
                    user_ids: ids.clone(),
                });
            }
            result.map_err(|err| {
                // The operation's own audit event was written before revocation ran; this
                // one records that the request as a whole failed.
                tracing::error!(
                    target: "scim::audit",
                    tenant = ctx.tenant(),
                    operation = "revoke",
                    reason = reason.as_str(),
                    count = ids.len(),
                    outcome = "error",
                    status = 503u16,
                    error = %err,
                    "token revocation failed"
                );
                ScimError::Unavailable(
                    "revoking the user's sessions failed; the change is saved, retry the request to complete the revocation".into(),
                )
            })?;
        }
        Ok(())
    }
}

/// The `scimType` and `detail` of an error response's body (RFC 7644 §3.12).
fn error_fields(body: &[u8]) -> (Option<String>, Option<String>) {
    #[derive(serde::Deserialize)]
    struct ErrorBody {
        #[serde(rename = "scimType")]
        scim_type: Option<String>,
        detail: Option<String>,
    }
    serde_json::from_slice::<ErrorBody>(body)
        .map(|e| (e.scim_type, e.detail))
        .unwrap_or_default()
}

/// A SCIM error as a response (RFC 7644 §3.12); see [`ScimResponse::from_error`].
pub(crate) fn error_response(err: &ScimError) -> ScimResponse {
    ScimResponse::from_error(err)
}

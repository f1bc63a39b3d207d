//! SCIM 2.0 core: the RFC 7643 resource model and the RFC 7644 protocol engine.
//!
//! * [`schema`]: attribute definitions, schemas, resource types and the registry
//!   (RFC 7643 §2, §6, §7).
//! * [`resource`]: resources, validation and canonicalization (RFC 7643 §2–§4).
//! * [`projection`]: `attributes` / `excludedAttributes` (RFC 7644 §3.4.2.5).
//! * [`meta`]: `meta` and versions (RFC 7643 §3.1, RFC 7644 §3.14).
//! * [`patch`]: the PATCH engine (RFC 7644 §3.5.2).
//! * [`tolerance`]: named switches for real identity providers' deviations.
//! * [`error`]: [`ScimError`], mapped to RFC 7644 §3.12 status and `scimType`.
//! * [`engine`]: the framework-neutral protocol engine ([`ScimEngine`]).
//! * [`http`]: the neutral request and response the engine speaks.
//! * [`store`]: the host's storage trait [`Store`] and the reference [`MemoryStore`].
//! * [`revoke`]: [`TokenRevoker`], called when users are deactivated or deleted.
//! * [`observe`]: [`ScimObserver`], told of every finished [`Exchange`] (metrics,
//!   administrators' pages), with secrets redacted.
//! * [`auth`]: [`Authenticator`] and the built-in [`BearerAuthenticator`].
//! * [`context`]: [`Principal`] and [`RequestContext`].

pub mod auth;
pub mod context;
pub mod engine;
pub mod error;
pub mod http;
#[cfg(feature = "jwt")]
pub mod jwt;
pub mod meta;
pub mod observe;
pub mod patch;
pub mod projection;
pub mod resource;
pub mod revoke;
pub mod schema;
pub mod store;
mod text;
pub mod tolerance;

pub use auth::{AuthError, Authenticator, BearerAuthenticator, FirstOf, InsecureNoAuthentication};
pub use context::{Access, Principal, RequestContext};
pub use engine::{
    BuildError, BulkLimits, DeletePolicy, DuplicatePolicy, EngineBuilder, EngineConfig,
    ProtectedAccounts, RequestLimits, ScimEngine,
};
pub use error::{ScimError, ScimResult, ScimType};
pub use http::{Headers, Method, ScimRequest, ScimResponse};
pub use observe::{Exchange, ScimObserver};
pub use resource::Resource;
pub use revoke::{NoSessionsToRevoke, RevocationError, RevocationReason, Revoked, TokenRevoker};
pub use scim_filter;
pub use store::{MemoryStore, Store, StoreError, StoredResource, TinyStore};
pub use tolerance::{Profile, Tolerances};

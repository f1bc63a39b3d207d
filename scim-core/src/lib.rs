//! SCIM 2.0 core: the RFC 7643 resource model and the RFC 7644 protocol engine.
//!
//! * [`schema`]: attribute definitions, schemas, resource types and the registry
//!   (RFC 7643 §2, §6, §7).
//! * [`resource`]: resources, validation and canonicalization (RFC 7643 §2–§4).
//! * [`projection`]: `attributes` / `excludedAttributes` and `returned` (RFC 7644 §3.4.2.5).
//! * [`meta`]: `meta` and weak ETags (RFC 7643 §3.1, RFC 7644 §3.14).
//! * [`tolerance`]: named switches for real identity providers' deviations.
//! * [`patch`]: the PATCH engine (RFC 7644 §3.5.2).
//! * [`error`]: [`ScimError`], mapped to RFC 7644 §3.12 status and `scimType`.

pub mod error;
pub mod meta;
pub mod patch;
pub mod projection;
pub mod resource;
pub mod schema;
pub mod tolerance;

pub use error::{ScimError, ScimResult, ScimType};
pub use scim_filter;
pub use tolerance::Tolerances;

//! SCIM errors (RFC 7644 §3.12).
//!
//! Every failure the core reports is a [`ScimError`]: it knows its HTTP status, its
//! `scimType` (RFC 7644 §3.12, Table 9) and a `detail` that tells the client what to fix.
//! Adapters only serialize it with [`ScimError::to_json`].

use serde_json::{Value, json};

/// The error response schema URN (RFC 7644 §3.12).
pub const ERROR_SCHEMA: &str = "urn:ietf:params:scim:api:messages:2.0:Error";

/// `scimType` values of RFC 7644 §3.12, Table 9.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ScimType {
    /// The filter syntax was invalid or the filter cannot be applied.
    InvalidFilter,
    /// The filter yields too many results to process.
    TooMany,
    /// One or more attribute values are already in use or reserved.
    Uniqueness,
    /// The attempted modification is not compatible with the attribute's mutability.
    Mutability,
    /// The request body structure was invalid or did not conform to the schema.
    InvalidSyntax,
    /// The PATCH `path` was invalid or malformed.
    InvalidPath,
    /// The PATCH `path` did not yield an attribute or value that could be operated on.
    NoTarget,
    /// A required value was missing or a value was not compatible with the attribute type.
    InvalidValue,
    /// The specified SCIM protocol version is not supported.
    InvalidVers,
    /// Sensitive information was passed in a request URI.
    Sensitive,
    /// The `cursor` is not valid (RFC 9865: unknown, malformed or expired cursor).
    InvalidCursor,
}

impl ScimType {
    /// The wire spelling, e.g. `invalidFilter`.
    pub fn as_str(self) -> &'static str {
        match self {
            ScimType::InvalidFilter => "invalidFilter",
            ScimType::TooMany => "tooMany",
            ScimType::Uniqueness => "uniqueness",
            ScimType::Mutability => "mutability",
            ScimType::InvalidSyntax => "invalidSyntax",
            ScimType::InvalidPath => "invalidPath",
            ScimType::NoTarget => "noTarget",
            ScimType::InvalidValue => "invalidValue",
            ScimType::InvalidVers => "invalidVers",
            ScimType::Sensitive => "sensitive",
            ScimType::InvalidCursor => "invalidCursor",
        }
    }
}

/// Any error the SCIM core returns to a client (RFC 7644 §3.12).
///
/// Each variant carries the `detail` text. Client mistakes are 4xx; only
/// [`ScimError::Internal`] and [`ScimError::Unavailable`] are 5xx.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ScimError {
    /// 400 `invalidFilter`.
    #[error("invalid filter: {0}")]
    InvalidFilter(String),
    /// 400 `tooMany`.
    #[error("too many results: {0}")]
    TooMany(String),
    /// 409 `uniqueness`.
    #[error("uniqueness violation: {0}")]
    Uniqueness(String),
    /// 400 `mutability`.
    #[error("mutability violation: {0}")]
    Mutability(String),
    /// 400 `invalidSyntax`.
    #[error("invalid syntax: {0}")]
    InvalidSyntax(String),
    /// 400 `invalidPath`.
    #[error("invalid path: {0}")]
    InvalidPath(String),
    /// 400 `noTarget`.
    #[error("no target: {0}")]
    NoTarget(String),
    /// 400 `invalidValue`.
    #[error("invalid value: {0}")]
    InvalidValue(String),
    /// 400 `invalidVers`.
    #[error("invalid version: {0}")]
    InvalidVersion(String),
    /// 403 `sensitive`.
    #[error("sensitive: {0}")]
    Sensitive(String),
    /// 400 `invalidCursor` (RFC 9865): the `cursor` is unknown, malformed or expired.
    #[error("invalid cursor: {0}")]
    InvalidCursor(String),
    /// 400 without a `scimType`, for malformed requests no `scimType` describes.
    #[error("bad request: {0}")]
    BadRequest(String),
    /// 401: missing or wrong credentials.
    #[error("unauthorized: {0}")]
    Unauthorized(String),
    /// 403: authenticated but not allowed.
    #[error("forbidden: {0}")]
    Forbidden(String),
    /// 404: unknown resource or endpoint.
    #[error("not found: {0}")]
    NotFound(String),
    /// 405: the endpoint does not support the method.
    #[error("method not allowed: {0}")]
    MethodNotAllowed(String),
    /// 409 without `scimType`: a conflicting concurrent change.
    #[error("conflict: {0}")]
    Conflict(String),
    /// 412: `If-Match` did not match the current version (RFC 7644 §3.14).
    #[error("precondition failed: {0}")]
    PreconditionFailed(String),
    /// 413: the request body or bulk request is too large (RFC 7644 §3.7.4).
    #[error("payload too large: {0}")]
    PayloadTooLarge(String),
    /// 415: the request body has a media type other than `application/scim+json` or
    /// `application/json` (RFC 7644 §3.1, §8.1; RFC 9110 §15.5.16).
    #[error("unsupported media type: {0}")]
    UnsupportedMediaType(String),
    /// 500: a failure of the server or the host's store; never a client mistake.
    #[error("internal error: {0}")]
    Internal(String),
    /// 501: the feature is not implemented by this service provider.
    #[error("not implemented: {0}")]
    NotImplemented(String),
    /// 503: a dependency (e.g. the token revoker) failed; the request can be retried.
    #[error("service unavailable: {0}")]
    Unavailable(String),
}

impl ScimError {
    /// The HTTP status code (RFC 7644 §3.12, Table 8 and Table 9).
    pub fn status(&self) -> u16 {
        match self {
            ScimError::InvalidFilter(_)
            | ScimError::TooMany(_)
            | ScimError::Mutability(_)
            | ScimError::InvalidSyntax(_)
            | ScimError::InvalidPath(_)
            | ScimError::NoTarget(_)
            | ScimError::InvalidValue(_)
            | ScimError::InvalidVersion(_)
            | ScimError::InvalidCursor(_)
            | ScimError::BadRequest(_) => 400,
            ScimError::Unauthorized(_) => 401,
            ScimError::Sensitive(_) | ScimError::Forbidden(_) => 403,
            ScimError::NotFound(_) => 404,
            ScimError::MethodNotAllowed(_) => 405,
            ScimError::Uniqueness(_) | ScimError::Conflict(_) => 409,
            ScimError::PreconditionFailed(_) => 412,
            ScimError::PayloadTooLarge(_) => 413,
            ScimError::UnsupportedMediaType(_) => 415,
            ScimError::Internal(_) => 500,
            ScimError::NotImplemented(_) => 501,
            ScimError::Unavailable(_) => 503,
        }
    }

    /// The `scimType` (RFC 7644 §3.12, Table 9), if the error has one.
    pub fn scim_type(&self) -> Option<ScimType> {
        Some(match self {
            ScimError::InvalidFilter(_) => ScimType::InvalidFilter,
            ScimError::TooMany(_) => ScimType::TooMany,
            ScimError::Uniqueness(_) => ScimType::Uniqueness,
            ScimError::Mutability(_) => ScimType::Mutability,
            ScimError::InvalidSyntax(_) => ScimType::InvalidSyntax,
            ScimError::InvalidPath(_) => ScimType::InvalidPath,
            ScimError::NoTarget(_) => ScimType::NoTarget,
            ScimError::InvalidValue(_) => ScimType::InvalidValue,
            ScimError::InvalidVersion(_) => ScimType::InvalidVers,
            ScimError::Sensitive(_) => ScimType::Sensitive,
            ScimError::InvalidCursor(_) => ScimType::InvalidCursor,
            _ => return None,
        })
    }

    /// The human-readable `detail` (RFC 7644 §3.12).
    pub fn detail(&self) -> &str {
        match self {
            ScimError::InvalidFilter(d)
            | ScimError::TooMany(d)
            | ScimError::Uniqueness(d)
            | ScimError::Mutability(d)
            | ScimError::InvalidSyntax(d)
            | ScimError::InvalidPath(d)
            | ScimError::NoTarget(d)
            | ScimError::InvalidValue(d)
            | ScimError::InvalidVersion(d)
            | ScimError::Sensitive(d)
            | ScimError::InvalidCursor(d)
            | ScimError::BadRequest(d)
            | ScimError::Unauthorized(d)
            | ScimError::Forbidden(d)
            | ScimError::NotFound(d)
            | ScimError::MethodNotAllowed(d)
            | ScimError::Conflict(d)
            | ScimError::PreconditionFailed(d)
            | ScimError::PayloadTooLarge(d)
            | ScimError::UnsupportedMediaType(d)
            | ScimError::Internal(d)
            | ScimError::NotImplemented(d)
            | ScimError::Unavailable(d) => d,
        }
    }

    /// The error response body (RFC 7644 §3.12): `schemas`, `status` as a string,
    /// `scimType` when there is one, and `detail`.
    pub fn to_json(&self) -> Value {
        let mut body = json!({
            "schemas": [ERROR_SCHEMA],
            "status": self.status().to_string(),
            "detail": self.detail(),
        });
        if let (Some(scim_type), Some(obj)) = (self.scim_type(), body.as_object_mut()) {
            obj.insert("scimType".into(), Value::String(scim_type.as_str().into()));
        }
        body
    }
}

impl From<scim_filter::FilterError> for ScimError {
    fn from(err: scim_filter::FilterError) -> Self {
        match err.kind {
            scim_filter::FilterErrorKind::InvalidFilter => {
                ScimError::InvalidFilter(err.to_string())
            }
            scim_filter::FilterErrorKind::InvalidPath => ScimError::InvalidPath(err.to_string()),
        }
    }
}

impl From<scim_filter::EvalError> for ScimError {
    fn from(err: scim_filter::EvalError) -> Self {
        ScimError::InvalidFilter(err.message)
    }
}

/// Result alias for the core.
pub type ScimResult<T> = Result<T, ScimError>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn serializes_status_as_string_with_scim_type() {
        let body = ScimError::Uniqueness("userName `bjensen` is taken".into()).to_json();
        assert_eq!(body["status"], "409");
        assert_eq!(body["scimType"], "uniqueness");
        assert_eq!(body["schemas"][0], ERROR_SCHEMA);
        assert_eq!(body["detail"], "userName `bjensen` is taken");
    }

    #[test]
    fn omits_scim_type_when_none() {
        let body = ScimError::NotFound("User 42 not found".into()).to_json();
        assert_eq!(body["status"], "404");
        assert!(body.get("scimType").is_none());
    }
}

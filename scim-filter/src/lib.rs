//! The SCIM 2.0 filter and PATCH path language.
//!
//! * [`parse_filter`] reads the `filter` query parameter (RFC 7644 §3.4.2.2).
//! * [`parse_path`] reads the `path` of a PATCH operation (RFC 7644 §3.5.2).
//! * [`Filter::matches`] evaluates a filter against a resource given as JSON, asking an
//!   [`AttributeFacts`] implementation for attribute types and `caseExact`.
//!
//! The grammar lives in `src/scim.pest`; its rule names follow the RFC ABNF.

mod ast;
mod error;
mod eval;

pub use ast::{AttrPath, CompValue, CompareOp, Filter, PatchPath};
pub use error::{FilterError, FilterErrorKind};
pub use eval::{AttrFacts, AttrType, AttributeFacts, DefaultFacts, EvalError};

/// Input limits for [`parse_filter_with`] and [`parse_path_with`].
///
/// Exceeding a limit is a [`FilterError`], never a stack overflow or a hang.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct Limits {
    /// Longest accepted input, in bytes. Default 8192.
    pub max_length: usize,
    /// Deepest accepted nesting of parentheses, `not ( … )` and `[ … ]`. Default 32.
    pub max_depth: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self { max_length: 8192, max_depth: 32 }
    }
}

impl Limits {
    /// Limits with the given maximum length (bytes) and nesting depth.
    pub fn new(max_length: usize, max_depth: usize) -> Self {
        Self { max_length, max_depth }
    }
}

/// Parses a SCIM filter (RFC 7644 §3.4.2.2) with the default [`Limits`].
pub fn parse_filter(input: &str) -> Result<Filter, FilterError> {
    parse_filter_with(input, &Limits::default())
}

/// Parses a SCIM filter (RFC 7644 §3.4.2.2) with the given [`Limits`].
pub fn parse_filter_with(input: &str, limits: &Limits) -> Result<Filter, FilterError> {
    let _ = (input, limits);
    Err(FilterError::new(FilterErrorKind::InvalidFilter, 0, "not implemented yet"))
}

/// Parses a PATCH operation path (RFC 7644 §3.5.2) with the default [`Limits`].
pub fn parse_path(input: &str) -> Result<PatchPath, FilterError> {
    parse_path_with(input, &Limits::default())
}

/// Parses a PATCH operation path (RFC 7644 §3.5.2) with the given [`Limits`].
pub fn parse_path_with(input: &str, limits: &Limits) -> Result<PatchPath, FilterError> {
    let _ = (input, limits);
    Err(FilterError::new(FilterErrorKind::InvalidPath, 0, "not implemented yet"))
}

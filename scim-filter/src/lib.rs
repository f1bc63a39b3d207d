//! The SCIM 2.0 filter and PATCH path language.
//!
//! * [`parse_filter`] reads the `filter` query parameter (RFC 7644 §3.4.2.2).
//! * [`parse_path`] reads the `path` of a PATCH operation (RFC 7644 §3.5.2).
//! * [`Filter::matches`] evaluates a filter against a resource given as JSON, asking an
//!   [`AttributeFacts`] implementation for attribute types and `caseExact`.
//!
//! The grammar lives in `src/scim.pest`; its rule names follow the RFC ABNF. One extension
//! is accepted in filters: Microsoft Entra ID's `emails[type eq "work"].value eq "…"`
//! ([`Filter::ElementTest`]), a value path followed by a test of one sub-attribute of the
//! same element.

/// The README's examples are compiled and run as doc tests.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;

mod ast;
mod display;
mod error;
mod eval;
mod parser;

pub use ast::{AttrPath, CompValue, CompareOp, Filter, PatchPath};
pub use error::{FilterError, FilterErrorKind};
pub use eval::{AttrFacts, AttrType, AttributeFacts, DefaultFacts, EvalError, parse_date_time};

/// Input limits for [`parse_filter_with`] and [`parse_path_with`].
///
/// RFC 7644 §3.4.2.2 sets no limits; a service provider must still bound the work a
/// request can cause. Exceeding a limit is a [`FilterError`] (`invalidFilter` /
/// `invalidPath`), never a stack overflow or a hang: both limits are checked before the
/// grammar runs.
///
/// Whatever the limits say, nesting deeper than 128 levels and more than 1024 `and`/`or`
/// operators in one input are rejected, because the parsed tree is recursive (its `Drop`,
/// `Clone` and `Debug` recurse once per level).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct Limits {
    /// Longest accepted input, in bytes. Default 8192.
    pub max_length: usize,
    /// Deepest accepted nesting of parentheses, `not ( … )` and `[ … ]`. Default 32; values
    /// above 128 act as 128.
    pub max_depth: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_length: 8192,
            max_depth: 32,
        }
    }
}

impl Limits {
    /// Limits with the given maximum length (bytes) and nesting depth.
    ///
    /// ```
    /// let limits = scim_filter::Limits::new(64, 2);
    /// assert!(scim_filter::parse_filter_with("(a pr and (b pr))", &limits).is_ok());
    /// assert!(scim_filter::parse_filter_with("(a pr and (b pr or (c pr)))", &limits).is_err());
    /// ```
    pub fn new(max_length: usize, max_depth: usize) -> Self {
        Self {
            max_length,
            max_depth,
        }
    }
}

/// Parses a SCIM filter (RFC 7644 §3.4.2.2) with the default [`Limits`].
///
/// The input is the decoded value of the `filter` query parameter (or the `filter` member
/// of a `POST /.search` body, RFC 7644 §3.4.3). Operators, `and`/`or`/`not` and the
/// literals `true`/`false`/`null` are case-insensitive; `and` binds tighter than `or`
/// (RFC 7644 §3.4.2.2, Table 5). Any run of spaces or tabs is accepted where the RFC asks
/// for one space.
///
/// # Errors
///
/// A [`FilterError`] of kind [`FilterErrorKind::InvalidFilter`] (RFC 7644 §3.12
/// `invalidFilter`) with the byte offset of the problem and a message saying what was
/// expected there.
///
/// # Examples
///
/// ```
/// use scim_filter::{parse_filter, AttrPath, CompValue, CompareOp, Filter};
///
/// let filter = parse_filter(r#"userName Eq "bjensen" and not (emails[type eq "work"])"#)?;
/// let Filter::And(left, right) = &filter else { panic!("expected and") };
/// assert_eq!(
///     **left,
///     Filter::Compare {
///         path: AttrPath::new("userName"),
///         op: CompareOp::Eq,
///         value: CompValue::String("bjensen".into()),
///     }
/// );
/// assert!(matches!(**right, Filter::Not(_)));
///
/// // `Display` prints the canonical form, which parses back to the same tree.
/// assert_eq!(
///     filter.to_string(),
///     r#"userName eq "bjensen" and not (emails[type eq "work"])"#
/// );
/// assert_eq!(parse_filter(&filter.to_string())?, filter);
///
/// // Fully qualified names: the URI ends at the last `:` before the attribute name.
/// let filter =
///     parse_filter("urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.value pr")?;
/// let Filter::Present(path) = filter else { panic!("expected pr") };
/// assert_eq!(path.uri.as_deref(), Some("urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"));
/// assert_eq!(path.name, "manager");
/// assert_eq!(path.sub_attr.as_deref(), Some("value"));
///
/// // Errors carry a byte offset and say what was expected.
/// let err = parse_filter(r#"userName xx "a""#).unwrap_err();
/// assert_eq!(err.offset, 9);
/// assert_eq!(
///     err.to_string(),
///     "expected a comparison operator (eq, ne, co, sw, ew, gt, lt, ge, le) or `pr` after `userName` at 9"
/// );
/// assert_eq!(err.scim_type(), "invalidFilter");
/// # Ok::<(), scim_filter::FilterError>(())
/// ```
pub fn parse_filter(input: &str) -> Result<Filter, FilterError> {
    parse_filter_with(input, &Limits::default())
}

/// Parses a SCIM filter (RFC 7644 §3.4.2.2) with the given [`Limits`].
///
/// See [`parse_filter`]; an input over a limit fails with the offset where the limit was
/// exceeded.
///
/// # Errors
///
/// A [`FilterError`] of kind [`FilterErrorKind::InvalidFilter`].
pub fn parse_filter_with(input: &str, limits: &Limits) -> Result<Filter, FilterError> {
    parser::parse_filter(input, limits)
}

/// Parses a PATCH operation path (RFC 7644 §3.5.2) with the default [`Limits`].
///
/// `PATH = attrPath / valuePath [subAttr]`: an attribute (`name.familyName`, optionally
/// fully qualified with its schema URI), or a value filter on a multi-valued attribute
/// (`members[value eq "2819c223"]`), optionally followed by one sub-attribute
/// (`emails[type eq "work"].value`).
///
/// # Errors
///
/// A [`FilterError`] of kind [`FilterErrorKind::InvalidPath`] (RFC 7644 §3.12
/// `invalidPath`), also for a malformed filter inside the brackets.
///
/// # Examples
///
/// ```
/// use scim_filter::{parse_path, AttrPath, PatchPath};
///
/// let path = parse_path("name.familyName")?;
/// assert_eq!(path, PatchPath::Attr(AttrPath::new("name").with_sub_attr("familyName")));
///
/// let path = parse_path(r#"emails[type eq "work"].value"#)?;
/// let PatchPath::Value { path: attr, filter, sub_attr } = &path else { panic!("expected a value path") };
/// assert_eq!(attr, &AttrPath::new("emails"));
/// assert_eq!(filter.to_string(), r#"type eq "work""#);
/// assert_eq!(sub_attr.as_deref(), Some("value"));
/// assert_eq!(path.to_string(), r#"emails[type eq "work"].value"#);
///
/// // A path that is exactly an extension schema URN parses with its last segment as name.
/// let path = parse_path("urn:ietf:params:scim:schemas:extension:enterprise:2.0:User")?;
/// let PatchPath::Attr(attr) = path else { panic!("expected an attribute path") };
/// assert_eq!(attr.uri.as_deref(), Some("urn:ietf:params:scim:schemas:extension:enterprise:2.0"));
/// assert_eq!(attr.name, "User");
///
/// let err = parse_path("emails[type eq]").unwrap_err();
/// assert_eq!(err.scim_type(), "invalidPath");
/// assert_eq!(err.offset, 14);
/// # Ok::<(), scim_filter::FilterError>(())
/// ```
pub fn parse_path(input: &str) -> Result<PatchPath, FilterError> {
    parse_path_with(input, &Limits::default())
}

/// Parses a PATCH operation path (RFC 7644 §3.5.2) with the given [`Limits`].
///
/// See [`parse_path`].
///
/// # Errors
///
/// A [`FilterError`] of kind [`FilterErrorKind::InvalidPath`].
pub fn parse_path_with(input: &str, limits: &Limits) -> Result<PatchPath, FilterError> {
    parser::parse_path(input, limits)
}

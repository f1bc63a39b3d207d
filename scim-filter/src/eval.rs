//! Evaluating a [`Filter`] against a resource given as JSON (RFC 7644 §3.4.2.2).
//!
//! The evaluator knows JSON; the schema knows attribute types and `caseExact`. The
//! [`AttributeFacts`] trait is the bridge: the core answers it from its schema registry,
//! and [`DefaultFacts`] answers it from the JSON alone for schema-less use.

use crate::ast::Filter;
use serde_json::Value;

/// Attribute data types of RFC 7643 §2.3, as far as filtering needs them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AttrType {
    /// RFC 7643 §2.3.1 string.
    String,
    /// RFC 7643 §2.3.2 boolean.
    Boolean,
    /// RFC 7643 §2.3.3 decimal.
    Decimal,
    /// RFC 7643 §2.3.4 integer.
    Integer,
    /// RFC 7643 §2.3.5 dateTime (xsd:dateTime, compared as instants).
    DateTime,
    /// RFC 7643 §2.3.6 binary (base64; never ordered).
    Binary,
    /// RFC 7643 §2.3.7 reference (a URI string).
    Reference,
    /// RFC 7643 §2.3.8 complex.
    Complex,
}

/// What the evaluator needs to know about one attribute (RFC 7643 §2.2 characteristics).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct AttrFacts {
    /// The declared type, or `None` when unknown (the evaluator then goes by the JSON value).
    pub attr_type: Option<AttrType>,
    /// `caseExact` (RFC 7643 §2.2); `false` when unknown, as the RFC's default.
    pub case_exact: bool,
    /// `multiValued` (RFC 7643 §2.2); `None` when unknown (JSON arrays are then multi-valued).
    pub multi_valued: Option<bool>,
}

impl AttrFacts {
    /// Facts for an attribute the caller knows nothing about.
    pub const UNKNOWN: AttrFacts = AttrFacts { attr_type: None, case_exact: false, multi_valued: None };
}

/// Answers attribute characteristics for the evaluator (RFC 7643 §2.2, §7).
///
/// `uri` is the schema URI the client wrote (if any), `name` the attribute and `sub_attr`
/// the sub-attribute. Inside a `valuePath` such as `emails[type eq "work"]` the evaluator
/// asks about `(None, "emails", Some("type"))`. Names arrive as the client wrote them; match
/// them case-insensitively.
pub trait AttributeFacts {
    /// The facts for one attribute or sub-attribute.
    fn facts(&self, uri: Option<&str>, name: &str, sub_attr: Option<&str>) -> AttrFacts;
}

/// Schema-less facts: every attribute is [`AttrFacts::UNKNOWN`] (case-insensitive strings,
/// types taken from the JSON values).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DefaultFacts;

impl AttributeFacts for DefaultFacts {
    fn facts(&self, _uri: Option<&str>, _name: &str, _sub_attr: Option<&str>) -> AttrFacts {
        AttrFacts::UNKNOWN
    }
}

/// A filter that parsed but cannot be applied, e.g. `gt` on a boolean
/// (RFC 7644 §3.4.2.2; `scimType: invalidFilter`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct EvalError {
    /// What is wrong, in words a client can act on.
    pub message: String,
}

impl EvalError {
    /// The RFC 7644 §3.12 `scimType` of every evaluation error.
    pub fn scim_type(&self) -> &'static str {
        "invalidFilter"
    }
}

impl Filter {
    /// Whether `resource` matches this filter (RFC 7644 §3.4.2.2).
    pub fn matches<F: AttributeFacts + ?Sized>(
        &self,
        resource: &Value,
        facts: &F,
    ) -> Result<bool, EvalError> {
        let _ = (resource, facts);
        Err(EvalError { message: "filter evaluation is not implemented yet".into() })
    }
}

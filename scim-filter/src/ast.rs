//! Typed syntax tree of the SCIM filter and PATCH path language.
//!
//! Mirrors the ABNF of RFC 7644 §3.4.2.2 (`FILTER`, `attrPath`, `compValue`, …) and
//! RFC 7644 §3.5.2 (`PATH`). Every type's [`Display`](std::fmt::Display) prints a canonical
//! form that [`parse_filter`](crate::parse_filter) / [`parse_path`](crate::parse_path) read
//! back to an equal value.

use serde_json::Number;

/// `attrPath = [URI ":"] ATTRNAME *1subAttr` (RFC 7644 §3.4.2.2, RFC 7643 §2.1).
///
/// Names keep the case the client wrote; comparisons against a schema are
/// case-insensitive (RFC 7643 §2.1), which is the evaluator's and the core's job.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct AttrPath {
    /// Schema URI prefix, e.g. `urn:ietf:params:scim:schemas:extension:enterprise:2.0:User`,
    /// without the trailing `:`.
    pub uri: Option<String>,
    /// `ATTRNAME`: the attribute name, e.g. `userName`, `emails`, `$ref`.
    pub name: String,
    /// `subAttr`: the sub-attribute name after the `.`, e.g. `givenName` in `name.givenName`.
    pub sub_attr: Option<String>,
}

impl AttrPath {
    /// A path to a top-level attribute with no URI and no sub-attribute.
    pub fn new(name: impl Into<String>) -> Self {
        Self {
            uri: None,
            name: name.into(),
            sub_attr: None,
        }
    }

    /// Adds a schema URI prefix (RFC 7644 §3.10 "fully qualified" form).
    pub fn with_uri(mut self, uri: impl Into<String>) -> Self {
        self.uri = Some(uri.into());
        self
    }

    /// Adds a sub-attribute (`name.givenName`).
    pub fn with_sub_attr(mut self, sub_attr: impl Into<String>) -> Self {
        self.sub_attr = Some(sub_attr.into());
        self
    }
}

/// `compareOp` (RFC 7644 §3.4.2.2, Table 3). Parsed case-insensitively, printed lower-case.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CompareOp {
    /// `eq`: equal.
    Eq,
    /// `ne`: not equal.
    Ne,
    /// `co`: contains (substring).
    Co,
    /// `sw`: starts with.
    Sw,
    /// `ew`: ends with.
    Ew,
    /// `gt`: greater than.
    Gt,
    /// `lt`: less than.
    Lt,
    /// `ge`: greater than or equal to.
    Ge,
    /// `le`: less than or equal to.
    Le,
}

impl CompareOp {
    /// The operator's canonical (lower-case) spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            CompareOp::Eq => "eq",
            CompareOp::Ne => "ne",
            CompareOp::Co => "co",
            CompareOp::Sw => "sw",
            CompareOp::Ew => "ew",
            CompareOp::Gt => "gt",
            CompareOp::Lt => "lt",
            CompareOp::Ge => "ge",
            CompareOp::Le => "le",
        }
    }
}

/// `compValue = false / null / true / number / string` (RFC 7644 §3.4.2.2; JSON literals
/// per RFC 7159).
#[derive(Debug, Clone, PartialEq)]
pub enum CompValue {
    /// `null`.
    Null,
    /// `true` or `false`.
    Bool(bool),
    /// A JSON number, kept exactly as parsed.
    Number(Number),
    /// A JSON string, with escapes resolved.
    String(String),
}

/// `FILTER` (RFC 7644 §3.4.2.2): the parsed `filter` query parameter, or the `valFilter`
/// inside a `valuePath`.
///
/// `and` binds tighter than `or`; both are left-associative, so `a and b or c` is
/// `Or(And(a, b), c)`.
#[derive(Debug, Clone, PartialEq)]
pub enum Filter {
    /// `attrPath SP "pr"`: the attribute has a non-empty value.
    Present(AttrPath),
    /// `attrPath SP compareOp SP compValue`.
    Compare {
        /// The attribute compared.
        path: AttrPath,
        /// The operator.
        op: CompareOp,
        /// The literal compared against.
        value: CompValue,
    },
    /// `valuePath = attrPath "[" valFilter "]"`: `filter` is evaluated within one element
    /// of the multi-valued (or complex) attribute `path`; names inside it are that
    /// attribute's sub-attributes.
    ValuePath {
        /// The complex attribute; never has a `sub_attr`.
        path: AttrPath,
        /// The filter applied to each element.
        filter: Box<Filter>,
    },
    /// Extension (not in RFC 7644's ABNF): `valuePath "." ATTRNAME` followed by a test of
    /// that sub-attribute, as Microsoft Entra ID sends
    /// `emails[type eq "work"].value eq "user@contoso.com"`. True when one element of
    /// `path` matches `filter` **and** passes `test`: the same element, so it means
    /// `emails[type eq "work" and value eq "user@contoso.com"]` (see
    /// [`Filter::as_value_path`]).
    ElementTest {
        /// The multi-valued (or complex) attribute; never has a `sub_attr`.
        path: AttrPath,
        /// The filter that selects elements.
        filter: Box<Filter>,
        /// A [`Filter::Present`] or [`Filter::Compare`] on one sub-attribute of the element
        /// (a path with a `name` only).
        test: Box<Filter>,
    },
    /// `"not" "(" FILTER ")"`.
    Not(Box<Filter>),
    /// `FILTER SP "and" SP FILTER`.
    And(Box<Filter>, Box<Filter>),
    /// `FILTER SP "or" SP FILTER`.
    Or(Box<Filter>, Box<Filter>),
}

/// `PATH = attrPath / valuePath [subAttr]` (RFC 7644 §3.5.2): the `path` of a PATCH
/// operation.
#[derive(Debug, Clone, PartialEq)]
pub enum PatchPath {
    /// `attrPath`, e.g. `name.familyName` or
    /// `urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager`.
    ///
    /// Note that a path that is exactly an extension schema URN, e.g.
    /// `urn:ietf:params:scim:schemas:extension:enterprise:2.0:User`, parses with the last
    /// URN segment as `name` (`uri = "…:2.0"`, `name = "User"`); a schema-aware caller
    /// recognises it by joining the two.
    Attr(AttrPath),
    /// `valuePath [subAttr]`, e.g. `members[value eq "2819c223"]` or
    /// `emails[type eq "work"].value`.
    Value {
        /// The multi-valued attribute; never has a `sub_attr`.
        path: AttrPath,
        /// The filter that selects elements.
        filter: Filter,
        /// The sub-attribute of the selected elements, if any.
        sub_attr: Option<String>,
    },
}

impl Filter {
    /// The RFC 7644 form of a [`Filter::ElementTest`]: `emails[type eq "work"].value eq "x"`
    /// is `emails[type eq "work" and value eq "x"]`. `None` for every other variant.
    ///
    /// ```
    /// let entra = scim_filter::parse_filter(r#"emails[type eq "work"].value eq "a@b.c""#)?;
    /// let rfc = entra.as_value_path().ok_or("not an element test")?;
    /// assert_eq!(rfc.to_string(), r#"emails[type eq "work" and value eq "a@b.c"]"#);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn as_value_path(&self) -> Option<Filter> {
        match self {
            Filter::ElementTest { path, filter, test } => Some(Filter::ValuePath {
                path: path.clone(),
                filter: Box::new(Filter::And(filter.clone(), test.clone())),
            }),
            _ => None,
        }
    }
}

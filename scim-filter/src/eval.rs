//! Evaluating a [`Filter`] against a resource given as JSON (RFC 7644 §3.4.2.2).
//!
//! The evaluator knows JSON; the schema knows attribute types and `caseExact`. The
//! [`AttributeFacts`] trait is the bridge: the core answers it from its schema registry,
//! and [`DefaultFacts`] answers it from the JSON alone for schema-less use.

use crate::ast::{AttrPath, CompValue, CompareOp, Filter};
use chrono::{DateTime, FixedOffset, NaiveDateTime};
use serde_json::{Map, Number, Value};
use std::cmp::Ordering;

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
    pub const UNKNOWN: AttrFacts = AttrFacts {
        attr_type: None,
        case_exact: false,
        multi_valued: None,
    };
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
    fn new(message: impl Into<String>) -> Self {
        Self {
            message: message.into(),
        }
    }

    /// The RFC 7644 §3.12 `scimType` of every evaluation error.
    pub fn scim_type(&self) -> &'static str {
        "invalidFilter"
    }
}

impl Filter {
    /// Whether `resource` matches this filter (RFC 7644 §3.4.2.2).
    ///
    /// `resource` is a SCIM resource in its JSON representation (RFC 7643 §3, §8); `facts`
    /// supplies attribute types and `caseExact` ([`DefaultFacts`] when there is no schema).
    ///
    /// # Semantics
    ///
    /// * **Resolution.** Core attributes are top-level members of the resource; extension
    ///   attributes live in an object keyed by the extension schema URN (RFC 7643 §3.3).
    ///   Attribute names match case-insensitively (RFC 7643 §2.1). A URN-qualified path
    ///   (RFC 7644 §3.10) looks inside the member named by the URN when the resource has one;
    ///   otherwise (a core schema URN such as `urn:ietf:params:scim:schemas:core:2.0:User`) it
    ///   looks at the top level, unless the resource's `schemas` list is present and does not
    ///   name that URN, in which case the attribute is absent.
    /// * **Multi-valued attributes** (RFC 7644 §3.4.2.2) match if any value matches — except
    ///   `ne`, which matches when no value is equal (and one can be compared): `emails.type ne
    ///   "work"` is false for a user who has a work email, whatever the other emails; with a
    ///   sub-attribute (`emails.value`) each element's sub-attribute is a value. A complex
    ///   attribute compared without a sub-attribute (`emails co "example.com"`) is compared
    ///   through each element's `value` sub-attribute.
    /// * **`valuePath`** (`emails[type eq "work" and value co "@example.com"]`) evaluates its
    ///   filter against one element at a time, so all conditions must hold on the same element.
    ///   Names inside it are sub-attributes of the outer attribute; the element of a
    ///   multi-valued attribute of simple values is its own `value`.
    /// * **Strings** compare case-insensitively unless [`AttrFacts::case_exact`] (RFC 7643
    ///   §2.2); `gt`/`ge`/`lt`/`le` order lexicographically (by Unicode scalar value after
    ///   lower-casing). Binary values are always case-exact.
    /// * **dateTime** values (declared [`AttrType::DateTime`], or, for unknown types, two
    ///   strings that both parse as RFC 3339 date-times) compare as instants, so
    ///   `2011-05-13T04:42:34Z` equals `2011-05-13T06:42:34+02:00`.
    /// * **Numbers** compare numerically: integers exactly, otherwise as `f64` (`1` equals `1.0`).
    /// * **Errors** ([`EvalError`], `invalidFilter`): `gt`/`ge`/`lt`/`le`/`co`/`sw`/`ew` on a
    ///   boolean or binary attribute, or with a `true`/`false`/`null` value, and `co`/`sw`/`ew`
    ///   with a non-string value (RFC 7644 §3.4.2.2).
    /// * **Missing values and type mismatches** never match, not even `ne`: `title ne "x"` is
    ///   false for a resource without a `title`, and `active eq "true"` is false for a boolean
    ///   `active`. `eq null` matches an absent, `null` or empty-array attribute; `ne null` is its
    ///   negation.
    /// * **`pr`** is true iff the attribute has a value that is not `null`, `""`, `[]` or `{}`
    ///   (an object counts as present when one of its members is).
    /// * **Logic.** `and` binds tighter than `or`; both short-circuit, and an error in an
    ///   evaluated branch is returned.
    ///
    /// # Errors
    ///
    /// An [`EvalError`] (`scimType: invalidFilter`) when the filter applies an operator the
    /// attribute's type does not support, e.g. `active gt true`.
    ///
    /// # Example
    ///
    /// ```
    /// use scim_filter::{DefaultFacts, parse_filter};
    /// use serde_json::json;
    ///
    /// let user = json!({
    ///     "userName": "bjensen",
    ///     "emails": [
    ///         { "value": "bjensen@example.com", "type": "work" },
    ///         { "value": "babs@jensen.org", "type": "home" }
    ///     ]
    /// });
    /// let work = parse_filter(r#"emails[type eq "work" and value ew "EXAMPLE.COM"]"#)?;
    /// assert!(work.matches(&user, &DefaultFacts)?);
    /// let mixed = parse_filter(r#"emails[type eq "home" and value ew "example.com"]"#)?;
    /// assert!(!mixed.matches(&user, &DefaultFacts)?);
    /// assert!(parse_filter("userName gt true")?.matches(&user, &DefaultFacts).is_err());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn matches<F: AttributeFacts + ?Sized>(
        &self,
        resource: &Value,
        facts: &F,
    ) -> Result<bool, EvalError> {
        eval(self, Scope::Root(resource), facts)
    }
}

impl AttrPath {
    /// The values this path denotes in `resource`, resolved as [`Filter::matches`] does
    /// (RFC 7644 §3.4.2.2, §3.10): case-insensitive names, URN-qualified names looked up in
    /// the extension object, and multi-valued attributes (and their sub-attributes)
    /// flattened into one value each. `null` values are skipped.
    ///
    /// Useful wherever a path must find the same values a filter would, e.g. `sortBy`
    /// (RFC 7644 §3.4.2.3).
    pub fn values<'a>(&self, resource: &'a Value) -> Vec<&'a Value> {
        let mut out = Vec::new();
        let found = resolve_root(resource, self);
        let _ = any_value(found, self.sub_attr.as_deref(), &mut |v| {
            if !v.is_null() {
                out.push(v);
            }
            Ok(false)
        });
        out
    }
}

/// Where the names of a filter are looked up.
#[derive(Clone, Copy)]
enum Scope<'a, 'f> {
    /// The top level of the resource.
    Root(&'a Value),
    /// One element of a `valuePath`'s attribute; `outer` is that attribute, for
    /// [`AttributeFacts`] (`None` inside a nested `valuePath`, where facts are unknown).
    Element {
        element: &'a Value,
        outer: Option<&'f AttrPath>,
    },
}

fn eval<F: AttributeFacts + ?Sized>(
    filter: &Filter,
    scope: Scope<'_, '_>,
    facts: &F,
) -> Result<bool, EvalError> {
    match filter {
        Filter::Present(path) => {
            let found = resolve(scope, path);
            any_value(found, path.sub_attr.as_deref(), &mut |v| Ok(is_present(v)))
        }
        Filter::Compare { path, op, value } => compare(scope, path, *op, value, facts),
        Filter::ValuePath { path, filter } => value_path(scope, path, filter, None, facts),
        Filter::ElementTest { path, filter, test } => {
            value_path(scope, path, filter, Some(test), facts)
        }
        Filter::Not(inner) => Ok(!eval(inner, scope, facts)?),
        Filter::And(a, b) => Ok(eval(a, scope, facts)? && eval(b, scope, facts)?),
        Filter::Or(a, b) => Ok(eval(a, scope, facts)? || eval(b, scope, facts)?),
    }
}

/// `path[filter]`, and for [`Filter::ElementTest`] `path[filter].test`: whether one
/// element of `path` matches `filter` (and `test`, on the same element).
fn value_path<F: AttributeFacts + ?Sized>(
    scope: Scope<'_, '_>,
    path: &AttrPath,
    filter: &Filter,
    test: Option<&Filter>,
    facts: &F,
) -> Result<bool, EvalError> {
    let holds = |element: &Value, outer: Option<&AttrPath>| -> Result<bool, EvalError> {
        let scope = Scope::Element { element, outer };
        Ok(eval(filter, scope, facts)?
            && match test {
                Some(test) => eval(test, scope, facts)?,
                None => true,
            })
    };
    let outer = match scope {
        Scope::Root(_) => Some(path),
        Scope::Element { .. } => None,
    };
    let Some(found) = resolve(scope, path) else {
        return Ok(false);
    };
    // A `valuePath` never has a sub-attribute; tolerate one by descending into it.
    let found = match path.sub_attr.as_deref() {
        None => found,
        Some(sub) => match found {
            Value::Object(map) => match lookup(map, sub) {
                Some(v) => v,
                None => return Ok(false),
            },
            _ => return Ok(false),
        },
    };
    match found {
        Value::Null => Ok(false),
        Value::Array(items) => {
            for element in items {
                if holds(element, outer)? {
                    return Ok(true);
                }
            }
            Ok(false)
        }
        element => holds(element, outer),
    }
}

/// The value of `path`'s attribute (before its sub-attribute) in `scope`.
fn resolve<'a>(scope: Scope<'a, '_>, path: &AttrPath) -> Option<&'a Value> {
    match scope {
        Scope::Root(resource) => resolve_root(resource, path),
        Scope::Element { element, .. } => match element {
            Value::Object(map) => lookup(map, &path.name),
            // The element of a multi-valued attribute of simple values is its own `value`.
            other if eq_ci(&path.name, "value") => Some(other),
            _ => None,
        },
    }
}

/// The value of `path`'s attribute (before its sub-attribute) at the top level of a
/// resource, honouring a schema URN prefix (RFC 7644 §3.10).
fn resolve_root<'a>(resource: &'a Value, path: &AttrPath) -> Option<&'a Value> {
    let Value::Object(top) = resource else {
        return None;
    };
    let Some(uri) = path.uri.as_deref() else {
        return lookup(top, &path.name);
    };
    if let Some(Value::Object(ext)) = lookup(top, uri) {
        return lookup(ext, &path.name);
    }
    // `urn:…:enterprise:2.0:User` parses as uri `urn:…:2.0`, name `User`: the path is the
    // extension object itself.
    if let Some(v) = top
        .iter()
        .find_map(|(k, v)| is_joined_urn(k, uri, &path.name).then_some(v))
    {
        return Some(v);
    }
    // Not an extension present in the resource: a core schema URN names top-level
    // attributes, unless the resource declares its schemas and this is not one of them.
    let declared = match lookup(top, "schemas") {
        Some(Value::Array(schemas)) => schemas
            .iter()
            .any(|s| matches!(s, Value::String(s) if eq_ci(s, uri))),
        _ => true,
    };
    if declared {
        lookup(top, &path.name)
    } else {
        None
    }
}

/// Whether `key` is `uri` + `:` + `name`, case-insensitively.
fn is_joined_urn(key: &str, uri: &str, name: &str) -> bool {
    key.len() == uri.len() + 1 + name.len()
        && key.get(..uri.len()).is_some_and(|k| eq_ci(k, uri))
        && key.as_bytes().get(uri.len()) == Some(&b':')
        && key.get(uri.len() + 1..).is_some_and(|k| eq_ci(k, name))
}

/// Case-insensitive member lookup (RFC 7643 §2.1): exact key first, then a scan.
fn lookup<'a>(map: &'a Map<String, Value>, name: &str) -> Option<&'a Value> {
    if let Some(v) = map.get(name) {
        return Some(v);
    }
    map.iter().find_map(|(k, v)| eq_ci(k, name).then_some(v))
}

/// Calls `f` on each value of an attribute (and of its sub-attribute `sub`), flattening
/// arrays, until `f` returns `true`.
fn any_value<'a>(
    found: Option<&'a Value>,
    sub: Option<&str>,
    f: &mut dyn FnMut(&'a Value) -> Result<bool, EvalError>,
) -> Result<bool, EvalError> {
    let Some(v) = found else { return Ok(false) };
    match (v, sub) {
        (Value::Array(items), _) => {
            for item in items {
                if any_value(Some(item), sub, f)? {
                    return Ok(true);
                }
            }
            Ok(false)
        }
        (_, None) => f(v),
        (Value::Object(map), Some(sub)) => any_value(lookup(map, sub), None, f),
        (_, Some(_)) => Ok(false),
    }
}

/// `pr` (RFC 7644 §3.4.2.2): not `null`, `""`, `[]` or `{}`.
fn is_present(v: &Value) -> bool {
    match v {
        Value::Null => false,
        Value::String(s) => !s.is_empty(),
        Value::Array(items) => items.iter().any(is_present),
        Value::Object(map) => map.values().any(is_present),
        Value::Bool(_) | Value::Number(_) => true,
    }
}

/// The facts for `path` as seen from `scope`.
fn facts_for<F: AttributeFacts + ?Sized>(
    scope: Scope<'_, '_>,
    path: &AttrPath,
    facts: &F,
) -> AttrFacts {
    match scope {
        Scope::Root(_) => {
            let f = facts.facts(path.uri.as_deref(), &path.name, path.sub_attr.as_deref());
            if path.sub_attr.is_none() && f.attr_type == Some(AttrType::Complex) {
                // Compared through its `value` sub-attribute.
                facts.facts(path.uri.as_deref(), &path.name, Some("value"))
            } else {
                f
            }
        }
        Scope::Element {
            outer: Some(outer), ..
        } if path.sub_attr.is_none() => {
            facts.facts(outer.uri.as_deref(), &outer.name, Some(&path.name))
        }
        Scope::Element { .. } => AttrFacts::UNKNOWN,
    }
}

fn compare<F: AttributeFacts + ?Sized>(
    scope: Scope<'_, '_>,
    path: &AttrPath,
    op: CompareOp,
    value: &CompValue,
    facts: &F,
) -> Result<bool, EvalError> {
    let attr = facts_for(scope, path, facts);
    check(op, value, attr.attr_type)?;
    let found = resolve(scope, path);
    let sub = path.sub_attr.as_deref();
    let comparison = match value {
        CompValue::Null => {
            let has_value = any_value(found, sub, &mut |v| Ok(!v.is_null()))?;
            return Ok(has_value == (op == CompareOp::Ne));
        }
        CompValue::Bool(b) => Comparison::Bool(*b),
        CompValue::Number(n) => Comparison::Number(n),
        CompValue::String(s) => {
            let instant = match (op, attr.attr_type) {
                (CompareOp::Co | CompareOp::Sw | CompareOp::Ew, _) => None,
                (_, Some(AttrType::DateTime)) => parse_xsd_date_time(s),
                (_, None) => parse_rfc3339(s),
                _ => None,
            };
            Comparison::String { value: s, instant }
        }
    };
    let case_exact = attr.case_exact || attr.attr_type == Some(AttrType::Binary);
    if op == CompareOp::Ne {
        // `ne` on a multi-valued attribute holds when no value equals (RFC 7644 §3.4.2.2:
        // "the attribute and operator values are not identical"), and only when there is a
        // value of the literal's type to compare: `emails.type ne "work"` is false for a
        // user with a work email, `title ne "x"` false without a title.
        let eq = Comparer {
            op: CompareOp::Eq,
            value: comparison,
            attr_type: attr.attr_type,
            case_exact,
        };
        let comparable = any_value(found, sub, &mut |v| Ok(eq.comparable(v, true)))?;
        return Ok(comparable && !any_value(found, sub, &mut |v| eq.test(v, true))?);
    }
    let cmp = Comparer {
        op,
        value: comparison,
        attr_type: attr.attr_type,
        case_exact,
    };
    any_value(found, sub, &mut |v| cmp.test(v, true))
}

/// Rejects operator/value/type combinations RFC 7644 §3.4.2.2 does not define.
fn check(op: CompareOp, value: &CompValue, attr_type: Option<AttrType>) -> Result<(), EvalError> {
    if matches!(op, CompareOp::Eq | CompareOp::Ne) {
        return Ok(());
    }
    match attr_type {
        Some(AttrType::Boolean) => return Err(boolean_error(op)),
        Some(AttrType::Binary) => {
            return Err(EvalError::new(format!(
                "`{}` cannot compare binary values; use eq or ne",
                op.as_str()
            )));
        }
        _ => {}
    }
    let substring = matches!(op, CompareOp::Co | CompareOp::Sw | CompareOp::Ew);
    match value {
        CompValue::String(_) => Ok(()),
        CompValue::Bool(_) if !substring => Err(boolean_error(op)),
        CompValue::Null if !substring => Err(EvalError::new(format!(
            "`{}` cannot compare with null; use eq null, ne null or pr",
            op.as_str()
        ))),
        CompValue::Number(_) if !substring => Ok(()),
        other => Err(EvalError::new(format!(
            "`{}` needs a string value, got {}",
            op.as_str(),
            match other {
                CompValue::Null => "null".to_owned(),
                CompValue::Bool(b) => b.to_string(),
                CompValue::Number(n) => n.to_string(),
                CompValue::String(s) => format!("{s:?}"),
            }
        ))),
    }
}

fn boolean_error(op: CompareOp) -> EvalError {
    EvalError::new(format!(
        "`{}` cannot compare booleans; use eq or ne",
        op.as_str()
    ))
}

/// The `compValue` of a comparison, prepared once per evaluation.
enum Comparison<'f> {
    Bool(bool),
    Number(&'f Number),
    String {
        value: &'f str,
        /// The value as an instant, when it may be compared as a dateTime.
        instant: Option<DateTime<FixedOffset>>,
    },
}

struct Comparer<'f> {
    op: CompareOp,
    value: Comparison<'f>,
    attr_type: Option<AttrType>,
    case_exact: bool,
}

impl Comparer<'_> {
    /// Whether `v` is a value the literal can be compared with (same JSON kind); `unwrap`
    /// looks through a complex value's `value` sub-attribute once.
    fn comparable(&self, v: &Value, unwrap: bool) -> bool {
        match (v, &self.value) {
            (Value::String(_), Comparison::String { .. })
            | (Value::Bool(_), Comparison::Bool(_))
            | (Value::Number(_), Comparison::Number(_)) => true,
            (Value::Array(items), _) => items.iter().any(|item| self.comparable(item, unwrap)),
            (Value::Object(map), _) if unwrap => {
                lookup(map, "value").is_some_and(|inner| self.comparable(inner, false))
            }
            _ => false,
        }
    }

    /// Compares one attribute value; `unwrap` allows looking through a complex value's
    /// `value` sub-attribute once.
    fn test(&self, v: &Value, unwrap: bool) -> Result<bool, EvalError> {
        match v {
            Value::String(s) => match self.value {
                Comparison::String { value, instant } => Ok(self.test_str(s, value, instant)),
                _ => Ok(false),
            },
            Value::Null => Ok(false),
            Value::Bool(b) => match (self.op, &self.value) {
                (CompareOp::Eq, Comparison::Bool(c)) => Ok(b == c),
                (CompareOp::Ne, Comparison::Bool(c)) => Ok(b != c),
                (CompareOp::Eq | CompareOp::Ne, _) => Ok(false),
                (op, _) => Err(boolean_error(op)),
            },
            Value::Number(n) => match self.value {
                Comparison::Number(c) => Ok(holds(self.op, cmp_numbers(n, c))),
                _ => Ok(false),
            },
            Value::Array(items) => {
                for item in items {
                    if self.test(item, unwrap)? {
                        return Ok(true);
                    }
                }
                Ok(false)
            }
            Value::Object(map) if unwrap => match lookup(map, "value") {
                Some(inner) => self.test(inner, false),
                None => Ok(false),
            },
            Value::Object(_) => Ok(false),
        }
    }

    fn test_str(&self, s: &str, c: &str, instant: Option<DateTime<FixedOffset>>) -> bool {
        match self.op {
            CompareOp::Co | CompareOp::Sw | CompareOp::Ew => {
                return substring_match(self.op, s, c, self.case_exact);
            }
            _ => {}
        }
        if let Some(c_instant) = instant {
            let s_instant = if self.attr_type == Some(AttrType::DateTime) {
                parse_xsd_date_time(s)
            } else {
                parse_rfc3339(s)
            };
            if let Some(s_instant) = s_instant {
                return holds(self.op, Some(s_instant.cmp(&c_instant)));
            }
        }
        match self.op {
            CompareOp::Eq => str_eq(s, c, self.case_exact),
            CompareOp::Ne => !str_eq(s, c, self.case_exact),
            op => holds(op, Some(str_cmp(s, c, self.case_exact))),
        }
    }
}

/// Whether `op` holds given how the attribute value orders against the `compValue`.
fn holds(op: CompareOp, ordering: Option<Ordering>) -> bool {
    let Some(ordering) = ordering else {
        return false;
    };
    match op {
        CompareOp::Eq => ordering.is_eq(),
        CompareOp::Ne => ordering.is_ne(),
        CompareOp::Gt => ordering.is_gt(),
        CompareOp::Ge => ordering.is_ge(),
        CompareOp::Lt => ordering.is_lt(),
        CompareOp::Le => ordering.is_le(),
        CompareOp::Co | CompareOp::Sw | CompareOp::Ew => false,
    }
}

/// Numeric order: integers exactly, anything else as `f64`.
fn cmp_numbers(a: &Number, b: &Number) -> Option<Ordering> {
    if let (Some(x), Some(y)) = (a.as_i64(), b.as_i64()) {
        return Some(x.cmp(&y));
    }
    if let (Some(x), Some(y)) = (a.as_u64(), b.as_u64()) {
        return Some(x.cmp(&y));
    }
    // Both integers but neither representation fits both: one is negative, one > i64::MAX.
    if a.is_i64() && b.is_u64() {
        return Some(Ordering::Less);
    }
    if a.is_u64() && b.is_i64() {
        return Some(Ordering::Greater);
    }
    a.as_f64()?.partial_cmp(&b.as_f64()?)
}

/// Reads a `dateTime` value (RFC 7643 §2.3.5, xsd:dateTime) as [`Filter::matches`] does for
/// attributes declared [`AttrType::DateTime`]: RFC 3339, or without an offset (then UTC).
/// Backends that compare instants themselves (e.g. SQL over a timestamp column) read a
/// filter's literal with it, so they agree with the evaluator exactly.
///
/// ```
/// let t = scim_filter::parse_date_time("2011-05-13T04:42:34Z").unwrap();
/// assert_eq!(t, scim_filter::parse_date_time("2011-05-13T06:42:34+02:00").unwrap());
/// assert!(scim_filter::parse_date_time("yesterday").is_none());
/// ```
pub fn parse_date_time(s: &str) -> Option<DateTime<FixedOffset>> {
    parse_xsd_date_time(s)
}

/// A declared dateTime (RFC 7643 §2.3.5, xsd:dateTime): RFC 3339, or without an offset
/// (then read as UTC).
fn parse_xsd_date_time(s: &str) -> Option<DateTime<FixedOffset>> {
    parse_rfc3339(s).or_else(|| {
        NaiveDateTime::parse_from_str(s, "%Y-%m-%dT%H:%M:%S%.f")
            .ok()
            .map(|naive| naive.and_utc().fixed_offset())
    })
}

/// An RFC 3339 date-time; a cheap shape check first keeps ordinary strings fast.
fn parse_rfc3339(s: &str) -> Option<DateTime<FixedOffset>> {
    let b = s.as_bytes();
    let shaped = b.len() >= 20
        && b.get(..4).is_some_and(|y| y.iter().all(u8::is_ascii_digit))
        && b.get(4) == Some(&b'-')
        && b.get(7) == Some(&b'-')
        && matches!(b.get(10), Some(b'T' | b't' | b' '));
    if !shaped {
        return None;
    }
    DateTime::parse_from_rfc3339(s).ok()
}

/// Lower-cased characters of `s` (Unicode `to_lowercase`), without allocating.
fn folded(s: &str) -> impl Iterator<Item = char> + '_ {
    s.chars().flat_map(char::to_lowercase)
}

/// Case-insensitive equality; ASCII needs no allocation and no Unicode tables.
fn eq_ci(a: &str, b: &str) -> bool {
    if a.len() == b.len() && a.eq_ignore_ascii_case(b) {
        return true;
    }
    if a.is_ascii() && b.is_ascii() {
        return false;
    }
    folded(a).eq(folded(b))
}

fn str_eq(a: &str, b: &str, case_exact: bool) -> bool {
    if case_exact { a == b } else { eq_ci(a, b) }
}

fn str_cmp(a: &str, b: &str, case_exact: bool) -> Ordering {
    if case_exact {
        a.cmp(b)
    } else if a.is_ascii() && b.is_ascii() {
        a.bytes()
            .map(|c| c.to_ascii_lowercase())
            .cmp(b.bytes().map(|c| c.to_ascii_lowercase()))
    } else {
        folded(a).cmp(folded(b))
    }
}

/// `co`, `sw`, `ew` (RFC 7644 §3.4.2.2).
fn substring_match(op: CompareOp, s: &str, c: &str, case_exact: bool) -> bool {
    if case_exact {
        return match op {
            CompareOp::Co => s.contains(c),
            CompareOp::Sw => s.starts_with(c),
            _ => s.ends_with(c),
        };
    }
    if s.is_ascii() && c.is_ascii() {
        let (s, c) = (s.as_bytes(), c.as_bytes());
        return match op {
            CompareOp::Co => c.is_empty() || s.windows(c.len()).any(|w| w.eq_ignore_ascii_case(c)),
            CompareOp::Sw => s.get(..c.len()).is_some_and(|p| p.eq_ignore_ascii_case(c)),
            _ => s
                .len()
                .checked_sub(c.len())
                .and_then(|start| s.get(start..))
                .is_some_and(|p| p.eq_ignore_ascii_case(c)),
        };
    }
    // Folded character by character, as everywhere else (not `str::to_lowercase`, whose
    // final-sigma rule would make `co` disagree with `eq`).
    let (s, c): (String, String) = (folded(s).collect(), folded(c).collect());
    match op {
        CompareOp::Co => s.contains(&c),
        CompareOp::Sw => s.starts_with(&c),
        _ => s.ends_with(&c),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn case_insensitive_equality() {
        assert!(eq_ci("userName", "USERNAME"));
        assert!(!eq_ci("userName", "userNames"));
        assert!(eq_ci("Zürich", "ZÜRICH"));
        assert!(!eq_ci("Zürich", "Zurich"));
        assert!(eq_ci("", ""));
    }

    #[test]
    fn string_ordering() {
        assert_eq!(str_cmp("abc", "ABD", false), Ordering::Less);
        assert_eq!(str_cmp("abc", "ABC", false), Ordering::Equal);
        assert_eq!(str_cmp("abc", "ABC", true), Ordering::Greater);
        assert_eq!(str_cmp("ÄB", "äa", false), Ordering::Greater);
        assert_eq!(str_cmp("ab", "abc", false), Ordering::Less);
    }

    #[test]
    fn substrings() {
        use CompareOp::{Co, Ew, Sw};
        assert!(substring_match(Co, "bjensen@example.com", "EXAMPLE", false));
        assert!(!substring_match(Co, "bjensen@example.com", "EXAMPLE", true));
        assert!(substring_match(Co, "x", "", false));
        assert!(!substring_match(Co, "ab", "abc", false));
        assert!(substring_match(Sw, "Barbara", "bAR", false));
        assert!(!substring_match(Sw, "Ba", "Bar", false));
        assert!(substring_match(Ew, "Barbara", "ARA", false));
        assert!(!substring_match(Ew, "ra", "ara", false));
        assert!(substring_match(Co, "ÅNGSTRÖM Labs", "ström", false));
        assert!(substring_match(Ew, "Zürich", "RICH", false));
    }

    #[test]
    fn numbers() {
        let n = |v: serde_json::Value| match v {
            Value::Number(n) => n,
            other => panic!("{other}"),
        };
        let cmp = |a, b| cmp_numbers(&n(a), &n(b));
        assert_eq!(
            cmp(serde_json::json!(1), serde_json::json!(1.0)),
            Some(Ordering::Equal)
        );
        assert_eq!(
            cmp(serde_json::json!(-1), serde_json::json!(u64::MAX)),
            Some(Ordering::Less)
        );
        assert_eq!(
            cmp(serde_json::json!(u64::MAX), serde_json::json!(-1)),
            Some(Ordering::Greater)
        );
        assert_eq!(
            cmp(serde_json::json!(u64::MAX), serde_json::json!(u64::MAX - 1)),
            Some(Ordering::Greater)
        );
        assert_eq!(
            cmp(serde_json::json!(2.5), serde_json::json!(2)),
            Some(Ordering::Greater)
        );
        assert_eq!(
            cmp(serde_json::json!(i64::MIN), serde_json::json!(i64::MIN + 1)),
            Some(Ordering::Less)
        );
    }

    #[test]
    fn date_times() {
        assert!(parse_rfc3339("bjensen").is_none());
        assert!(parse_rfc3339("2011-05-13").is_none());
        assert!(parse_rfc3339("2011-05-13T04:42:34").is_none());
        assert_eq!(
            parse_rfc3339("2011-05-13T04:42:34Z"),
            parse_rfc3339("2011-05-13t06:42:34.000+02:00")
        );
        assert_eq!(
            parse_xsd_date_time("2011-05-13T04:42:34"),
            parse_rfc3339("2011-05-13T04:42:34Z")
        );
        assert!(parse_xsd_date_time("2011-05-13T04:42").is_none());
    }

    #[test]
    fn presence() {
        use serde_json::json;
        assert!(!is_present(&json!(null)));
        assert!(!is_present(&json!("")));
        assert!(!is_present(&json!([])));
        assert!(!is_present(&json!({})));
        assert!(!is_present(&json!([null, "", {"value": null}])));
        assert!(is_present(&json!(false)));
        assert!(is_present(&json!(0)));
        assert!(is_present(&json!([null, "x"])));
    }

    #[test]
    fn joined_urn() {
        let uri = "urn:ietf:params:scim:schemas:extension:enterprise:2.0";
        assert!(is_joined_urn(
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User",
            uri,
            "user"
        ));
        assert!(!is_joined_urn(
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:Us",
            uri,
            "user"
        ));
        assert!(!is_joined_urn(
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0/User",
            uri,
            "User"
        ));
        // A key of the right length whose char boundary is not at `uri.len()` must not panic.
        let key = format!("{}é:", "a".repeat(uri.len() - 1));
        assert_eq!(key.len(), uri.len() + 1 + "x".len());
        assert!(!is_joined_urn(&key, uri, "x"));
    }
}

//! Uniqueness (RFC 7643 §2.2 `uniqueness`) and case folding, as every store must apply them.

use super::StoreError;
use super::record::StoredResource;
use crate::schema::{AttributeType, ResourceTypeView, Uniqueness};
use serde_json::{Map, Value};

/// Case folding for case-insensitive comparison (RFC 7643 §2.2 `caseExact: false`), exactly
/// as the filter evaluator does it: Unicode lower-casing, character by character (so
/// `ΟΔΟΣ` folds to `οδοσ`). Stores that keep folded copies for indexes (a unique index on
/// `userName`, an SQL column) must fold with this function, in Rust: SQL's `lower()` is
/// ASCII-only in SQLite.
///
/// ```
/// assert_eq!(scim_core::store::fold_case("BJensen"), "bjensen");
/// assert_eq!(scim_core::store::fold_case("ÉLODIE"), "élodie");
/// ```
pub fn fold_case(s: &str) -> String {
    // The common case, and the same answer: ASCII letters lower-case to ASCII letters.
    if s.is_ascii() {
        return s.to_ascii_lowercase();
    }
    s.chars().flat_map(char::to_lowercase).collect()
}

/// An attribute whose values must be unique among the resources of one type in one tenant
/// (RFC 7643 §2.2 `uniqueness: server` or `global`; e.g. a User's `userName`, §4.1.1):
/// single-valued, not complex, anything but `id` (which is unique by construction).
///
/// [`unique_attributes`] lists them; [`UniqueAttribute::key`] is the value a store indexes
/// (folded unless `caseExact`), so that `bjensen` and `BJensen` collide.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub struct UniqueAttribute {
    /// The extension URN the attribute lives under (`None` for the core schema).
    pub uri: Option<String>,
    /// The attribute name, in schema case.
    pub name: String,
    /// Whether values compare exactly (`caseExact`, or binary); else case-folded.
    pub case_exact: bool,
}

/// The unique attributes of a resource type (see [`UniqueAttribute`]), core and common
/// attributes first, then each extension's, in schema order.
pub fn unique_attributes(view: &ResourceTypeView) -> Vec<UniqueAttribute> {
    let unique = |def: &crate::schema::AttributeDef| {
        def.uniqueness != Uniqueness::None
            && !def.multi_valued
            && def.attr_type != AttributeType::Complex
            && !def.name.eq_ignore_ascii_case("id")
    };
    let entry = |uri: Option<&str>, def: &crate::schema::AttributeDef| UniqueAttribute {
        uri: uri.map(str::to_owned),
        name: def.name.clone(),
        case_exact: def.case_exact || def.attr_type == AttributeType::Binary,
    };
    let mut out = Vec::new();
    for def in view
        .core_schema()
        .attributes
        .iter()
        .chain(view.common_attributes())
    {
        if unique(def) {
            out.push(entry(None, def));
        }
    }
    for (ext, _) in view.extensions() {
        for def in ext.attributes.iter().filter(|d| unique(d)) {
            out.push(entry(Some(&ext.id), def));
        }
    }
    out
}

impl UniqueAttribute {
    /// The attribute as a client names it, e.g. `userName` or
    /// `urn:…:enterprise:2.0:User:employeeNumber`.
    pub fn label(&self) -> String {
        match &self.uri {
            Some(uri) => format!("{uri}:{}", self.name),
            None => self.name.clone(),
        }
    }

    /// The attribute's value in a resource's attributes, if it has one.
    pub fn value<'a>(&self, attributes: &'a Map<String, Value>) -> Option<&'a Value> {
        let holder = match &self.uri {
            Some(uri) => attributes.get(uri)?.as_object()?,
            None => attributes,
        };
        holder.get(&self.name).filter(|v| !v.is_null())
    }

    /// The key a store indexes for this attribute's value: the string folded with
    /// [`fold_case`] unless `case_exact`; numbers and booleans as `\0` + their JSON text (so
    /// they never collide with a string). `None` when the resource has no value.
    pub fn key(&self, attributes: &Map<String, Value>) -> Option<String> {
        self.key_of(self.value(attributes)?)
    }

    /// [`key`](Self::key) of a string value.
    pub fn key_of_str(&self, value: &str) -> String {
        if self.case_exact {
            value.to_owned()
        } else {
            fold_case(value)
        }
    }

    /// [`key`](Self::key) of one value.
    pub fn key_of(&self, value: &Value) -> Option<String> {
        match value {
            Value::String(s) if self.case_exact => Some(s.clone()),
            Value::String(s) => Some(fold_case(s)),
            Value::Number(_) | Value::Bool(_) => Some(format!("\u{0}{value}")),
            _ => None,
        }
    }

    /// The [`StoreError::Uniqueness`] for a taken value, naming the attribute and the value
    /// the client sent (409 `uniqueness`, RFC 7644 §3.3).
    pub fn taken(&self, attributes: &Map<String, Value>) -> StoreError {
        let shown = match self.value(attributes) {
            Some(Value::String(s)) => s.clone(),
            Some(other) => other.to_string(),
            None => String::new(),
        };
        StoreError::Uniqueness(format!("{} `{shown}` is already taken", self.label()))
    }
}

impl StoredResource {
    /// The unique keys of this resource, one per [`UniqueAttribute`] of `attributes` that
    /// it has a value for, in that order.
    ///
    /// # Errors
    ///
    /// [`StoreError::Backend`] when stored text is not a JSON object.
    pub fn unique_keys<'u>(
        &self,
        attributes: &'u [UniqueAttribute],
    ) -> Result<Vec<(&'u UniqueAttribute, String)>, StoreError> {
        let map = self.attributes()?;
        Ok(attributes
            .iter()
            .filter_map(|u| u.key(&map).map(|k| (u, k)))
            .collect())
    }
}

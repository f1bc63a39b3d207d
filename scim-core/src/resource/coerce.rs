//! Checking and canonicalizing attribute values against their definitions
//! (RFC 7643 §2.1–§2.4).

use crate::error::{ScimError, ScimResult};
use crate::schema::{AttributeDef, AttributeType, Mutability};
use crate::tolerance::Tolerances;
use chrono::{DateTime, NaiveDateTime};
use serde_json::{Map, Value};
use std::collections::HashSet;
use std::fmt;

/// Checks and canonicalizes one attribute value against its definition (RFC 7643 §2.1–§2.4):
/// sub-attribute names in schema case, types right (with `tolerances` applied, e.g. string
/// booleans), multi-valued rules (one `primary`, exact duplicates collapsed). `path` names
/// the attribute in error details, e.g. `emails` or `name.givenName`.
///
/// For a multi-valued `def`, `value` is the whole array (a single object or scalar is
/// accepted as a one-element array).
///
/// The rules, by type (RFC 7643 §2.3):
///
/// * `string`, `reference`, `binary`: a JSON string. With
///   [`canonical_values_enforced`](AttributeDef::canonical_values_enforced), the string must
///   equal one of the canonical values case-insensitively and is stored in the canonical
///   spelling; otherwise canonical values are advisory (RFC 7643 §2.2) and not checked.
/// * `boolean`: a JSON boolean. With [`Tolerances::entra_string_booleans`], the strings
///   `"true"` / `"false"` in any case are accepted and stored as JSON booleans.
/// * `integer`: a JSON number without a fractional part (`1.5`, `2.0` and `"1"` are
///   rejected).
/// * `decimal`: any JSON number.
/// * `dateTime`: a string in xsd:dateTime form (RFC 3339, or without an offset); the
///   client's text is kept as sent.
/// * `complex`: a JSON object whose keys are sub-attribute names, matched
///   case-insensitively and stored in schema case (RFC 7643 §2.1). An **unknown
///   sub-attribute is an `invalidSyntax` error** (the body "did not conform to the request
///   schema", RFC 7644 §3.12): it is never silently dropped, so no client data is lost
///   without the client knowing. Sub-attributes whose value is `null` are dropped; an object
///   left empty is unassigned (`null`).
///
/// Multi-valued attributes (RFC 7643 §2.4): a single value is taken as a one-element array;
/// `null` elements are dropped; exact duplicates (compared after canonicalization) collapse
/// to their first occurrence; then, if several elements have `"primary": true`, the last one
/// keeps it and the others get `"primary": false` (setting a new primary clears the
/// others). An empty result is unassigned (`null`, RFC 7643 §2.5).
///
/// `null` input means "unassigned" (RFC 7643 §2.5) and is returned as `Value::Null`; callers
/// drop it.
///
/// With [`Tolerances::entra_manager_string`], a bare string given for a single-valued complex
/// attribute named `manager` that has a `value` sub-attribute (the Enterprise User
/// `manager`, RFC 7643 §4.3) becomes `{"value": "<string>"}`, and the empty string becomes
/// unassigned.
///
/// Read-only values are *not* removed here (see [`drop_read_only`]); this function checks
/// shape and type only.
///
/// # Errors
///
/// [`ScimError::InvalidValue`] for a value of the wrong type or outside enforced canonical
/// values, naming `path` and what is expected, e.g.
/// ``"`active` must be a boolean (true or false), got the string \"yes\""``;
/// [`ScimError::InvalidSyntax`] for an unknown sub-attribute.
pub fn coerce_attribute(
    def: &AttributeDef,
    value: Value,
    tolerances: &Tolerances,
    path: &str,
) -> ScimResult<Value> {
    coerce_at(def, value, tolerances, &path)
}

/// The path of a sub-attribute in error details (`name.givenName`), written only when an
/// error names it: valid values, the usual case, cost no string.
struct SubPath<'a>(&'a dyn fmt::Display, &'a str);

impl fmt::Display for SubPath<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}", self.0, self.1)
    }
}

/// [`coerce_attribute`] with the path as anything displayable.
fn coerce_at(
    def: &AttributeDef,
    value: Value,
    tolerances: &Tolerances,
    path: &dyn fmt::Display,
) -> ScimResult<Value> {
    if value.is_null() {
        return Ok(Value::Null);
    }
    if !def.multi_valued {
        return coerce_single(def, value, tolerances, path);
    }
    let items = match value {
        Value::Array(items) => items,
        other if tolerances.multi_valued_object_as_array => vec![other],
        other => {
            return Err(ScimError::InvalidValue(format!(
                "`{path}` is multi-valued: send its values in an array (`[…]`), got {} \
                 (RFC 7643 §2.4)",
                describe(&other)
            )));
        }
    };
    let mut out: Vec<Value> = Vec::with_capacity(items.len());
    // Exact duplicates collapse (RFC 7643 §2.4). A linear check is cheapest for the usual
    // handful of values; past that, hash the canonical JSON (object keys are ordered) so a
    // 100 000-member group stays O(n).
    let mut seen = (items.len() > SMALL_MULTI_VALUED).then(HashSet::new);
    for item in items {
        if item.is_array() {
            return Err(ScimError::InvalidValue(format!(
                "`{path}` must be an array of {}, got a nested array",
                expected(def)
            )));
        }
        let coerced = coerce_single(def, item, tolerances, path)?;
        if coerced.is_null() {
            continue;
        }
        let duplicate = match seen.as_mut() {
            Some(seen) => !seen.insert(coerced.to_string()),
            None => out.contains(&coerced),
        };
        if duplicate {
            continue;
        }
        out.push(coerced);
    }
    normalize_primary(&mut out);
    if out.is_empty() {
        return Ok(Value::Null);
    }
    Ok(Value::Array(out))
}

/// Up to this many values, duplicates are found by comparing values directly.
const SMALL_MULTI_VALUED: usize = 16;

/// Applies RFC 7643 §2.4 "primary" to coerced elements: if several have `primary: true`,
/// the last keeps it and the others get `primary: false`.
fn normalize_primary(items: &mut [Value]) {
    let is_primary = |v: &Value| v.get("primary").and_then(Value::as_bool) == Some(true);
    let Some(last) = items.iter().rposition(is_primary) else {
        return;
    };
    for (i, item) in items.iter_mut().enumerate() {
        if i == last || !is_primary(item) {
            continue;
        }
        if let Some(obj) = item.as_object_mut() {
            obj.insert("primary".into(), Value::Bool(false));
        }
    }
}

fn coerce_single(
    def: &AttributeDef,
    value: Value,
    tolerances: &Tolerances,
    path: &dyn fmt::Display,
) -> ScimResult<Value> {
    match def.attr_type {
        AttributeType::String | AttributeType::Reference | AttributeType::Binary => match value {
            // U+0000 is a Unicode character, but no database text type stores it
            // (PostgreSQL refuses it outright): one rule for every store.
            Value::String(s) if s.contains('\0') => Err(ScimError::InvalidValue(format!(
                "`{path}` contains the character U+0000, which this service provider does not store"
            ))),
            Value::String(s) => canonical_string(def, s, path),
            Value::Null => Ok(Value::Null),
            other => Err(type_error(def, &other, path)),
        },
        AttributeType::Boolean => match value {
            Value::Bool(_) | Value::Null => Ok(value),
            Value::String(s) if tolerances.entra_string_booleans => {
                if s.eq_ignore_ascii_case("true") {
                    Ok(Value::Bool(true))
                } else if s.eq_ignore_ascii_case("false") {
                    Ok(Value::Bool(false))
                } else {
                    Err(type_error(def, &Value::String(s), path))
                }
            }
            other => Err(type_error(def, &other, path)),
        },
        AttributeType::Integer => match &value {
            Value::Number(n) if n.is_i64() || n.is_u64() => Ok(value),
            Value::Null => Ok(Value::Null),
            other => Err(type_error(def, other, path)),
        },
        AttributeType::Decimal => match &value {
            Value::Number(_) | Value::Null => Ok(value),
            other => Err(type_error(def, other, path)),
        },
        AttributeType::DateTime => match &value {
            Value::String(s) if is_xsd_date_time(s) => Ok(value),
            Value::Null => Ok(Value::Null),
            other => Err(type_error(def, other, path)),
        },
        AttributeType::Complex => match value {
            Value::Object(obj) => coerce_complex(def, obj, tolerances, path),
            Value::String(s)
                if tolerances.entra_manager_string
                    && !def.multi_valued
                    && def.name.eq_ignore_ascii_case("manager")
                    && def.sub_attribute("value").is_some() =>
            {
                if s.is_empty() {
                    return Ok(Value::Null);
                }
                let mut obj = Map::new();
                obj.insert("value".into(), Value::String(s));
                coerce_complex(def, obj, tolerances, path)
            }
            // Entra ID's legacy form of the single-valued reference: a one-element array,
            // `"manager": [{"value": "…"}]`.
            Value::Array(mut items)
                if tolerances.entra_manager_string
                    && !def.multi_valued
                    && items.len() == 1
                    && !items.first().is_some_and(Value::is_array)
                    && references_resources(def) =>
            {
                match items.pop() {
                    Some(item) => coerce_single(def, item, tolerances, path),
                    None => Ok(Value::Null),
                }
            }
            Value::Null => Ok(Value::Null),
            other => Err(type_error(def, &other, path)),
        },
    }
}

fn coerce_complex(
    def: &AttributeDef,
    obj: Map<String, Value>,
    tolerances: &Tolerances,
    path: &dyn fmt::Display,
) -> ScimResult<Value> {
    let mut out = Map::new();
    let reference = references_resources(def);
    for (key, value) in obj {
        let Some(sub) = def.sub_attribute(&key) else {
            if reference {
                continue;
            }
            return Err(ScimError::InvalidSyntax(format!(
                "`{path}` has no sub-attribute `{key}`{}",
                known_sub_attributes(def)
            )));
        };
        let coerced = coerce_at(sub, value, tolerances, &SubPath(path, &sub.name))?;
        if coerced.is_null() {
            out.remove(&sub.name);
            continue;
        }
        out.insert(sub.name.clone(), coerced);
    }
    if out.is_empty() {
        return Ok(Value::Null);
    }
    Ok(Value::Object(out))
}

/// Whether `def` is a reference to other SCIM resources (its `$ref` names resource types,
/// as Group `members`, User `groups` and the enterprise `manager` do). Such a value is
/// identified by its `value`; IdPs decorate it with attributes of the referenced resource
/// (`{"value": "…", "displayName": "B"}` on a member), which are ignored rather than
/// refused.
fn references_resources(def: &AttributeDef) -> bool {
    def.sub_attribute("$ref").is_some_and(|r| {
        !r.reference_types.is_empty()
            && r.reference_types
                .iter()
                .all(|t| !matches!(t.as_str(), "external" | "uri"))
    })
}

fn known_sub_attributes(def: &AttributeDef) -> String {
    if def.sub_attributes.is_empty() {
        return String::new();
    }
    let names: Vec<&str> = def.sub_attributes.iter().map(|s| s.name.as_str()).collect();
    format!(" (known: {})", names.join(", "))
}

fn canonical_string(def: &AttributeDef, s: String, path: &dyn fmt::Display) -> ScimResult<Value> {
    if !def.canonical_values_enforced || def.canonical_values.is_empty() {
        return Ok(Value::String(s));
    }
    match def
        .canonical_values
        .iter()
        .find(|c| c.eq_ignore_ascii_case(&s))
    {
        Some(c) => Ok(Value::String(c.clone())),
        None => Err(ScimError::InvalidValue(format!(
            "`{path}` must be one of {}, got the string {}",
            def.canonical_values
                .iter()
                .map(|c| format!("\"{c}\""))
                .collect::<Vec<_>>()
                .join(", "),
            Value::String(s)
        ))),
    }
}

/// Whether `s` is an xsd:dateTime (RFC 7643 §2.3.5): RFC 3339, or without an offset.
pub(crate) fn is_xsd_date_time(s: &str) -> bool {
    DateTime::parse_from_rfc3339(s).is_ok()
        || NaiveDateTime::parse_from_str(s, "%Y-%m-%dT%H:%M:%S%.f").is_ok()
}

fn expected(def: &AttributeDef) -> &'static str {
    match def.attr_type {
        AttributeType::String => "a string",
        AttributeType::Reference => "a reference (a URI string)",
        AttributeType::Binary => "a base64-encoded string",
        AttributeType::Boolean => "a boolean (true or false)",
        AttributeType::Integer => "an integer (a number without a fractional part)",
        AttributeType::Decimal => "a decimal number",
        AttributeType::DateTime => "a dateTime string such as \"2008-01-23T04:56:22Z\"",
        AttributeType::Complex => "an object",
    }
}

fn describe(value: &Value) -> String {
    match value {
        Value::Null => "null".into(),
        Value::Bool(b) => format!("the boolean {b}"),
        Value::Number(n) => format!("the number {n}"),
        Value::String(_) => format!("the string {value}"),
        Value::Array(_) => "an array".into(),
        Value::Object(_) => "an object".into(),
    }
}

fn type_error(def: &AttributeDef, value: &Value, path: &dyn fmt::Display) -> ScimError {
    ScimError::InvalidValue(format!(
        "`{path}` must be {}, got {}",
        expected(def),
        describe(value)
    ))
}

/// Removes values a client may not set from a coerced attribute value: `readOnly`
/// sub-attributes (RFC 7643 §2.2: "any values provided SHALL be ignored"), recursively.
/// Returns `Value::Null` when `def` itself is `readOnly` or nothing is left.
///
/// Used on POST/PUT bodies ([`Resource::from_client`](super::Resource::from_client)) and
/// available to PATCH.
pub fn drop_read_only(def: &AttributeDef, value: Value) -> Value {
    if def.mutability == Mutability::ReadOnly {
        return Value::Null;
    }
    if def.attr_type != AttributeType::Complex {
        return value;
    }
    match value {
        Value::Array(items) => {
            let items: Vec<Value> = items
                .into_iter()
                .map(|item| drop_read_only_complex(def, item))
                .filter(|v| !v.is_null())
                .collect();
            if items.is_empty() {
                Value::Null
            } else {
                Value::Array(items)
            }
        }
        other => drop_read_only_complex(def, other),
    }
}

fn drop_read_only_complex(def: &AttributeDef, value: Value) -> Value {
    let Value::Object(mut obj) = value else {
        return value;
    };
    // In place: an object without read-only parts (the usual case) keeps its allocation.
    obj.retain(|key, v| {
        if let Some(sub) = def.sub_attribute(key) {
            *v = drop_read_only(sub, std::mem::take(v));
        }
        !v.is_null()
    });
    if obj.is_empty() {
        Value::Null
    } else {
        Value::Object(obj)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use serde_json::json;

    fn emails() -> AttributeDef {
        AttributeDef::complex(
            "emails",
            vec![
                AttributeDef::string("value"),
                AttributeDef::string("type"),
                AttributeDef::boolean("primary"),
            ],
        )
        .multi_valued()
    }

    #[test]
    fn booleans_strict_and_tolerant() {
        let def = AttributeDef::boolean("active");
        let strict = Tolerances::strict();
        let lax = Tolerances::default();
        assert_eq!(
            coerce_attribute(&def, json!("False"), &lax, "active").unwrap(),
            json!(false)
        );
        assert_eq!(
            coerce_attribute(&def, json!("TRUE"), &lax, "active").unwrap(),
            json!(true)
        );
        let err = coerce_attribute(&def, json!("False"), &strict, "active").unwrap_err();
        assert!(matches!(err, ScimError::InvalidValue(_)));
        let err = coerce_attribute(&def, json!("yes"), &lax, "active").unwrap_err();
        assert_eq!(
            err.detail(),
            "`active` must be a boolean (true or false), got the string \"yes\""
        );
    }

    #[test]
    fn integers_and_decimals() {
        let int = AttributeDef::integer("n");
        let dec = AttributeDef::decimal("d");
        let t = Tolerances::default();
        assert_eq!(coerce_attribute(&int, json!(3), &t, "n").unwrap(), json!(3));
        assert!(coerce_attribute(&int, json!(1.5), &t, "n").is_err());
        assert!(coerce_attribute(&int, json!(2.0), &t, "n").is_err());
        assert!(coerce_attribute(&int, json!("1"), &t, "n").is_err());
        assert_eq!(
            coerce_attribute(&dec, json!(1.5), &t, "d").unwrap(),
            json!(1.5)
        );
        assert_eq!(coerce_attribute(&dec, json!(2), &t, "d").unwrap(), json!(2));
    }

    #[test]
    fn multi_valued_rules() {
        let t = Tolerances::default();
        let out = coerce_attribute(
            &emails(),
            json!([
                {"VALUE": "a@x", "Primary": true},
                null,
                {"value": "b@x", "primary": "true"},
                {"value": "a@x", "primary": true},
            ]),
            &t,
            "emails",
        )
        .unwrap();
        assert_eq!(
            out,
            json!([{"value": "a@x", "primary": false}, {"value": "b@x", "primary": true}])
        );
        let single = coerce_attribute(&emails(), json!({"value": "c@x"}), &t, "emails");
        let err = single.unwrap_err();
        assert!(matches!(err, ScimError::InvalidValue(_)), "{err}");
        assert!(
            err.to_string().contains("`emails` is multi-valued"),
            "{err}"
        );
        let lenient = Tolerances::lenient();
        let single = coerce_attribute(&emails(), json!({"value": "c@x"}), &lenient, "emails");
        assert_eq!(single.unwrap(), json!([{"value": "c@x"}]));
        assert_eq!(
            coerce_attribute(&emails(), json!([]), &t, "emails").unwrap(),
            Value::Null
        );
        let err = coerce_attribute(&emails(), json!([{"valeu": "x"}]), &t, "emails").unwrap_err();
        assert!(matches!(err, ScimError::InvalidSyntax(_)), "{err}");
    }

    #[test]
    fn manager_string_tolerance() {
        let manager = AttributeDef::complex(
            "manager",
            vec![
                AttributeDef::string("value"),
                AttributeDef::string("displayName"),
            ],
        );
        let out = coerce_attribute(
            &manager,
            json!("26118915"),
            &Tolerances::default(),
            "manager",
        )
        .unwrap();
        assert_eq!(out, json!({"value": "26118915"}));
        assert!(
            coerce_attribute(
                &manager,
                json!("26118915"),
                &Tolerances::strict(),
                "manager"
            )
            .is_err()
        );
    }

    #[test]
    fn date_times_keep_client_text() {
        let def = AttributeDef::date_time("expires");
        let t = Tolerances::default();
        for ok in [
            "2008-01-23T04:56:22Z",
            "2008-01-23T04:56:22.123+02:00",
            "2008-01-23T04:56:22",
        ] {
            assert_eq!(
                coerce_attribute(&def, json!(ok), &t, "expires").unwrap(),
                json!(ok)
            );
        }
        for bad in ["2008-01-23", "yesterday", "2008-13-23T04:56:22Z"] {
            assert!(
                coerce_attribute(&def, json!(bad), &t, "expires").is_err(),
                "{bad}"
            );
        }
    }

    #[test]
    fn enforced_canonical_values() {
        let def = AttributeDef::string("type")
            .canonical_values(["work", "home"])
            .enforce_canonical_values();
        let t = Tolerances::default();
        assert_eq!(
            coerce_attribute(&def, json!("WORK"), &t, "type").unwrap(),
            json!("work")
        );
        assert!(coerce_attribute(&def, json!("other"), &t, "type").is_err());
    }
}

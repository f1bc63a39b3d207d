//! SCIM resources: schema-checked attribute trees (RFC 7643 §3).

use crate::error::ScimResult;
use crate::schema::AttributeDef;
use crate::tolerance::Tolerances;
use serde_json::Value;

/// Checks and canonicalizes one attribute value against its definition (RFC 7643 §2.1–§2.4):
/// sub-attribute names in schema case, types right (with `tolerances` applied, e.g. string
/// booleans), multi-valued rules (one `primary`, exact duplicates collapsed). `path` names
/// the attribute in error details, e.g. `emails` or `name.givenName`.
///
/// For a multi-valued `def`, `value` is the whole array (a single object or scalar is
/// accepted as a one-element array).
pub fn coerce_attribute(
    def: &AttributeDef,
    value: Value,
    tolerances: &Tolerances,
    path: &str,
) -> ScimResult<Value> {
    // Placeholder until the resource model lands: accept as is.
    let _ = (def, tolerances, path);
    Ok(value)
}

//! PATCH: modifying a resource with a list of operations (RFC 7644 §3.5.2).
//!
//! [`PatchRequest::from_json`] reads the request body (`schemas` with
//! [`PATCH_OP_SCHEMA`], `Operations`), [`apply_patch`] applies it to a resource in its JSON
//! representation (RFC 7643 §3: core attributes at the top level, extension attributes in an
//! object under the extension schema URN, plus `schemas`, `id`, `meta`).
//!
//! # Guarantees
//!
//! * **Atomic** (RFC 7644 §3.5.2: "If a PATCH operation fails, none of the changes are
//!   applied"): operations apply in order to a working copy; if one fails, the error is
//!   returned and the caller's resource is untouched. [`apply_patch_in_place`] keeps the
//!   same guarantee with an undo log instead of a copy.
//! * **`changed` is exact**: [`PatchOutcome::changed`] is `false` when the result equals
//!   the original (a `replace` with the current value, an `add` of an existing member), so a
//!   no-op does not bump `meta.version`. `meta` is never modified here.
//! * **Canonical output**: names in schema case (RFC 7643 §2.1) whatever case the client
//!   wrote; values checked and canonicalized with
//!   [`coerce_attribute`](crate::resource::coerce_attribute); unassigned attributes
//!   (`null`, `[]`, `{}`; RFC 7643 §2.5) dropped; extension attributes always under their
//!   URN key (never as a key containing `:` or `.`); `schemas` recomputed (core schema plus
//!   exactly the extensions present) whenever an extension was touched.
//!
//! # Paths (RFC 7644 §3.5.2, §3.10)
//!
//! Every form of `PATH = attrPath / valuePath [subAttr]` is resolved case-insensitively
//! against the resource type's schemas:
//!
//! | path | target |
//! | --- | --- |
//! | `title`, `name.familyName` | core attribute / sub-attribute |
//! | `urn:ietf:params:scim:schemas:core:2.0:User:name.familyName` | the same, URN-qualified |
//! | `urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.value` | extension attribute / sub-attribute (under the URN key) |
//! | `urn:ietf:params:scim:schemas:extension:enterprise:2.0:User` | the whole extension object |
//! | `emails[type eq "work"]`, `emails[type eq "work"].value` | the matching elements / their sub-attribute |
//!
//! An unknown attribute, sub-attribute or schema in a `path` is `invalidPath` (the path
//! names nothing the schema defines); `noTarget` is kept for paths that are valid but select
//! nothing. An unknown key in a path-less `value` is `invalidSyntax` ("did not conform to
//! the request schema"), as for unknown attributes in POST and PUT bodies
//! ([`Resource::from_client`](crate::resource::Resource::from_client)).
//!
//! # Operations
//!
//! **`add`** (RFC 7644 §3.5.2.1): a single-valued attribute is set; a complex single-valued
//! attribute gets the given sub-attributes merged in; a multi-valued attribute gets the new
//! elements appended, skipping elements equal to an existing one, and, for attributes whose
//! `value` sub-attribute is `immutable` (Group `members`), elements whose `value` is
//! already present (JumpCloud repeats `add members` for existing members). A new element
//! with `"primary": true` clears `primary` on the others (RFC 7643 §2.4). With a filter,
//! the value (an object, or the sub-attribute's value) is merged into every matching
//! element; no match is `noTarget`, unless
//! [`entra_value_path_creates`](Tolerances::entra_value_path_creates) creates one element
//! from the filter's `eq` conditions.
//!
//! **`replace`** (RFC 7644 §3.5.2.3): a multi-valued attribute's whole list is replaced
//! (`[]` empties it; a single object is a one-element list); a complex single-valued target
//! named by the path gets the given sub-attributes replaced and the others left unchanged
//! (the RFC's rule for complex targets); a missing target is added. With a filter, matching
//! elements get the value merged in (RFC 7644 §3.5.2.3's "work address" example), and no
//! match is `noTarget` (or creates, as for `add`).
//!
//! **No `path`** (`add` and `replace`): `value` is an object of attributes. Keys are
//! attribute names, extension URNs with an object of that extension's attributes, and, with
//! [`entra_dotted_patch_keys`](Tolerances::entra_dotted_patch_keys), dotted
//! (`name.givenName`) or URN-qualified (`urn:…:enterprise:2.0:User:department`) names. For
//! `add` each attribute is added as above; for `replace` each named attribute is replaced
//! as a whole (a complex attribute's unnamed sub-attributes are cleared; use
//! `name.givenName` to change one), and attributes not named are left unchanged. A
//! `schemas` key is ignored (it is derived).
//!
//! **`remove`** (RFC 7644 §3.5.2.2): needs a `path` (`noTarget` otherwise). The attribute,
//! sub-attribute, matching elements or sub-attribute of matching elements are removed; a
//! filter that matches nothing is `noTarget`; removing an absent attribute is a no-op. A
//! multi-valued attribute left empty is unassigned. `remove` with `path: "members"` and a
//! `value` list removes exactly the listed members with
//! [`entra_remove_members_by_value`](Tolerances::entra_remove_members_by_value); without
//! it the RFC applies: "the attribute and all values are removed" (the `value` is ignored).
//! Removing the whole extension object (`path` = its URN) is allowed unless the resource
//! type requires the extension.
//!
//! **Multi-valued sub-attribute without a filter** (`emails.display`): the RFC leaves this
//! open; here `remove` removes the sub-attribute from every element, and `add`/`replace`
//! set it on every element (or create one element when there are none).
//!
//! # Mutability (RFC 7643 §2.2)
//!
//! * A `readOnly` attribute or sub-attribute named by a `path` is a `mutability` error.
//! * A `readOnly` attribute named as a key of a path-less value (Okta sends `id` with a group
//!   rename) is dropped with
//!   [`okta_ignore_read_only_in_patch`](Tolerances::okta_ignore_read_only_in_patch);
//!   without it, it is a `mutability` error unless the value equals the current one (so a
//!   client echoing the resource's own `id` is harmless).
//! * `readOnly` sub-attributes inside a value (e.g. the Enterprise `manager.displayName`)
//!   are ignored, as RFC 7643 §2.2 prescribes for values a client may not set.
//! * An `immutable` attribute or sub-attribute may be set while unassigned; changing or
//!   removing an assigned value is a `mutability` error (setting the same value is allowed).
//! * Removing a `required` attribute (User `userName`, Group `displayName`), setting it to
//!   `null` or `""`, or removing a required extension is `invalidValue` ("a required value was missing", RFC 7644 §3.12): the
//!   check runs after all operations, so `remove` followed by `add` of a required
//!   attribute succeeds.
//!
//! # Example
//!
//! ```
//! use scim_core::patch::{PatchRequest, apply_patch};
//! use scim_core::schema::SchemaRegistry;
//! use scim_core::Tolerances;
//! use serde_json::json;
//!
//! let registry = SchemaRegistry::default();
//! let users = registry.resource_type("User").expect("built in");
//! let user = json!({
//!     "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
//!     "id": "2819c223-7f76-453a-919d-413861904646",
//!     "userName": "bjensen",
//!     "active": true,
//! });
//! // What Microsoft Entra ID sends to deactivate a user:
//! let body = json!({
//!     "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
//!     "Operations": [{"op": "Replace", "path": "active", "value": "False"}],
//! });
//! let tolerances = Tolerances::default();
//! let request = PatchRequest::from_json(&body, &tolerances)?;
//! let outcome = apply_patch(users, user.as_object().expect("object"), &request, &tolerances)?;
//! assert!(outcome.changed);
//! assert_eq!(outcome.resource["active"], json!(false));
//! # Ok::<(), scim_core::ScimError>(())
//! ```

mod engine;

use crate::error::{ScimError, ScimResult};
use crate::resource::Resource;
use crate::schema::ResourceTypeView;
use crate::tolerance::Tolerances;
use scim_filter::PatchPath;
use serde_json::{Map, Value};

/// The PATCH request message schema URN (RFC 7644 §3.5.2).
pub const PATCH_OP_SCHEMA: &str = "urn:ietf:params:scim:api:messages:2.0:PatchOp";

/// The `op` of a PATCH operation (RFC 7644 §3.5.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PatchOp {
    /// `add` (RFC 7644 §3.5.2.1).
    Add,
    /// `remove` (RFC 7644 §3.5.2.2).
    Remove,
    /// `replace` (RFC 7644 §3.5.2.3).
    Replace,
}

impl PatchOp {
    /// The RFC 7644 §3.5.2 spelling: `add`, `remove` or `replace`.
    pub fn as_str(self) -> &'static str {
        match self {
            PatchOp::Add => "add",
            PatchOp::Remove => "remove",
            PatchOp::Replace => "replace",
        }
    }

    /// Reads an `op` value (RFC 7644 §3.5.2). Only lower-case is accepted unless
    /// [`Tolerances::entra_capitalized_ops`] is on (Entra ID sends `"Replace"`).
    ///
    /// # Errors
    ///
    /// [`ScimError::InvalidSyntax`] naming the accepted values.
    pub fn parse(op: &str, tolerances: &Tolerances) -> ScimResult<Self> {
        for candidate in [PatchOp::Add, PatchOp::Remove, PatchOp::Replace] {
            let name = candidate.as_str();
            if op == name || (tolerances.entra_capitalized_ops && op.eq_ignore_ascii_case(name)) {
                return Ok(candidate);
            }
        }
        let hint = if ["add", "remove", "replace"]
            .iter()
            .any(|n| n.eq_ignore_ascii_case(op))
        {
            " (lower-case; enable the entra_capitalized_ops tolerance to accept other cases)"
        } else {
            ""
        };
        Err(ScimError::InvalidSyntax(format!(
            "unknown PATCH op \"{op}\": expected \"add\", \"remove\" or \"replace\"{hint} \
             (RFC 7644 §3.5.2)"
        )))
    }
}

impl std::fmt::Display for PatchOp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One PATCH operation (RFC 7644 §3.5.2): `op`, optional `path`, optional `value`.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct PatchOperation {
    /// The operation.
    pub op: PatchOp,
    /// The parsed `path` (RFC 7644 §3.5.2, Figure 7); `None` targets the resource itself.
    pub path: Option<PatchPath>,
    /// The `value`; required for `add` and `replace`, optional for `remove` (see the
    /// [module docs](self) for Entra's member removal by value).
    pub value: Option<Value>,
}

impl PatchOperation {
    /// An operation from its parts.
    pub fn new(op: PatchOp, path: Option<PatchPath>, value: Option<Value>) -> Self {
        Self { op, path, value }
    }

    /// Reads one element of `Operations` (RFC 7644 §3.5.2). Member names (`op`, `path`,
    /// `value`) match case-insensitively; the path is parsed with
    /// [`scim_filter::parse_path`].
    ///
    /// # Errors
    ///
    /// * [`ScimError::InvalidSyntax`]: not an object, no `op`, unknown `op`, `path` not a
    ///   string.
    /// * [`ScimError::InvalidPath`] / [`ScimError::InvalidFilter`]: a malformed `path`.
    /// * [`ScimError::InvalidValue`]: `add` or `replace` without a `value`
    ///   (RFC 7644 §3.5.2.1: "The operation MUST contain a "value" member").
    pub fn from_json(operation: &Value, tolerances: &Tolerances) -> ScimResult<Self> {
        let Some(obj) = operation.as_object() else {
            return Err(ScimError::InvalidSyntax(
                "each PATCH operation must be a JSON object with \"op\", \"path\" and \"value\" \
                 (RFC 7644 §3.5.2)"
                    .into(),
            ));
        };
        let op = match engine::get_ci(obj, "op") {
            Some(Value::String(op)) => PatchOp::parse(op, tolerances)?,
            Some(other) => {
                return Err(ScimError::InvalidSyntax(format!(
                    "PATCH \"op\" must be a string, got {other}"
                )));
            }
            None => {
                return Err(ScimError::InvalidSyntax(
                    "a PATCH operation has no \"op\" (RFC 7644 §3.5.2)".into(),
                ));
            }
        };
        let path = match engine::get_ci(obj, "path") {
            None | Some(Value::Null) => None,
            Some(Value::String(path)) => Some(scim_filter::parse_path(path)?),
            Some(other) => {
                return Err(ScimError::InvalidSyntax(format!(
                    "PATCH \"path\" must be a string, got {other}"
                )));
            }
        };
        let value = engine::get_ci(obj, "value").cloned();
        if op != PatchOp::Remove && value.is_none() {
            return Err(ScimError::InvalidValue(format!(
                "a PATCH \"{op}\" operation needs a \"value\" (RFC 7644 §3.5.2)"
            )));
        }
        Ok(Self { op, path, value })
    }
}

/// A PATCH request (RFC 7644 §3.5.2): the ordered `Operations`.
#[derive(Debug, Clone, PartialEq, Default)]
#[non_exhaustive]
pub struct PatchRequest {
    /// The operations, applied in order.
    pub operations: Vec<PatchOperation>,
}

impl PatchRequest {
    /// A request with the given operations.
    pub fn new(operations: Vec<PatchOperation>) -> Self {
        Self { operations }
    }

    /// Reads a PATCH request body (RFC 7644 §3.5.2).
    ///
    /// `schemas` must list [`PATCH_OP_SCHEMA`] (RFC 7644 §3.5.2: "The body of each request
    /// MUST contain the "schemas" attribute with the URI value of
    /// "urn:ietf:params:scim:api:messages:2.0:PatchOp""); every IdP sends it, so its absence
    /// is refused in every mode. `Operations` is matched case-insensitively. An empty
    /// `Operations` array is accepted as a no-op only with
    /// [`Tolerances::empty_patch_operations`] (the RFC requires "one or more").
    ///
    /// # Errors
    ///
    /// [`ScimError::InvalidSyntax`] for a malformed body, and the errors of
    /// [`PatchOperation::from_json`], whose detail is prefixed with the operation's index,
    /// e.g. `Operations[1]: …`.
    pub fn from_json(body: &Value, tolerances: &Tolerances) -> ScimResult<Self> {
        let Some(obj) = body.as_object() else {
            return Err(ScimError::InvalidSyntax(
                "a PATCH body must be a JSON object (RFC 7644 §3.5.2)".into(),
            ));
        };
        let has_schema = match engine::get_ci(obj, "schemas") {
            Some(Value::Array(schemas)) => schemas.iter().any(|s| {
                s.as_str()
                    .is_some_and(|s| s.eq_ignore_ascii_case(PATCH_OP_SCHEMA))
            }),
            _ => false,
        };
        if !has_schema {
            return Err(ScimError::InvalidSyntax(format!(
                "a PATCH body's \"schemas\" must contain \"{PATCH_OP_SCHEMA}\" (RFC 7644 §3.5.2)"
            )));
        }
        let operations = match engine::get_ci(obj, "Operations") {
            Some(Value::Array(ops)) => ops,
            Some(_) => {
                return Err(ScimError::InvalidSyntax(
                    "PATCH \"Operations\" must be an array (RFC 7644 §3.5.2)".into(),
                ));
            }
            None => {
                return Err(ScimError::InvalidSyntax(
                    "a PATCH body needs an \"Operations\" array (RFC 7644 §3.5.2)".into(),
                ));
            }
        };
        check_not_empty(operations.len(), tolerances)?;
        let operations = operations
            .iter()
            .enumerate()
            .map(|(i, op)| {
                PatchOperation::from_json(op, tolerances)
                    .map_err(|e| engine::with_context(e, &format!("Operations[{i}]")))
            })
            .collect::<ScimResult<Vec<_>>>()?;
        Ok(Self { operations })
    }
}

fn check_not_empty(count: usize, tolerances: &Tolerances) -> ScimResult<()> {
    if count == 0 && !tolerances.empty_patch_operations {
        return Err(ScimError::InvalidSyntax(
            "PATCH \"Operations\" must contain at least one operation (RFC 7644 §3.5.2)".into(),
        ));
    }
    Ok(())
}

/// The result of [`apply_patch`] (RFC 7644 §3.5.2).
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct PatchOutcome {
    /// The modified resource (`meta` untouched: the caller updates `lastModified` and
    /// `version` when [`changed`](Self::changed)).
    pub resource: Map<String, Value>,
    /// Whether any attribute differs from the original.
    pub changed: bool,
}

/// Applies a PATCH request to a resource (RFC 7644 §3.5.2) and returns the new resource.
///
/// `resource` is the stored resource in its JSON representation (RFC 7643 §3). All
/// operations apply to a copy, in order; on error the copy is discarded. See the
/// [module docs](self) for the semantics.
///
/// # Errors
///
/// `invalidPath`, `invalidFilter`, `noTarget`, `mutability`, `invalidValue` or
/// `invalidSyntax` (RFC 7644 §3.12), each detail prefixed with the failing operation, e.g.
/// `Operations[1] (remove members[value eq "x"]): …`.
pub fn apply_patch(
    view: &ResourceTypeView,
    resource: &Map<String, Value>,
    request: &PatchRequest,
    tolerances: &Tolerances,
) -> ScimResult<PatchOutcome> {
    let mut resource = resource.clone();
    let changed = apply_patch_in_place(view, &mut resource, request, tolerances)?;
    Ok(PatchOutcome { resource, changed })
}

/// Applies a PATCH request to a resource in place (RFC 7644 §3.5.2); returns whether it
/// changed.
///
/// Atomic like [`apply_patch`]: on error every modification is undone before returning, so
/// `resource` is exactly as it was. Cheaper than [`apply_patch`] for large resources, since
/// only the attributes an operation touches are copied (an append to a 10 000-member group
/// copies nothing).
///
/// # Errors
///
/// As [`apply_patch`].
pub fn apply_patch_in_place(
    view: &ResourceTypeView,
    resource: &mut Map<String, Value>,
    request: &PatchRequest,
    tolerances: &Tolerances,
) -> ScimResult<bool> {
    check_not_empty(request.operations.len(), tolerances)?;
    engine::Engine::new(view, tolerances).run(resource, request)
}

/// Applies a PATCH request to a [`Resource`] in place (RFC 7644 §3.5.2); returns whether it
/// changed. Atomic: on error the resource is left exactly as it was (see
/// [`apply_patch_in_place`]).
///
/// # Errors
///
/// As [`apply_patch`].
pub fn patch_resource(
    view: &ResourceTypeView,
    resource: &mut Resource,
    request: &PatchRequest,
    tolerances: &Tolerances,
) -> ScimResult<bool> {
    apply_patch_in_place(view, resource.attributes_mut(), request, tolerances)
}

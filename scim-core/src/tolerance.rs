//! Named tolerances for real identity providers' deviations from RFC 7643/7644.
//!
//! Each switch accepts one well-known non-conformant request shape. All are on by default
//! ([`Tolerances::default`]) because refusing them breaks provisioning from Okta and
//! Microsoft Entra ID; [`Tolerances::strict`] turns every one off for a pure RFC mode.
//! Every switch's documentation quotes the request that needs it.

/// The set of IdP tolerances in force (see the module docs).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub struct Tolerances {
    /// Accept PATCH `op` values in any case. Entra ID sends
    /// `{"op": "Replace", "path": "active", "value": "False"}`; RFC 7644 §3.5.2 defines
    /// lower-case `add`, `remove`, `replace`.
    pub entra_capitalized_ops: bool,
    /// Accept the strings `"True"` / `"False"` (any case) for boolean attributes and store
    /// real booleans. Entra ID sends `{"op": "Replace", "path": "active", "value": "False"}`.
    pub entra_string_booleans: bool,
    /// Let `add`/`replace` on a filtered path create the element when no element matches,
    /// taking the filter's `eq` conditions as its initial values; several such operations
    /// fill one element. Entra ID sends
    /// `{"op": "add", "path": "emails[type eq \"work\"].value", "value": "b@example.com"}` and
    /// `{"op": "replace", "path": "addresses[type eq \"work\"].locality", "value": "Redmond"}`
    /// for users that have no work email or address yet (RFC 7644 §3.5.2.1 would be `noTarget`).
    pub entra_value_path_creates: bool,
    /// Treat `remove` with `path: "members"` and a `value` list as removing exactly the
    /// listed members (RFC 7644 §3.5.2.2 would remove every member and ignore the value).
    /// Entra ID sends
    /// `{"op": "Remove", "path": "members", "value": [{"value": "2819c223-…"}]}`.
    pub entra_remove_members_by_value: bool,
    /// Accept the enterprise `manager` as a bare string id and store it as
    /// `{"value": "<id>"}`. Entra ID sends
    /// `{"op": "Add", "path": "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager", "value": "26118915-…"}`.
    pub entra_manager_string: bool,
    /// Accept attribute keys in a path-less `add`/`replace` value that are dotted
    /// (`"name.givenName"`) or URN-qualified (`"urn:…:enterprise:2.0:User:department"`),
    /// as Entra ID sends:
    /// `{"op": "replace", "value": {"name.givenName": "Barbara", "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department": "Tour"}}`.
    pub entra_dotted_patch_keys: bool,
    /// Ignore read-only attributes (e.g. `id`, `meta`, `groups`) inside PATCH values instead
    /// of failing with `mutability`. Okta renames groups with
    /// `{"op": "replace", "value": {"id": "abf4dd94-…", "displayName": "Tour Guides"}}`.
    pub okta_ignore_read_only_in_patch: bool,
    /// Accept a PATCH with an empty `Operations` array as a no-op (RFC 7644 §3.5.2 requires
    /// at least one operation). Sent by clients that diff and find nothing to change.
    pub empty_patch_operations: bool,
}

impl Default for Tolerances {
    /// Every tolerance on: accept what Okta and Entra ID really send.
    fn default() -> Self {
        Self {
            entra_capitalized_ops: true,
            entra_string_booleans: true,
            entra_value_path_creates: true,
            entra_remove_members_by_value: true,
            entra_manager_string: true,
            entra_dotted_patch_keys: true,
            okta_ignore_read_only_in_patch: true,
            empty_patch_operations: true,
        }
    }
}

impl Tolerances {
    /// Every tolerance off: RFC 7643/7644 as written.
    pub fn strict() -> Self {
        Self {
            entra_capitalized_ops: false,
            entra_string_booleans: false,
            entra_value_path_creates: false,
            entra_remove_members_by_value: false,
            entra_manager_string: false,
            entra_dotted_patch_keys: false,
            okta_ignore_read_only_in_patch: false,
            empty_patch_operations: false,
        }
    }
}

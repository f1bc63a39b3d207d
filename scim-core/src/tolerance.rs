//! Named tolerances for real identity providers' deviations from RFC 7643/7644, and the
//! per-client compatibility [`Profile`]s that choose them.
//!
//! Each switch accepts one well-known non-conformant request shape, and its documentation
//! quotes the request that needs it. No switch accepts a request that is simply malformed
//! in a way no IdP needs: `schemas` missing or without the core URN, an unknown URN that
//! carries attributes, a filter that is not UTF-8, an `add`/`replace` on a value path that
//! matches nothing outside the canonical-value upsert — those are refused under every
//! profile.
//!
//! An operator gives each client (each token) a profile: [`Profile::strict`] (RFC as
//! written), [`Profile::entra`], [`Profile::okta`], [`Profile::lenient`] (every switch,
//! including those that accept malformed shapes), or a [`Profile::custom`] set. A client
//! without one gets the engine's default profile, [`Profile::standard`]: the tolerances Okta
//! and Entra ID need, and none that accepts a malformed shape (a single object for a
//! multi-valued attribute, an empty `Operations` array).

use std::borrow::Cow;

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
    /// Also unwraps the legacy one-element array of this single-valued attribute:
    /// `{"op": "replace", "path": "manager", "value": [{"value": "26118915-…"}]}`.
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
    /// Accept a single JSON object where a multi-valued attribute needs an array
    /// (`"emails": {"value": "b@example.com"}`) and store it as a one-element array.
    /// RFC 7643 §2.4 requires an array; some hand-written IdP connectors send the object.
    /// Off unless a client's profile names it (it accepts a malformed shape).
    pub multi_valued_object_as_array: bool,
}

impl Default for Tolerances {
    /// The tolerances Okta and Entra ID need, none of which accepts a malformed shape:
    /// every switch on except [`empty_patch_operations`](Self::empty_patch_operations) and
    /// [`multi_valued_object_as_array`](Self::multi_valued_object_as_array).
    fn default() -> Self {
        Self {
            empty_patch_operations: false,
            multi_valued_object_as_array: false,
            ..Self::lenient()
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
            multi_valued_object_as_array: false,
        }
    }

    /// Every tolerance on, including those that accept malformed shapes.
    pub fn lenient() -> Self {
        Self {
            entra_capitalized_ops: true,
            entra_string_booleans: true,
            entra_value_path_creates: true,
            entra_remove_members_by_value: true,
            entra_manager_string: true,
            entra_dotted_patch_keys: true,
            okta_ignore_read_only_in_patch: true,
            empty_patch_operations: true,
            multi_valued_object_as_array: true,
        }
    }

    /// What Microsoft Entra ID sends: every `entra_*` switch.
    pub fn entra() -> Self {
        Self {
            okta_ignore_read_only_in_patch: false,
            ..Self::default()
        }
    }

    /// What Okta sends: read-only attributes inside PATCH values.
    pub fn okta() -> Self {
        Self {
            okta_ignore_read_only_in_patch: true,
            ..Self::strict()
        }
    }
}

/// A client's compatibility profile: a name, shown in every audit event of its requests,
/// and the [`Tolerances`] in force for them. The authenticator attaches it to the client's
/// [`Principal`](crate::Principal); a principal without one gets the engine's default
/// profile ([`Profile::standard`] unless the host sets another).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Profile {
    name: Cow<'static, str>,
    tolerances: Tolerances,
}

impl Default for Profile {
    /// [`Profile::standard`].
    fn default() -> Self {
        Self::standard()
    }
}

impl Profile {
    /// The names of the built-in profiles, for [`Profile::builtin`]: `default`, `strict`,
    /// `entra`, `okta`, `lenient`.
    pub const BUILTIN: [&'static str; 5] = ["default", "strict", "entra", "okta", "lenient"];

    /// `default`: [`Tolerances::default`], what Okta and Entra ID need and nothing that
    /// accepts a malformed shape. Clients without a profile get it.
    pub fn standard() -> Self {
        Self::custom("default", Tolerances::default())
    }

    /// `strict`: [`Tolerances::strict`], RFC 7643/7644 as written.
    pub fn strict() -> Self {
        Self::custom("strict", Tolerances::strict())
    }

    /// `entra`: [`Tolerances::entra`], for a Microsoft Entra ID provisioning connection.
    pub fn entra() -> Self {
        Self::custom("entra", Tolerances::entra())
    }

    /// `okta`: [`Tolerances::okta`], for an Okta SCIM connection.
    pub fn okta() -> Self {
        Self::custom("okta", Tolerances::okta())
    }

    /// `lenient`: [`Tolerances::lenient`], every switch on, for a client known to send
    /// single objects for arrays or empty `Operations`.
    pub fn lenient() -> Self {
        Self::custom("lenient", Tolerances::lenient())
    }

    /// The built-in profile called `name` (one of [`Profile::BUILTIN`], ASCII
    /// case-insensitive), if any.
    pub fn builtin(name: &str) -> Option<Self> {
        Some(match name.to_ascii_lowercase().as_str() {
            "default" => Self::standard(),
            "strict" => Self::strict(),
            "entra" => Self::entra(),
            "okta" => Self::okta(),
            "lenient" => Self::lenient(),
            _ => return None,
        })
    }

    /// A profile of the host's own: `name` (for audit events) and `tolerances`.
    pub fn custom(name: impl Into<Cow<'static, str>>, tolerances: Tolerances) -> Self {
        Self {
            name: name.into(),
            tolerances,
        }
    }

    /// The name audit events show.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The tolerances in force for the client's requests.
    pub fn tolerances(&self) -> &Tolerances {
        &self.tolerances
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builtin_profiles_are_found_by_name() {
        for name in Profile::BUILTIN {
            let profile = Profile::builtin(name).map(|p| p.name().to_owned());
            assert_eq!(profile.as_deref(), Some(name));
        }
        assert_eq!(Profile::builtin("ENTRA"), Some(Profile::entra()));
        assert_eq!(Profile::builtin("onelogin"), None);
    }

    #[test]
    fn the_default_accepts_no_malformed_shape() {
        let default = Tolerances::default();
        assert!(!default.empty_patch_operations);
        assert!(!default.multi_valued_object_as_array);
        assert!(default.entra_capitalized_ops && default.okta_ignore_read_only_in_patch);
        assert_eq!(Profile::default().tolerances(), &default);
        assert_ne!(Tolerances::entra(), Tolerances::lenient());
        assert!(!Tolerances::okta().entra_string_booleans);
    }
}

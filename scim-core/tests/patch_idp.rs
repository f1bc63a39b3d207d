//! PATCH requests as real identity providers send them, each accepted with the default
//! [`Tolerances`] and handled per RFC 7644 §3.5.2 with [`Tolerances::strict`].
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use scim_core::patch::{PatchOutcome, PatchRequest, apply_patch};
use scim_core::schema::SchemaRegistry;
use scim_core::{ScimResult, ScimType, Tolerances};
use serde_json::{Value, json};

const ENTERPRISE: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";
const USER: &str = "urn:ietf:params:scim:schemas:core:2.0:User";
const GROUP: &str = "urn:ietf:params:scim:schemas:core:2.0:Group";
const USER_ID: &str = "2819c223-7f76-453a-919d-413861904646";
const GROUP_ID: &str = "abf4dd94-a4c0-4f67-89c9-76b03340cb9b";

/// Applies a complete PATCH body, exactly as received.
fn patch_body(
    resource_type: &str,
    resource: &Value,
    body: Value,
    tolerances: &Tolerances,
) -> ScimResult<PatchOutcome> {
    let registry = SchemaRegistry::default();
    let view = registry.resource_type(resource_type).unwrap();
    let request = PatchRequest::from_json(&body, tolerances)?;
    apply_patch(view, resource.as_object().unwrap(), &request, tolerances)
}

fn lenient(resource_type: &str, resource: &Value, body: Value) -> Value {
    let outcome = patch_body(resource_type, resource, body, &Tolerances::default()).unwrap();
    Value::Object(outcome.resource)
}

fn strict(resource_type: &str, resource: &Value, body: Value) -> ScimResult<PatchOutcome> {
    patch_body(resource_type, resource, body, &Tolerances::strict())
}

fn strict_error(resource_type: &str, resource: &Value, body: Value) -> ScimType {
    strict(resource_type, resource, body)
        .unwrap_err()
        .scim_type()
        .unwrap()
}

fn user() -> Value {
    json!({
        "schemas": [USER],
        "id": USER_ID,
        "externalId": "bjensen",
        "userName": "bjensen@example.com",
        "name": {"givenName": "Barbara", "familyName": "Jensen"},
        "displayName": "Babs Jensen",
        "active": true,
        "emails": [{"value": "babs@jensen.org", "type": "home"}],
        "meta": {"resourceType": "User", "version": "W/\"1\""}
    })
}

fn group(member_ids: &[&str]) -> Value {
    let mut g = json!({
        "schemas": [GROUP],
        "id": GROUP_ID,
        "displayName": "Tour Guides",
        "meta": {"resourceType": "Group", "version": "W/\"1\""}
    });
    if !member_ids.is_empty() {
        g["members"] = member_ids.iter().map(|id| json!({"value": id})).collect();
    }
    g
}

// ----- Microsoft Entra ID ----------------------------------------------------------------

#[test]
fn entra_capitalized_ops_and_string_boolean() {
    // Entra ID deactivating a user:
    let body = json!({
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
        "Operations": [{"op": "Replace", "path": "active", "value": "False"}]
    });
    let after = lenient("User", &user(), body.clone());
    assert_eq!(after["active"], json!(false), "stored as a JSON boolean");

    // Strict: "Replace" is not an RFC 7644 op.
    assert_eq!(strict_error("User", &user(), body), ScimType::InvalidSyntax);
}

#[test]
fn entra_add_and_remove_capitalized() {
    let body = json!({
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
        "Operations": [
            {"op": "Add", "path": "title", "value": "Tour Guide"},
            {"op": "Remove", "path": "displayName"}
        ]
    });
    let after = lenient("User", &user(), body.clone());
    assert_eq!(after["title"], json!("Tour Guide"));
    assert!(after.get("displayName").is_none());
    assert_eq!(strict_error("User", &user(), body), ScimType::InvalidSyntax);
}

#[test]
fn entra_string_booleans_strict_is_invalid_value() {
    // Lower-case op, so only the string boolean is non-conformant.
    let body = json!({
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
        "Operations": [{"op": "replace", "path": "active", "value": "False"}]
    });
    assert_eq!(
        lenient("User", &user(), body.clone())["active"],
        json!(false)
    );
    assert_eq!(strict_error("User", &user(), body), ScimType::InvalidValue);
}

#[test]
fn entra_path_less_value_with_dotted_and_urn_keys() {
    // Entra ID (with the aadOptscim062020 flag) updating several attributes at once:
    let body = json!({
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
        "Operations": [{
            "op": "replace",
            "value": {
                "name.givenName": "Barbara",
                "name.familyName": "Jensen-Smith",
                "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department": "Tour",
                "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager": "26118915-6090-4610-87e4-49d8ca9f808d"
            }
        }]
    });
    let after = lenient("User", &user(), body.clone());
    assert_eq!(
        after["name"],
        json!({"givenName": "Barbara", "familyName": "Jensen-Smith"})
    );
    assert_eq!(
        after[ENTERPRISE],
        json!({"department": "Tour", "manager": {"value": "26118915-6090-4610-87e4-49d8ca9f808d"}})
    );
    assert_eq!(after["schemas"], json!([USER, ENTERPRISE]));
    for key in after.as_object().unwrap().keys() {
        assert!(
            key == ENTERPRISE || !key.contains(':') && !key.contains('.'),
            "{key}"
        );
    }
    // Strict: keys must be attribute names (invalidSyntax, as in a POST/PUT body).
    assert_eq!(strict_error("User", &user(), body), ScimType::InvalidSyntax);
    let dotted_only = json!({
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
        "Operations": [{"op": "replace", "value": {"name.givenName": "Barbara"}}]
    });
    assert_eq!(
        strict_error("User", &user(), dotted_only),
        ScimType::InvalidSyntax
    );
}

#[test]
fn entra_add_work_email_creates_the_element() {
    // Entra ID adding a work email to a user that has none:
    let body = json!({
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
        "Operations": [{"op": "add", "path": "emails[type eq \"work\"].value", "value": "b@example.com"}]
    });
    let after = lenient("User", &user(), body.clone());
    assert_eq!(
        after["emails"],
        json!([
            {"value": "babs@jensen.org", "type": "home"},
            {"type": "work", "value": "b@example.com"}
        ])
    );
    // Applying it again finds the element it created: still one work email.
    let again = lenient("User", &after, body.clone());
    assert_eq!(again, after);
    // Strict: RFC 7644 §3.5.2 noTarget.
    assert_eq!(strict_error("User", &user(), body), ScimType::NoTarget);
}

#[test]
fn entra_work_address_fields_fill_one_element() {
    // Entra ID setting work address fields of a user without a work address:
    let body = json!({
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
        "Operations": [
            {"op": "Replace", "path": "addresses[type eq \"work\"].locality", "value": "Redmond"},
            {"op": "Replace", "path": "addresses[type eq \"work\"].postalCode", "value": "98052"},
            {"op": "Replace", "path": "addresses[type eq \"work\"].country", "value": "US"}
        ]
    });
    let after = lenient("User", &user(), body.clone());
    assert_eq!(
        after["addresses"],
        json!([{"type": "work", "locality": "Redmond", "postalCode": "98052", "country": "US"}])
    );
    let strict_body = json!({
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
        "Operations": [{"op": "replace", "path": "addresses[type eq \"work\"].locality", "value": "Redmond"}]
    });
    assert_eq!(
        strict_error("User", &user(), strict_body),
        ScimType::NoTarget
    );
}

#[test]
fn entra_update_existing_work_email_and_family_name() {
    // Entra ID's documented multi-valued update:
    let body = json!({
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
        "Operations": [
            {"op": "Replace", "path": "emails[type eq \"work\"].value", "value": "updatedEmail@microsoft.com"},
            {"op": "Replace", "path": "name.familyName", "value": "updatedFamilyName"}
        ]
    });
    let before = {
        let mut u = user();
        u["emails"] = json!([{"value": "babs@jensen.org", "type": "home"}, {"value": "old@example.com", "type": "work", "primary": true}]);
        u
    };
    let after = lenient("User", &before, body);
    assert_eq!(
        after["emails"],
        json!([
            {"value": "babs@jensen.org", "type": "home"},
            {"value": "updatedEmail@microsoft.com", "type": "work", "primary": true}
        ])
    );
    assert_eq!(after["name"]["familyName"], json!("updatedFamilyName"));
}

#[test]
fn entra_remove_members_by_value() {
    // Entra ID removing one member from a group:
    let body = json!({
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
        "Operations": [{
            "op": "Remove",
            "path": "members",
            "value": [{"value": "id1"}]
        }]
    });
    let before = group(&["id1", "id2", "id3"]);
    let after = lenient("Group", &before, body);
    assert_eq!(after, group(&["id2", "id3"]));

    // Several members, Entra's `$ref: null` form.
    let body = json!({
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
        "Operations": [{
            "op": "Remove",
            "path": "members",
            "value": [{"$ref": null, "value": "id1"}, {"$ref": null, "value": "id3"}]
        }]
    });
    assert_eq!(lenient("Group", &before, body), group(&["id2"]));

    // Strict (and lower-case op): RFC 7644 §3.5.2.2, "If the target location is a
    // multi-valued attribute and no filter is specified, the attribute and all values are
    // removed" — the value is not part of the RFC's remove.
    let body = json!({
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
        "Operations": [{"op": "remove", "path": "members", "value": [{"value": "id1"}]}]
    });
    let after = strict("Group", &before, body).unwrap();
    assert_eq!(Value::Object(after.resource), group(&[]));
}

#[test]
fn entra_remove_member_not_in_group_is_a_no_op() {
    let body = json!({
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
        "Operations": [{"op": "Remove", "path": "members", "value": [{"value": "nobody"}]}]
    });
    let outcome = patch_body("Group", &group(&["id1"]), body, &Tolerances::default()).unwrap();
    assert!(!outcome.changed);
}

#[test]
fn entra_add_members_with_null_ref() {
    // Entra ID's documented "add members" request:
    let body = json!({
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
        "Operations": [{
            "op": "Add",
            "path": "members",
            "value": [{"$ref": null, "value": "f648f8d5ea4e4cd38e9c"}]
        }]
    });
    let after = lenient("Group", &group(&["id1"]), body);
    assert_eq!(after, group(&["id1", "f648f8d5ea4e4cd38e9c"]));
}

#[test]
fn entra_manager_as_bare_string() {
    // Entra ID setting the manager:
    let body = json!({
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
        "Operations": [{
            "op": "Add",
            "path": "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager",
            "value": "26118915-6090-4610-87e4-49d8ca9f808d"
        }]
    });
    let after = lenient("User", &user(), body);
    assert_eq!(
        after[ENTERPRISE]["manager"],
        json!({"value": "26118915-6090-4610-87e4-49d8ca9f808d"})
    );
    assert_eq!(after["schemas"], json!([USER, ENTERPRISE]));

    // Strict, with a lower-case op: a complex attribute needs an object.
    let body = json!({
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
        "Operations": [{
            "op": "add",
            "path": "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager",
            "value": "26118915-6090-4610-87e4-49d8ca9f808d"
        }]
    });
    assert_eq!(strict_error("User", &user(), body), ScimType::InvalidValue);
    let body = json!({
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
        "Operations": [{
            "op": "add",
            "path": "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager",
            "value": {"value": "26118915-6090-4610-87e4-49d8ca9f808d"}
        }]
    });
    let after = strict("User", &user(), body).unwrap();
    assert_eq!(
        after.resource[ENTERPRISE]["manager"],
        json!({"value": "26118915-6090-4610-87e4-49d8ca9f808d"})
    );
}

// ----- Okta ------------------------------------------------------------------------------

#[test]
fn okta_deactivate_without_path() {
    // Okta deactivating a user:
    let body = json!({
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
        "Operations": [{"op": "replace", "value": {"active": false}}]
    });
    let outcome = patch_body("User", &user(), body.clone(), &Tolerances::default()).unwrap();
    assert!(outcome.changed);
    assert_eq!(outcome.resource["active"], json!(false));
    // Conformant request: the same in strict mode.
    let outcome = strict("User", &user(), body).unwrap();
    assert_eq!(outcome.resource["active"], json!(false));
}

#[test]
fn okta_group_rename_ignores_id() {
    // Okta renaming a group:
    let body = json!({
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
        "Operations": [{
            "op": "replace",
            "value": {"id": GROUP_ID, "displayName": "Tour Guides (EMEA)"}
        }]
    });
    let after = lenient("Group", &group(&["id1"]), body.clone());
    let mut expected = group(&["id1"]);
    expected["displayName"] = json!("Tour Guides (EMEA)");
    assert_eq!(after, expected);

    // Strict: echoing the group's own id is harmless...
    let outcome = strict("Group", &group(&["id1"]), body).unwrap();
    assert_eq!(Value::Object(outcome.resource), expected);
    // ...but a different id, or any other readOnly value, is a mutability error.
    let body = json!({
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
        "Operations": [{"op": "replace", "value": {"id": "other", "displayName": "X"}}]
    });
    assert_eq!(
        strict_error("Group", &group(&[]), body.clone()),
        ScimType::Mutability
    );
    let after = lenient("Group", &group(&[]), body);
    assert_eq!(after["id"], json!(GROUP_ID));
    let body = json!({
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
        "Operations": [{"op": "replace", "value": {"meta": {"version": "W/\"9\""}, "displayName": "X"}}]
    });
    assert_eq!(
        strict_error("Group", &group(&[]), body),
        ScimType::Mutability
    );
}

#[test]
fn okta_replace_members_with_empty_list_empties_group() {
    // Okta removing every member:
    let body = json!({
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
        "Operations": [{"op": "replace", "path": "members", "value": []}]
    });
    let outcome = patch_body(
        "Group",
        &group(&["id1", "id2"]),
        body.clone(),
        &Tolerances::default(),
    )
    .unwrap();
    assert!(outcome.changed);
    assert_eq!(Value::Object(outcome.resource), group(&[]));
    let outcome = strict("Group", &group(&["id1", "id2"]), body).unwrap();
    assert_eq!(Value::Object(outcome.resource), group(&[]));
}

#[test]
fn okta_add_members() {
    // Okta pushing group membership:
    let body = json!({
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
        "Operations": [{
            "op": "add",
            "path": "members",
            "value": [{"value": "id2", "display": "user2@example.com"}]
        }]
    });
    let after = lenient("Group", &group(&["id1"]), body);
    assert_eq!(
        after["members"],
        json!([{"value": "id1"}, {"value": "id2", "display": "user2@example.com"}])
    );
}

// ----- JumpCloud -------------------------------------------------------------------------

#[test]
fn jumpcloud_repeated_add_of_existing_member_adds_no_duplicate() {
    // JumpCloud re-sending membership it already pushed:
    let body = json!({
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
        "Operations": [{
            "op": "add",
            "path": "members",
            "value": [{"value": "id1", "display": "user1@example.com"}, {"value": "id2"}]
        }]
    });
    let once = patch_body(
        "Group",
        &group(&["id1"]),
        body.clone(),
        &Tolerances::default(),
    )
    .unwrap();
    assert!(once.changed);
    assert_eq!(
        once.resource["members"],
        json!([{"value": "id1"}, {"value": "id2"}])
    );
    let once = Value::Object(once.resource);
    let twice = patch_body("Group", &once, body.clone(), &Tolerances::default()).unwrap();
    assert!(!twice.changed, "repeated add is a no-op");
    assert_eq!(Value::Object(twice.resource), once);
    // Also in strict mode (this is RFC behaviour, not a tolerance).
    let twice = strict("Group", &once, body).unwrap();
    assert!(!twice.changed);
}

// ----- empty Operations ------------------------------------------------------------------

/// `{"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], "Operations": []}`:
/// refused (RFC 7644 §3.5.2 requires "one or more" operations) unless the client's profile
/// names `empty_patch_operations` (the `lenient` profile does).
#[test]
fn empty_operations_is_a_no_op_only_when_tolerated() {
    let body = json!({
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
        "Operations": []
    });
    let outcome = patch_body("User", &user(), body.clone(), &Tolerances::lenient()).unwrap();
    assert!(!outcome.changed);
    assert_eq!(Value::Object(outcome.resource), user());
    let refused = patch_body("User", &user(), body.clone(), &Tolerances::default()).unwrap_err();
    assert_eq!(refused.status(), 400);
    assert_eq!(refused.scim_type(), Some(ScimType::InvalidSyntax));
    assert_eq!(strict_error("User", &user(), body), ScimType::InvalidSyntax);
}

/// scim2-tester (and clients that send an extension as a sub-resource) include `schemas`
/// inside the value of a PATCH whose path is the extension URN:
/// `{"op": "add", "path": "urn:…:enterprise:2.0:User", "value": {"schemas": […], "employeeNumber": "7"}}`.
#[test]
fn extension_object_value_may_carry_schemas() {
    let registry = scim_core::schema::SchemaRegistry::default();
    let view = registry.resource_type("User").unwrap();
    let user = serde_json::json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
        "id": "1",
        "userName": "bjensen"
    });
    let request = scim_core::patch::PatchRequest::from_json(
        &serde_json::json!({
            "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
            "Operations": [{
                "op": "add",
                "path": "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User",
                "value": {
                    "schemas": ["urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"],
                    "employeeNumber": "7"
                }
            }]
        }),
        &scim_core::Tolerances::strict(),
    )
    .unwrap();
    let outcome = scim_core::patch::apply_patch(
        view,
        user.as_object().unwrap(),
        &request,
        &scim_core::Tolerances::strict(),
    )
    .unwrap();
    assert!(outcome.changed);
    assert_eq!(
        outcome.resource["urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"],
        serde_json::json!({"employeeNumber": "7"})
    );
}

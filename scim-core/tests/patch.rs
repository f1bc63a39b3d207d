//! PATCH engine (RFC 7644 §3.5.2): every example of RFC 7644 §3.5.2.1–§3.5.2.3, path forms,
//! atomicity, `changed`, mutability and errors.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use scim_core::patch::{
    PATCH_OP_SCHEMA, PatchOp, PatchOutcome, PatchRequest, apply_patch, apply_patch_in_place,
    patch_resource,
};
use scim_core::resource::Resource;
use scim_core::schema::SchemaRegistry;
use scim_core::{ScimError, ScimResult, ScimType, Tolerances};
use serde_json::{Map, Value, json};

const ENTERPRISE: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";
const USER: &str = "urn:ietf:params:scim:schemas:core:2.0:User";
const GROUP: &str = "urn:ietf:params:scim:schemas:core:2.0:Group";

const BABS: &str = "2819c223-7f76-453a-919d-413861904646";
const JAMES: &str = "08e1d05d-121c-4561-8b96-473d93df9210";
const OTHER: &str = "902c246b-6245-4190-8e05-00816be7344a";

fn obj(v: Value) -> Map<String, Value> {
    match v {
        Value::Object(m) => m,
        other => panic!("not an object: {other}"),
    }
}

fn patch_with(
    resource_type: &str,
    resource: &Value,
    operations: Value,
    tolerances: &Tolerances,
) -> ScimResult<PatchOutcome> {
    let registry = SchemaRegistry::default();
    let view = registry.resource_type(resource_type).unwrap();
    let body = json!({"schemas": [PATCH_OP_SCHEMA], "Operations": operations});
    let request = PatchRequest::from_json(&body, tolerances)?;
    let original = obj(resource.clone());
    let outcome = apply_patch(view, &original, &request, tolerances);
    // The in-place variant must agree, and leave the resource untouched on error.
    let mut in_place = original.clone();
    match (
        &outcome,
        apply_patch_in_place(view, &mut in_place, &request, tolerances),
    ) {
        (Ok(o), Ok(changed)) => {
            assert_eq!(o.changed, changed);
            assert_eq!(o.resource, in_place);
        }
        (Err(a), Err(b)) => {
            assert_eq!(a, &b);
            assert_eq!(in_place, original, "in-place PATCH not rolled back");
        }
        (a, b) => panic!("apply_patch {a:?} but apply_patch_in_place {b:?}"),
    }
    outcome
}

fn patch(resource_type: &str, resource: &Value, operations: Value) -> ScimResult<PatchOutcome> {
    patch_with(resource_type, resource, operations, &Tolerances::default())
}

fn patched(resource_type: &str, resource: &Value, operations: Value) -> Value {
    let outcome = patch(resource_type, resource, operations).unwrap();
    assert!(outcome.changed, "expected a change");
    Value::Object(outcome.resource)
}

fn scim_type(result: ScimResult<PatchOutcome>) -> ScimType {
    result.unwrap_err().scim_type().unwrap()
}

/// RFC 7643 §8.2-like full user.
fn user() -> Value {
    json!({
        "schemas": [USER, ENTERPRISE],
        "id": BABS,
        "externalId": "701984",
        "userName": "bjensen@example.com",
        "name": {
            "formatted": "Ms. Barbara J Jensen, III",
            "familyName": "Jensen",
            "givenName": "Barbara",
            "middleName": "Jane",
            "honorificPrefix": "Ms.",
            "honorificSuffix": "III"
        },
        "displayName": "Babs Jensen",
        "nickName": "Babs",
        "emails": [
            {"value": "bjensen@example.com", "type": "work", "primary": true},
            {"value": "babs@jensen.org", "type": "home"}
        ],
        "addresses": [
            {
                "type": "work",
                "streetAddress": "100 Universal City Plaza",
                "locality": "Hollywood",
                "region": "CA",
                "postalCode": "91608",
                "country": "USA",
                "formatted": "100 Universal City Plaza\nHollywood, CA 91608 USA",
                "primary": true
            },
            {
                "type": "home",
                "streetAddress": "456 Hollywood Blvd",
                "locality": "Hollywood",
                "region": "CA",
                "postalCode": "91608",
                "country": "USA"
            }
        ],
        "phoneNumbers": [
            {"value": "555-555-5555", "type": "work"},
            {"value": "555-555-4444", "type": "mobile"}
        ],
        "x509Certificates": [
            {"value": "MIIDQzCCAqygAwIBAgICEAAwDQYJKoZIhvcNAQEFBQAwTjELMAkGA1UEBhMCVVMx"}
        ],
        "userType": "Employee",
        "title": "Tour Guide",
        "active": true,
        ENTERPRISE: {
            "employeeNumber": "701984",
            "department": "Tour Operations",
            "manager": {
                "value": "26118915-6090-4610-87e4-49d8ca9f808d",
                "$ref": "../Users/26118915-6090-4610-87e4-49d8ca9f808d",
                "displayName": "John Smith"
            }
        },
        "meta": {
            "resourceType": "User",
            "created": "2010-01-23T04:56:22Z",
            "lastModified": "2011-05-13T04:42:34Z",
            "version": "W/\"3694e05e9dff591\"",
            "location": format!("https://example.com/v2/Users/{BABS}")
        }
    })
}

fn member(id: &str, display: &str) -> Value {
    json!({"value": id, "$ref": format!("https://example.com/v2/Users/{id}"), "display": display})
}

fn group(members: Vec<Value>) -> Value {
    let mut g = json!({
        "schemas": [GROUP],
        "id": "e9e30dba-f08f-4109-8486-d5c6a331660a",
        "displayName": "Tour Guides",
        "meta": {"resourceType": "Group", "version": "W/\"1\""}
    });
    if !members.is_empty() {
        g["members"] = Value::Array(members);
    }
    g
}

fn with(mut base: Value, key: &str, value: Value) -> Value {
    if value.is_null() {
        base.as_object_mut().unwrap().remove(key);
    } else {
        base[key] = value;
    }
    base
}

// ----- RFC 7644 §3.5.2.1 Add Operation ---------------------------------------------------

#[test]
fn rfc_3_5_2_1_add_member_to_group() {
    let before = group(vec![member(JAMES, "James Smith")]);
    let after = patched(
        "Group",
        &before,
        json!([{
            "op": "add",
            "path": "members",
            "value": [{
                "display": "Babs Jensen",
                "$ref": format!("https://example.com/v2/Users/{BABS}"),
                "value": BABS
            }]
        }]),
    );
    assert_eq!(
        after,
        group(vec![
            member(JAMES, "James Smith"),
            member(BABS, "Babs Jensen")
        ])
    );
}

#[test]
fn rfc_3_5_2_1_add_attributes_without_path() {
    let before = user();
    let after = patched(
        "User",
        &before,
        json!([{
            "op": "add",
            "value": {
                "emails": [{"value": "babs@jensen.org", "type": "home"}, {"value": "barbara@example.org", "type": "other"}],
                "nickname": "Babs2"
            }
        }]),
    );
    let mut expected = user();
    // The existing home email is not added twice; the new one is appended.
    expected["emails"]
        .as_array_mut()
        .unwrap()
        .push(json!({"value": "barbara@example.org", "type": "other"}));
    // `nickname` is stored in schema case.
    expected["nickName"] = json!("Babs2");
    assert_eq!(after, expected);
}

#[test]
fn rfc_3_5_2_1_add_to_absent_attribute_creates_it() {
    let before = with(user(), "nickName", Value::Null);
    let after = patched(
        "User",
        &before,
        json!([{"op": "add", "value": {"emails": [{"value": "babs@jensen.org", "type": "home"}], "nickname": "Babs"}}]),
    );
    assert_eq!(after, user());
}

// ----- RFC 7644 §3.5.2.2 Remove Operation ------------------------------------------------

#[test]
fn rfc_3_5_2_2_remove_all_members() {
    let before = group(vec![
        member(BABS, "Babs Jensen"),
        member(JAMES, "James Smith"),
    ]);
    let after = patched(
        "Group",
        &before,
        json!([{"op": "remove", "path": "members"}]),
    );
    assert_eq!(after, group(vec![]));
}

#[test]
fn rfc_3_5_2_2_remove_single_member() {
    let before = group(vec![
        member(BABS, "Babs Jensen"),
        member(JAMES, "James Smith"),
    ]);
    let after = patched(
        "Group",
        &before,
        json!([{"op": "remove", "path": format!("members[value eq \"{BABS}\"]")}]),
    );
    assert_eq!(after, group(vec![member(JAMES, "James Smith")]));
}

#[test]
fn rfc_3_5_2_2_remove_multiple_members() {
    let before = group(vec![
        member(BABS, "Babs Jensen"),
        member(JAMES, "James Smith"),
        member(OTHER, "Other"),
    ]);
    let after = patched(
        "Group",
        &before,
        json!([
            {"op": "remove", "path": format!("members[value eq \"{BABS}\"]")},
            {"op": "remove", "path": format!("members[value eq \"{OTHER}\"]")}
        ]),
    );
    assert_eq!(after, group(vec![member(JAMES, "James Smith")]));
}

#[test]
fn rfc_3_5_2_2_remove_and_add_a_member() {
    let before = group(vec![member(BABS, "Babs Jensen")]);
    let after = patched(
        "Group",
        &before,
        json!([
            {"op": "remove", "path": format!("members[value eq \"{BABS}\"]")},
            {"op": "add", "path": "members", "value": [member(JAMES, "James Smith")]}
        ]),
    );
    assert_eq!(after, group(vec![member(JAMES, "James Smith")]));
}

#[test]
fn rfc_3_5_2_2_replace_all_members_with_remove_then_add() {
    let before = group(vec![member(OTHER, "Other")]);
    let after = patched(
        "Group",
        &before,
        json!([
            {"op": "remove", "path": "members"},
            {"op": "add", "path": "members", "value": [
                member(BABS, "Babs Jensen"),
                member(JAMES, "James Smith")
            ]}
        ]),
    );
    assert_eq!(
        after,
        group(vec![
            member(BABS, "Babs Jensen"),
            member(JAMES, "James Smith")
        ])
    );
}

#[test]
fn rfc_3_5_2_2_remove_value_from_complex_multi_valued_attribute() {
    let before = with(
        user(),
        "emails",
        json!([
            {"value": "bjensen@example.com", "type": "work", "primary": true},
            {"value": "babs@jensen.org", "type": "home"},
            {"value": "b@example.org", "type": "work"}
        ]),
    );
    let after = patched(
        "User",
        &before,
        json!([{"op": "remove", "path": "emails[type eq \"work\" and value ew \"example.com\"]"}]),
    );
    assert_eq!(
        after["emails"],
        json!([{"value": "babs@jensen.org", "type": "home"}, {"value": "b@example.org", "type": "work"}])
    );
}

#[test]
fn rfc_3_5_2_2_remove_certificate_by_value() {
    let after = patched(
        "User",
        &user(),
        json!([{
            "op": "remove",
            "path": "x509Certificates[value eq \"MIIDQzCCAqygAwIBAgICEAAwDQYJKoZIhvcNAQEFBQAwTjELMAkGA1UEBhMCVVMx\"]"
        }]),
    );
    // The last value removed: the attribute is unassigned.
    assert_eq!(after, with(user(), "x509Certificates", Value::Null));
}

// ----- RFC 7644 §3.5.2.3 Replace Operation -----------------------------------------------

#[test]
fn rfc_3_5_2_3_replace_members() {
    let before = group(vec![member(OTHER, "Other")]);
    let after = patched(
        "Group",
        &before,
        json!([{
            "op": "replace",
            "path": "members",
            "value": [member(BABS, "Babs Jensen"), member(JAMES, "James Smith")]
        }]),
    );
    assert_eq!(
        after,
        group(vec![
            member(BABS, "Babs Jensen"),
            member(JAMES, "James Smith")
        ])
    );
}

#[test]
fn rfc_3_5_2_3_replace_work_address() {
    let after = patched(
        "User",
        &user(),
        json!([{
            "op": "replace",
            "path": "addresses[type eq \"work\"]",
            "value": {
                "type": "work",
                "streetAddress": "911 Universal City Plaza",
                "locality": "Hollywood",
                "region": "CA",
                "postalCode": "91608",
                "country": "US",
                "formatted": "911 Universal City Plaza\nHollywood, CA 91608 US",
                "primary": true
            }
        }]),
    );
    assert_eq!(
        after["addresses"][0],
        json!({
            "type": "work",
            "streetAddress": "911 Universal City Plaza",
            "locality": "Hollywood",
            "region": "CA",
            "postalCode": "91608",
            "country": "US",
            "formatted": "911 Universal City Plaza\nHollywood, CA 91608 US",
            "primary": true
        })
    );
    assert_eq!(after["addresses"][1], user()["addresses"][1]);
}

#[test]
fn rfc_3_5_2_3_replace_street_address_of_work_address() {
    let after = patched(
        "User",
        &user(),
        json!([{
            "op": "replace",
            "path": "addresses[type eq \"work\"].streetAddress",
            "value": "1010 Broadway Ave"
        }]),
    );
    let mut expected = user();
    expected["addresses"][0]["streetAddress"] = json!("1010 Broadway Ave");
    assert_eq!(after, expected);
}

#[test]
fn rfc_3_5_2_3_replace_attributes_without_path() {
    let after = patched(
        "User",
        &user(),
        json!([{
            "op": "replace",
            "value": {
                "emails": [
                    {"value": "bjensen@example.com", "type": "work", "primary": true},
                    {"value": "babs@jensen.org", "type": "home"}
                ],
                "nickname": "Barbie"
            }
        }]),
    );
    assert_eq!(after, with(user(), "nickName", json!("Barbie")));

    let after = patched(
        "User",
        &user(),
        json!([{"op": "replace", "value": {"emails": [{"value": "new@example.com", "type": "work"}]}}]),
    );
    assert_eq!(
        after["emails"],
        json!([{"value": "new@example.com", "type": "work"}])
    );
}

// ----- path forms ------------------------------------------------------------------------

#[test]
fn sub_attribute_and_case_insensitive_names() {
    let after = patched(
        "User",
        &user(),
        json!([{"op": "replace", "path": "NAME.GIVENNAME", "value": "Babs"}]),
    );
    let mut expected = user();
    expected["name"]["givenName"] = json!("Babs");
    assert_eq!(after, expected);
}

#[test]
fn core_urn_qualified_path() {
    let after = patched(
        "User",
        &user(),
        json!([{"op": "replace", "path": format!("{USER}:name.familyName"), "value": "Jensen-Smith"}]),
    );
    let mut expected = user();
    expected["name"]["familyName"] = json!("Jensen-Smith");
    assert_eq!(after, expected);
}

fn assert_no_urn_keys(resource: &Value) {
    for key in resource.as_object().unwrap().keys() {
        assert!(
            key == ENTERPRISE || !key.contains(':') && !key.contains('.'),
            "unexpected key `{key}`"
        );
    }
    if let Some(ext) = resource.get(ENTERPRISE) {
        for key in ext.as_object().unwrap().keys() {
            assert!(
                !key.contains(':') && !key.contains('.'),
                "unexpected key `{key}`"
            );
        }
    }
}

#[test]
fn extension_urn_path_writes_under_the_extension_object() {
    let before = with(
        with(user(), ENTERPRISE, Value::Null),
        "schemas",
        json!([USER]),
    );
    let after = patched(
        "User",
        &before,
        json!([{"op": "add", "path": format!("{ENTERPRISE}:department"), "value": "Tour Operations"}]),
    );
    assert_no_urn_keys(&after);
    assert_eq!(after[ENTERPRISE], json!({"department": "Tour Operations"}));
    assert_eq!(after["schemas"], json!([USER, ENTERPRISE]));
}

#[test]
fn extension_urn_sub_attribute_path() {
    let after = patched(
        "User",
        &user(),
        json!([{"op": "replace", "path": format!("{ENTERPRISE}:manager.value"), "value": OTHER}]),
    );
    assert_no_urn_keys(&after);
    assert_eq!(after[ENTERPRISE]["manager"]["value"], json!(OTHER));
    assert_eq!(after[ENTERPRISE]["department"], json!("Tour Operations"));
}

#[test]
fn extension_urn_itself_as_path() {
    let before = with(
        with(user(), ENTERPRISE, Value::Null),
        "schemas",
        json!([USER]),
    );
    let after = patched(
        "User",
        &before,
        json!([{"op": "add", "path": ENTERPRISE, "value": {"employeeNumber": "1", "costCenter": "4130"}}]),
    );
    assert_no_urn_keys(&after);
    assert_eq!(
        after[ENTERPRISE],
        json!({"employeeNumber": "1", "costCenter": "4130"})
    );
    assert_eq!(after["schemas"], json!([USER, ENTERPRISE]));

    // Removing the whole extension drops it from `schemas` too.
    let after = patched(
        "User",
        &user(),
        json!([{"op": "remove", "path": ENTERPRISE}]),
    );
    assert!(after.get(ENTERPRISE).is_none());
    assert_eq!(after["schemas"], json!([USER]));
}

#[test]
fn extension_object_key_without_path() {
    let after = patched(
        "User",
        &user(),
        json!([{"op": "replace", "value": {ENTERPRISE: {"employeeNumber": "2"}}}]),
    );
    assert_no_urn_keys(&after);
    assert_eq!(after[ENTERPRISE]["employeeNumber"], json!("2"));
    assert_eq!(after[ENTERPRISE]["department"], json!("Tour Operations"));
}

#[test]
fn removing_the_last_extension_attribute_updates_schemas() {
    let before = with(user(), ENTERPRISE, json!({"department": "Tour Operations"}));
    let after = patched(
        "User",
        &before,
        json!([{"op": "remove", "path": format!("{ENTERPRISE}:department")}]),
    );
    assert!(after.get(ENTERPRISE).is_none());
    assert_eq!(after["schemas"], json!([USER]));
}

#[test]
fn replace_complex_with_path_merges_sub_attributes() {
    let after = patched(
        "User",
        &user(),
        json!([{"op": "replace", "path": "name", "value": {"givenName": "Babs"}}]),
    );
    let mut expected = user();
    expected["name"]["givenName"] = json!("Babs");
    assert_eq!(after, expected);
}

#[test]
fn replace_complex_without_path_replaces_it() {
    let after = patched(
        "User",
        &user(),
        json!([{"op": "replace", "value": {"name": {"givenName": "Babs", "familyName": "Jensen"}}}]),
    );
    assert_eq!(
        after["name"],
        json!({"givenName": "Babs", "familyName": "Jensen"})
    );
}

#[test]
fn add_to_complex_without_path_merges() {
    let after = patched(
        "User",
        &user(),
        json!([{"op": "add", "value": {"name": {"givenName": "Babs"}}}]),
    );
    assert_eq!(after["name"]["givenName"], json!("Babs"));
    assert_eq!(after["name"]["familyName"], json!("Jensen"));
}

#[test]
fn filter_with_sub_attribute_changes_only_matching_elements() {
    let after = patched(
        "User",
        &user(),
        json!([{"op": "replace", "path": "emails[type eq \"work\"].value", "value": "babs@example.com"}]),
    );
    assert_eq!(
        after["emails"],
        json!([
            {"value": "babs@example.com", "type": "work", "primary": true},
            {"value": "babs@jensen.org", "type": "home"}
        ])
    );
}

#[test]
fn remove_sub_attribute_of_matching_elements() {
    let after = patched(
        "User",
        &user(),
        json!([{"op": "remove", "path": "addresses[type eq \"home\"].streetAddress"}]),
    );
    assert!(after["addresses"][1].get("streetAddress").is_none());
    assert_eq!(after["addresses"][0], user()["addresses"][0]);
}

#[test]
fn multi_valued_sub_attribute_without_filter_applies_to_every_element() {
    let after = patched(
        "User",
        &user(),
        json!([{"op": "remove", "path": "phoneNumbers.type"}]),
    );
    assert_eq!(
        after["phoneNumbers"],
        json!([{"value": "555-555-5555"}, {"value": "555-555-4444"}])
    );
}

#[test]
fn new_primary_wins() {
    // Adding a new primary email clears the old one (RFC 7643 §2.4).
    let after = patched(
        "User",
        &user(),
        json!([{"op": "add", "path": "emails", "value": [{"value": "new@example.com", "type": "work", "primary": true}]}]),
    );
    assert_eq!(
        after["emails"],
        json!([
            {"value": "bjensen@example.com", "type": "work", "primary": false},
            {"value": "babs@jensen.org", "type": "home"},
            {"value": "new@example.com", "type": "work", "primary": true}
        ])
    );
    // Setting primary on an existing element through a filter.
    let after = patched(
        "User",
        &user(),
        json!([{"op": "replace", "path": "emails[type eq \"home\"].primary", "value": true}]),
    );
    assert_eq!(
        after["emails"],
        json!([
            {"value": "bjensen@example.com", "type": "work", "primary": false},
            {"value": "babs@jensen.org", "type": "home", "primary": true}
        ])
    );
}

#[test]
fn stored_odd_case_key_is_canonicalized() {
    let before = with(
        with(user(), "nickName", Value::Null),
        "NICKNAME",
        json!("Babs"),
    );
    let after = patched(
        "User",
        &before,
        json!([{"op": "replace", "path": "nickName", "value": "Barbie"}]),
    );
    assert_eq!(after, with(user(), "nickName", json!("Barbie")));
}

// ----- atomicity and `changed` -----------------------------------------------------------

#[test]
fn failing_second_operation_leaves_resource_unchanged() {
    let registry = SchemaRegistry::default();
    let view = registry.resource_type("User").unwrap();
    let tolerances = Tolerances::default();
    let body = json!({
        "schemas": [PATCH_OP_SCHEMA],
        "Operations": [
            {"op": "replace", "path": "displayName", "value": "Changed"},
            {"op": "add", "path": "emails", "value": [{"value": "x@example.com"}]},
            {"op": "remove", "path": format!("{ENTERPRISE}:department")},
            {"op": "remove", "path": "emails[type eq \"nonexistent\"]"}
        ]
    });
    let request = PatchRequest::from_json(&body, &tolerances).unwrap();
    let original = obj(user());
    let err = apply_patch(view, &original, &request, &tolerances).unwrap_err();
    assert_eq!(err.scim_type(), Some(ScimType::NoTarget));
    assert!(
        err.detail().starts_with("Operations[3] (remove emails[…])"),
        "{err}"
    );

    let mut resource = original.clone();
    let err2 = apply_patch_in_place(view, &mut resource, &request, &tolerances).unwrap_err();
    assert_eq!(err, err2);
    assert_eq!(resource, original);
}

#[test]
fn no_op_is_not_a_change() {
    let user = user();
    for ops in [
        json!([{"op": "replace", "path": "active", "value": true}]),
        json!([{"op": "replace", "path": "userName", "value": "bjensen@example.com"}]),
        json!([{"op": "add", "path": "emails", "value": [{"value": "babs@jensen.org", "type": "home"}]}]),
        json!([{"op": "replace", "value": {"nickName": "Babs", "id": BABS}}]),
        json!([{"op": "remove", "path": "profileUrl"}]),
        json!([
            {"op": "replace", "path": "title", "value": "Boss"},
            {"op": "replace", "path": "title", "value": "Tour Guide"}
        ]),
    ] {
        let outcome = patch("User", &user, ops.clone()).unwrap();
        assert!(!outcome.changed, "{ops}");
        assert_eq!(Value::Object(outcome.resource), user, "{ops}");
    }
    let g = group(vec![member(BABS, "Babs Jensen")]);
    let outcome = patch(
        "Group",
        &g,
        json!([{"op": "add", "path": "members", "value": [{"value": BABS}]}]),
    )
    .unwrap();
    assert!(!outcome.changed);
}

#[test]
fn remove_then_re_add_required_attribute_is_allowed() {
    let after = patched(
        "User",
        &user(),
        json!([
            {"op": "remove", "path": "userName"},
            {"op": "add", "path": "userName", "value": "babs"}
        ]),
    );
    assert_eq!(after["userName"], json!("babs"));
}

// ----- errors ----------------------------------------------------------------------------

#[test]
fn malformed_path_is_invalid_path() {
    let tolerances = Tolerances::default();
    for path in ["name..givenName", "", "emails[type eq \"work\"", "9lives"] {
        let body =
            json!({"schemas": [PATCH_OP_SCHEMA], "Operations": [{"op": "remove", "path": path}]});
        let err = PatchRequest::from_json(&body, &tolerances).unwrap_err();
        assert!(
            matches!(err, ScimError::InvalidPath(_) | ScimError::InvalidFilter(_)),
            "{path}: {err}"
        );
        assert!(err.detail().starts_with("Operations[0]: "), "{err}");
    }
}

#[test]
fn unknown_attribute_is_invalid_path() {
    for ops in [
        json!([{"op": "replace", "path": "favouriteColour", "value": "red"}]),
        json!([{"op": "replace", "path": "name.nickname", "value": "x"}]),
        json!([{"op": "replace", "path": "urn:example:unknown:2.0:User:foo", "value": "x"}]),
        json!([{"op": "replace", "path": format!("{ENTERPRISE}:favouriteColour"), "value": "x"}]),
    ] {
        assert_eq!(
            scim_type(patch("User", &user(), ops.clone())),
            ScimType::InvalidPath,
            "{ops}"
        );
    }
    // In a path-less value an unknown key is invalidSyntax, as in POST/PUT bodies.
    for ops in [
        json!([{"op": "replace", "value": {"favouriteColour": "red"}}]),
        json!([{"op": "add", "value": {ENTERPRISE: {"favouriteColour": "red"}}}]),
        json!([{"op": "add", "path": ENTERPRISE, "value": {"favouriteColour": "red"}}]),
        json!([{"op": "add", "value": {"name.nickname": "x"}}]),
    ] {
        assert_eq!(
            scim_type(patch("User", &user(), ops.clone())),
            ScimType::InvalidSyntax,
            "{ops}"
        );
    }
}

#[test]
fn filter_matching_nothing_is_no_target() {
    for ops in [
        json!([{"op": "remove", "path": "emails[type eq \"other\"]"}]),
        json!([{"op": "remove", "path": "emails[type eq \"other\"].value"}]),
        json!([{"op": "remove", "path": "members[value eq \"nobody\"]"}]),
    ] {
        let resource_type = if ops.to_string().contains("members") {
            "Group"
        } else {
            "User"
        };
        let resource = if resource_type == "Group" {
            group(vec![member(BABS, "Babs Jensen")])
        } else {
            user()
        };
        assert_eq!(
            scim_type(patch(resource_type, &resource, ops.clone())),
            ScimType::NoTarget,
            "{ops}"
        );
    }
    // Filtered replace with no match, without the Entra tolerance.
    let ops = json!([{"op": "replace", "path": "emails[type eq \"other\"].value", "value": "x@y"}]);
    assert_eq!(
        scim_type(patch_with("User", &user(), ops, &Tolerances::strict())),
        ScimType::NoTarget
    );
}

#[test]
fn remove_without_path_is_no_target() {
    assert_eq!(
        scim_type(patch("User", &user(), json!([{"op": "remove"}]))),
        ScimType::NoTarget
    );
}

#[test]
fn read_only_paths_are_mutability_errors() {
    for ops in [
        json!([{"op": "replace", "path": "id", "value": "x"}]),
        json!([{"op": "remove", "path": "meta"}]),
        json!([{"op": "replace", "path": "meta.version", "value": "x"}]),
        json!([{"op": "add", "path": "groups", "value": [{"value": "g1"}]}]),
        json!([{"op": "replace", "path": format!("{ENTERPRISE}:manager.displayName"), "value": "x"}]),
        json!([{"op": "remove", "path": "groups[value eq \"g1\"]"}]),
    ] {
        assert_eq!(
            scim_type(patch("User", &user(), ops.clone())),
            ScimType::Mutability,
            "{ops}"
        );
    }
}

#[test]
fn immutable_member_fields_cannot_change() {
    let g = group(vec![member(BABS, "Babs Jensen")]);
    for ops in [
        json!([{"op": "replace", "path": format!("members[value eq \"{BABS}\"].display"), "value": "B"}]),
        json!([{"op": "remove", "path": format!("members[value eq \"{BABS}\"].display")}]),
    ] {
        assert_eq!(
            scim_type(patch("Group", &g, ops.clone())),
            ScimType::Mutability,
            "{ops}"
        );
    }
    // Adding members and removing whole members is fine.
    patched(
        "Group",
        &g,
        json!([{"op": "remove", "path": format!("members[value eq \"{BABS}\"]")}]),
    );
}

#[test]
fn removing_required_attributes_is_invalid_value() {
    assert_eq!(
        scim_type(patch(
            "User",
            &user(),
            json!([{"op": "remove", "path": "userName"}])
        )),
        ScimType::InvalidValue
    );
    assert_eq!(
        scim_type(patch(
            "Group",
            &group(vec![]),
            json!([{"op": "remove", "path": "displayName"}])
        )),
        ScimType::InvalidValue
    );
    for value in [json!(null), json!("")] {
        assert_eq!(
            scim_type(patch(
                "User",
                &user(),
                json!([{"op": "replace", "path": "userName", "value": value}])
            )),
            ScimType::InvalidValue
        );
    }
}

#[test]
fn type_mismatch_is_invalid_value() {
    for ops in [
        json!([{"op": "replace", "path": "active", "value": "yes"}]),
        json!([{"op": "replace", "path": "userName", "value": 42}]),
        json!([{"op": "add", "path": "emails", "value": "not-an-object"}]),
        json!([{"op": "replace", "path": "name.givenName", "value": {"a": 1}}]),
    ] {
        assert_eq!(
            scim_type(patch("User", &user(), ops.clone())),
            ScimType::InvalidValue,
            "{ops}"
        );
    }
}

#[test]
fn request_body_errors() {
    let t = Tolerances::default();
    let strict = Tolerances::strict();
    let err = |body: Value, t: &Tolerances| PatchRequest::from_json(&body, t).unwrap_err();
    // Missing or wrong schemas.
    assert!(matches!(
        err(json!({"Operations": []}), &t),
        ScimError::InvalidSyntax(_)
    ));
    assert!(matches!(
        err(
            json!({"schemas": [USER], "Operations": [{"op": "remove", "path": "title"}]}),
            &t
        ),
        ScimError::InvalidSyntax(_)
    ));
    // Missing or malformed Operations.
    assert!(matches!(
        err(json!({"schemas": [PATCH_OP_SCHEMA]}), &t),
        ScimError::InvalidSyntax(_)
    ));
    assert!(matches!(
        err(json!({"schemas": [PATCH_OP_SCHEMA], "Operations": {}}), &t),
        ScimError::InvalidSyntax(_)
    ));
    // Unknown op lists the valid ones.
    let e = err(
        json!({"schemas": [PATCH_OP_SCHEMA], "Operations": [{"op": "move", "path": "title"}]}),
        &t,
    );
    assert!(matches!(e, ScimError::InvalidSyntax(_)));
    for op in ["add", "remove", "replace"] {
        assert!(e.detail().contains(op), "{e}");
    }
    // add without value.
    assert!(matches!(
        err(
            json!({"schemas": [PATCH_OP_SCHEMA], "Operations": [{"op": "add", "path": "title"}]}),
            &t
        ),
        ScimError::InvalidValue(_)
    ));
    // `operations` in any case; `op` lower-case in strict mode.
    let ok = PatchRequest::from_json(
        &json!({"schemas": [PATCH_OP_SCHEMA], "operations": [{"op": "remove", "path": "title"}]}),
        &strict,
    )
    .unwrap();
    assert_eq!(ok.operations[0].op, PatchOp::Remove);
}

#[test]
fn path_less_value_must_be_an_object() {
    assert_eq!(
        scim_type(patch(
            "User",
            &user(),
            json!([{"op": "replace", "value": "x"}])
        )),
        ScimType::InvalidSyntax
    );
}

#[test]
fn patch_resource_in_place() {
    let registry = SchemaRegistry::default();
    let view = registry.resource_type("User").unwrap();
    let t = Tolerances::default();
    let mut resource = Resource::from_stored(user()).unwrap();
    let ok = PatchRequest::from_json(
        &json!({"schemas": [PATCH_OP_SCHEMA], "Operations": [{"op": "replace", "path": "title", "value": "Boss"}]}),
        &t,
    )
    .unwrap();
    assert!(patch_resource(view, &mut resource, &ok, &t).unwrap());
    assert_eq!(resource.get("title"), Some(&json!("Boss")));
    let failing = PatchRequest::from_json(
        &json!({"schemas": [PATCH_OP_SCHEMA], "Operations": [
            {"op": "replace", "path": "title", "value": "Chief"},
            {"op": "replace", "path": "id", "value": "x"}
        ]}),
        &t,
    )
    .unwrap();
    let before = resource.clone();
    assert!(patch_resource(view, &mut resource, &failing, &t).is_err());
    assert_eq!(resource, before);
}

#[test]
fn append_then_modify_same_attribute_and_rollback() {
    let g = group(vec![member(BABS, "Babs Jensen")]);
    // Append, then remove the appended member: no net change.
    let outcome = patch(
        "Group",
        &g,
        json!([
            {"op": "add", "path": "members", "value": [member(JAMES, "James Smith")]},
            {"op": "remove", "path": format!("members[value eq \"{JAMES}\"]")}
        ]),
    )
    .unwrap();
    assert!(!outcome.changed);
    assert_eq!(Value::Object(outcome.resource), g);
    // Append, then fail: the in-place variant truncates back (checked by `patch_with`).
    let err = patch(
        "Group",
        &g,
        json!([
            {"op": "add", "path": "members", "value": [member(JAMES, "James Smith")]},
            {"op": "remove", "path": "members[value eq \"nobody\"]"}
        ]),
    )
    .unwrap_err();
    assert_eq!(err.scim_type(), Some(ScimType::NoTarget));
}

#[test]
fn filtered_add_of_an_object_creates_or_merges() {
    let ops = json!([{"op": "add", "path": "phoneNumbers[type eq \"fax\"]", "value": {"value": "555-555-0000"}}]);
    let after = patched("User", &user(), ops.clone());
    assert_eq!(
        after["phoneNumbers"][2],
        json!({"type": "fax", "value": "555-555-0000"})
    );
    assert_eq!(
        scim_type(patch_with("User", &user(), ops, &Tolerances::strict())),
        ScimType::NoTarget
    );
    let after = patched(
        "User",
        &user(),
        json!([{"op": "add", "path": "phoneNumbers[type eq \"work\"]", "value": {"display": "Office"}}]),
    );
    assert_eq!(
        after["phoneNumbers"][0],
        json!({"value": "555-555-5555", "type": "work", "display": "Office"})
    );
}

//! Fuzz target: a PATCH body (RFC 7644 §3.5.2) read and applied to a full User and to a
//! Group, under the strict and the lenient profile: never a panic; a failed application
//! leaves the resource exactly as it was (atomicity), and a successful one keeps it an
//! object whose `id` is unchanged.
#![no_main]

use libfuzzer_sys::fuzz_target;
use scim_core::patch::{PatchRequest, patch_resource};
use scim_core::schema::SchemaRegistry;
use scim_core::tolerance::Tolerances;
use scim_core::Resource;
use serde_json::{Value, json};

fn user() -> Value {
    json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User",
                    "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"],
        "id": "2819c223", "userName": "bjensen", "externalId": "ext-1",
        "name": {"givenName": "Barbara", "familyName": "Jensen"},
        "displayName": "Babs", "active": true,
        "emails": [{"value": "b@example.com", "type": "work", "primary": true},
                   {"value": "b@home.example", "type": "home"}],
        "phoneNumbers": [{"value": "555-1", "type": "work"}],
        "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User":
            {"employeeNumber": "7", "manager": {"value": "m1"}}
    })
}

fn group() -> Value {
    json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
        "id": "g1", "displayName": "Tour Guides",
        "members": [{"value": "2819c223", "type": "User"}, {"value": "u2"}]
    })
}

fuzz_target!(|data: &[u8]| {
    let Ok(body) = serde_json::from_slice::<Value>(data) else {
        return;
    };
    let registry = SchemaRegistry::default();
    for tolerances in [Tolerances::strict(), Tolerances::lenient()] {
        let Ok(request) = PatchRequest::from_json(&body, &tolerances) else {
            continue;
        };
        for (kind, start) in [("User", user()), ("Group", group())] {
            let Some(view) = registry.resource_type(kind) else {
                continue;
            };
            let Value::Object(map) = start else { continue };
            let original = Resource::from_map(map);
            let mut resource = original.clone();
            match patch_resource(view, &mut resource, &request, &tolerances) {
                Ok(_) => assert_eq!(resource.id(), original.id(), "PATCH changed the id"),
                Err(_) => assert_eq!(resource, original, "a failed PATCH changed the resource"),
            }
        }
    }
});

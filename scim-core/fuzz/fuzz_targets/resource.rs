//! Fuzz target: a client's resource JSON validated and coerced (RFC 7643 §2, §7) as a User
//! and as a Group, under the strict and the lenient profile: never a panic; what is accepted
//! is an object that validates again unchanged (coercion is idempotent).
#![no_main]

use libfuzzer_sys::fuzz_target;
use scim_core::Resource;
use scim_core::schema::SchemaRegistry;
use scim_core::tolerance::Tolerances;
use serde_json::Value;

fuzz_target!(|data: &[u8]| {
    let Ok(body) = serde_json::from_slice::<Value>(data) else {
        return;
    };
    let registry = SchemaRegistry::default();
    for tolerances in [Tolerances::strict(), Tolerances::lenient()] {
        for kind in ["User", "Group"] {
            let Some(view) = registry.resource_type(kind) else {
                continue;
            };
            if let Ok(resource) = Resource::from_client(view, body.clone(), &tolerances) {
                let again = Resource::from_client(view, resource.to_json(), &tolerances)
                    .expect("an accepted resource validates again");
                assert_eq!(again, resource, "coercion is not idempotent");
            }
        }
    }
});

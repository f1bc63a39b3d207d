//! The users the load-test baseline (`baseline-server`) starts with: user `i` has the id
//! [`user_id`]`(i)` and the userName `user{i}`. `scripts/seed-users.py` gives the example
//! server the same users through its SCIM API (see `scripts/load.sh`).

use serde_json::{Value, json};

/// The deterministic id of preloaded user `i` (UUID-shaped, so it looks like the ids
/// the SCIM engine assigns on POST).
pub fn user_id(i: usize) -> String {
    format!("00000000-0000-4000-8000-{i:012}")
}

/// The attributes of preloaded user `i`, as a typical IdP provisions them (without `id`,
/// `schemas` and `meta`, which each server adds its own way).
pub fn user_attributes(i: usize) -> Value {
    json!({
        "userName": format!("user{i}"),
        "externalId": format!("ext-{i}"),
        "name": {
            "givenName": format!("Given{i}"),
            "familyName": format!("Family{i}"),
            "formatted": format!("Given{i} Family{i}"),
        },
        "displayName": format!("User {i}"),
        "active": true,
        "emails": [{"value": format!("user{i}@example.com"), "type": "work", "primary": true}],
    })
}

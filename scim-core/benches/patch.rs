//! PATCH engine benchmarks (RFC 7644 §3.5.2): one-operation PATCHes on a typical user
//! (RFC 7643 §8.2-like) and on a 100-member group.
#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used)]

use criterion::{Criterion, black_box, criterion_group, criterion_main};
use scim_core::Tolerances;
use scim_core::patch::{PatchRequest, apply_patch, apply_patch_in_place};
use scim_core::schema::SchemaRegistry;
use serde_json::{Map, Value, json};

const ENTERPRISE: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";

fn user() -> Map<String, Value> {
    let v = json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User", ENTERPRISE],
        "id": "2819c223-7f76-453a-919d-413861904646",
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
        "profileUrl": "https://login.example.com/bjensen",
        "emails": [
            {"value": "bjensen@example.com", "type": "work", "primary": true},
            {"value": "babs@jensen.org", "type": "home"}
        ],
        "addresses": [{
            "type": "work",
            "streetAddress": "100 Universal City Plaza",
            "locality": "Hollywood",
            "region": "CA",
            "postalCode": "91608",
            "country": "USA",
            "formatted": "100 Universal City Plaza\nHollywood, CA 91608 USA",
            "primary": true
        }],
        "phoneNumbers": [
            {"value": "555-555-5555", "type": "work"},
            {"value": "555-555-4444", "type": "mobile"}
        ],
        "userType": "Employee",
        "title": "Tour Guide",
        "preferredLanguage": "en-US",
        "locale": "en-US",
        "timezone": "America/Los_Angeles",
        "active": true,
        ENTERPRISE: {
            "employeeNumber": "701984",
            "costCenter": "4130",
            "organization": "Universal Studios",
            "division": "Theme Park",
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
            "location": "https://example.com/v2/Users/2819c223-7f76-453a-919d-413861904646"
        }
    });
    v.as_object().unwrap().clone()
}

fn group(members: usize) -> Map<String, Value> {
    let members: Vec<Value> = (0..members)
        .map(|i| {
            let id = format!("{i:08x}-7f76-453a-919d-413861904646");
            json!({
                "value": id,
                "$ref": format!("https://example.com/v2/Users/{id}"),
                "display": format!("User {i}")
            })
        })
        .collect();
    json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
        "id": "e9e30dba-f08f-4109-8486-d5c6a331660a",
        "displayName": "Tour Guides",
        "members": members,
        "meta": {"resourceType": "Group", "version": "W/\"1\""}
    })
    .as_object()
    .unwrap()
    .clone()
}

fn request(operations: Value) -> PatchRequest {
    let body = json!({
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
        "Operations": operations
    });
    PatchRequest::from_json(&body, &Tolerances::default()).unwrap()
}

fn benches(c: &mut Criterion) {
    let registry = SchemaRegistry::default();
    let users = registry.resource_type("User").unwrap();
    let groups = registry.resource_type("Group").unwrap();
    let tolerances = Tolerances::default();

    let user = user();
    let deactivate = request(json!([{"op": "replace", "path": "active", "value": false}]));
    c.bench_function("patch/user/replace active", |b| {
        b.iter(|| {
            apply_patch(users, black_box(&user), black_box(&deactivate), &tolerances).unwrap()
        })
    });
    c.bench_function("patch/user/replace active (in place)", |b| {
        let mut user = user.clone();
        b.iter(|| {
            user.insert("active".into(), Value::Bool(true));
            apply_patch_in_place(users, &mut user, black_box(&deactivate), &tolerances).unwrap()
        })
    });
    let entra = request(json!([{"op": "Replace", "path": "active", "value": "False"}]));
    c.bench_function("patch/user/entra Replace active \"False\"", |b| {
        b.iter(|| apply_patch(users, black_box(&user), black_box(&entra), &tolerances).unwrap())
    });
    let work_email = request(json!([
        {"op": "replace", "path": "emails[type eq \"work\"].value", "value": "babs@example.com"}
    ]));
    c.bench_function("patch/user/replace emails[type eq \"work\"].value", |b| {
        b.iter(|| {
            apply_patch(users, black_box(&user), black_box(&work_email), &tolerances).unwrap()
        })
    });
    c.bench_function("patch/user/parse + replace active", |b| {
        let body = json!({
            "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
            "Operations": [{"op": "replace", "path": "active", "value": false}]
        });
        b.iter(|| {
            let request = PatchRequest::from_json(black_box(&body), &tolerances).unwrap();
            apply_patch(users, black_box(&user), &request, &tolerances).unwrap()
        })
    });

    let group = group(100);
    let add_member = request(json!([{
        "op": "add",
        "path": "members",
        "value": [{"value": "ffffffff-7f76-453a-919d-413861904646", "display": "New"}]
    }]));
    c.bench_function("patch/group100/add member", |b| {
        b.iter(|| {
            apply_patch(
                groups,
                black_box(&group),
                black_box(&add_member),
                &tolerances,
            )
            .unwrap()
        })
    });
    c.bench_function("patch/group100/add member (in place)", |b| {
        let mut group = group.clone();
        b.iter(|| {
            let changed =
                apply_patch_in_place(groups, &mut group, black_box(&add_member), &tolerances)
                    .unwrap();
            // Undo the append so every iteration adds to 100 members.
            if let Some(Value::Array(members)) = group.get_mut("members") {
                members.truncate(100);
            }
            changed
        })
    });
}

criterion_group!(patch, benches);
criterion_main!(patch);

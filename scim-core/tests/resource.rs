//! `Resource::from_client`, validation, typed views and `meta` (RFC 7643 §2–§4, §8;
//! RFC 7644 §3.3, §3.5.1, §3.14).

#![allow(clippy::unwrap_used, clippy::expect_used)]

use chrono::{TimeZone, Utc};
use scim_core::resource::Resource;
use scim_core::schema::{
    AttributeDef, ENTERPRISE_USER_SCHEMA, ResourceTypeView, Schema, SchemaRegistry, USER_SCHEMA,
};
use scim_core::{
    InsecureNoAuthentication, MemoryStore, Method, NoSessionsToRevoke, ScimEngine, ScimError,
    ScimRequest, ScimResponse, ScimType, Store, Tolerances,
};
use serde_json::{Value, json};

fn fixture(name: &str) -> Value {
    let path = format!("{}/tests/fixtures/{name}", env!("CARGO_MANIFEST_DIR"));
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

fn registry() -> SchemaRegistry {
    SchemaRegistry::default()
}

fn users(registry: &SchemaRegistry) -> &ResourceTypeView {
    registry.resource_type("User").unwrap()
}

fn user(body: Value) -> Result<Resource, ScimError> {
    Resource::from_client(users(&registry()), body, &Tolerances::default())
}

fn strict_user(body: Value) -> Result<Resource, ScimError> {
    Resource::from_client(users(&registry()), body, &Tolerances::strict())
}

fn scim_type(err: &ScimError) -> Option<ScimType> {
    err.scim_type()
}

/// Simulates the server side of a create: client body → resource with an `id`.
fn create(view: &ResourceTypeView, body: Value, id: &str) -> Resource {
    let mut r = Resource::from_client(view, body, &Tolerances::strict()).unwrap();
    r.set_id(id);
    r
}

/// An engine over `store` whose next `id` is `id`, with a clock at 2024-05-01T12:00:00Z
/// plus one hour per request.
fn engine_for(store: MemoryStore, id: &str) -> ScimEngine {
    let id = id.to_owned();
    let hours = std::sync::Arc::new(std::sync::atomic::AtomicI64::new(0));
    ScimEngine::builder(store)
        .authenticator(InsecureNoAuthentication::for_tenant("t"))
        .revoker(NoSessionsToRevoke)
        .ids(move || id.clone())
        .clock(move || {
            let h = hours.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            Utc.with_ymd_and_hms(2024, 5, 1, 12, 0, 0).unwrap() + chrono::Duration::hours(h)
        })
        .build()
        .unwrap()
}

async fn send(
    engine: &ScimEngine,
    method: Method,
    path: &str,
    body: Option<&Value>,
) -> ScimResponse {
    let mut req = ScimRequest::new(method, path).with_base_url("https://example.com/v2");
    if let Some(body) = body {
        req = req.with_body(body.to_string().into_bytes());
    }
    engine.handle(req).await
}

/// Round trip of an RFC 7643 §8 example through the engine: POST body in, default
/// representation out.
async fn round_trip(file: &str, resource_type: &str) {
    let example = fixture(file);
    let id = example["id"].as_str().unwrap().to_owned();
    let store = MemoryStore::new();
    let engine = engine_for(store.clone(), &id);
    let endpoint = format!("/{resource_type}s");
    let created = send(&engine, Method::Post, &endpoint, Some(&example)).await;
    assert_eq!(
        created.status,
        201,
        "{}",
        String::from_utf8_lossy(&created.body)
    );
    let got = send(&engine, Method::Get, &format!("{endpoint}/{id}"), None).await;
    assert_eq!(got.body, created.body, "GET answers what POST answered");
    let out = got.json();

    let mut expected = example.as_object().unwrap().clone();
    // Never returned (RFC 7643 §4.1.1 password: writeOnly, returned never) …
    expected.remove("password");
    // … read-only values from the client are ignored (RFC 7643 §2.2) …
    expected.remove("groups");
    if let Some(ext) = expected.get_mut(ENTERPRISE_USER_SCHEMA) {
        ext["manager"]
            .as_object_mut()
            .unwrap()
            .remove("displayName");
    }
    // … and `meta` is the server's own.
    expected.remove("meta");
    let mut out_obj = out.as_object().unwrap().clone();
    let meta = out_obj.remove("meta").unwrap();
    assert_eq!(Value::Object(out_obj), Value::Object(expected), "{file}");
    assert_eq!(meta["resourceType"], resource_type);
    assert_eq!(
        meta["location"],
        format!("https://example.com/v2/{resource_type}s/{id}")
    );
    assert_eq!(meta["created"], "2024-05-01T12:00:00.000Z");
    assert_eq!(meta["lastModified"], "2024-05-01T12:00:00.000Z");
    assert_eq!(meta["version"], r#"W/"1""#);
    assert_eq!(got.header("etag"), Some(r#"W/"1""#));
    // The password is stored (write-only), never returned.
    if example.get("password").is_some() {
        let registry = registry();
        let view = registry.resource_type(resource_type).unwrap();
        let ctx = scim_core::RequestContext::new(scim_core::Principal::new("t", "test"), "");
        let stored = store.get(&ctx, view, &id).await.unwrap().unwrap();
        assert_eq!(
            stored.attributes().unwrap().get("password"),
            example.get("password")
        );
        assert!(out.get("password").is_none());
    }
}

#[tokio::test]
async fn rfc_8_1_minimal_user_round_trips() {
    round_trip("rfc7643-8.1-minimal-user.json", "User").await;
}

#[tokio::test]
async fn rfc_8_2_full_user_round_trips() {
    round_trip("rfc7643-8.2-full-user.json", "User").await;
}

#[tokio::test]
async fn rfc_8_3_enterprise_user_round_trips() {
    round_trip("rfc7643-8.3-enterprise-user.json", "User").await;
}

#[tokio::test]
async fn rfc_8_4_group_round_trips() {
    round_trip("rfc7643-8.4-group.json", "Group").await;
}

#[test]
fn body_must_be_an_object() {
    let err = user(json!(["userName"])).unwrap_err();
    assert_eq!(scim_type(&err), Some(ScimType::InvalidSyntax));
}

#[test]
fn required_attribute_missing() {
    let err = user(json!({"schemas": [USER_SCHEMA], "displayName": "x"})).unwrap_err();
    assert_eq!(scim_type(&err), Some(ScimType::InvalidValue));
    assert_eq!(err.detail(), "missing required attribute `userName`");
    let err =
        user(json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": ""}))
            .unwrap_err();
    assert_eq!(err.detail(), "missing required attribute `userName`");
    let registry = registry();
    let groups = registry.resource_type("Group").unwrap();
    let err = Resource::from_client(
        groups,
        json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"], "members": []}),
        &Tolerances::default(),
    )
    .unwrap_err();
    assert_eq!(err.detail(), "missing required attribute `displayName`");
}

#[test]
fn string_booleans_only_with_the_tolerance() {
    let r = user(json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": "a", "active": "False"})).unwrap();
    assert_eq!(r.get("active"), Some(&Value::Bool(false)));
    assert!(r.get("active").unwrap().is_boolean());
    assert!(!r.as_user().active());
    let err = strict_user(json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": "a", "active": "False"})).unwrap_err();
    assert_eq!(scim_type(&err), Some(ScimType::InvalidValue));
    assert_eq!(
        err.detail(),
        "`active` must be a boolean (true or false), got the string \"False\""
    );
    let err = user(json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": "a", "active": "yes"})).unwrap_err();
    assert!(err.detail().contains("`active` must be a boolean"));
}

#[test]
fn wrong_types_are_invalid_value() {
    for body in [
        json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": 42}),
        json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": "a", "displayName": true}),
        json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": "a", "name": "Barbara"}),
        json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": "a", "emails": [{"value": "a@x", "primary": 1}]}),
        json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": "a", "emails": [["a@x"]]}),
        json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": "a", "x509Certificates": [{"value": 12}]}),
    ] {
        let err = user(body.clone()).unwrap_err();
        assert_eq!(
            scim_type(&err),
            Some(ScimType::InvalidValue),
            "{body}: {err}"
        );
    }
}

fn typed_registry() -> SchemaRegistry {
    const EXT: &str = "urn:example:params:scim:schemas:extension:typed:2.0:User";
    SchemaRegistry::builder()
        .schema(Schema::new(
            EXT,
            "Typed",
            vec![
                AttributeDef::integer("level"),
                AttributeDef::decimal("score"),
                AttributeDef::date_time("hired"),
            ],
        ))
        .extend("User", EXT, false)
        .build()
        .unwrap()
}

#[test]
fn integer_decimal_and_date_time() {
    const EXT: &str = "urn:example:params:scim:schemas:extension:typed:2.0:User";
    let registry = typed_registry();
    let view = users(&registry);
    let make = |ext: Value| {
        Resource::from_client(
            view,
            json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": "a", EXT: ext}),
            &Tolerances::default(),
        )
    };
    let ok = make(json!({"level": 3, "score": 2.5, "hired": "2008-01-23T04:56:22Z"})).unwrap();
    assert_eq!(
        ok.get(EXT).unwrap(),
        &json!({"level": 3, "score": 2.5, "hired": "2008-01-23T04:56:22Z"})
    );
    assert!(make(json!({"score": 2})).is_ok());
    for bad in [
        json!({"level": 1.5}),
        json!({"level": "1"}),
        json!({"score": "2.5"}),
        json!({"hired": "2008-01-23"}),
        json!({"hired": "last tuesday"}),
        json!({"hired": 1_200_000_000}),
    ] {
        let err = make(bad.clone()).unwrap_err();
        assert_eq!(scim_type(&err), Some(ScimType::InvalidValue), "{bad}");
    }
    // URN-qualified extension attribute at the top level goes inside the extension.
    let r = Resource::from_client(
        view,
        json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": "a", format!("{EXT}:level"): 7}),
        &Tolerances::default(),
    )
    .unwrap();
    assert_eq!(r.get(EXT).unwrap(), &json!({"level": 7}));
    assert!(r.get(&format!("{EXT}:level")).is_none());
}

#[test]
fn read_only_attributes_are_ignored() {
    let r = user(json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
        "userName": "a",
        "id": "client-chosen",
        "meta": {"resourceType": "Nope"},
        "groups": [{"value": "g1"}],
        ENTERPRISE_USER_SCHEMA: {"manager": {"value": "m1", "displayName": "Boss"}}
    }))
    .unwrap();
    assert_eq!(r.id(), None);
    assert!(r.get("meta").is_none());
    assert!(r.get("groups").is_none());
    assert_eq!(
        r.get(ENTERPRISE_USER_SCHEMA).unwrap(),
        &json!({"manager": {"value": "m1"}})
    );
}

/// Extra URNs in `schemas` that carry no attributes are accepted (the server recomputes
/// `schemas`): Entra ID's custom-extension URN on groups, the legacy
/// `urn:scim:schemas:core:1.0` beside the 2.0 core URN. Client `meta` is ignored. An
/// unknown URN that carries attributes is refused with a detail naming it.
#[test]
fn unknown_schema_urns_without_data_are_accepted() {
    let r = user(json!({
        "schemas": [USER_SCHEMA, "urn:scim:schemas:core:1.0", "urn:example:nope"],
        "userName": "a",
        "meta": {"resourceType": "User", "created": "2001-01-01T00:00:00Z", "version": "W/\"x\""}
    }))
    .unwrap();
    assert_eq!(r.get("schemas"), Some(&json!([USER_SCHEMA])));
    assert_eq!(r.get("meta"), None);
    assert_eq!(r.get("userName"), Some(&json!("a")));
    let err = user(json!({
        "schemas": [USER_SCHEMA, "urn:example:nope"],
        "userName": "a",
        "urn:example:nope": {"colour": "green"}
    }))
    .unwrap_err();
    assert_eq!(err.status(), 400);
    assert!(err.detail().contains("urn:example:nope"), "{err}");
}

/// RFC 7643 §3: `schemas` is REQUIRED and lists the core schema.
#[test]
fn schemas_must_be_an_array_with_the_core_urn() {
    for schemas in [
        None,
        Some(json!(null)),
        Some(json!([])),
        Some(json!(USER_SCHEMA)),
        Some(json!({"0": USER_SCHEMA})),
        Some(json!([ENTERPRISE_USER_SCHEMA])),
        Some(json!(["urn:ietf:params:scim:schemas:core:2.0:Group"])),
        Some(json!([USER_SCHEMA, 7])),
    ] {
        let mut body = json!({"userName": "a"});
        if let Some(schemas) = &schemas {
            body["schemas"] = schemas.clone();
        }
        let err = user(body.clone()).unwrap_err();
        assert_eq!(err.status(), 400, "{schemas:?}");
        assert!(err.detail().contains("schemas"), "{schemas:?}: {err}");
        assert!(strict_user(body).is_err(), "{schemas:?}");
    }
}

#[test]
fn unknown_attributes_are_invalid_syntax() {
    let err = user(json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": "a", "favouriteColour": "green"})).unwrap_err();
    assert_eq!(scim_type(&err), Some(ScimType::InvalidSyntax));
    assert_eq!(err.detail(), "unknown attribute `favouriteColour`");
    let err = user(json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": "a", "name": {"nick": "B"}})).unwrap_err();
    assert_eq!(scim_type(&err), Some(ScimType::InvalidSyntax));
    assert!(err.detail().contains("`name` has no sub-attribute `nick`"));
    let err = user(json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": "a", "urn:example:other:2.0:User:x": 1})).unwrap_err();
    assert_eq!(scim_type(&err), Some(ScimType::InvalidSyntax));
}

#[test]
fn keys_are_case_insensitive_and_stored_in_schema_case() {
    let r = user(json!({
        "SCHEMAS": [USER_SCHEMA.to_uppercase()],
        "USERNAME": "a",
        "Name": {"GIVENNAME": "Barbara"},
        "emails": [{"VALUE": "a@x", "Type": "work", "PRIMARY": "true"}],
        ENTERPRISE_USER_SCHEMA.to_lowercase(): {"EMPLOYEENUMBER": "7"}
    }))
    .unwrap();
    assert_eq!(
        r.to_json(),
        json!({
            "schemas": [USER_SCHEMA, ENTERPRISE_USER_SCHEMA],
            "userName": "a",
            "name": {"givenName": "Barbara"},
            "emails": [{"value": "a@x", "type": "work", "primary": true}],
            ENTERPRISE_USER_SCHEMA: {"employeeNumber": "7"}
        })
    );
}

#[test]
fn urn_qualified_core_key_is_a_top_level_attribute() {
    let r = user(json!({
        "schemas": [USER_SCHEMA, ENTERPRISE_USER_SCHEMA],
        "urn:ietf:params:scim:schemas:core:2.0:User:userName": "bjensen",
        "urn:ietf:params:scim:schemas:core:2.0:User:name.familyName": "Jensen",
        "name": {"givenName": "Barbara"},
        "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department": "Tour"
    }))
    .unwrap();
    assert_eq!(r.as_user().user_name(), Some("bjensen"));
    assert_eq!(
        r.get("name").unwrap(),
        &json!({"givenName": "Barbara", "familyName": "Jensen"})
    );
    assert_eq!(
        r.get(ENTERPRISE_USER_SCHEMA).unwrap(),
        &json!({"department": "Tour"})
    );
    // Never written as a nested key path.
    assert!(
        r.attributes()
            .keys()
            .all(|k| k == "schemas" || k == ENTERPRISE_USER_SCHEMA || !k.contains(':'))
    );
    assert_eq!(r.schemas(), [USER_SCHEMA, ENTERPRISE_USER_SCHEMA]);
}

#[test]
fn schemas_is_recomputed() {
    // Missing `schemas` is tolerated; a listed but empty extension is not kept.
    let r =
        user(json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": "a"}))
            .unwrap();
    assert_eq!(r.schemas(), [USER_SCHEMA]);
    let r = user(json!({
        "schemas": [USER_SCHEMA, ENTERPRISE_USER_SCHEMA],
        "userName": "a",
        ENTERPRISE_USER_SCHEMA: {"manager": null}
    }))
    .unwrap();
    assert_eq!(r.schemas(), [USER_SCHEMA]);
    assert!(r.get(ENTERPRISE_USER_SCHEMA).is_none());
}

#[test]
fn null_and_empty_values_are_unassigned() {
    let r = user(json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
        "userName": "a",
        "displayName": null,
        "emails": [],
        "name": {"givenName": null},
        "phoneNumbers": [null]
    }))
    .unwrap();
    assert_eq!(
        r.to_json(),
        json!({"schemas": [USER_SCHEMA], "userName": "a"})
    );
}

#[test]
fn primary_rules() {
    let r = user(json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
        "userName": "a",
        "emails": [
            {"value": "a@x", "primary": true},
            {"value": "b@x", "primary": true},
            {"value": "c@x"}
        ]
    }))
    .unwrap();
    assert_eq!(
        r.get("emails").unwrap(),
        &json!([
            {"value": "a@x", "primary": false},
            {"value": "b@x", "primary": true},
            {"value": "c@x"}
        ])
    );
    assert_eq!(r.as_user().primary_email(), Some("b@x"));
}

#[test]
fn duplicates_collapse_exactly() {
    let r = user(json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
        "userName": "a",
        "emails": [
            {"value": "a@x", "type": "work"},
            {"VALUE": "a@x", "TYPE": "work"},
            {"value": "a@x", "type": "home"},
            {"value": "A@x", "type": "work"}
        ]
    }))
    .unwrap();
    assert_eq!(
        r.get("emails").unwrap(),
        &json!([
            {"value": "a@x", "type": "work"},
            {"value": "a@x", "type": "home"},
            {"value": "A@x", "type": "work"}
        ])
    );
}

/// `{"userName": "a", "emails": {"value": "a@x"}}`: RFC 7643 §2.4 wants an array; refused
/// with `invalidValue` naming the attribute, unless the client's profile names
/// `multi_valued_object_as_array` (the `lenient` profile), which stores one element.
#[test]
fn single_value_for_multi_valued_attribute_only_when_tolerated() {
    let body = json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": "a", "emails": {"value": "a@x"}});
    let err = user(body.clone()).unwrap_err();
    assert_eq!(err.status(), 400);
    assert_eq!(err.scim_type(), Some(ScimType::InvalidValue));
    assert!(
        err.to_string().contains("`emails` is multi-valued"),
        "{err}"
    );
    let err = strict_user(body.clone()).unwrap_err();
    assert_eq!(err.scim_type(), Some(ScimType::InvalidValue));
    let r = Resource::from_client(users(&registry()), body, &Tolerances::lenient()).unwrap();
    assert_eq!(r.get("emails").unwrap(), &json!([{"value": "a@x"}]));
}

#[test]
fn manager_string_tolerance() {
    let body = json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": "a", ENTERPRISE_USER_SCHEMA: {"manager": "26118915"}});
    let r = user(body.clone()).unwrap();
    assert_eq!(
        r.get(ENTERPRISE_USER_SCHEMA).unwrap(),
        &json!({"manager": {"value": "26118915"}})
    );
    let err = strict_user(body).unwrap_err();
    assert_eq!(scim_type(&err), Some(ScimType::InvalidValue));
}

#[test]
fn host_registered_extension() {
    // The token-metadata example of the `RegistryBuilder` docs.
    const TOKENS: &str = "urn:example:params:scim:schemas:extension:tokens:2.0:User";
    let tokens = Schema::new(
        TOKENS,
        "TokenMetadata",
        vec![
            AttributeDef::complex(
                "apiKeys",
                vec![
                    AttributeDef::reference("value", ["external"]).required(),
                    AttributeDef::string("label"),
                    AttributeDef::date_time("expires"),
                ],
            )
            .multi_valued(),
        ],
    );
    let registry = SchemaRegistry::builder()
        .schema(tokens)
        .extend("User", TOKENS, false)
        .build()
        .unwrap();
    let view = users(&registry);
    let r = Resource::from_client(
        view,
        json!({
            "schemas": [USER_SCHEMA, TOKENS],
            "userName": "a",
            TOKENS: {"APIKEYS": [{"value": "https://keys.example.com/1", "Label": "ci",
                                  "expires": "2030-01-01T00:00:00Z"}]}
        }),
        &Tolerances::default(),
    )
    .unwrap();
    assert_eq!(r.schemas(), [USER_SCHEMA, TOKENS]);
    assert_eq!(
        r.get(TOKENS).unwrap(),
        &json!({"apiKeys": [{"value": "https://keys.example.com/1", "label": "ci",
                             "expires": "2030-01-01T00:00:00Z"}]})
    );
    let err = Resource::from_client(
        view,
        json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": "a", TOKENS: {"apiKeys": [{"expires": "soon"}]}}),
        &Tolerances::default(),
    )
    .unwrap_err();
    assert!(err.detail().contains("apiKeys.expires"), "{err}");
    let err = Resource::from_client(
        view,
        json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": "a", TOKENS: ["x"]}),
        &Tolerances::default(),
    )
    .unwrap_err();
    assert_eq!(scim_type(&err), Some(ScimType::InvalidSyntax));
}

#[test]
fn required_extension_and_its_required_attributes() {
    const EXT: &str = "urn:example:params:scim:schemas:extension:badge:2.0:User";
    let registry = SchemaRegistry::builder()
        .schema(Schema::new(
            EXT,
            "Badge",
            vec![AttributeDef::string("badge").required()],
        ))
        .extend("User", EXT, true)
        .build()
        .unwrap();
    let view = users(&registry);
    let err = Resource::from_client(
        view,
        json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": "a"}),
        &Tolerances::default(),
    )
    .unwrap_err();
    assert_eq!(
        err.detail(),
        format!("missing required schema extension `{EXT}`")
    );
    let err = Resource::from_client(
        view,
        json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": "a", EXT: {"badge": ""}}),
        &Tolerances::default(),
    )
    .unwrap_err();
    assert_eq!(
        err.detail(),
        format!("missing required attribute `{EXT}:badge`")
    );
}

#[test]
fn immutable_attributes_on_replace() {
    const EXT: &str = "urn:example:params:scim:schemas:extension:hr:2.0:User";
    let registry = SchemaRegistry::builder()
        .schema(Schema::new(
            EXT,
            "Hr",
            vec![
                AttributeDef::string("personnelId")
                    .mutability(scim_core::schema::Mutability::Immutable),
                AttributeDef::complex(
                    "badge",
                    vec![
                        AttributeDef::string("serial")
                            .case_exact()
                            .mutability(scim_core::schema::Mutability::Immutable),
                        AttributeDef::string("color"),
                    ],
                ),
            ],
        ))
        .extend("User", EXT, false)
        .build()
        .unwrap();
    let view = users(&registry);
    let make = |ext: Value| {
        Resource::from_client(
            view,
            json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": "a", EXT: ext}),
            &Tolerances::strict(),
        )
        .unwrap()
    };
    let mut existing = make(json!({"personnelId": "P1", "badge": {"serial": "S1"}}));
    existing.set_id("1");
    // Same values (personnelId is not caseExact), other attributes changed: fine.
    let same = make(json!({"personnelId": "p1", "badge": {"serial": "S1", "color": "red"}}));
    same.check_replace(&existing, view).unwrap();
    // Omitted: not a change, and carried over.
    let omitted = make(json!({"badge": {"color": "red"}}));
    omitted.check_replace(&existing, view).unwrap();
    let kept = omitted.keep_server_owned(&existing, view);
    assert_eq!(kept.id(), Some("1"));
    assert_eq!(kept.get(EXT).unwrap()["personnelId"], "P1");
    // Changed: mutability error.
    let err = make(json!({"personnelId": "P2"}))
        .check_replace(&existing, view)
        .unwrap_err();
    assert_eq!(scim_type(&err), Some(ScimType::Mutability));
    assert!(err.detail().contains("personnelId"));
    let err = make(json!({"badge": {"serial": "s1"}}))
        .check_replace(&existing, view)
        .unwrap_err();
    assert_eq!(scim_type(&err), Some(ScimType::Mutability));
    assert!(err.detail().contains("badge.serial"));
}

#[test]
fn group_members_may_be_added_and_removed() {
    let registry = registry();
    let groups = registry.resource_type("Group").unwrap();
    let existing = create(
        groups,
        json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"], "displayName": "G", "members": [{"value": "u1"}, {"value": "u2"}]}),
        "g",
    );
    let replacement = Resource::from_client(
        groups,
        json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"], "displayName": "G", "members": [{"value": "u2", "type": "User"}, {"value": "u3"}]}),
        &Tolerances::strict(),
    )
    .unwrap();
    replacement.check_replace(&existing, groups).unwrap();
    let kept = replacement.keep_server_owned(&existing, groups);
    assert_eq!(kept.id(), Some("g"));
    let members = kept.as_group().members();
    assert_eq!(members.len(), 2);
    assert_eq!(members[0].value, Some("u2"));
    assert_eq!(members[0].type_, Some("User"));
}

#[test]
fn typed_views() {
    let registry = registry();
    let view = users(&registry);
    let r = create(view, fixture("rfc7643-8.2-full-user.json"), "2819c223");
    let u = r.as_user();
    assert_eq!(u.id(), Some("2819c223"));
    assert_eq!(u.external_id(), Some("701984"));
    assert_eq!(u.user_name(), Some("bjensen@example.com"));
    assert_eq!(u.display_name(), Some("Babs Jensen"));
    assert!(u.active());
    assert_eq!(u.name().unwrap().given_name, Some("Barbara"));
    assert_eq!(u.emails().len(), 2);
    assert!(u.emails()[0].primary);
    assert_eq!(u.emails()[1].type_, Some("home"));
    assert_eq!(u.primary_email(), Some("bjensen@example.com"));
    assert!(
        u.groups().is_empty(),
        "groups are read-only and were ignored"
    );
    let minimal =
        user(json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": "x"}))
            .unwrap();
    assert!(minimal.as_user().active(), "active defaults to true");
    assert!(minimal.as_user().name().is_none());

    let groups = registry.resource_type("Group").unwrap();
    let g = create(groups, fixture("rfc7643-8.4-group.json"), "e9e30dba");
    let gv = g.as_group();
    assert_eq!(gv.display_name(), Some("Tour Guides"));
    assert_eq!(gv.members().len(), 2);
    assert_eq!(gv.members()[1].display, Some("Mandy Pepperidge"));
    assert!(
        gv.members()[0]
            .reference
            .unwrap()
            .ends_with("/Users/2819c223-7f76-453a-919d-413861904646")
    );
}

#[test]
fn stored_round_trip() {
    let r =
        user(json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": "a"}))
            .unwrap();
    let back = Resource::from_stored(r.clone().into_json()).unwrap();
    assert_eq!(back, r);
    assert!(Resource::from_stored(json!("x")).is_err());
}

/// Versions (RFC 7644 §3.14): 1 on create, the next one on every change, the same on a
/// no-op — which keeps `lastModified` too.
#[tokio::test]
async fn versions_count_changes_and_no_ops_keep_meta() {
    let engine = engine_for(MemoryStore::new(), "u1");
    let created = send(
        &engine,
        Method::Post,
        "/Users",
        Some(&json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": "a", "active": true})),
    )
    .await;
    assert_eq!(created.header("etag"), Some(r#"W/"1""#));
    let patch = |value: bool| {
        json!({
            "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
            "Operations": [{"op": "replace", "path": "active", "value": value}]
        })
    };
    let same = send(&engine, Method::Patch, "/Users/u1", Some(&patch(true))).await;
    assert_eq!(same.status, 200);
    assert_eq!(same.header("etag"), Some(r#"W/"1""#));
    assert_eq!(
        same.json()["meta"],
        created.json()["meta"],
        "a no-op keeps meta"
    );
    let changed = send(&engine, Method::Patch, "/Users/u1", Some(&patch(false))).await;
    assert_eq!(changed.header("etag"), Some(r#"W/"2""#));
    let meta = &changed.json()["meta"];
    assert_eq!(meta["created"], "2024-05-01T12:00:00.000Z");
    assert_eq!(meta["lastModified"], "2024-05-01T14:00:00.000Z");
    assert_eq!(meta["version"], r#"W/"2""#);
    let put = send(
        &engine,
        Method::Put,
        "/Users/u1",
        Some(&json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": "a", "active": false})),
    )
    .await;
    assert_eq!(
        put.header("etag"),
        Some(r#"W/"2""#),
        "a PUT of the same resource is a no-op"
    );
}

/// A Group with 100 000 members is checked in linear time (duplicates are found by hashing,
/// not by comparing every pair), and exact duplicates still collapse.
#[test]
fn large_member_lists_dedupe_in_linear_time() {
    let registry = scim_core::schema::SchemaRegistry::default();
    let view = registry.resource_type("Group").unwrap();
    let mut members: Vec<serde_json::Value> = (0..100_000)
        .map(|i| serde_json::json!({"value": format!("user-{i}")}))
        .collect();
    members.push(serde_json::json!({"value": "user-7"}));
    let body = serde_json::json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"], "displayName": "Everyone", "members": members});
    let group =
        scim_core::Resource::from_client(view, body, &scim_core::Tolerances::default()).unwrap();
    assert_eq!(
        group.get("members").unwrap().as_array().unwrap().len(),
        100_000
    );
}

/// Entra ID's legacy one-element array for the single-valued `manager`
/// (`"manager": [{"value": "26118915"}]`) is unwrapped under the default profile and
/// refused under strict; two elements are refused under both.
#[test]
fn manager_one_element_array_tolerance() {
    let body = json!({
        "schemas": [USER_SCHEMA, ENTERPRISE_USER_SCHEMA],
        "userName": "a",
        ENTERPRISE_USER_SCHEMA: {"manager": [{"value": "26118915"}]}
    });
    let r = user(body.clone()).unwrap();
    assert_eq!(
        r.get(ENTERPRISE_USER_SCHEMA).unwrap()["manager"],
        json!({"value": "26118915"})
    );
    assert_eq!(
        strict_user(body).unwrap_err().scim_type(),
        Some(ScimType::InvalidValue)
    );
    let two = json!({
        "schemas": [USER_SCHEMA, ENTERPRISE_USER_SCHEMA],
        "userName": "a",
        ENTERPRISE_USER_SCHEMA: {"manager": [{"value": "1"}, {"value": "2"}]}
    });
    assert!(user(two).is_err());
}

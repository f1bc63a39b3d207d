//! `attributes` / `excludedAttributes` and `returned` (RFC 7644 §3.4.2.5, §3.9;
//! RFC 7643 §2.2).

#![allow(clippy::unwrap_used, clippy::expect_used)]

use scim_core::projection::Projection;
use scim_core::resource::Resource;
use scim_core::schema::{
    AttributeDef, ENTERPRISE_USER_SCHEMA, Returned, Schema, SchemaRegistry, USER_SCHEMA,
};
use scim_core::{ScimType, Tolerances};
use serde_json::{Map, Value, json};

fn fixture(name: &str) -> Value {
    let path = format!("{}/tests/fixtures/{name}", env!("CARGO_MANIFEST_DIR"));
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

/// The §8.3 enterprise user as stored: id, meta and the (server-maintained) groups set.
fn stored_user() -> Resource {
    let registry = SchemaRegistry::default();
    let view = registry.resource_type("User").unwrap();
    let example = fixture("rfc7643-8.3-enterprise-user.json");
    let mut r = Resource::from_client(view, example.clone(), &Tolerances::strict()).unwrap();
    r.set_id(example["id"].as_str().unwrap());
    let attrs = r.attributes_mut();
    attrs.insert("meta".into(), example["meta"].clone());
    attrs.insert("groups".into(), example["groups"].clone());
    r
}

fn project(attributes: Option<&str>, excluded: Option<&str>) -> Map<String, Value> {
    let registry = SchemaRegistry::default();
    let view = registry.resource_type("User").unwrap();
    Projection::parse(attributes, excluded, view)
        .unwrap()
        .apply_resource(&stored_user())
}

fn keys(map: &Map<String, Value>) -> Vec<&str> {
    map.keys().map(String::as_str).collect()
}

#[test]
fn default_strips_never_only() {
    let out = project(None, None);
    assert!(out.get("password").is_none());
    let stored = stored_user();
    assert!(stored.get("password").is_some());
    let mut expected = stored.attributes().clone();
    expected.remove("password");
    assert_eq!(out, expected);
    // Empty parameters are absent parameters.
    assert_eq!(project(Some(""), Some(" ")), expected);
}

#[test]
fn attributes_selects_plus_always() {
    let out = project(Some("userName,emails"), None);
    assert_eq!(keys(&out), ["emails", "id", "schemas", "userName"]);
    assert_eq!(out["emails"], stored_user().get("emails").unwrap().clone());
}

#[test]
fn names_are_case_insensitive_and_output_in_schema_case() {
    let out = project(Some("USERNAME, Name.GivenName"), None);
    assert_eq!(keys(&out), ["id", "name", "schemas", "userName"]);
    assert_eq!(out["name"], json!({"givenName": "Barbara"}));
}

#[test]
fn sub_attributes_of_multi_valued() {
    let out = project(Some("emails.value"), None);
    assert_eq!(
        out["emails"],
        json!([{"value": "bjensen@example.com"}, {"value": "babs@jensen.org"}])
    );
    // Excluding a sub-attribute keeps the rest of every element.
    let out = project(None, Some("emails.type,emails.primary"));
    assert_eq!(
        out["emails"],
        json!([{"value": "bjensen@example.com"}, {"value": "babs@jensen.org"}])
    );
}

#[test]
fn whole_and_sub_attribute_named_together() {
    let out = project(Some("name,name.givenName"), None);
    assert_eq!(out["name"], stored_user().get("name").unwrap().clone());
}

#[test]
fn excluded_attributes() {
    let out = project(None, Some("emails,name,meta"));
    assert!(out.get("emails").is_none());
    assert!(out.get("name").is_none());
    assert!(out.get("meta").is_none());
    assert!(out.get("userName").is_some());
    assert!(out.get("password").is_none());
    // `id` (returned always) and `schemas` survive exclusion.
    let out = project(None, Some("id,schemas,userName"));
    assert!(out.get("id").is_some());
    assert!(out.get("schemas").is_some());
    assert!(out.get("userName").is_none());
}

#[test]
fn never_is_never_returned_even_when_named() {
    let out = project(Some("password,userName"), None);
    assert_eq!(keys(&out), ["id", "schemas", "userName"]);
}

#[test]
fn extension_urn_alone_means_whole_extension() {
    let out = project(Some(ENTERPRISE_USER_SCHEMA), None);
    assert_eq!(keys(&out), ["id", "schemas", ENTERPRISE_USER_SCHEMA]);
    assert_eq!(
        out[ENTERPRISE_USER_SCHEMA],
        stored_user().get(ENTERPRISE_USER_SCHEMA).unwrap().clone()
    );
    let out = project(None, Some(&ENTERPRISE_USER_SCHEMA.to_lowercase()));
    assert!(out.get(ENTERPRISE_USER_SCHEMA).is_none());
    assert!(out.get("userName").is_some());
    // `schemas` keeps listing the resource's schemas.
    assert_eq!(out["schemas"], json!([USER_SCHEMA, ENTERPRISE_USER_SCHEMA]));
}

#[test]
fn urn_qualified_extension_attributes() {
    let out = project(
        Some(&format!(
            "{ENTERPRISE_USER_SCHEMA}:employeeNumber,{ENTERPRISE_USER_SCHEMA}:manager.value"
        )),
        None,
    );
    assert_eq!(
        out[ENTERPRISE_USER_SCHEMA],
        json!({"employeeNumber": "701984", "manager": {"value": "26118915-6090-4610-87e4-49d8ca9f808d"}})
    );
    // Unqualified extension names resolve too.
    let out = project(Some("department"), None);
    assert_eq!(
        out[ENTERPRISE_USER_SCHEMA],
        json!({"department": "Tour Operations"})
    );
    let out = project(None, Some(&format!("{ENTERPRISE_USER_SCHEMA}:manager")));
    assert!(out[ENTERPRISE_USER_SCHEMA].get("manager").is_none());
    assert_eq!(out[ENTERPRISE_USER_SCHEMA]["costCenter"], "4130");
}

#[test]
fn urn_qualified_core_attributes() {
    let out = project(
        Some(
            "urn:ietf:params:scim:schemas:core:2.0:User:userName,urn:ietf:params:scim:schemas:core:2.0:user:name.familyName",
        ),
        None,
    );
    assert_eq!(keys(&out), ["id", "name", "schemas", "userName"]);
    assert_eq!(out["name"], json!({"familyName": "Jensen"}));
}

#[test]
fn attributes_wins_over_excluded() {
    let out = project(Some("userName"), Some("userName"));
    assert!(out.get("userName").is_some());
}

#[test]
fn unknown_names_select_nothing_malformed_names_fail() {
    let out = project(Some("nope,urn:example:x:y"), None);
    assert_eq!(keys(&out), ["id", "schemas"]);
    let out = project(None, Some("nope"));
    assert_eq!(out.len(), project(None, None).len());
    let registry = SchemaRegistry::default();
    let view = registry.resource_type("User").unwrap();
    for bad in ["name.", ".x", "name.givenName.x"] {
        let err = Projection::parse(Some(bad), None, view).unwrap_err();
        assert_eq!(err.scim_type(), Some(ScimType::InvalidValue), "{bad}");
    }
}

#[test]
fn groups_read_only_but_returned() {
    let out = project(Some("groups.display"), None);
    assert_eq!(
        out["groups"],
        json!([{"display": "Tour Guides"}, {"display": "Employees"}, {"display": "US Employees"}])
    );
}

#[test]
fn returned_request_and_always_in_host_schema() {
    const EXT: &str = "urn:example:params:scim:schemas:extension:audit:2.0:User";
    let registry = SchemaRegistry::builder()
        .schema(Schema::new(
            EXT,
            "Audit",
            vec![
                AttributeDef::string("lastLoginIp").returned(Returned::Request),
                AttributeDef::string("tenant").returned(Returned::Always),
                AttributeDef::complex(
                    "device",
                    vec![
                        AttributeDef::string("model"),
                        AttributeDef::string("secret").returned(Returned::Never),
                        AttributeDef::string("serial").returned(Returned::Request),
                    ],
                ),
            ],
        ))
        .extend("User", EXT, false)
        .build()
        .unwrap();
    let view = registry.resource_type("User").unwrap();
    let r = Resource::from_client(
        view,
        json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": "a", EXT: {
            "lastLoginIp": "10.0.0.1", "tenant": "t1",
            "device": {"model": "m", "secret": "s", "serial": "n"}
        }}),
        &Tolerances::strict(),
    )
    .unwrap();
    let p = |a: Option<&str>, e: Option<&str>| {
        Projection::parse(a, e, view).unwrap().apply_resource(&r)
    };
    assert_eq!(
        p(None, None)[EXT],
        json!({"tenant": "t1", "device": {"model": "m"}})
    );
    assert_eq!(
        p(Some("lastLoginIp"), None)[EXT],
        json!({"tenant": "t1", "lastLoginIp": "10.0.0.1"})
    );
    assert_eq!(p(Some("userName"), None)[EXT], json!({"tenant": "t1"}));
    assert_eq!(p(None, Some(&format!("{EXT}:tenant")))[EXT]["tenant"], "t1");
    assert_eq!(
        p(Some("device.serial,device.secret"), None)[EXT],
        json!({"tenant": "t1", "device": {"serial": "n"}})
    );
    assert_eq!(p(None, Some("device.model"))[EXT], json!({"tenant": "t1"}));
}

#[test]
fn applies_to_stored_maps_with_unknown_keys() {
    let registry = SchemaRegistry::default();
    let view = registry.resource_type("User").unwrap();
    let mut map = stored_user().into_map();
    map.insert("hostNote".into(), json!("kept in default output"));
    let default = Projection::default_for(view).apply(&map);
    assert_eq!(default["hostNote"], "kept in default output");
    let selected = Projection::parse(Some("userName"), None, view)
        .unwrap()
        .apply(&map);
    assert!(selected.get("hostNote").is_none());
}

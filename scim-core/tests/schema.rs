//! The generated `/Schemas` and `/ResourceTypes` JSON against RFC 7643 §8.6 and §8.7.1.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use scim_core::schema::{
    ENTERPRISE_USER_SCHEMA, GROUP_SCHEMA, SchemaRegistry, USER_SCHEMA, resource_type_schema,
    schema_schema, service_provider_config_schema,
};
use serde_json::{Map, Value, json};
use std::collections::BTreeMap;

fn fixture(name: &str) -> Value {
    let path = format!("{}/tests/fixtures/{name}", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(&path).unwrap();
    serde_json::from_str(&text).unwrap()
}

/// An attribute definition reduced to its characteristics, RFC 7643 §7 defaults filled in.
fn normalize(attr: &Value) -> Value {
    let get = |k: &str, default: Value| attr.get(k).cloned().unwrap_or(default);
    let subs: BTreeMap<String, Value> = attr
        .get("subAttributes")
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .map(|s| (s["name"].as_str().unwrap().to_owned(), normalize(s)))
                .collect()
        })
        .unwrap_or_default();
    json!({
        "type": attr["type"],
        "multiValued": attr["multiValued"],
        "required": get("required", json!(false)),
        "caseExact": get("caseExact", json!(false)),
        "mutability": get("mutability", json!("readWrite")),
        "returned": get("returned", json!("default")),
        "uniqueness": get("uniqueness", json!("none")),
        "canonicalValues": get("canonicalValues", json!([])),
        "referenceTypes": get("referenceTypes", json!([])),
        "subAttributes": subs,
    })
}

fn normalize_schema(schema: &Value) -> BTreeMap<String, Value> {
    schema["attributes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| (a["name"].as_str().unwrap().to_owned(), normalize(a)))
        .collect()
}

fn rfc_schema(id: &str) -> Value {
    fixture("rfc7643-8.7.1-schemas.json")
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["id"] == id)
        .unwrap()
        .clone()
}

fn generated(id: &str) -> Value {
    SchemaRegistry::default().schema(id).unwrap().to_json()
}

fn assert_same(id: &str, mut expected: BTreeMap<String, Value>) {
    let actual = normalize_schema(&generated(id));
    let names: Vec<_> = expected.keys().cloned().collect();
    assert_eq!(actual.keys().cloned().collect::<Vec<_>>(), names, "{id}");
    for (name, want) in std::mem::take(&mut expected) {
        assert_eq!(actual[&name], want, "{id} attribute `{name}`");
    }
}

#[test]
fn user_schema_matches_rfc_8_7_1() {
    let rfc = rfc_schema(USER_SCHEMA);
    let mut expected = normalize_schema(&rfc);
    // Deliberate difference: `addresses.primary` exists (RFC 7643 §2.4, §4.1.2 and the
    // §8.2 example use it; the §8.7.1 listing omits it).
    let primary = normalize(&json!({"name": "primary", "type": "boolean", "multiValued": false}));
    expected.get_mut("addresses").unwrap()["subAttributes"]["primary"] = primary;
    // Deliberate difference: `groups.value` holds a Group's `id` and compares exactly, as
    // `id` does (RFC 7643 §3.1; the §8.7.1 listing leaves it `caseExact: false`).
    expected.get_mut("groups").unwrap()["subAttributes"]["value"]["caseExact"] = json!(true);
    assert_same(USER_SCHEMA, expected);

    let generated = generated(USER_SCHEMA);
    assert_eq!(generated["name"], "User");
    assert_eq!(generated["description"], "User Account");
    assert_eq!(
        generated["schemas"],
        json!(["urn:ietf:params:scim:schemas:core:2.0:Schema"])
    );
    assert_eq!(generated["meta"]["resourceType"], "Schema");
    assert_eq!(
        generated["meta"]["location"],
        format!("/Schemas/{USER_SCHEMA}")
    );
}

#[test]
fn group_schema_matches_rfc_8_7_1() {
    let mut expected = normalize_schema(&rfc_schema(GROUP_SCHEMA));
    // Deliberate difference 1: `displayName` is required (§4.2 says REQUIRED; the §8.7.1
    // listing says `required: false`).
    expected.get_mut("displayName").unwrap()["required"] = json!(true);
    // Deliberate difference 2: `members.display` exists (used by the §8.4 example and sent
    // by IdPs), immutable like the other member sub-attributes.
    let display = normalize(&json!({
        "name": "display", "type": "string", "multiValued": false, "mutability": "immutable"
    }));
    expected.get_mut("members").unwrap()["subAttributes"]["display"] = display;
    // Deliberate difference 3: `members.value` holds an `id` and compares exactly.
    expected.get_mut("members").unwrap()["subAttributes"]["value"]["caseExact"] = json!(true);
    assert_same(GROUP_SCHEMA, expected);
}

#[test]
fn enterprise_user_schema_matches_rfc_8_7_1() {
    let mut expected = normalize_schema(&rfc_schema(ENTERPRISE_USER_SCHEMA));
    // Deliberate difference: `manager.value` holds a User's `id` and compares exactly.
    expected.get_mut("manager").unwrap()["subAttributes"]["value"]["caseExact"] = json!(true);
    assert_same(ENTERPRISE_USER_SCHEMA, expected);
    assert_eq!(generated(ENTERPRISE_USER_SCHEMA)["name"], "EnterpriseUser");
}

#[test]
fn schema_json_location_uses_base_url() {
    let registry = SchemaRegistry::default();
    let json = registry
        .schema(GROUP_SCHEMA)
        .unwrap()
        .to_json_at("https://example.com/v2/");
    assert_eq!(
        json["meta"]["location"],
        format!("https://example.com/v2/Schemas/{GROUP_SCHEMA}")
    );
}

#[test]
fn resource_types_match_rfc_8_6() {
    let rfc = fixture("rfc7643-8.6-resource-types.json");
    let registry = SchemaRegistry::default();
    for expected in rfc.as_array().unwrap() {
        let name = expected["name"].as_str().unwrap();
        let mut actual = registry
            .resource_type(name)
            .unwrap()
            .to_json_at("https://example.com/v2");
        // Deliberate difference: the built-in User type makes the Enterprise extension
        // optional (the §8.6 example shows a provider that requires it).
        if let Some(ext) = actual.get_mut("schemaExtensions") {
            ext[0]["required"] = json!(true);
        }
        assert_eq!(&actual, expected, "{name}");
    }
}

#[test]
fn discovery_schemas_follow_8_7_2() {
    let spc = service_provider_config_schema().to_json();
    let attrs: Vec<&str> = spc["attributes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        attrs,
        [
            "documentationUri",
            "patch",
            "bulk",
            "filter",
            "changePassword",
            "sort",
            "etag",
            "authenticationSchemes"
        ]
    );
    for attr in spc["attributes"].as_array().unwrap() {
        assert_eq!(attr["mutability"], "readOnly", "{}", attr["name"]);
    }
    let rt = resource_type_schema().to_json();
    let ext = rt["attributes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["name"] == "schemaExtensions")
        .unwrap();
    // Deliberate difference: multi-valued (it is a list; §8.7.2 prints multiValued false).
    assert_eq!(ext["multiValued"], true);
    let schema = schema_schema().to_json();
    let attributes = &schema["attributes"][3];
    assert_eq!(attributes["name"], "attributes");
    let subs: Vec<&str> = attributes["subAttributes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["name"].as_str().unwrap())
        .collect();
    assert!(subs.contains(&"subAttributes"));
    assert!(subs.contains(&"referenceTypes"));
}

#[test]
fn service_provider_config_example_validates_against_its_schema() {
    // The §8.5 example, checked with the same coercion as resources.
    let example = fixture("rfc7643-8.5-service-provider-config.json");
    let schema = service_provider_config_schema();
    let tolerances = scim_core::Tolerances::strict();
    let obj: &Map<String, Value> = example.as_object().unwrap();
    for def in &schema.attributes {
        let value = obj.get(&def.name).cloned().unwrap_or(Value::Null);
        let out = scim_core::resource::coerce_attribute(def, value.clone(), &tolerances, &def.name)
            .unwrap();
        assert_eq!(out, value, "{}", def.name);
    }
}

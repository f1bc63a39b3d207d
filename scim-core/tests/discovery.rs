//! Discovery endpoints through `ScimEngine::handle` (RFC 7644 §4, RFC 7643 §5–§7).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use scim_core::{
    EngineConfig, InsecureNoAuthentication, MemoryStore, Method, NoSessionsToRevoke, ScimEngine,
    ScimRequest, ScimResponse,
};
use serde_json::json;

const BASE: &str = "https://example.com/scim/v2";
const LIST: &str = "urn:ietf:params:scim:api:messages:2.0:ListResponse";
const USER: &str = "urn:ietf:params:scim:schemas:core:2.0:User";

fn engine() -> ScimEngine {
    let mut config = EngineConfig::default();
    config.max_results = 250;
    config.bulk.max_operations = 40;
    config.bulk.max_payload_bytes = 500_000;
    ScimEngine::builder(MemoryStore::new())
        .authenticator(InsecureNoAuthentication::for_tenant("acme"))
        .revoker(NoSessionsToRevoke)
        .config(config)
        .build()
        .unwrap()
}

async fn get(engine: &ScimEngine, path: &str) -> ScimResponse {
    engine
        .handle(ScimRequest::new(Method::Get, path).with_base_url(BASE))
        .await
}

#[tokio::test]
async fn service_provider_config_reflects_the_configuration() {
    let response = get(&engine(), "/ServiceProviderConfig").await;
    assert_eq!(response.status, 200);
    assert_eq!(
        response.header("content-type"),
        Some("application/scim+json")
    );
    let body = response.json();
    assert_eq!(
        body["schemas"],
        json!(["urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig"])
    );
    assert_eq!(body["patch"], json!({"supported": true}));
    assert_eq!(
        body["bulk"],
        json!({"supported": true, "maxOperations": 40, "maxPayloadSize": 500_000})
    );
    assert_eq!(
        body["filter"],
        json!({"supported": true, "maxResults": 250})
    );
    assert_eq!(body["changePassword"], json!({"supported": false}));
    assert_eq!(body["sort"], json!({"supported": true}));
    assert_eq!(body["etag"], json!({"supported": true}));
    assert_eq!(body["pagination"]["maxPageSize"], 250);
    assert_eq!(body["authenticationSchemes"][0]["type"], "oauthbearertoken");
    assert_eq!(body["authenticationSchemes"][0]["primary"], true);
    assert_eq!(
        body["meta"],
        json!({"resourceType": "ServiceProviderConfig", "location": format!("{BASE}/ServiceProviderConfig")})
    );
}

#[tokio::test]
async fn schemas_are_a_list_response_with_absolute_locations() {
    let response = get(&engine(), "/Schemas").await;
    assert_eq!(response.status, 200);
    let body = response.json();
    assert_eq!(body["schemas"], json!([LIST]));
    let resources = body["Resources"].as_array().unwrap();
    assert_eq!(body["totalResults"], resources.len());
    let names: Vec<&str> = resources
        .iter()
        .map(|s| s["name"].as_str().unwrap())
        .collect();
    assert!(
        names.contains(&"User") && names.contains(&"Group"),
        "{names:?}"
    );
    for schema in resources {
        assert_eq!(schema["meta"]["resourceType"], "Schema");
        let location = schema["meta"]["location"].as_str().unwrap();
        assert_eq!(
            location,
            format!("{BASE}/Schemas/{}", schema["id"].as_str().unwrap())
        );
    }
}

#[tokio::test]
async fn one_schema_by_urn() {
    let engine = engine();
    let response = get(&engine, &format!("/Schemas/{USER}")).await;
    assert_eq!(response.status, 200);
    assert_eq!(response.json()["id"], USER);
    let missing = get(&engine, "/Schemas/urn:example:nothing").await;
    assert_eq!(missing.status, 404);
    assert_eq!(missing.json()["status"], "404");
}

#[tokio::test]
async fn resource_types_list_and_one() {
    let engine = engine();
    let response = get(&engine, "/ResourceTypes").await;
    assert_eq!(response.status, 200);
    let body = response.json();
    assert_eq!(body["schemas"], json!([LIST]));
    assert_eq!(body["totalResults"], 2);
    let user = get(&engine, "/ResourceTypes/User").await;
    assert_eq!(user.status, 200);
    assert_eq!(user.json()["endpoint"], "/Users");
    assert_eq!(
        user.json()["meta"]["location"],
        format!("{BASE}/ResourceTypes/User")
    );
    let missing = get(&engine, "/ResourceTypes/Device").await;
    assert_eq!(missing.status, 404);
}

#[tokio::test]
async fn discovery_endpoints_accept_only_get() {
    let engine = engine();
    for path in ["/ServiceProviderConfig", "/Schemas", "/ResourceTypes"] {
        for method in [Method::Post, Method::Put, Method::Patch, Method::Delete] {
            let response = engine
                .handle(
                    ScimRequest::new(method, path)
                        .with_base_url(BASE)
                        .with_header("content-type", "application/scim+json")
                        .with_body("{}"),
                )
                .await;
            assert_eq!(response.status, 405, "{} {path}", method.as_str());
        }
    }
}

//! `/ServiceProviderConfig`, `/Schemas`, `/ResourceTypes` (RFC 7644 §4, RFC 7643 §5–§7).
//!
//! Pure functions from the engine configuration and the schema registry to the discovery
//! bodies; the engine routes `GET` requests here (other methods get 405). Every body
//! advertises exactly what the engine does, and every `meta.location` is absolute.

use super::EngineConfig;
use crate::error::ScimError;
use crate::schema::{SERVICE_PROVIDER_CONFIG_SCHEMA, SchemaRegistry};
use serde_json::{Value, json};

/// The list response message URN (RFC 7644 §3.4.2).
const LIST_RESPONSE_SCHEMA: &str = "urn:ietf:params:scim:api:messages:2.0:ListResponse";

/// `base_url` without a trailing `/`.
fn base(base_url: &str) -> &str {
    base_url.trim_end_matches('/')
}

/// The `/ServiceProviderConfig` resource (RFC 7644 §4, RFC 7643 §5), with the cursor
/// pagination capabilities of RFC 9865 §4.
///
/// * `patch`, `sort`, `etag`, `filter`, `bulk` are supported; `filter.maxResults` is
///   [`EngineConfig::max_results`]; `bulk.maxOperations` / `bulk.maxPayloadSize` come from
///   [`EngineConfig::bulk`](super::BulkLimits).
/// * `changePassword` is not supported (RFC 7643 §5: the engine never accepts `password`
///   changes as a distinct capability).
/// * `authenticationSchemes` names OAuth bearer tokens (RFC 6750), the scheme both the
///   built-in [`BearerAuthenticator`](crate::auth::BearerAuthenticator) and typical host
///   authenticators (OAuth 2.0 access tokens, JWTs) use.
/// * `pagination` (RFC 9865 §4): index and cursor paging, index by default (existing
///   IdPs page by index); without `count` a page holds up to `maxResults` resources, which
///   is also `maxPageSize`. `cursorTimeout` is omitted: it is the store's to define.
///
/// `registry` is not consulted today; it is taken so that capabilities that depend on the
/// served resource types can be advertised without changing callers.
pub(crate) fn service_provider_config(
    config: &EngineConfig,
    registry: &SchemaRegistry,
    base_url: &str,
) -> Value {
    let _ = registry;
    json!({
        "schemas": [SERVICE_PROVIDER_CONFIG_SCHEMA],
        "patch": {"supported": true},
        "bulk": {
            "supported": true,
            "maxOperations": config.bulk.max_operations,
            "maxPayloadSize": config.bulk.max_payload_bytes,
        },
        "filter": {"supported": true, "maxResults": config.max_results},
        "changePassword": {"supported": false},
        "sort": {"supported": true},
        "etag": {"supported": true},
        "pagination": {
            "cursor": true,
            "index": true,
            "defaultPaginationMethod": "index",
            "defaultPageSize": config.max_results,
            "maxPageSize": config.max_results,
        },
        "authenticationSchemes": [{
            "type": "oauthbearertoken",
            "name": "OAuth Bearer Token",
            "description": "Authentication scheme using the OAuth Bearer Token Standard",
            "specUri": "https://www.rfc-editor.org/info/rfc6750",
            "primary": true,
        }],
        "meta": {
            "resourceType": "ServiceProviderConfig",
            "location": format!("{}/ServiceProviderConfig", base(base_url)),
        },
    })
}

/// A ListResponse (RFC 7644 §3.4.2) holding every resource at once: discovery endpoints
/// are not paged (RFC 7644 §4: filtering, sorting and paging parameters are ignored).
fn list_response(resources: Vec<Value>) -> Value {
    json!({
        "schemas": [LIST_RESPONSE_SCHEMA],
        "totalResults": resources.len(),
        "itemsPerPage": resources.len(),
        "startIndex": 1,
        "Resources": resources,
    })
}

/// `GET /Schemas` (RFC 7644 §4, RFC 7643 §7): a ListResponse of every schema the registry
/// holds, in registration order: the resource schemas (User, Group, Enterprise User, host
/// extensions) and the ServiceProviderConfig, ResourceType and Schema schemas (RFC 7643
/// §8.7.2), which validators such as scim2-tester expect.
pub(crate) fn schemas(registry: &SchemaRegistry, base_url: &str) -> Value {
    list_response(
        registry
            .schemas()
            .map(|s| s.to_json_at(base(base_url)))
            .collect(),
    )
}

/// `GET /Schemas/{id}` (RFC 7644 §4): one schema by its URI (case-insensitive); 404 for an
/// unknown one.
pub(crate) fn schema(
    registry: &SchemaRegistry,
    base_url: &str,
    id: &str,
) -> Result<Value, ScimError> {
    registry
        .schema(id)
        .map(|s| s.to_json_at(base(base_url)))
        .ok_or_else(|| ScimError::NotFound(format!("no schema `{id}`; GET /Schemas lists them")))
}

/// `GET /ResourceTypes` (RFC 7644 §4, RFC 7643 §6): a ListResponse of every resource type.
pub(crate) fn resource_types(registry: &SchemaRegistry, base_url: &str) -> Value {
    list_response(
        registry
            .resource_types()
            .map(|rt| rt.to_json_at(base(base_url)))
            .collect(),
    )
}

/// `GET /ResourceTypes/{id}` (RFC 7644 §4): one resource type by its `id` or `name`
/// (case-insensitive, e.g. `User`); 404 for an unknown one.
pub(crate) fn resource_type(
    registry: &SchemaRegistry,
    base_url: &str,
    name: &str,
) -> Result<Value, ScimError> {
    registry
        .resource_types()
        .find(|rt| rt.resource_type.id.eq_ignore_ascii_case(name))
        .or_else(|| registry.resource_type(name))
        .map(|rt| rt.to_json_at(base(base_url)))
        .ok_or_else(|| {
            ScimError::NotFound(format!(
                "no resource type `{name}`; GET /ResourceTypes lists them"
            ))
        })
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;
    use crate::engine::BulkLimits;
    use crate::schema::{
        AttributeDef, ENTERPRISE_USER_SCHEMA, GROUP_SCHEMA, RESOURCE_TYPE_SCHEMA, SCHEMA_SCHEMA,
        Schema, USER_SCHEMA,
    };

    const BASE: &str = "https://example.com/scim/v2";

    fn config() -> EngineConfig {
        EngineConfig {
            max_results: 200,
            bulk: BulkLimits {
                max_operations: 50,
                max_payload_bytes: 65536,
            },
            ..EngineConfig::default()
        }
    }

    #[test]
    fn service_provider_config_advertises_the_engine() {
        let spc = service_provider_config(&config(), &SchemaRegistry::default(), BASE);
        assert_eq!(
            spc,
            json!({
                "schemas": ["urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig"],
                "patch": {"supported": true},
                "bulk": {"supported": true, "maxOperations": 50, "maxPayloadSize": 65536},
                "filter": {"supported": true, "maxResults": 200},
                "changePassword": {"supported": false},
                "sort": {"supported": true},
                "etag": {"supported": true},
                "pagination": {
                    "cursor": true,
                    "index": true,
                    "defaultPaginationMethod": "index",
                    "defaultPageSize": 200,
                    "maxPageSize": 200,
                },
                "authenticationSchemes": [{
                    "type": "oauthbearertoken",
                    "name": "OAuth Bearer Token",
                    "description": "Authentication scheme using the OAuth Bearer Token Standard",
                    "specUri": "https://www.rfc-editor.org/info/rfc6750",
                    "primary": true,
                }],
                "meta": {
                    "resourceType": "ServiceProviderConfig",
                    "location": "https://example.com/scim/v2/ServiceProviderConfig",
                },
            })
        );
    }

    #[test]
    fn service_provider_config_defaults() {
        let spc =
            service_provider_config(&EngineConfig::default(), &SchemaRegistry::default(), BASE);
        assert_eq!(spc["bulk"]["maxOperations"], 1000);
        assert_eq!(spc["bulk"]["maxPayloadSize"], 1 << 20);
        assert_eq!(spc["filter"]["maxResults"], 1000);
    }

    #[test]
    fn trailing_slash_of_base_url_is_ignored() {
        let spc = service_provider_config(
            &config(),
            &SchemaRegistry::default(),
            "https://example.com/scim/v2/",
        );
        assert_eq!(
            spc["meta"]["location"],
            "https://example.com/scim/v2/ServiceProviderConfig"
        );
        let list = schemas(&SchemaRegistry::default(), "https://example.com/scim/v2/");
        assert_eq!(
            list["Resources"][0]["meta"]["location"],
            format!("{BASE}/Schemas/{USER_SCHEMA}")
        );
    }

    #[test]
    fn schemas_lists_every_schema_with_absolute_locations() {
        let list = schemas(&SchemaRegistry::default(), BASE);
        assert_eq!(list["schemas"], json!([LIST_RESPONSE_SCHEMA]));
        assert_eq!(list["totalResults"], 6);
        assert_eq!(list["itemsPerPage"], 6);
        assert_eq!(list["startIndex"], 1);
        let resources = list["Resources"].as_array().unwrap();
        let ids: Vec<&str> = resources
            .iter()
            .map(|s| s["id"].as_str().unwrap())
            .collect();
        assert_eq!(
            ids,
            [
                USER_SCHEMA,
                GROUP_SCHEMA,
                ENTERPRISE_USER_SCHEMA,
                SERVICE_PROVIDER_CONFIG_SCHEMA,
                RESOURCE_TYPE_SCHEMA,
                SCHEMA_SCHEMA,
            ]
        );
        for schema in resources {
            assert_eq!(schema["schemas"], json!([SCHEMA_SCHEMA]));
            assert_eq!(schema["meta"]["resourceType"], "Schema");
            assert_eq!(
                schema["meta"]["location"],
                format!("{BASE}/Schemas/{}", schema["id"].as_str().unwrap())
            );
            assert!(schema["name"].is_string());
            assert!(schema["attributes"].is_array());
        }
    }

    #[test]
    fn schemas_include_host_extensions() {
        const TOKENS: &str = "urn:example:params:scim:schemas:extension:tokens:2.0:User";
        let registry = SchemaRegistry::builder()
            .schema(Schema::new(
                TOKENS,
                "Tokens",
                vec![AttributeDef::string("label")],
            ))
            .extend("User", TOKENS, false)
            .build()
            .unwrap();
        let list = schemas(&registry, BASE);
        assert_eq!(list["totalResults"], 7);
        let one = schema(&registry, BASE, TOKENS).unwrap();
        assert_eq!(one["name"], "Tokens");
        assert_eq!(one["meta"]["location"], format!("{BASE}/Schemas/{TOKENS}"));
        let user = resource_type(&registry, BASE, "User").unwrap();
        assert_eq!(
            user["schemaExtensions"],
            json!([
                {"schema": ENTERPRISE_USER_SCHEMA, "required": false},
                {"schema": TOKENS, "required": false},
            ])
        );
    }

    #[test]
    fn schema_by_id_is_case_insensitive_and_404_when_unknown() {
        let registry = SchemaRegistry::default();
        let user = schema(&registry, BASE, &USER_SCHEMA.to_ascii_uppercase()).unwrap();
        assert_eq!(user["id"], USER_SCHEMA);
        assert_eq!(user["name"], "User");
        let err = schema(&registry, BASE, "urn:example:nope").unwrap_err();
        assert_eq!(err.status(), 404);
        assert!(err.detail().contains("urn:example:nope"));
    }

    #[test]
    fn resource_types_list() {
        let list = resource_types(&SchemaRegistry::default(), BASE);
        assert_eq!(list["schemas"], json!([LIST_RESPONSE_SCHEMA]));
        assert_eq!(list["totalResults"], 2);
        assert_eq!(
            list["Resources"][0],
            json!({
                "schemas": [RESOURCE_TYPE_SCHEMA],
                "id": "User",
                "name": "User",
                "endpoint": "/Users",
                "description": "User Account",
                "schema": USER_SCHEMA,
                "schemaExtensions": [{"schema": ENTERPRISE_USER_SCHEMA, "required": false}],
                "meta": {
                    "resourceType": "ResourceType",
                    "location": format!("{BASE}/ResourceTypes/User"),
                },
            })
        );
        assert_eq!(list["Resources"][1]["id"], "Group");
        assert_eq!(list["Resources"][1]["endpoint"], "/Groups");
        assert_eq!(list["Resources"][1]["schema"], GROUP_SCHEMA);
        assert_eq!(
            list["Resources"][1]["meta"]["location"],
            format!("{BASE}/ResourceTypes/Group")
        );
    }

    #[test]
    fn resource_type_by_id_or_name() {
        let registry = SchemaRegistry::default();
        assert_eq!(
            resource_type(&registry, BASE, "Group").unwrap()["id"],
            "Group"
        );
        assert_eq!(
            resource_type(&registry, BASE, "user").unwrap()["id"],
            "User"
        );
        let err = resource_type(&registry, BASE, "Device").unwrap_err();
        assert_eq!(err.status(), 404);
        assert_eq!(err.to_json()["status"], "404");
    }
}

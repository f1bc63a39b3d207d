//! Built-in schema definitions (RFC 7643 §3.1, §4, §5, §6, §7).

use super::{AttributeDef, Mutability, Returned, Schema, Uniqueness};
use super::{
    ENTERPRISE_USER_SCHEMA, GROUP_SCHEMA, RESOURCE_TYPE_SCHEMA, SCHEMA_SCHEMA,
    SERVICE_PROVIDER_CONFIG_SCHEMA, USER_SCHEMA,
};

/// The common attributes of every resource: `id`, `externalId`, `meta` (RFC 7643 §3.1).
pub fn common_attributes() -> Vec<AttributeDef> {
    vec![
        AttributeDef::string("id")
            .case_exact()
            .mutability(Mutability::ReadOnly)
            .returned(Returned::Always)
            .uniqueness(Uniqueness::Server)
            .description("Unique identifier for the resource, assigned by the service provider."),
        AttributeDef::string("externalId")
            .case_exact()
            .description("Identifier of the resource as defined by the provisioning client."),
        AttributeDef::complex(
            "meta",
            vec![
                AttributeDef::string("resourceType")
                    .case_exact()
                    .mutability(Mutability::ReadOnly),
                AttributeDef::date_time("created").mutability(Mutability::ReadOnly),
                AttributeDef::date_time("lastModified").mutability(Mutability::ReadOnly),
                AttributeDef::reference("location", ["uri"])
                    .case_exact()
                    .mutability(Mutability::ReadOnly),
                AttributeDef::string("version")
                    .case_exact()
                    .mutability(Mutability::ReadOnly),
            ],
        )
        .mutability(Mutability::ReadOnly)
        .description("Resource metadata."),
    ]
}

/// The core User schema (RFC 7643 §4.1, §8.7.1).
pub fn user_schema() -> Schema {
    Schema::new(USER_SCHEMA, "User", Vec::new()).description("User Account")
}

/// The core Group schema (RFC 7643 §4.2, §8.7.1).
pub fn group_schema() -> Schema {
    Schema::new(GROUP_SCHEMA, "Group", Vec::new()).description("Group")
}

/// The Enterprise User extension schema (RFC 7643 §4.3, §8.7.1).
pub fn enterprise_user_schema() -> Schema {
    Schema::new(ENTERPRISE_USER_SCHEMA, "EnterpriseUser", Vec::new()).description("Enterprise User")
}

/// The ServiceProviderConfig schema (RFC 7643 §5, §8.7.2).
pub fn service_provider_config_schema() -> Schema {
    Schema::new(
        SERVICE_PROVIDER_CONFIG_SCHEMA,
        "Service Provider Configuration",
        Vec::new(),
    )
}

/// The ResourceType schema (RFC 7643 §6, §8.7.2).
pub fn resource_type_schema() -> Schema {
    Schema::new(RESOURCE_TYPE_SCHEMA, "ResourceType", Vec::new())
}

/// The Schema schema (RFC 7643 §7, §8.7.2).
pub fn schema_schema() -> Schema {
    Schema::new(SCHEMA_SCHEMA, "Schema", Vec::new())
}

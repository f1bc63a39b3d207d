//! Schemas, resource types and the schema registry (RFC 7643 §2, §3, §6, §7).
//!
//! The registry holds every schema and resource type the service provider serves. The
//! built-in ones are core User (RFC 7643 §4.1), Group (§4.2) and the Enterprise User
//! extension (§4.3); hosts add their own with [`RegistryBuilder`]. The JSON served at
//! `/Schemas` and `/ResourceTypes` is generated from these definitions.

mod attribute;
mod builtin;
mod json;
mod registry;

pub use attribute::{AttributeDef, AttributeType, Mutability, Returned, Uniqueness};
pub use builtin::{
    common_attributes, enterprise_user_schema, group_schema, resource_type_schema, schema_schema,
    service_provider_config_schema, user_schema,
};
pub use json::attribute_type_name;
pub use registry::{
    AttrLocation, RegistryBuilder, RegistryError, ResourceTypeView, SchemaRegistry,
};

/// Schema URN of the core User resource (RFC 7643 §4.1).
pub const USER_SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:User";
/// Schema URN of the core Group resource (RFC 7643 §4.2).
pub const GROUP_SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:Group";
/// Schema URN of the Enterprise User extension (RFC 7643 §4.3).
pub const ENTERPRISE_USER_SCHEMA: &str =
    "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";
/// Schema URN of the ServiceProviderConfig resource (RFC 7643 §5).
pub const SERVICE_PROVIDER_CONFIG_SCHEMA: &str =
    "urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig";
/// Schema URN of the ResourceType resource (RFC 7643 §6).
pub const RESOURCE_TYPE_SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:ResourceType";
/// Schema URN of the Schema resource (RFC 7643 §7).
pub const SCHEMA_SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:Schema";

/// A schema: a named set of attribute definitions (RFC 7643 §7).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Schema {
    /// The schema URI, e.g. [`USER_SCHEMA`].
    pub id: String,
    /// Human-readable name, e.g. `User`.
    pub name: String,
    /// Human-readable description.
    pub description: String,
    /// The top-level attributes (common attributes `id`, `externalId`, `meta` are not
    /// listed here; see [`common_attributes`]).
    pub attributes: Vec<AttributeDef>,
}

impl Schema {
    /// A schema with the given URI, name and attributes.
    pub fn new(
        id: impl Into<String>,
        name: impl Into<String>,
        attributes: Vec<AttributeDef>,
    ) -> Self {
        Self {
            id: id.into(),
            name: name.into(),
            description: String::new(),
            attributes,
        }
    }

    /// Sets the description.
    pub fn description(mut self, description: impl Into<String>) -> Self {
        self.description = description.into();
        self
    }

    /// The top-level attribute with the given name, matched case-insensitively (RFC 7643 §2.1).
    pub fn attribute(&self, name: &str) -> Option<&AttributeDef> {
        // Names are case-insensitive (RFC 7643 §2.1); most arrive in schema case.
        self.attributes.iter().find(|a| a.name == name).or_else(|| {
            self.attributes
                .iter()
                .find(|a| a.name.eq_ignore_ascii_case(name))
        })
    }
}

/// A schema extension of a resource type (RFC 7643 §6 `schemaExtensions`).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct SchemaExtension {
    /// The extension schema URI.
    pub schema: String,
    /// Whether every resource of the type must carry the extension.
    pub required: bool,
}

impl SchemaExtension {
    /// An extension reference.
    pub fn new(schema: impl Into<String>, required: bool) -> Self {
        Self {
            schema: schema.into(),
            required,
        }
    }
}

/// A resource type: an endpoint, its core schema and its extensions (RFC 7643 §6).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ResourceType {
    /// The resource type's id (usually equal to `name`), e.g. `User`.
    pub id: String,
    /// The resource type name used in `meta.resourceType`, e.g. `User`.
    pub name: String,
    /// The endpoint relative to the base URL, e.g. `/Users`.
    pub endpoint: String,
    /// Human-readable description.
    pub description: String,
    /// The core schema URI.
    pub schema: String,
    /// The extension schemas.
    pub schema_extensions: Vec<SchemaExtension>,
}

impl ResourceType {
    /// A resource type with `id = name`.
    pub fn new(
        name: impl Into<String>,
        endpoint: impl Into<String>,
        schema: impl Into<String>,
    ) -> Self {
        let name = name.into();
        Self {
            id: name.clone(),
            name,
            endpoint: endpoint.into(),
            description: String::new(),
            schema: schema.into(),
            schema_extensions: Vec::new(),
        }
    }

    /// Sets the description.
    pub fn description(mut self, description: impl Into<String>) -> Self {
        self.description = description.into();
        self
    }

    /// Adds a schema extension.
    pub fn extension(mut self, schema: impl Into<String>, required: bool) -> Self {
        self.schema_extensions
            .push(SchemaExtension::new(schema, required));
        self
    }
}

//! The schema registry and per-resource-type attribute lookup (RFC 7643 §2.1, §3, §6).

use super::{
    AttributeDef, ENTERPRISE_USER_SCHEMA, GROUP_SCHEMA, ResourceType, Schema, USER_SCHEMA, builtin,
};
use crate::text::trim_start_slashes;
use scim_filter::{AttrFacts, AttrType, AttributeFacts};
use std::sync::Arc;

/// Why a registry could not be built: a host's schema or resource type definitions are
/// inconsistent. This is a configuration mistake, reported at start-up.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid SCIM registry: {0}")]
pub struct RegistryError(pub String);

/// All schemas and resource types a service provider serves (RFC 7643 §6, §7).
///
/// Cheap to clone (shared, immutable after [`RegistryBuilder::build`]). Iteration order is
/// registration order, so `/Schemas` and `/ResourceTypes` output is deterministic.
#[derive(Debug, Clone)]
pub struct SchemaRegistry {
    schemas: Vec<Arc<Schema>>,
    resource_types: Vec<Arc<ResourceTypeView>>,
    common: Arc<Vec<AttributeDef>>,
}

impl Default for SchemaRegistry {
    /// The built-in registry: User (with the optional Enterprise User extension) and Group.
    fn default() -> Self {
        let schemas: Vec<Arc<Schema>> = builtin_schemas().into_iter().map(Arc::new).collect();
        let common = Arc::new(builtin::common_attributes());
        let resource_types = builtin_resource_types()
            .into_iter()
            .filter_map(|rt| ResourceTypeView::resolve(rt, &schemas, &common).ok())
            .map(Arc::new)
            .collect();
        Self {
            schemas,
            resource_types,
            common,
        }
    }
}

fn builtin_schemas() -> Vec<Schema> {
    vec![
        builtin::user_schema(),
        builtin::group_schema(),
        builtin::enterprise_user_schema(),
        builtin::service_provider_config_schema(),
        builtin::resource_type_schema(),
        builtin::schema_schema(),
    ]
}

fn builtin_resource_types() -> Vec<ResourceType> {
    vec![
        ResourceType::new("User", "/Users", USER_SCHEMA)
            .description("User Account")
            .extension(ENTERPRISE_USER_SCHEMA, false),
        ResourceType::new("Group", "/Groups", GROUP_SCHEMA).description("Group"),
    ]
}

impl SchemaRegistry {
    /// A builder pre-loaded with the built-in schemas and resource types.
    pub fn builder() -> RegistryBuilder {
        RegistryBuilder {
            schemas: builtin_schemas(),
            resource_types: builtin_resource_types(),
        }
    }

    /// Every schema, in registration order (RFC 7643 §7; served at `/Schemas`).
    pub fn schemas(&self) -> impl Iterator<Item = &Schema> {
        self.schemas.iter().map(|s| s.as_ref())
    }

    /// The schema with the given URI, matched case-insensitively.
    pub fn schema(&self, id: &str) -> Option<&Schema> {
        self.schemas
            .iter()
            .find(|s| s.id.eq_ignore_ascii_case(id))
            .map(|s| s.as_ref())
    }

    /// Every resource type, in registration order (RFC 7643 §6; served at `/ResourceTypes`).
    pub fn resource_types(&self) -> impl Iterator<Item = &ResourceTypeView> {
        self.resource_types.iter().map(|r| r.as_ref())
    }

    /// The resource type with the given name (e.g. `User`), matched case-insensitively.
    pub fn resource_type(&self, name: &str) -> Option<&ResourceTypeView> {
        self.resource_types
            .iter()
            .find(|r| r.resource_type.name.eq_ignore_ascii_case(name))
            .map(|r| r.as_ref())
    }

    /// The resource type served at an endpoint such as `/Users` or `Users`, matched
    /// case-insensitively.
    pub fn resource_type_by_endpoint(&self, endpoint: &str) -> Option<&ResourceTypeView> {
        let wanted = trim_start_slashes(endpoint);
        self.resource_types
            .iter()
            .find(|r| trim_start_slashes(&r.resource_type.endpoint).eq_ignore_ascii_case(wanted))
            .map(|r| r.as_ref())
    }

    /// The common attributes every resource has (`id`, `externalId`, `meta`; RFC 7643 §3.1).
    pub fn common_attributes(&self) -> &[AttributeDef] {
        &self.common
    }
}

/// Builds a [`SchemaRegistry`] with host-defined schemas, extensions and resource types.
///
/// ```
/// use scim_core::schema::{AttributeDef, Mutability, Returned, Schema, SchemaRegistry};
///
/// // A service provider that manages personal access tokens records them on the User.
/// const TOKENS: &str = "urn:example:params:scim:schemas:extension:tokens:2.0:User";
/// let tokens = Schema::new(TOKENS, "TokenMetadata", vec![
///     AttributeDef::complex("apiKeys", vec![
///         AttributeDef::reference("value", ["external"]).required(),
///         AttributeDef::string("label"),
///         AttributeDef::date_time("expires"),
///     ])
///     .multi_valued()
///     .description("API keys issued to this user"),
/// ]);
/// let registry = SchemaRegistry::builder()
///     .schema(tokens)
///     .extend("User", TOKENS, false)
///     .build()?;
/// let user = registry.resource_type("User").expect("built in");
/// assert!(user.find(Some(TOKENS), "apiKeys").is_some());
/// # Ok::<(), scim_core::schema::RegistryError>(())
/// ```
#[derive(Debug, Clone)]
pub struct RegistryBuilder {
    schemas: Vec<Schema>,
    resource_types: Vec<ResourceType>,
}

impl RegistryBuilder {
    /// A builder with nothing registered (no User, no Group).
    pub fn empty() -> Self {
        Self {
            schemas: Vec::new(),
            resource_types: Vec::new(),
        }
    }

    /// Registers a schema, replacing one with the same URI.
    pub fn schema(mut self, schema: Schema) -> Self {
        self.schemas
            .retain(|s| !s.id.eq_ignore_ascii_case(&schema.id));
        self.schemas.push(schema);
        self
    }

    /// Registers a resource type, replacing one with the same name.
    pub fn resource_type(mut self, resource_type: ResourceType) -> Self {
        self.resource_types
            .retain(|r| !r.name.eq_ignore_ascii_case(&resource_type.name));
        self.resource_types.push(resource_type);
        self
    }

    /// Adds a schema extension to an already registered resource type (by name).
    /// Unknown names are reported by [`build`](Self::build).
    pub fn extend(
        mut self,
        resource_type: &str,
        schema: impl Into<String>,
        required: bool,
    ) -> Self {
        let schema = schema.into();
        match self
            .resource_types
            .iter_mut()
            .find(|r| r.name.eq_ignore_ascii_case(resource_type))
        {
            Some(rt) => {
                rt.schema_extensions
                    .retain(|e| !e.schema.eq_ignore_ascii_case(&schema));
                rt.schema_extensions
                    .push(super::SchemaExtension::new(schema, required));
            }
            None => {
                // Remember the mistake; `build` reports it.
                self.resource_types
                    .push(ResourceType::new(resource_type, "", schema).extension("", required));
            }
        }
        self
    }

    /// Checks consistency and builds the registry: every resource type's schema and
    /// extensions must be registered, names and endpoints unique, attribute names unique
    /// within a schema.
    pub fn build(self) -> Result<SchemaRegistry, RegistryError> {
        for schema in &self.schemas {
            check_unique_names(&schema.id, &schema.attributes)?;
        }
        let schemas: Vec<Arc<Schema>> = self.schemas.into_iter().map(Arc::new).collect();
        let common = Arc::new(builtin::common_attributes());
        let mut resource_types: Vec<Arc<ResourceTypeView>> = Vec::new();
        for rt in self.resource_types {
            if rt.endpoint.is_empty() {
                return Err(RegistryError(format!(
                    "cannot extend unknown resource type `{}`; register it first",
                    rt.name
                )));
            }
            if resource_types.iter().any(|r| {
                r.resource_type
                    .endpoint
                    .trim_start_matches('/')
                    .eq_ignore_ascii_case(rt.endpoint.trim_start_matches('/'))
            }) {
                return Err(RegistryError(format!(
                    "endpoint `{}` is registered twice",
                    rt.endpoint
                )));
            }
            resource_types.push(Arc::new(ResourceTypeView::resolve(rt, &schemas, &common)?));
        }
        Ok(SchemaRegistry {
            schemas,
            resource_types,
            common,
        })
    }
}

fn check_unique_names(schema: &str, attributes: &[AttributeDef]) -> Result<(), RegistryError> {
    for (i, attr) in attributes.iter().enumerate() {
        if attributes[..i]
            .iter()
            .any(|a| a.name.eq_ignore_ascii_case(&attr.name))
        {
            return Err(RegistryError(format!(
                "schema `{schema}` defines attribute `{}` twice",
                attr.name
            )));
        }
        check_unique_names(schema, &attr.sub_attributes)?;
    }
    Ok(())
}

/// A resource type with its core schema and extension schemas resolved (RFC 7643 §6).
///
/// This is what validation, projection, PATCH and filtering consult. It implements
/// [`AttributeFacts`] so filters are evaluated with the schema's types and `caseExact`.
#[derive(Debug, Clone)]
pub struct ResourceTypeView {
    /// The resource type definition.
    pub resource_type: ResourceType,
    core: Arc<Schema>,
    extensions: Vec<(Arc<Schema>, bool)>,
    common: Arc<Vec<AttributeDef>>,
    /// [`has_members`](Self::has_members), worked out once.
    members: bool,
    /// [`derives_groups`](Self::derives_groups), worked out once.
    groups: bool,
}

/// Where an attribute definition was found (see [`ResourceTypeView::find`]).
#[derive(Debug, Clone, Copy)]
pub struct AttrLocation<'a> {
    /// The schema that defines the attribute (the core schema for common attributes).
    pub schema: &'a Schema,
    /// Whether `schema` is an extension, i.e. the value lives under the extension URN key.
    pub extension: bool,
    /// Whether the attribute is a common attribute (`id`, `externalId`, `meta`).
    pub common: bool,
    /// The attribute definition.
    pub attr: &'a AttributeDef,
}

impl ResourceTypeView {
    fn resolve(
        resource_type: ResourceType,
        schemas: &[Arc<Schema>],
        common: &Arc<Vec<AttributeDef>>,
    ) -> Result<Self, RegistryError> {
        let lookup = |id: &str| -> Result<Arc<Schema>, RegistryError> {
            schemas
                .iter()
                .find(|s| s.id.eq_ignore_ascii_case(id))
                .cloned()
                .ok_or_else(|| {
                    RegistryError(format!(
                        "resource type `{}` names schema `{id}`, which is not registered",
                        resource_type.name
                    ))
                })
        };
        let core = lookup(&resource_type.schema)?;
        let extensions = resource_type
            .schema_extensions
            .iter()
            .map(|e| Ok((lookup(&e.schema)?, e.required)))
            .collect::<Result<Vec<_>, RegistryError>>()?;
        let members = core.attribute("members").is_some_and(|def| {
            def.multi_valued
                && def.attr_type == crate::schema::AttributeType::Complex
                && def.sub_attribute("value").is_some()
        });
        let groups = core.attribute("groups").is_some_and(|def| {
            def.multi_valued && def.mutability == crate::schema::Mutability::ReadOnly
        });
        Ok(Self {
            resource_type,
            core,
            extensions,
            common: Arc::clone(common),
            members,
            groups,
        })
    }

    /// The core schema.
    pub fn core_schema(&self) -> &Schema {
        &self.core
    }

    /// The extension schemas with their `required` flag.
    pub fn extensions(&self) -> impl Iterator<Item = (&Schema, bool)> {
        self.extensions.iter().map(|(s, r)| (s.as_ref(), *r))
    }

    /// The extension schema with the given URI, matched case-insensitively.
    pub fn extension(&self, uri: &str) -> Option<&Schema> {
        self.extensions
            .iter()
            .find(|(s, _)| s.id.eq_ignore_ascii_case(uri))
            .map(|(s, _)| s.as_ref())
    }

    /// The common attributes (`id`, `externalId`, `meta`; RFC 7643 §3.1).
    pub fn common_attributes(&self) -> &[AttributeDef] {
        &self.common
    }

    /// Finds a top-level attribute definition (RFC 7643 §2.1: names are case-insensitive).
    ///
    /// With a `uri`, only that schema is searched (the core schema's URI also finds common
    /// attributes). Without one, the core schema and common attributes are searched first,
    /// then the extensions, so unqualified extension names (as some clients send) resolve.
    pub fn find(&self, uri: Option<&str>, name: &str) -> Option<AttrLocation<'_>> {
        match uri {
            Some(uri) if self.core.id.eq_ignore_ascii_case(uri) => self.find_core(name),
            Some(uri) => {
                let schema = self.extension(uri)?;
                let attr = schema.attribute(name)?;
                Some(AttrLocation {
                    schema,
                    extension: true,
                    common: false,
                    attr,
                })
            }
            None => self.find_core(name).or_else(|| {
                self.extensions.iter().find_map(|(schema, _)| {
                    let attr = schema.attribute(name)?;
                    Some(AttrLocation {
                        schema,
                        extension: true,
                        common: false,
                        attr,
                    })
                })
            }),
        }
    }

    fn find_core(&self, name: &str) -> Option<AttrLocation<'_>> {
        if let Some(attr) = self.core.attribute(name) {
            return Some(AttrLocation {
                schema: &self.core,
                extension: false,
                common: false,
                attr,
            });
        }
        let attr = self
            .common
            .iter()
            .find(|a| a.name.eq_ignore_ascii_case(name))?;
        Some(AttrLocation {
            schema: &self.core,
            extension: false,
            common: true,
            attr,
        })
    }

    /// Whether resources of this type have members, as Groups do (RFC 7643 §4.2): the core
    /// schema has a multi-valued complex `members` attribute with a `value` sub-attribute.
    /// Stores keep these members as [`Member`](crate::store::Member)s beside the attributes.
    pub fn has_members(&self) -> bool {
        self.members
    }

    /// Whether resources of this type have a read-only `groups` attribute derived from
    /// Group membership, as Users do (RFC 7643 §4.1.2). Stores never keep it; the engine
    /// derives it from [`Store::memberships`](crate::store::Store::memberships).
    pub fn derives_groups(&self) -> bool {
        self.groups
    }

    /// Every schema URI a resource of this type may list in `schemas`.
    pub fn schema_uris(&self) -> impl Iterator<Item = &str> {
        std::iter::once(self.core.id.as_str())
            .chain(self.extensions.iter().map(|(s, _)| s.id.as_str()))
    }
}

impl AttributeFacts for ResourceTypeView {
    fn facts(&self, uri: Option<&str>, name: &str, sub_attr: Option<&str>) -> AttrFacts {
        if uri.is_none() && name.eq_ignore_ascii_case("schemas") {
            return AttrFacts {
                attr_type: Some(AttrType::Reference),
                case_exact: false,
                multi_valued: Some(true),
            };
        }
        let Some(location) = self.find(uri, name) else {
            return AttrFacts::UNKNOWN;
        };
        let def = match sub_attr {
            Some(sub) => match location.attr.sub_attribute(sub) {
                Some(def) => def,
                None => return AttrFacts::UNKNOWN,
            },
            None => location.attr,
        };
        AttrFacts {
            attr_type: Some(def.attr_type),
            case_exact: def.case_exact,
            multi_valued: Some(def.multi_valued),
        }
    }
}

//! Attribute definitions and their characteristics (RFC 7643 §2.2, §2.3, §7).

pub use scim_filter::AttrType as AttributeType;

/// `mutability` (RFC 7643 §2.2, §7).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Mutability {
    /// `readOnly`: set by the service provider only; client values are ignored.
    ReadOnly,
    /// `readWrite`: the default.
    #[default]
    ReadWrite,
    /// `immutable`: may be set once, never changed.
    Immutable,
    /// `writeOnly`: may be written, never returned (e.g. `password`).
    WriteOnly,
}

impl Mutability {
    /// The schema spelling, e.g. `readOnly`.
    pub fn as_str(self) -> &'static str {
        match self {
            Mutability::ReadOnly => "readOnly",
            Mutability::ReadWrite => "readWrite",
            Mutability::Immutable => "immutable",
            Mutability::WriteOnly => "writeOnly",
        }
    }
}

/// `returned` (RFC 7643 §2.2, §7).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Returned {
    /// `always`: returned regardless of `attributes` / `excludedAttributes`.
    Always,
    /// `never`: never returned (e.g. `password`).
    Never,
    /// `default`: returned unless excluded, or unless `attributes` names others.
    #[default]
    Default,
    /// `request`: returned only when named in `attributes`.
    Request,
}

impl Returned {
    /// The schema spelling, e.g. `always`.
    pub fn as_str(self) -> &'static str {
        match self {
            Returned::Always => "always",
            Returned::Never => "never",
            Returned::Default => "default",
            Returned::Request => "request",
        }
    }
}

/// `uniqueness` (RFC 7643 §2.2, §7).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Uniqueness {
    /// `none`: the default.
    #[default]
    None,
    /// `server`: unique within the service provider (per tenant here).
    Server,
    /// `global`: globally unique.
    Global,
}

impl Uniqueness {
    /// The schema spelling, e.g. `server`.
    pub fn as_str(self) -> &'static str {
        match self {
            Uniqueness::None => "none",
            Uniqueness::Server => "server",
            Uniqueness::Global => "global",
        }
    }
}

/// One attribute or sub-attribute definition with every characteristic of RFC 7643 §2.2
/// and §7.
///
/// Built with chained constructors:
///
/// ```
/// use scim_core::schema::{AttributeDef, Uniqueness};
/// let user_name = AttributeDef::string("userName")
///     .required()
///     .uniqueness(Uniqueness::Server)
///     .description("Unique identifier for the User.");
/// assert!(user_name.required);
/// assert!(!user_name.case_exact);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct AttributeDef {
    /// The attribute name in schema case, e.g. `userName`.
    pub name: String,
    /// The data type (RFC 7643 §2.3).
    pub attr_type: AttributeType,
    /// Whether the attribute is multi-valued.
    pub multi_valued: bool,
    /// Human-readable description.
    pub description: String,
    /// Whether a value is required on create and replace.
    pub required: bool,
    /// Suggested values (RFC 7643 §2.2 `canonicalValues`).
    pub canonical_values: Vec<String>,
    /// Whether `canonical_values` is a closed list that input must match (case-insensitively).
    /// RFC 7643 leaves canonical values advisory; schemas opt in per attribute.
    pub canonical_values_enforced: bool,
    /// Whether string comparison is case-sensitive.
    pub case_exact: bool,
    /// Who may write the attribute and when.
    pub mutability: Mutability,
    /// When the attribute is returned.
    pub returned: Returned,
    /// Uniqueness scope.
    pub uniqueness: Uniqueness,
    /// For `reference` attributes: the referenced resource types or `external` / `uri`.
    pub reference_types: Vec<String>,
    /// For `complex` attributes: the sub-attributes.
    pub sub_attributes: Vec<AttributeDef>,
}

impl AttributeDef {
    /// A single-valued, optional, readWrite attribute of the given type with RFC 7643 §2.2
    /// defaults (caseExact false, returned default, uniqueness none).
    pub fn new(name: impl Into<String>, attr_type: AttributeType) -> Self {
        Self {
            name: name.into(),
            attr_type,
            multi_valued: false,
            description: String::new(),
            required: false,
            canonical_values: Vec::new(),
            canonical_values_enforced: false,
            case_exact: false,
            mutability: Mutability::ReadWrite,
            returned: Returned::Default,
            uniqueness: Uniqueness::None,
            reference_types: Vec::new(),
            sub_attributes: Vec::new(),
        }
    }

    /// A `string` attribute.
    pub fn string(name: impl Into<String>) -> Self {
        Self::new(name, AttributeType::String)
    }

    /// A `boolean` attribute.
    pub fn boolean(name: impl Into<String>) -> Self {
        Self::new(name, AttributeType::Boolean)
    }

    /// A `decimal` attribute.
    pub fn decimal(name: impl Into<String>) -> Self {
        Self::new(name, AttributeType::Decimal)
    }

    /// An `integer` attribute.
    pub fn integer(name: impl Into<String>) -> Self {
        Self::new(name, AttributeType::Integer)
    }

    /// A `dateTime` attribute.
    pub fn date_time(name: impl Into<String>) -> Self {
        Self::new(name, AttributeType::DateTime)
    }

    /// A `binary` attribute.
    pub fn binary(name: impl Into<String>) -> Self {
        Self::new(name, AttributeType::Binary)
    }

    /// A `reference` attribute to the given reference types (e.g. `["User", "Group"]`,
    /// `["external"]`, `["uri"]`).
    pub fn reference<I, S>(name: impl Into<String>, reference_types: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        let mut def = Self::new(name, AttributeType::Reference);
        def.reference_types = reference_types.into_iter().map(Into::into).collect();
        def
    }

    /// A `complex` attribute with the given sub-attributes.
    pub fn complex(name: impl Into<String>, sub_attributes: Vec<AttributeDef>) -> Self {
        let mut def = Self::new(name, AttributeType::Complex);
        def.sub_attributes = sub_attributes;
        def
    }

    /// Marks the attribute multi-valued.
    pub fn multi_valued(mut self) -> Self {
        self.multi_valued = true;
        self
    }

    /// Marks the attribute required.
    pub fn required(mut self) -> Self {
        self.required = true;
        self
    }

    /// Marks string comparison case-sensitive.
    pub fn case_exact(mut self) -> Self {
        self.case_exact = true;
        self
    }

    /// Sets the description.
    pub fn description(mut self, description: impl Into<String>) -> Self {
        self.description = description.into();
        self
    }

    /// Sets the mutability.
    pub fn mutability(mut self, mutability: Mutability) -> Self {
        self.mutability = mutability;
        self
    }

    /// Sets when the attribute is returned.
    pub fn returned(mut self, returned: Returned) -> Self {
        self.returned = returned;
        self
    }

    /// Sets the uniqueness.
    pub fn uniqueness(mut self, uniqueness: Uniqueness) -> Self {
        self.uniqueness = uniqueness;
        self
    }

    /// Sets advisory canonical values.
    pub fn canonical_values<I, S>(mut self, values: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.canonical_values = values.into_iter().map(Into::into).collect();
        self
    }

    /// Requires input values to be one of the canonical values (case-insensitive).
    pub fn enforce_canonical_values(mut self) -> Self {
        self.canonical_values_enforced = true;
        self
    }

    /// The sub-attribute with the given name, matched case-insensitively (RFC 7643 §2.1).
    pub fn sub_attribute(&self, name: &str) -> Option<&AttributeDef> {
        // Names are case-insensitive (RFC 7643 §2.1); most arrive in schema case.
        self.sub_attributes
            .iter()
            .find(|a| a.name == name)
            .or_else(|| {
                self.sub_attributes
                    .iter()
                    .find(|a| a.name.eq_ignore_ascii_case(name))
            })
    }
}

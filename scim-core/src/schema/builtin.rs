//! Built-in schema definitions (RFC 7643 §3.1, §4, §5, §6, §7), with the characteristics
//! of the RFC 7643 §8.7.1 and §8.7.2 schema representations.
//!
//! Deliberate differences from the §8.7 text (each one fixes an inconsistency inside
//! RFC 7643 and is asserted in `tests/schema.rs`):
//!
//! * Group `displayName` is `required` (§4.2 says "REQUIRED"; §8.7.1 says `required: false`).
//! * Group `members` has a `display` sub-attribute (used by the §8.4 example and sent by IdPs;
//!   absent from §8.7.1), `immutable` like its siblings.
//! * User `addresses` has a `primary` sub-attribute (§2.4, §4.1.2 and the §8.2 example;
//!   absent from §8.7.1).
//! * ResourceType `schemaExtensions` is multi-valued (it is a list; §8.7.2 says
//!   `multiValued: false`).
//! * ServiceProviderConfig has `etag` and `authenticationSchemes.type` / `.primary` (§5 and
//!   the §8.5 example; absent from §8.7.2).

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

const DISPLAY_DESCRIPTION: &str =
    "A human-readable name, primarily used for display purposes.  READ-ONLY.";
const PRIMARY_DESCRIPTION: &str = "A Boolean value indicating the 'primary' or preferred \
     attribute value for this attribute.  The primary attribute value 'true' MUST appear no \
     more than once.";

/// The usual multi-valued complex attribute of RFC 7643 §2.4: `value`, `display`, `type`,
/// `primary`.
fn multi_valued(
    name: &str,
    description: &str,
    value: AttributeDef,
    type_canonical: &[&str],
) -> AttributeDef {
    AttributeDef::complex(
        name,
        vec![
            value,
            AttributeDef::string("display").description(DISPLAY_DESCRIPTION),
            AttributeDef::string("type")
                .canonical_values(type_canonical.iter().copied())
                .description("A label indicating the attribute's function."),
            AttributeDef::boolean("primary").description(PRIMARY_DESCRIPTION),
        ],
    )
    .multi_valued()
    .description(description)
}

fn string(name: &str, description: &str) -> AttributeDef {
    AttributeDef::string(name).description(description)
}

/// The core User schema (RFC 7643 §4.1, §8.7.1).
pub fn user_schema() -> Schema {
    let name = AttributeDef::complex(
        "name",
        vec![
            string(
                "formatted",
                "The full name, including all middle names, titles, and suffixes as \
                 appropriate, formatted for display (e.g., 'Ms. Barbara J Jensen, III').",
            ),
            string(
                "familyName",
                "The family name of the User, or last name in most Western languages.",
            ),
            string(
                "givenName",
                "The given name of the User, or first name in most Western languages.",
            ),
            string("middleName", "The middle name(s) of the User."),
            string(
                "honorificPrefix",
                "The honorific prefix(es) of the User, or title in most Western languages.",
            ),
            string(
                "honorificSuffix",
                "The honorific suffix(es) of the User, or suffix in most Western languages.",
            ),
        ],
    )
    .description("The components of the user's real name.");

    let addresses = AttributeDef::complex(
        "addresses",
        vec![
            string(
                "formatted",
                "The full mailing address, formatted for display or use with a mailing \
                 label.  This attribute MAY contain newlines.",
            ),
            string(
                "streetAddress",
                "The full street address component, which may include house number, street \
                 name, P.O. box, and multi-line extended street address information.",
            ),
            string("locality", "The city or locality component."),
            string("region", "The state or region component."),
            string("postalCode", "The zip code or postal code component."),
            string("country", "The country name component."),
            AttributeDef::string("type")
                .canonical_values(["work", "home", "other"])
                .description(
                    "A label indicating the attribute's function, e.g., 'work' or 'home'.",
                ),
            AttributeDef::boolean("primary").description(PRIMARY_DESCRIPTION),
        ],
    )
    .multi_valued()
    .description(
        "A physical mailing address for this User.  Canonical type values of 'work', 'home', \
         and 'other'.",
    );

    let read_only = |def: AttributeDef| def.mutability(Mutability::ReadOnly);
    let groups = AttributeDef::complex(
        "groups",
        vec![
            // An `id` (RFC 7643 §3.1): compared exactly, as `id` is.
            read_only(string("value", "The identifier of the User's group.").case_exact()),
            read_only(
                AttributeDef::reference("$ref", ["User", "Group"]).description(
                    "The URI of the corresponding 'Group' resource to which the user belongs.",
                ),
            ),
            read_only(string("display", DISPLAY_DESCRIPTION)),
            read_only(
                AttributeDef::string("type")
                    .canonical_values(["direct", "indirect"])
                    .description(
                        "A label indicating the attribute's function, e.g., 'direct' or \
                         'indirect'.",
                    ),
            ),
        ],
    )
    .multi_valued()
    .mutability(Mutability::ReadOnly)
    .description(
        "A list of groups to which the user belongs, either through direct membership, \
         through nested groups, or dynamically calculated.",
    );

    Schema::new(
        USER_SCHEMA,
        "User",
        vec![
            AttributeDef::string("userName")
                .required()
                .uniqueness(Uniqueness::Server)
                .description(
                    "Unique identifier for the User, typically used by the user to directly \
                     authenticate to the service provider.  Each User MUST include a non-empty \
                     userName value.  This identifier MUST be unique across the service \
                     provider's entire set of Users.  REQUIRED.",
                ),
            name,
            string(
                "displayName",
                "The name of the User, suitable for display to end-users.  The name SHOULD be \
                 the full name of the User being described, if known.",
            ),
            string(
                "nickName",
                "The casual way to address the user in real life, e.g., 'Bob' or 'Bobby' \
                 instead of 'Robert'.",
            ),
            AttributeDef::reference("profileUrl", ["external"]).description(
                "A fully qualified URL pointing to a page representing the User's online \
                 profile.",
            ),
            string("title", "The user's title, such as \"Vice President.\""),
            string(
                "userType",
                "Used to identify the relationship between the organization and the user.",
            ),
            string(
                "preferredLanguage",
                "Indicates the User's preferred written or spoken language.",
            ),
            string(
                "locale",
                "Used to indicate the User's default location for purposes of localizing \
                 items such as currency, date time format, or numerical representations.",
            ),
            string(
                "timezone",
                "The User's time zone in the 'Olson' time zone database format, e.g., \
                 'America/Los_Angeles'.",
            ),
            AttributeDef::boolean("active")
                .description("A Boolean value indicating the User's administrative status."),
            AttributeDef::string("password")
                .mutability(Mutability::WriteOnly)
                .returned(Returned::Never)
                .description(
                    "The User's cleartext password.  This attribute is intended to be used as \
                     a means to specify an initial password when creating a new User or to \
                     reset an existing User's password.",
                ),
            multi_valued(
                "emails",
                "Email addresses for the user.  Canonical type values of 'work', 'home', and \
                 'other'.",
                string("value", "Email addresses for the user."),
                &["work", "home", "other"],
            ),
            multi_valued(
                "phoneNumbers",
                "Phone numbers for the User.  Canonical type values of 'work', 'home', \
                 'mobile', 'fax', 'pager', and 'other'.",
                string("value", "Phone number of the User."),
                &["work", "home", "mobile", "fax", "pager", "other"],
            ),
            multi_valued(
                "ims",
                "Instant messaging addresses for the User.",
                string("value", "Instant messaging address for the User."),
                &["aim", "gtalk", "icq", "xmpp", "msn", "skype", "qq", "yahoo"],
            ),
            multi_valued(
                "photos",
                "URLs of photos of the User.",
                AttributeDef::reference("value", ["external"])
                    .description("URL of a photo of the User."),
                &["photo", "thumbnail"],
            ),
            addresses,
            groups,
            multi_valued(
                "entitlements",
                "A list of entitlements for the User that represent a thing the User has.",
                string("value", "The value of an entitlement."),
                &[],
            ),
            multi_valued(
                "roles",
                "A list of roles for the User that collectively represent who the User is, \
                 e.g., 'Student', 'Faculty'.",
                string("value", "The value of a role."),
                &[],
            ),
            multi_valued(
                "x509Certificates",
                "A list of certificates issued to the User.",
                AttributeDef::binary("value").description("The value of an X.509 certificate."),
                &[],
            ),
        ],
    )
    .description("User Account")
}

/// The core Group schema (RFC 7643 §4.2, §8.7.1).
pub fn group_schema() -> Schema {
    let immutable = |def: AttributeDef| def.mutability(Mutability::Immutable);
    Schema::new(
        GROUP_SCHEMA,
        "Group",
        vec![
            AttributeDef::string("displayName")
                .required()
                .description("A human-readable name for the Group.  REQUIRED."),
            AttributeDef::complex(
                "members",
                vec![
                    // An `id` (RFC 7643 §3.1): compared exactly, as `id` is.
                    immutable(
                        string("value", "Identifier of the member of this Group.").case_exact(),
                    ),
                    immutable(
                        AttributeDef::reference("$ref", ["User", "Group"]).description(
                            "The URI corresponding to a SCIM resource that is a member of this \
                         Group.",
                        ),
                    ),
                    immutable(
                        AttributeDef::string("type")
                            .canonical_values(["User", "Group"])
                            .description(
                                "A label indicating the type of resource, e.g., 'User' or \
                                 'Group'.",
                            ),
                    ),
                    immutable(string("display", DISPLAY_DESCRIPTION)),
                ],
            )
            .multi_valued()
            .description("A list of members of the Group."),
        ],
    )
    .description("Group")
}

/// The Enterprise User extension schema (RFC 7643 §4.3, §8.7.1).
pub fn enterprise_user_schema() -> Schema {
    Schema::new(
        ENTERPRISE_USER_SCHEMA,
        "EnterpriseUser",
        vec![
            string(
                "employeeNumber",
                "Numeric or alphanumeric identifier assigned to a person, typically based on \
                 order of hire or association with an organization.",
            ),
            string("costCenter", "Identifies the name of a cost center."),
            string("organization", "Identifies the name of an organization."),
            string("division", "Identifies the name of a division."),
            string("department", "Identifies the name of a department."),
            AttributeDef::complex(
                "manager",
                vec![
                    // An `id` (RFC 7643 §3.1): compared exactly, as `id` is.
                    string(
                        "value",
                        "The id of the SCIM resource representing the User's manager.  \
                         REQUIRED.",
                    )
                    .case_exact(),
                    AttributeDef::reference("$ref", ["User"]).description(
                        "The URI of the SCIM resource representing the User's manager.  \
                         REQUIRED.",
                    ),
                    AttributeDef::string("displayName")
                        .mutability(Mutability::ReadOnly)
                        .description(
                            "The displayName of the User's manager.  OPTIONAL and READ-ONLY.",
                        ),
                ],
            )
            .description(
                "The User's manager.  A complex type that optionally allows service providers \
                 to represent organizational hierarchy by referencing the 'id' attribute of \
                 another User.",
            ),
        ],
    )
    .description("Enterprise User")
}

fn read_only(def: AttributeDef) -> AttributeDef {
    def.mutability(Mutability::ReadOnly)
}

fn supported() -> AttributeDef {
    read_only(
        AttributeDef::boolean("supported")
            .required()
            .description("A Boolean value specifying whether or not the operation is supported."),
    )
}

fn feature(name: &str, description: &str, extra: Vec<AttributeDef>) -> AttributeDef {
    let mut subs = vec![supported()];
    subs.extend(extra);
    read_only(
        AttributeDef::complex(name, subs)
            .required()
            .description(description),
    )
}

/// The ServiceProviderConfig schema (RFC 7643 §5, §8.7.2).
pub fn service_provider_config_schema() -> Schema {
    let integer = |name: &str, description: &str| {
        read_only(
            AttributeDef::integer(name)
                .required()
                .description(description),
        )
    };
    Schema::new(
        SERVICE_PROVIDER_CONFIG_SCHEMA,
        "Service Provider Configuration",
        vec![
            read_only(
                AttributeDef::reference("documentationUri", ["external"]).description(
                    "An HTTP-addressable URL pointing to the service provider's human-consumable \
                 help documentation.",
                ),
            ),
            feature(
                "patch",
                "A complex type that specifies PATCH configuration options.",
                Vec::new(),
            ),
            feature(
                "bulk",
                "A complex type that specifies bulk configuration options.",
                vec![
                    integer(
                        "maxOperations",
                        "An integer value specifying the maximum number of operations.",
                    ),
                    integer(
                        "maxPayloadSize",
                        "An integer value specifying the maximum payload size in bytes.",
                    ),
                ],
            ),
            feature(
                "filter",
                "A complex type that specifies FILTER options.",
                vec![integer(
                    "maxResults",
                    "An integer value specifying the maximum number of resources returned in \
                     a response.",
                )],
            ),
            feature(
                "changePassword",
                "A complex type that specifies configuration options related to changing a \
                 password.",
                Vec::new(),
            ),
            feature(
                "sort",
                "A complex type that specifies sort result options.",
                Vec::new(),
            ),
            feature(
                "etag",
                "A complex type that specifies ETag configuration options.",
                Vec::new(),
            ),
            read_only(
                AttributeDef::complex(
                    "authenticationSchemes",
                    vec![
                        read_only(
                            AttributeDef::string("type")
                                .required()
                                .canonical_values([
                                    "oauth",
                                    "oauth2",
                                    "oauthbearertoken",
                                    "httpbasic",
                                    "httpdigest",
                                ])
                                .description("The authentication scheme."),
                        ),
                        read_only(AttributeDef::string("name").required().description(
                            "The common authentication scheme name, e.g., HTTP Basic.",
                        )),
                        read_only(
                            AttributeDef::string("description")
                                .required()
                                .description("A description of the authentication scheme."),
                        ),
                        read_only(
                            AttributeDef::reference("specUri", ["external"]).description(
                                "An HTTP-addressable URL pointing to the authentication scheme's \
                             specification.",
                            ),
                        ),
                        read_only(
                            AttributeDef::reference("documentationUri", ["external"]).description(
                                "An HTTP-addressable URL pointing to the authentication \
                                 scheme's usage documentation.",
                            ),
                        ),
                        read_only(
                            AttributeDef::boolean("primary").description(PRIMARY_DESCRIPTION),
                        ),
                    ],
                )
                .multi_valued()
                .required()
                .description(
                    "A complex type that specifies supported authentication scheme properties.",
                ),
            ),
        ],
    )
    .description("Schema for representing the service provider's configuration")
}

/// The ResourceType schema (RFC 7643 §6, §8.7.2).
pub fn resource_type_schema() -> Schema {
    Schema::new(
        RESOURCE_TYPE_SCHEMA,
        "ResourceType",
        vec![
            read_only(string(
                "id",
                "The resource type's server unique id.  May be the same as the 'name' \
                 attribute.",
            )),
            read_only(
                string(
                    "name",
                    "The resource type name.  When applicable, service providers MUST specify \
                     the name, e.g., 'User'.",
                )
                .required(),
            ),
            read_only(string(
                "description",
                "The resource type's human-readable description.  When applicable, service \
                 providers MUST specify the description.",
            )),
            read_only(
                AttributeDef::reference("endpoint", ["uri"])
                    .required()
                    .description(
                        "The resource type's HTTP-addressable endpoint relative to the Base \
                         URL, e.g., '/Users'.",
                    ),
            ),
            read_only(
                AttributeDef::reference("schema", ["uri"])
                    .required()
                    .case_exact()
                    .description("The resource type's primary/base schema URI."),
            ),
            read_only(
                AttributeDef::complex(
                    "schemaExtensions",
                    vec![
                        read_only(
                            AttributeDef::reference("schema", ["uri"])
                                .required()
                                .case_exact()
                                .description("The URI of a schema extension."),
                        ),
                        read_only(AttributeDef::boolean("required").required().description(
                            "A Boolean value that specifies whether or not the schema \
                             extension is required for the resource type.",
                        )),
                    ],
                )
                .multi_valued()
                .description("A list of URIs of the resource type's schema extensions."),
            ),
        ],
    )
    .description("Specifies the schema that describes a SCIM resource type")
}

/// The attribute-definition sub-attributes of the Schema schema (RFC 7643 §7, §8.7.2).
fn attribute_definition_subs() -> Vec<AttributeDef> {
    let exact = |def: AttributeDef| read_only(def.case_exact());
    vec![
        exact(string("name", "The attribute's name.").required()),
        read_only(
            AttributeDef::string("type")
                .required()
                .canonical_values([
                    "string",
                    "complex",
                    "boolean",
                    "decimal",
                    "integer",
                    "dateTime",
                    "reference",
                ])
                .description(
                    "The attribute's data type.  Valid values include 'string', 'complex', \
                     'boolean', 'decimal', 'integer', 'dateTime', 'reference'.",
                ),
        ),
        read_only(
            AttributeDef::boolean("multiValued")
                .required()
                .description("A Boolean value indicating an attribute's plurality."),
        ),
        exact(string(
            "description",
            "A human-readable description of the attribute.",
        )),
        read_only(
            AttributeDef::boolean("required").description(
                "A boolean value indicating whether or not the attribute is required.",
            ),
        ),
        exact(
            string(
                "canonicalValues",
                "A collection of canonical values.  When applicable, service providers MUST \
                 specify the canonical types, e.g., 'work', 'home'.",
            )
            .multi_valued(),
        ),
        read_only(AttributeDef::boolean("caseExact").description(
            "A Boolean value indicating whether or not a string attribute is case sensitive.",
        )),
        exact(
            string(
                "mutability",
                "Indicates whether or not an attribute is modifiable.",
            )
            .canonical_values(["readOnly", "readWrite", "immutable", "writeOnly"]),
        ),
        exact(
            string(
                "returned",
                "Indicates when an attribute is returned in a response (e.g., to a query).",
            )
            .canonical_values(["always", "never", "default", "request"]),
        ),
        exact(
            string("uniqueness", "Indicates how unique a value must be.")
                .canonical_values(["none", "server", "global"]),
        ),
        exact(
            string(
                "referenceTypes",
                "Used only with an attribute of type 'reference'.  Specifies a SCIM \
                 resourceType that a reference attribute MAY refer to, e.g., 'User'.",
            )
            .multi_valued(),
        ),
    ]
}

/// The Schema schema (RFC 7643 §7, §8.7.2).
pub fn schema_schema() -> Schema {
    let mut attribute_subs = attribute_definition_subs();
    attribute_subs.push(read_only(
        AttributeDef::complex("subAttributes", attribute_definition_subs())
            .multi_valued()
            .description("Used to define the sub-attributes of a complex attribute."),
    ));
    Schema::new(
        SCHEMA_SCHEMA,
        "Schema",
        vec![
            read_only(
                string(
                    "id",
                    "The unique URI of the schema.  When applicable, service providers MUST \
                     specify the URI.",
                )
                .required(),
            ),
            read_only(
                string(
                    "name",
                    "The schema's human-readable name.  When applicable, service providers \
                     MUST specify the name, e.g., 'User'.",
                )
                .required(),
            ),
            read_only(string(
                "description",
                "The schema's human-readable description.  When applicable, service providers \
                 MUST specify the description.",
            )),
            read_only(
                AttributeDef::complex("attributes", attribute_subs)
                    .multi_valued()
                    .required()
                    .description("A complex attribute that includes the attributes of a schema."),
            ),
        ],
    )
    .description("Specifies the schema attribute definitions")
}
